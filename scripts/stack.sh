#!/usr/bin/env bash
# The local stack: real processes on loopback, state under .run/ (git-ignored).
#
#   scripts/stack.sh up       start what is not running, migrate, seed the base zones
#   scripts/stack.sh down     stop everything `up` started (by pid)
#   scripts/stack.sh status   show what runs; exit 3 when something is stopped
#   scripts/stack.sh run      `up`, then follow the logs until Ctrl-C, then `down`
#   scripts/stack.sh migrate  apply pending migrations to the stack's database
#
# Ports (fixed, configurable): DDNS_PG_PORT (5433), DDNS_REDIS_PORT (6380);
# the state folder: DDNS_RUN_DIR (.run); the build: DDNS_BUILDDIR (build).
# PowerDNS joins the stack with the backend daemon (issue 3).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/servers.sh
. "$root/scripts/lib/servers.sh"

run=${DDNS_RUN_DIR:-$root/.run}
build=${DDNS_BUILDDIR:-$root/build}
pg_port=${DDNS_PG_PORT:-5433}
redis_port=${DDNS_REDIS_PORT:-6380}
db_name=${DDNS_DB_NAME:-ddns}

export DDNS_DATABASE_URL=${DDNS_DATABASE_URL:-postgresql://postgres@127.0.0.1:$pg_port/$db_name}
export DDNS_BASE_ZONES=${DDNS_BASE_ZONES:-dyn.test.}

# Where PostgreSQL keeps its data: .run/postgres when the server user can
# reach it, else below /var/tmp (the checkout may sit in a folder only root
# can enter), linked from .run/postgres either way.
pg_dir() {
	local alt
	if [ -L "$run/postgres" ]; then
		readlink "$run/postgres"
	elif [ -d "$run/postgres" ] || pg_dir_usable "$run/postgres"; then
		echo "$run/postgres"
	else
		alt=/var/tmp/ddns-$(printf '%s' "$run" | sha256sum | cut -c1-12)
		mkdir -p "$alt"
		chmod 755 "$alt"
		ln -sfn "$alt/postgres" "$run/postgres"
		echo "$alt/postgres"
	fi
}

migrate_bin() {
	local bin=$build/schema/ddns-migrate
	[ -x "$bin" ] || die "$bin not found: run make build first"
	echo "$bin"
}

cmd_up() {
	local pg migrate
	mkdir -p "$run"
	chmod 755 "$run"
	migrate=$(migrate_bin)
	pg=$(pg_dir)

	if pg_running "$pg"; then
		echo "postgres: already running"
	else
		pg_init "$pg"
		pg_start "$pg" "$pg_port"
		echo "postgres: started on 127.0.0.1:$pg_port"
	fi
	pg_create_db "$pg_port" "$pg" "$db_name"

	if pid_alive "$run/redis/redis.pid"; then
		echo "redis: already running"
	else
		# append-only file: what was written survives a restart
		redis_start "$run/redis" "$redis_port" --appendonly yes --appendfsync everysec --save ''
		echo "redis: started on 127.0.0.1:$redis_port"
	fi

	"$migrate" up
	"$migrate" seed

	cat >"$run/env" <<-EOF
		# written by scripts/stack.sh up: the local stack's addresses
		DDNS_DATABASE_URL=$DDNS_DATABASE_URL
		DDNS_REDIS_URL=redis://127.0.0.1:$redis_port/0
		DDNS_BASE_ZONES=$DDNS_BASE_ZONES
	EOF
	echo "stack is up: PostgreSQL $DDNS_DATABASE_URL, Redis redis://127.0.0.1:$redis_port (see .run/env)"
}

cmd_down() {
	local pg
	[ -d "$run" ] || { echo "nothing to stop"; return 0; }
	pg=$(pg_dir)
	if pg_running "$pg"; then
		pg_stop "$pg"
		echo "postgres: stopped"
	fi
	if pid_alive "$run/redis/redis.pid"; then
		stop_pid "$run/redis/redis.pid"
		echo "redis: stopped"
	fi
	rm -f "$run/redis/redis.pid"
}

cmd_status() {
	local pg stopped=0 pid
	pg=$(pg_dir 2>/dev/null || echo "$run/postgres")
	if [ -d "$run" ] && pg_running "$pg"; then
		pid=$(head -n 1 "$pg/data/postmaster.pid")
		printf '%-10s running  pid %-8s 127.0.0.1:%s  data %s\n' postgres "$pid" "$pg_port" "$pg/data"
	else
		printf '%-10s stopped\n' postgres
		stopped=1
	fi
	if pid_alive "$run/redis/redis.pid"; then
		printf '%-10s running  pid %-8s 127.0.0.1:%s  data %s\n' redis "$(cat "$run/redis/redis.pid")" \
			"$redis_port" "$run/redis"
	else
		printf '%-10s stopped\n' redis
		stopped=1
	fi
	printf '%-10s not in the stack yet (joins with the backend daemon, issue 3)\n' pdns
	return $((stopped * 3))
}

cmd_run() {
	local pg tail_pid
	cmd_up
	pg=$(pg_dir)
	trap 'trap - INT TERM EXIT; kill "$tail_pid" 2>/dev/null; echo; cmd_down; exit 0' INT TERM
	trap 'cmd_down' EXIT
	echo "following logs; Ctrl-C stops the stack"
	tail -n 0 -F "$pg/postgres.log" "$run/redis/redis.log" &
	tail_pid=$!
	wait "$tail_pid"
}

cmd_migrate() {
	local pg
	pg=$(pg_dir)
	pg_running "$pg" || die "the local stack is not running: make up"
	"$(migrate_bin)" up
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
run) cmd_run ;;
migrate) cmd_migrate ;;
*) die "usage: $0 up|down|status|run|migrate" ;;
esac
