-- Catch-up (replay --since): the reminders of the keys in changed_reminders (key, op).
DELETE FROM reminders WHERE id IN (SELECT c.key::int FROM changed_reminders c);

INSERT INTO reminders (id, user_id, channel_id, message, due_at, repeat_ms)
SELECT key::int,
       value->>'user',
       value->>'channel',
       value->>'message',
       CASE jsonb_typeof(value->'due')
           WHEN 'number' THEN to_timestamp((value->>'due')::numeric / 1000)
           WHEN 'string' THEN (value->>'due')::timestamptz
       END,
       (value->>'repeat')::bigint
FROM raw_reminders
WHERE key IN (SELECT c.key FROM changed_reminders c WHERE c.op = 'upsert');
