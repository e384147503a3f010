-- Catch-up (replay --since): the balances of the keys in changed_economy (key, op).
DELETE FROM economy WHERE user_id IN (SELECT c.key FROM changed_economy c);

INSERT INTO economy (user_id, wallet, bank, inventory, daily_at)
SELECT key,
       coalesce((value->>'wallet')::bigint, 0),
       coalesce((value->>'bank')::numeric, 0),
       coalesce(value->'inventory', '{}'),
       CASE jsonb_typeof(value->'daily')
           WHEN 'number' THEN to_timestamp((value->>'daily')::numeric / 1000)
           WHEN 'string' THEN (value->>'daily')::timestamptz
       END
FROM raw_economy
WHERE key IN (SELECT c.key FROM changed_economy c WHERE c.op = 'upsert');
