-- Points and levels, keyed "<guildId>-<userId>" in Enmap.
INSERT INTO member_levels (guild_id, user_id, points, level, last_seen)
SELECT coalesce(value->>'guild', split_part(key, '-', 1)),
       coalesce(value->>'user', split_part(key, '-', 2)),
       coalesce((value->>'points')::int, 0),
       coalesce((value->>'level')::int, 0),
       CASE jsonb_typeof(value->'lastSeen')
           WHEN 'number' THEN to_timestamp((value->>'lastSeen')::numeric / 1000)
           WHEN 'string' THEN (value->>'lastSeen')::timestamptz
       END
FROM raw_points;
