-- Each query returns the offending rows; it passes when it returns none.

-- Every guild of raw_guildsettings became exactly one row.
SELECT r.key AS guild_id
FROM raw_guildsettings r
LEFT JOIN guild_settings g ON g.guild_id = r.key
WHERE g.guild_id IS NULL;

-- Spot check: prefixes, languages and role lists survived.
SELECT r.key AS guild_id, r.value->>'prefix' AS raw_prefix, g.prefix
FROM raw_guildsettings r
JOIN guild_settings g ON g.guild_id = r.key
WHERE g.prefix IS DISTINCT FROM coalesce(r.value->>'prefix', '!')
   OR g.language IS DISTINCT FROM coalesce(r.value->>'language', 'en')
   OR cardinality(g.auto_role_ids) <> jsonb_array_length(coalesce(r.value->'autoRoles', '[]'));

-- Every global setting is there, value for value.
SELECT r.key
FROM raw_global r
LEFT JOIN bot_settings b ON b.key = r.key
WHERE b.value IS DISTINCT FROM r.value;
