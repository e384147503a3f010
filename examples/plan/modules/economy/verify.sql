-- Spot check: every bank balance is exact, digit for digit.
SELECT r.key, r.value->>'bank' AS raw_bank, e.bank
FROM raw_economy r
LEFT JOIN economy e ON e.user_id = r.key
WHERE e.bank IS NULL OR e.bank::text <> coalesce(r.value->>'bank', '0');
