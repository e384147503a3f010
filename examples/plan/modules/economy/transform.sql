-- Balances. bank was a BigInt in 5.9 and 6 (a decimal string after replay) and a number in 5.7;
-- ->> gives the exact text of both. inventory was a Map (5.9, 6) or an object (5.7): an object.
INSERT INTO economy (user_id, wallet, bank, inventory, daily_at)
SELECT key,
       coalesce((value->>'wallet')::bigint, 0),
       coalesce((value->>'bank')::numeric, 0),
       coalesce(value->'inventory', '{}'),
       CASE jsonb_typeof(value->'daily')
           WHEN 'number' THEN to_timestamp((value->>'daily')::numeric / 1000)
           WHEN 'string' THEN (value->>'daily')::timestamptz
       END
FROM raw_economy;
