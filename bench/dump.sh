#!/usr/bin/env bash
# Benchmark of `enmap-migrate dump` against its anchor, side by side in one run, on a generated
# table of ROWS rows (default 1,000,000) in the JSON (Enmap 4-5.7) and better-serialize (Enmap 6)
# encodings, with keys inserted in random order as a bot writes them:
#   anchor:   sqlite3 FILE "SELECT key, value FROM t ORDER BY key"
#             the same rows in the same order through the same plan (the key index, then a lookup
#             of each row, SQLite's default 2 MiB cache) with no decoding: the floor for dump.
#             The ratio column is against it.
#   cache32m: the same query with a 32 MiB page cache (measured: more CPU, not less; dump keeps 2 MiB).
#   sorter:   ORDER BY +key: SQLite's external sorter reads the table sequentially. Less CPU on
#             small values, but it holds whole records in memory: rejected (see docs/BENCHMARKS.md).
#   dump:     enmap-migrate dump --db FILE > /dev/null   (read + decode + canonical JSON lines)
# Of 3 runs each, keeps the one with the least CPU time (user+sys; wall time on a shared machine
# mostly measures the neighbours) and prints its wall and CPU time, MB/s of value text per CPU
# second, peak RSS, and the load average.
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

measure() {  # LABEL COMMAND... -> "LABEL wall cpu peak_kb": the run with least CPU time of 3 (shared machine)
  local label=$1 best_wall="" best_cpu="" peak=0
  shift
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    read -r wall user sys kb <"$tmp/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z $best_cpu ]] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
      best_cpu=$cpu best_wall=$wall
    fi
    if ((kb > peak)); then peak=$kb; fi
  done
  echo "$label $best_wall $best_cpu $peak"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-18s %-8s %8s %8s %10s %9s %10s\n' encoding tool wall_s cpu_s "MB/s cpu" "peak MB" "cpu ratio"
for encoding in json better-serialize; do
  file=$tmp/$encoding.sqlite
  if [[ $encoding == json ]]; then generate "$file" "$json_value"; else generate "$file" "$bs_value"; fi
  bytes=$(sqlite3 "$file" "SELECT sum(length(CAST(value AS BLOB))) FROM points")
  # Warm the page cache once so both tools read from memory.
  cat "$file" >/dev/null
  read -r _ anchor_w anchor_c anchor_kb < <(measure anchor sqlite3 "$file" "SELECT key, value FROM points ORDER BY key")
  read -r _ cache_w cache_c cache_kb < <(measure cache32m sqlite3 "$file" \
    "PRAGMA cache_size=-32768; SELECT key, value FROM points ORDER BY key")
  read -r _ sorter_w sorter_c sorter_kb < <(measure sorter sqlite3 "$file" \
    "PRAGMA cache_size=-32768; SELECT key, value FROM points ORDER BY +key")
  read -r _ dump_w dump_c dump_kb < <(measure dump "$binary" -q dump --db "$file")
  for tool in anchor cache32m sorter dump; do
    case $tool in
      anchor) w=$anchor_w c=$anchor_c kb=$anchor_kb ;;
      cache32m) w=$cache_w c=$cache_c kb=$cache_kb ;;
      sorter) w=$sorter_w c=$sorter_c kb=$sorter_kb ;;
      dump) w=$dump_w c=$dump_c kb=$dump_kb ;;
    esac
    awk -v e="$encoding" -v t="$tool" -v w="$w" -v c="$c" -v kb="$kb" -v b="$bytes" -v a="$anchor_c" \
      'BEGIN { printf "%-18s %-8s %8.2f %8.2f %10.1f %9.1f %9.2fx\n", e, t, w, c, b / 1e6 / c, kb / 1024, c / a }'
  done
done
echo "rows per table: $rows; MB/s counts value text only; load average: $(cut -d" " -f1-3 /proc/loadavg)"
