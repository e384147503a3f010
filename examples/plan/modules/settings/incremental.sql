-- Catch-up (replay --since): only the keys in changed_global and changed_guildsettings
-- (key, op: 'upsert' or 'delete'). Both tables are keyed by the Enmap key, so a changed key's row
-- is deleted and, unless the key was removed, made again exactly as transform.sql makes it.
DELETE FROM bot_settings WHERE key IN (SELECT c.key FROM changed_global c);

INSERT INTO bot_settings (key, value)
SELECT key, value FROM raw_global
WHERE key IN (SELECT c.key FROM changed_global c WHERE c.op = 'upsert');

DELETE FROM guild_settings WHERE guild_id IN (SELECT c.key FROM changed_guildsettings c);

INSERT INTO guild_settings (guild_id, prefix, mod_log_channel_id, mod_role_id, admin_role_id,
                            welcome_channel_id, welcome_message, disabled_commands, language,
                            auto_role_ids, max_warns, slowmode, created_at)
SELECT key,
       coalesce(value->>'prefix', '!'),
       value->>'modLogChannel',
       value->>'modRole',
       value->>'adminRole',
       value->>'welcomeChannel',
       value->>'welcomeMessage',
       ARRAY(SELECT jsonb_array_elements_text(coalesce(value->'disabledCommands', '[]'))),
       coalesce(value->>'language', 'en'),
       ARRAY(SELECT jsonb_array_elements_text(coalesce(value->'autoRoles', '[]'))),
       (value->'limits'->>'maxWarns')::int,
       (value->'limits'->>'slowmode')::int,
       CASE jsonb_typeof(value->'createdAt')
           WHEN 'number' THEN to_timestamp((value->>'createdAt')::numeric / 1000)
           WHEN 'string' THEN (value->>'createdAt')::timestamptz
       END
FROM raw_guildsettings
WHERE key IN (SELECT c.key FROM changed_guildsettings c WHERE c.op = 'upsert');
