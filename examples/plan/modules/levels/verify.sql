-- The counts agree.
SELECT (SELECT count(*) FROM raw_points) AS raw_rows, (SELECT count(*) FROM member_levels) AS rows
WHERE (SELECT count(*) FROM raw_points) <> (SELECT count(*) FROM member_levels);

-- Spot check: points and levels of every member.
SELECT r.key, r.value->'points' AS raw_points, m.points
FROM raw_points r
JOIN member_levels m ON m.guild_id = r.value->>'guild' AND m.user_id = r.value->>'user'
WHERE m.points <> (r.value->>'points')::int OR m.level <> (r.value->>'level')::int;

-- No orphans: every member with points belongs to a guild we know.
SELECT m.guild_id, m.user_id
FROM member_levels m
WHERE NOT EXISTS (SELECT 1 FROM guild_settings g WHERE g.guild_id = m.guild_id);
