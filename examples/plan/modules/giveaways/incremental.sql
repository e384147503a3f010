-- Catch-up (replay --since): the giveaways, and their entrants, of the keys in changed_giveaways
-- (key, op).
DELETE FROM giveaway_entrants WHERE message_id IN (SELECT c.key FROM changed_giveaways c);

DELETE FROM giveaways WHERE message_id IN (SELECT c.key FROM changed_giveaways c);

INSERT INTO giveaways (message_id, prize, ends_at, ended)
SELECT key,
       value->>'prize',
       CASE jsonb_typeof(value->'endsAt')
           WHEN 'number' THEN to_timestamp((value->>'endsAt')::numeric / 1000)
           WHEN 'string' THEN (value->>'endsAt')::timestamptz
       END,
       coalesce((value->>'ended')::boolean, false)
FROM raw_giveaways
WHERE key IN (SELECT c.key FROM changed_giveaways c WHERE c.op = 'upsert');

INSERT INTO giveaway_entrants (message_id, user_id, won)
SELECT g.key, u.user_id, bool_or(u.won)
FROM raw_giveaways g
CROSS JOIN LATERAL (
    SELECT jsonb_array_elements_text(coalesce(g.value->'entrants', '[]')) AS user_id, false AS won
    UNION ALL
    SELECT jsonb_array_elements_text(coalesce(g.value->'winners', '[]')), true
) u
WHERE g.key IN (SELECT c.key FROM changed_giveaways c WHERE c.op = 'upsert')
GROUP BY g.key, u.user_id;
