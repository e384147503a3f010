-- Tags, keyed "<guildId>:<name>" in Enmap; a name may itself hold ':'.
INSERT INTO tags (guild_id, name, content, author_id, uses, created_at)
SELECT split_part(key, ':', 1),
       substr(key, strpos(key, ':') + 1),
       value->>'content',
       value->>'author',
       coalesce((value->>'uses')::int, 0),
       CASE jsonb_typeof(value->'createdAt')
           WHEN 'number' THEN to_timestamp((value->>'createdAt')::numeric / 1000)
           WHEN 'string' THEN (value->>'createdAt')::timestamptz
       END
FROM raw_tags;
