-- Catch-up (replay --since): the warnings of the members whose keys are in changed_warnings
-- (key, op), "<guildId>-<userId>" like transform.sql's.
DELETE FROM warnings
WHERE (guild_id, user_id) IN (SELECT split_part(c.key, '-', 1), split_part(c.key, '-', 2)
                              FROM changed_warnings c);

INSERT INTO warnings (guild_id, user_id, seq, moderator_id, reason, created_at)
SELECT split_part(r.key, '-', 1),
       split_part(r.key, '-', 2),
       coalesce((w.item->>'id')::int, w.ord::int),
       w.item->>'moderator',
       coalesce(w.item->>'reason', ''),
       CASE jsonb_typeof(w.item->'at')
           WHEN 'number' THEN to_timestamp((w.item->>'at')::numeric / 1000)
           WHEN 'string' THEN (w.item->>'at')::timestamptz
       END
FROM raw_warnings r
CROSS JOIN LATERAL jsonb_array_elements(r.value) WITH ORDINALITY AS w(item, ord)
WHERE r.key IN (SELECT c.key FROM changed_warnings c WHERE c.op = 'upsert');
