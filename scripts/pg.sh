#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks, on a local port, owned by the
# `postgres` system user (initdb refuses to run as root).
#   scripts/pg.sh start DIR PORT   prints the connection URL (again after a stop: the cluster in
#                                  DIR is kept, so a test can restart it on the same port)
#   scripts/pg.sh stop DIR
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    if [[ ! -d "$dir/data" ]]; then
      as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    # The first free port from PORT on (another run may still hold one).
    for try in $(seq 0 20); do
      p=$((port + try))
      if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $p -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null 2>&1; then
        echo "postgres://postgres@127.0.0.1:$p/postgres"
        exit 0
      fi
    done
    echo "pg.sh: PostgreSQL did not start; see $dir/server.log" >&2
    tail -n 5 "$dir/server.log" >&2 || true
    exit 1
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
