-- Global bot settings: free-form, kept as jsonb.
INSERT INTO bot_settings (key, value)
SELECT key, value FROM raw_global;

-- Per-guild settings. Enmap 5.7 stored createdAt as epoch milliseconds (JSON.stringify of
-- Date.now()), 5.9 and 6 as a Date, which replay turned into an ISO string.
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
FROM raw_guildsettings;
