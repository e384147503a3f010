-- The counts agree.
SELECT (SELECT count(*) FROM raw_reminders) AS raw_rows, (SELECT count(*) FROM reminders) AS rows
WHERE (SELECT count(*) FROM raw_reminders) <> (SELECT count(*) FROM reminders);

-- Enmap's autonum counter is at or past every reminder id, so new ids will not collide. A missing
-- counter (an export() source has none) is reported too, with lastnum NULL, never passed silently.
SELECT r.id, a.lastnum
FROM reminders r
LEFT JOIN raw_internal_autonum a ON a.enmap = 'reminders'
WHERE a.lastnum IS NULL OR r.id > a.lastnum;
