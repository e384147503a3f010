-- Warnings: one Enmap value per member, "<guildId>-<userId>", holding an array of warnings.
INSERT INTO warnings (guild_id, user_id, seq, moderator_id, reason, created_at)
SELECT split_part(r.key, '-', 1),
       split_part(r.key, '-', 2),
       coalesce((w.item->>'id')::int, w.ord::int),
       w.item->>'moderator',
       coalesce(w.item->>'reason', ''),
       CASE jsonb_typeof(w.item->'at')
           WHEN 'number' THEN to_timestamp((w.item->>'at')::numeric / 1000)
           WHEN 'string' THEN (w.item->>'at')::timestamptz
       END
FROM raw_warnings r
CROSS JOIN LATERAL jsonb_array_elements(r.value) WITH ORDINALITY AS w(item, ord);
