-- Every winner is an entrant of its giveaway.
SELECT g.key, w.user_id
FROM raw_giveaways g
CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(g.value->'winners', '[]')) AS w(user_id)
WHERE NOT EXISTS (SELECT 1 FROM giveaway_entrants e WHERE e.message_id = g.key AND e.user_id = w.user_id AND e.won);

-- The counts agree.
SELECT (SELECT count(*) FROM raw_giveaways) AS raw_rows, (SELECT count(*) FROM giveaways) AS rows
WHERE (SELECT count(*) FROM raw_giveaways) <> (SELECT count(*) FROM giveaways);
