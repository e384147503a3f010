-- Catch-up (replay --since): member_levels brought up to date from the keys in changed_points
-- (key, op). A member_levels row is keyed by the value's guild and user (the key's parts when the
-- value lacks them), which a changed key's old value no longer shows: so the rows no raw_points row
-- maps to any more go first, found by an anti-join (one pass over both tables, cheaper than the
-- transform's rebuild), then the changed keys' rows are written again.
DELETE FROM member_levels m
WHERE NOT EXISTS (SELECT 1
                  FROM raw_points r
                  WHERE coalesce(r.value->>'guild', split_part(r.key, '-', 1)) = m.guild_id
                    AND coalesce(r.value->>'user', split_part(r.key, '-', 2)) = m.user_id);

INSERT INTO member_levels AS m (guild_id, user_id, points, level, last_seen)
SELECT coalesce(value->>'guild', split_part(key, '-', 1)),
       coalesce(value->>'user', split_part(key, '-', 2)),
       coalesce((value->>'points')::int, 0),
       coalesce((value->>'level')::int, 0),
       CASE jsonb_typeof(value->'lastSeen')
           WHEN 'number' THEN to_timestamp((value->>'lastSeen')::numeric / 1000)
           WHEN 'string' THEN (value->>'lastSeen')::timestamptz
       END
FROM raw_points
WHERE key IN (SELECT c.key FROM changed_points c WHERE c.op = 'upsert')
ON CONFLICT (guild_id, user_id) DO UPDATE
SET points = EXCLUDED.points, level = EXCLUDED.level, last_seen = EXCLUDED.last_seen;
