-- Reminders were keyed by enmap.autonum: "1", "2", ...
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
FROM raw_reminders;
