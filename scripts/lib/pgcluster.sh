# Functions to run a throwaway PostgreSQL cluster in a folder, on a unix socket in that folder
# and a free loopback port. Sourced by scripts/test and scripts/bench.
#   pgcluster_start DIR   -> sets PGCLUSTER_URL, PGCLUSTER_PORT; the cluster lives in DIR/data
#   pgcluster_stop DIR
# With PGCLUSTER_SSL=1 the server also accepts TLS (ssl=on) with a self-signed certificate made by
# openssl for CN=localhost (DIR/data/server.crt, also copied to DIR/server.crt for clients that
# check it). Off by default: the suite and the benchmarks connect over loopback without TLS.
# PGCLUSTER_LISTEN sets listen_addresses (default 127.0.0.1); PGCLUSTER_URL always names 127.0.0.1.

pgcluster_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $bin || ! -x $bin/initdb ]]; then
    echo "pgcluster: no PostgreSQL server found under /usr/lib/postgresql; run scripts/bootstrap" >&2
    return 1
  fi
  echo "$bin"
}

# Runs a command as the cluster's owner: postgres when we are root (the server refuses root).
pgcluster_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgcluster_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    [[ $port -eq 5432 ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "pgcluster: no free loopback port found" >&2
  return 1
}

pgcluster_start() {
  local dir=$1 bin port
  bin=$(pgcluster_bin)
  mkdir -p "$dir"
  chmod 0700 "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
  fi
  pgcluster_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  local ssl=""
  if [[ ${PGCLUSTER_SSL:-0} == 1 ]]; then
    pgcluster_as_owner openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
      -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >"$dir/openssl.log" 2>&1 \
      || { cat "$dir/openssl.log" >&2; return 1; }
    chmod 0600 "$dir/data/server.key"
    cp "$dir/data/server.crt" "$dir/server.crt"
    ssl="-c ssl=on"
  fi
  # PGCLUSTER_HBA_NET: also trust connections from this network (scripts/bench downtime's veth).
  if [[ -n ${PGCLUSTER_HBA_NET:-} ]]; then
    echo "host all all $PGCLUSTER_HBA_NET trust" >>"$dir/data/pg_hba.conf"
  fi
  for _ in 1 2 3 4 5; do
    port=$(pgcluster_free_port)
    if pgcluster_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=${PGCLUSTER_LISTEN:-127.0.0.1} -c fsync=off -c max_connections=50 $ssl" \
        start >/dev/null 2>&1; then
      PGCLUSTER_PORT=$port
      PGCLUSTER_URL="postgresql://postgres@127.0.0.1:$port/postgres"
      export PGCLUSTER_PORT PGCLUSTER_URL
      return 0
    fi
  done
  echo "pgcluster: the server did not start; its log:" >&2
  cat "$dir/server.log" >&2 || true
  return 1
}

pgcluster_stop() {
  local dir=$1 bin
  bin=$(pgcluster_bin) || return 0
  if [[ -f $dir/data/postmaster.pid ]]; then
    pgcluster_as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}
