-- Giveaways, keyed by their message id. Entrants were a Set (5.9, 6) or an array (5.7): both
-- arrive as a JSON array.
INSERT INTO giveaways (message_id, prize, ends_at, ended)
SELECT key,
       value->>'prize',
       CASE jsonb_typeof(value->'endsAt')
           WHEN 'number' THEN to_timestamp((value->>'endsAt')::numeric / 1000)
           WHEN 'string' THEN (value->>'endsAt')::timestamptz
       END,
       coalesce((value->>'ended')::boolean, false)
FROM raw_giveaways;

INSERT INTO giveaway_entrants (message_id, user_id, won)
SELECT g.key, u.user_id, bool_or(u.won)
FROM raw_giveaways g
CROSS JOIN LATERAL (
    SELECT jsonb_array_elements_text(coalesce(g.value->'entrants', '[]')) AS user_id, false AS won
    UNION ALL
    SELECT jsonb_array_elements_text(coalesce(g.value->'winners', '[]')), true
) u
GROUP BY g.key, u.user_id;
