-- Catch-up (replay --since): the tags of the keys in changed_tags (key, op), keyed
-- "<guildId>:<name>" like transform.sql's.
DELETE FROM tags
WHERE (guild_id, name) IN (SELECT split_part(c.key, ':', 1), substr(c.key, strpos(c.key, ':') + 1)
                           FROM changed_tags c);

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
FROM raw_tags
WHERE key IN (SELECT c.key FROM changed_tags c WHERE c.op = 'upsert');
