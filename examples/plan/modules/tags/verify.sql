-- Every tag arrived with its exact content.
SELECT r.key
FROM raw_tags r
LEFT JOIN tags t ON t.guild_id = split_part(r.key, ':', 1) AND t.name = substr(r.key, strpos(r.key, ':') + 1)
WHERE t.content IS DISTINCT FROM r.value->>'content';

-- No orphans: every tag belongs to a known guild.
SELECT t.guild_id, t.name
FROM tags t
WHERE NOT EXISTS (SELECT 1 FROM guild_settings g WHERE g.guild_id = t.guild_id);
