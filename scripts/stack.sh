#!/usr/bin/env bash
# The local stack: real processes on loopback, state under .run/ (git-ignored).
#
#   scripts/stack.sh up       start what is not running, migrate, seed the base zones
#   scripts/stack.sh down     stop everything `up` started (by pid)
#   scripts/stack.sh status   show what runs; exit 3 when something is stopped
#   scripts/stack.sh run      `up`, then follow the logs until Ctrl-C, then `down`
#   scripts/stack.sh migrate  apply pending migrations to the stack's database
#
# Ports (fixed, configurable): DDNS_PG_PORT (5433), DDNS_REDIS_PORT (6380),
# DDNS_DNS_PORT (5300, PowerDNS), DDNS_PDNS_API_PORT (8082), DDNS_BACKEND_LISTEN
# (127.0.0.1:9101), DDNS_CACHE_LISTEN (127.0.0.1:9104), DDNS_API_LISTEN
# (127.0.0.1:8080), DDNS_USER_LISTEN (127.0.0.1:8081), DDNS_WORKER_LISTEN
# (127.0.0.1:9103), DDNS_WEB_LISTEN (127.0.0.1:3000, the dashboard; DDNS_WEB=off
# leaves it out); the state folder: DDNS_RUN_DIR (.run); the build:
# DDNS_BUILDDIR (build). The dashboard is built (frontend/.next) when its
# sources are newer than the build; the first time needs the npm registry.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/servers.sh
. "$root/scripts/lib/servers.sh"

run=${DDNS_RUN_DIR:-$root/.run}
redis_sock=$run/redis/redis.sock
build=${DDNS_BUILDDIR:-$root/build}
pg_port=${DDNS_PG_PORT:-5433}
redis_port=${DDNS_REDIS_PORT:-6380}
db_name=${DDNS_DB_NAME:-ddns}
dns_port=${DDNS_DNS_PORT:-5300}
pdns_api_port=${DDNS_PDNS_API_PORT:-8082}

db_url_given=${DDNS_DATABASE_URL:+yes}
export DDNS_DATABASE_URL=${DDNS_DATABASE_URL:-postgresql://postgres@127.0.0.1:$pg_port/$db_name}
export DDNS_BASE_ZONES=${DDNS_BASE_ZONES:-dyn.test.}
export DDNS_REDIS_DNS_URL=redis://127.0.0.1:$redis_port/0
export DDNS_REDIS_STREAM_URL=redis://127.0.0.1:$redis_port/1
export DDNS_BACKEND_SOCKET=$run/backend.sock
export DDNS_BACKEND_LISTEN=${DDNS_BACKEND_LISTEN:-127.0.0.1:9101}
export DDNS_CACHE_LISTEN=${DDNS_CACHE_LISTEN:-127.0.0.1:9104}
export DDNS_PDNS_API_URL=http://127.0.0.1:$pdns_api_port
export DDNS_REDIS_RATELIMIT_URL=redis://127.0.0.1:$redis_port/2
export DDNS_REDIS_SESSION_URL=redis://127.0.0.1:$redis_port/3
export DDNS_API_LISTEN=${DDNS_API_LISTEN:-127.0.0.1:8080}
export DDNS_API_PLATFORM_KEY_FILE=$run/platform.pub.pem
# the PowerDNS ddns-api asks for GET /api/v1/domains/{name}/dns: this stack's own
export DDNS_API_DNS_SERVER=127.0.0.1:$dns_port
export DDNS_USER_LISTEN=${DDNS_USER_LISTEN:-127.0.0.1:8081}
export DDNS_USER_PLATFORM_KEY_FILE=$run/platform.key.pem
export DDNS_WORKER_LISTEN=${DDNS_WORKER_LISTEN:-127.0.0.1:9103}
export DDNS_WEB_LISTEN=${DDNS_WEB_LISTEN:-127.0.0.1:3000}
web=${DDNS_WEB:-on}
# the links in the emails lead to the dashboard
export DDNS_WORKER_PUBLIC_BASE_URL=${DDNS_WORKER_PUBLIC_BASE_URL:-http://$DDNS_WEB_LISTEN}
# the file transport: every mail the stack sends is a .eml file here
export DDNS_WORKER_MAIL_DIR=$run/mail

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

# socket_usable PATH: a socket whose absolute path fits a URL and sun_path as
# it is (a relative one would read as a host name to libpq)
socket_usable() {
	[ -S "$1" ] && [ ${#1} -le 100 ] && [[ $1 =~ ^/[A-Za-z0-9/._-]+$ ]]
}

# The daemons reach PostgreSQL (unless DDNS_DATABASE_URL was given) and Redis
# through their unix sockets when these exist: no TCP between processes on
# one machine (loopback TCP cost about 10 % of a core at 3,000 API writes a
# second). Both still listen on 127.0.0.1 for tools and tests.
use_sockets() { # PGDIR
	local rs=$redis_sock
	if [ -z "$db_url_given" ] && socket_usable "$1/.s.PGSQL.$pg_port"; then
		export DDNS_DATABASE_URL="postgresql://postgres@/$db_name?host=$1&port=$pg_port"
	fi
	if socket_usable "$rs"; then
		export DDNS_REDIS_DNS_URL="unix://$rs?db=0" DDNS_REDIS_STREAM_URL="unix://$rs?db=1" \
			DDNS_REDIS_RATELIMIT_URL="unix://$rs?db=2" DDNS_REDIS_SESSION_URL="unix://$rs?db=3"
	fi
}

# bin PATH: a program of the build, or a clear error.
bin() {
	[ -x "$build/$1" ] || die "$build/$1 not found: run make build first"
	echo "$build/$1"
}

migrate_bin() {
	bin schema/ddns-migrate
}

# The PowerDNS API key: generated on first run, kept in the state folder.
pdns_api_key() {
	if [ ! -s "$run/pdns-api-key" ]; then
		(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run/pdns-api-key")
	fi
	cat "$run/pdns-api-key"
}

first_zone() {
	local z=${DDNS_BASE_ZONES%%[, ]*}
	echo "${z%.}."
}

# Starts ddns-cache, ddns-backend and PowerDNS (in that order: pdns asks the
# backend for its zones at start, the backend answers from the replica).
start_dns() {
	local cache backend
	cache=$(bin services/cache/ddns-cache)
	backend=$(bin backend/ddns-backend)
	export DDNS_PDNS_API_KEY
	DDNS_PDNS_API_KEY=$(pdns_api_key)

	if pid_alive "$run/cache.pid"; then
		echo "ddns-cache: already running"
	else
		daemon_start "$run/cache.pid" "$run/cache.log" "$cache"
		wait_http "http://$DDNS_CACHE_LISTEN/readyz" 120 ||
			die "ddns-cache did not get ready, see $run/cache.log"
		echo "ddns-cache: started, replica complete (health http://$DDNS_CACHE_LISTEN)"
	fi
	if pid_alive "$run/backend.pid"; then
		echo "ddns-backend: already running"
	else
		rm -f "$DDNS_BACKEND_SOCKET"
		daemon_start "$run/backend.pid" "$run/backend.log" "$backend"
		wait_file "$DDNS_BACKEND_SOCKET" 20 && wait_http "http://$DDNS_BACKEND_LISTEN/healthz" 20 ||
			die "ddns-backend did not start, see $run/backend.log"
		echo "ddns-backend: started on $DDNS_BACKEND_SOCKET (health http://$DDNS_BACKEND_LISTEN)"
	fi
	if pid_alive "$run/pdns/pdns.pid"; then
		echo "pdns: already running"
	else
		# shellcheck disable=SC2046
		pdns_start "$run/pdns" "$dns_port" "$pdns_api_port" "$DDNS_PDNS_API_KEY" \
			$(pdns_remote_flags "$DDNS_BACKEND_SOCKET")
		wait_dns "$dns_port" "$(first_zone)" 30 ||
			die "PowerDNS does not answer $(first_zone) SOA, see $run/pdns/pdns.log"
		echo "pdns: started, DNS on 127.0.0.1:$dns_port, API on 127.0.0.1:$pdns_api_port"
	fi
}

# The platform's key pair (ES256), which signs the dashboard's session
# tokens: generated on first run, kept in the state folder.
platform_key() {
	if [ ! -s "$run/platform.pub.pem" ]; then
		(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$run/platform.key.pem" 2>/dev/null)
		openssl pkey -in "$run/platform.key.pem" -pubout -out "$run/platform.pub.pem"
		echo "platform key: generated $run/platform.key.pem"
	fi
}

start_api() {
	local api
	api=$(bin services/api/ddns-api)
	platform_key
	if pid_alive "$run/api.pid"; then
		echo "ddns-api: already running"
	else
		daemon_start "$run/api.pid" "$run/api.log" "$api"
		wait_http "http://$DDNS_API_LISTEN/readyz" 30 ||
			die "ddns-api did not get ready, see $run/api.log"
		echo "ddns-api: started on http://$DDNS_API_LISTEN"
	fi
}

start_user() {
	local user
	user=$(bin services/user/ddns-user)
	platform_key
	if pid_alive "$run/user.pid"; then
		echo "ddns-user: already running"
	else
		daemon_start "$run/user.pid" "$run/user.log" "$user"
		wait_http "http://$DDNS_USER_LISTEN/readyz" 30 ||
			die "ddns-user did not get ready, see $run/user.log"
		echo "ddns-user: started on http://$DDNS_USER_LISTEN"
	fi
}

start_worker() {
	local worker
	worker=$(bin services/worker/ddns-worker)
	if pid_alive "$run/worker.pid"; then
		echo "ddns-worker: already running"
	else
		daemon_start "$run/worker.pid" "$run/worker.log" "$worker"
		wait_http "http://$DDNS_WORKER_LISTEN/readyz" 30 ||
			die "ddns-worker did not get ready, see $run/worker.log"
		echo "ddns-worker: started, mail as files in $DDNS_WORKER_MAIL_DIR (health http://$DDNS_WORKER_LISTEN)"
	fi
}

# The dashboard: `next start` of the production build (built first when
# stale), with ddns-user and ddns-api of this stack behind its own origin.
start_web() {
	local host=${DDNS_WEB_LISTEN%:*} port=${DDNS_WEB_LISTEN##*:}
	[ "$web" = off ] && return 0
	if pid_alive "$run/web.pid"; then
		echo "dashboard: already running"
		return 0
	fi
	"$root/scripts/frontend.sh" ensure-build >>"$run/web.log" 2>&1 ||
		die "the dashboard did not build, see $run/web.log"
	(
		cd "$root/frontend"
		export NEXT_TELEMETRY_DISABLED=1 DDNS_USER_URL=http://$DDNS_USER_LISTEN \
			DDNS_API_URL=http://$DDNS_API_LISTEN
		daemon_start "$run/web.pid" "$run/web.log" node node_modules/next/dist/bin/next start \
			-H "$host" -p "$port"
	)
	wait_http "http://$DDNS_WEB_LISTEN/login" 60 ||
		die "the dashboard did not start, see $run/web.log"
	echo "dashboard: started on http://$DDNS_WEB_LISTEN"
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
		redis_start "$run/redis" "$redis_port" --appendonly yes --appendfsync everysec --save '' \
			--unixsocket "$redis_sock" --unixsocketperm 700
		echo "redis: started on 127.0.0.1:$redis_port"
	fi

	"$migrate" up
	"$migrate" seed
	use_sockets "$pg"
	start_dns
	start_api
	start_user
	start_worker
	start_web

	cat >"$run/env" <<-EOF
		# written by scripts/stack.sh up: the local stack's addresses
		DDNS_DATABASE_URL=$DDNS_DATABASE_URL
		DDNS_REDIS_URL=redis://127.0.0.1:$redis_port/0
		DDNS_BASE_ZONES=$DDNS_BASE_ZONES
		DDNS_DNS=127.0.0.1:$dns_port
		DDNS_PDNS_API_URL=$DDNS_PDNS_API_URL
		DDNS_API_URL=http://$DDNS_API_LISTEN
		DDNS_USER_URL=http://$DDNS_USER_LISTEN
		DDNS_WORKER_URL=http://$DDNS_WORKER_LISTEN
		DDNS_MAIL_DIR=$DDNS_WORKER_MAIL_DIR
		DDNS_WEB_URL=http://$DDNS_WEB_LISTEN
	EOF
	echo "stack is up: try  dig @127.0.0.1 -p $dns_port $(first_zone) SOA  (addresses in .run/env)"
	[ "$web" = off ] || echo "the dashboard: http://$DDNS_WEB_LISTEN"
}

cmd_down() {
	local pg
	[ -d "$run" ] || { echo "nothing to stop"; return 0; }
	pg=$(pg_dir)
	local name pidfile
	for name in dashboard:web.pid ddns-user:user.pid ddns-worker:worker.pid ddns-api:api.pid pdns:pdns/pdns.pid \
		ddns-backend:backend.pid ddns-cache:cache.pid; do
		pidfile=$run/${name#*:}
		if pid_alive "$pidfile"; then
			stop_pid "$pidfile"
			echo "${name%%:*}: stopped"
		fi
		rm -f "$pidfile"
	done
	rm -f "$DDNS_BACKEND_SOCKET"
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
		printf '%-12s running  pid %-8s 127.0.0.1:%s  data %s\n' postgres "$pid" "$pg_port" "$pg/data"
	else
		printf '%-12s stopped\n' postgres
		stopped=1
	fi
	if pid_alive "$run/redis/redis.pid"; then
		printf '%-12s running  pid %-8s 127.0.0.1:%s  data %s\n' redis "$(cat "$run/redis/redis.pid")" \
			"$redis_port" "$run/redis"
	else
		printf '%-12s stopped\n' redis
		stopped=1
	fi
	local name pidfile what
	for name in ddns-cache:cache.pid:$DDNS_CACHE_LISTEN ddns-backend:backend.pid:$DDNS_BACKEND_SOCKET \
		pdns:pdns/pdns.pid:127.0.0.1:$dns_port ddns-api:api.pid:$DDNS_API_LISTEN \
		ddns-user:user.pid:$DDNS_USER_LISTEN ddns-worker:worker.pid:$DDNS_WORKER_LISTEN; do
		pidfile=$run/$(cut -d: -f2 <<<"$name")
		what=$(cut -d: -f3- <<<"$name")
		if pid_alive "$pidfile"; then
			printf '%-12s running  pid %-8s %s\n' "${name%%:*}" "$(cat "$pidfile")" "$what"
		else
			printf '%-12s stopped\n' "${name%%:*}"
			stopped=1
		fi
	done
	if pid_alive "$run/web.pid"; then
		printf '%-12s running  pid %-8s %s\n' dashboard "$(cat "$run/web.pid")" "http://$DDNS_WEB_LISTEN"
	elif [ "$web" = off ]; then
		printf '%-12s off (DDNS_WEB=off)\n' dashboard
	else
		printf '%-12s stopped\n' dashboard
		stopped=1
	fi
	return $((stopped * 3))
}

cmd_run() {
	local pg tail_pid
	cmd_up
	pg=$(pg_dir)
	trap 'trap - INT TERM EXIT; kill "$tail_pid" 2>/dev/null; echo; cmd_down; exit 0' INT TERM
	trap 'cmd_down' EXIT
	echo "following logs; Ctrl-C stops the stack"
	tail -n 0 -F "$pg/postgres.log" "$run/redis/redis.log" "$run/cache.log" "$run/backend.log" \
		"$run/pdns/pdns.log" "$run/api.log" "$run/user.log" "$run/worker.log" \
		$([ "$web" = off ] || echo "$run/web.log") &
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
