-- Every warning of every member arrived.
SELECT r.key, jsonb_array_length(r.value) AS raw_count, count(w.seq) AS count
FROM raw_warnings r
LEFT JOIN warnings w ON w.guild_id = split_part(r.key, '-', 1) AND w.user_id = split_part(r.key, '-', 2)
GROUP BY r.key, r.value
HAVING jsonb_array_length(r.value) <> count(w.seq);
