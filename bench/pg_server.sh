#!/usr/bin/env bash
# A PostgreSQL cluster for the benchmarks, sized as a dealer group's database server
# would be (the packaged default of 128 MB shared buffers is for a laptop): started on
# its own port and data folder, durable settings left on (fsync, synchronous commit).
#
#   bench/pg_server.sh start /var/tmp/crm-bench-pg 5433   # then DATABASE_URL=postgres://postgres@127.0.0.1:5433/crm_bench
#   bench/pg_server.sh stop  /var/tmp/crm-bench-pg
set -euo pipefail
action=${1:?start or stop}; root=${2:?data folder}; port=${3:-5433}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
case $action in
  start)
    if [ ! -d "$root/data" ]; then
      mkdir -p "$root"; [ ${#as[@]} -gt 0 ] && chown postgres "$root"; chmod 700 "$root"
      "${as[@]}" "$bin/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    "${as[@]}" "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -o "-p $port -k $root \
      -c listen_addresses=127.0.0.1 -c shared_buffers=4GB -c effective_cache_size=12GB \
      -c work_mem=32MB -c maintenance_work_mem=1GB -c max_wal_size=8GB \
      -c checkpoint_timeout=15min -c checkpoint_completion_target=0.9 \
      -c random_page_cost=1.1" start ;;
  stop)
    "${as[@]}" "$bin/pg_ctl" -D "$root/data" -m fast -w stop ;;
  *) echo "start or stop" >&2; exit 2 ;;
esac
