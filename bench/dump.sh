#!/usr/bin/env bash
# Benchmark of `enmap-migrate dump` against its anchor, side by side in one run, on a generated
# table of ROWS rows (default 1,000,000) in the JSON (Enmap 4-5.7) and better-serialize (Enmap 6)
# encodings, with keys inserted in random order as a bot writes them:
#   anchor:   sqlite3 FILE "PRAGMA cache_size=-32768; SELECT key, value FROM t ORDER BY key"
#             the same rows in the same order through the same plan (the key index, a 32 MiB
#             cache) with no decoding: the floor for dump. The ratio column is against it.
#   index2m:  the same query with sqlite3's default 2 MiB cache (why dump sets 32 MiB).
#   sorter:   ORDER BY +key: SQLite's external sorter reads the table sequentially. Faster on
#             small values, but it holds whole records in memory: rejected (see docs/BENCHMARKS.md).
#   dump:     enmap-migrate dump --db FILE > /dev/null   (read + decode + canonical JSON lines)
# Prints wall time, MB/s of value text and peak RSS.
#   bench/dump.sh [ROWS]        (needs build/enmap-migrate, sqlite3 and GNU time)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${1:-1000000}
binary=$root/build/enmap-migrate
[[ -x $binary ]] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
tmp=$(mktemp -d /tmp/enmap-migrate-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Values of about 250 bytes: a points/levels record with snowflakes, a date and a small array.
json_value="'{\"userId\":\"' || (263178780853070470 + i) || '\",\"guildId\":\"807544533531797526\",\"points\":' || (i * 7 % 100000) || ',\"level\":' || (i % 60) || ',\"lastSeen\":\"2024-07-10T16:07:01.671Z\",\"roles\":[\"403185342044697082\",\"591436255048839879\"],\"streak\":' || (i % 13) || ',\"bio\":\"hello there, this is a short bio with some text\"}'"
bs_value="'{\"t\":0,\"v\":{\"userId\":{\"t\":1,\"v\":\"' || (263178780853070470 + i) || '\"},\"points\":{\"t\":2,\"v\":' || (i * 7 % 100000) || '},\"level\":{\"t\":2,\"v\":' || (i % 60) || '},\"lastSeen\":{\"t\":6,\"v\":\"2024-07-10T16:07:01.671Z\"},\"roles\":{\"t\":11,\"v\":[{\"t\":1,\"v\":\"403185342044697082\"}]},\"bio\":{\"t\":1,\"v\":\"short bio\"}}}'"

generate() {  # FILE VALUE_SQL
  sqlite3 "$1" "PRAGMA journal_mode=DELETE; CREATE TABLE points (key text PRIMARY KEY, value text);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
    INSERT INTO points SELECT 'k' || (i * 2654435761 % 4294967296), $2 FROM n;" >/dev/null
}

measure() {  # LABEL COMMAND...  -> "LABEL seconds peak_kb"
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  read -r seconds kb <"$tmp/time"
  echo "$label $seconds $kb"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-18s %-8s %10s %10s %10s %10s\n' encoding tool seconds "MB/s" "peak MB" ratio
for encoding in json better-serialize; do
  file=$tmp/$encoding.sqlite
  if [[ $encoding == json ]]; then generate "$file" "$json_value"; else generate "$file" "$bs_value"; fi
  bytes=$(sqlite3 "$file" "SELECT sum(length(CAST(value AS BLOB))) FROM points")
  # Warm the page cache once so both tools read from memory.
  cat "$file" >/dev/null
  read -r _ anchor_s anchor_kb < <(measure anchor sqlite3 "$file" \
    "PRAGMA cache_size=-32768; SELECT key, value FROM points ORDER BY key")
  read -r _ index_s index_kb < <(measure index2m sqlite3 "$file" "SELECT key, value FROM points ORDER BY key")
  read -r _ sorter_s sorter_kb < <(measure sorter sqlite3 "$file" \
    "PRAGMA cache_size=-32768; SELECT key, value FROM points ORDER BY +key")
  read -r _ dump_s dump_kb < <(measure dump "$binary" -q dump --db "$file")
  for tool in anchor index2m sorter dump; do
    case $tool in
      anchor) s=$anchor_s kb=$anchor_kb ;;
      index2m) s=$index_s kb=$index_kb ;;
      sorter) s=$sorter_s kb=$sorter_kb ;;
      dump) s=$dump_s kb=$dump_kb ;;
    esac
    awk -v e="$encoding" -v t="$tool" -v s="$s" -v kb="$kb" -v b="$bytes" -v a="$anchor_s" \
      'BEGIN { printf "%-18s %-8s %10.2f %10.1f %10.1f %9.2fx\n", e, t, s, b / 1e6 / s, kb / 1024, s / a }'
  done
done
echo "rows per table: $rows; MB/s counts value text only"
