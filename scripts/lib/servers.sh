# Functions to start and stop the real servers the platform uses, on loopback.
# Sourced by scripts/stack.sh (the local stack under .run/) and by
# tests/harness/with-servers (throw-away servers on free ports).
#
# PostgreSQL's initdb and server refuse to run as root: as root they run as the
# `postgres` user, in a directory that user can reach.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

die() {
	printf '%s\n' "$*" >&2
	exit 1
}

# A free TCP port on 127.0.0.1 (the kernel picks it; a race with another
# process taking it is possible but unlikely, and the start then fails loudly).
free_port() {
	free_ports 1
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line (all bound
# at once while chosen: separate free_port calls may get the same port twice)
free_ports() {
	python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# Runs a command as the PostgreSQL server user: `postgres` when we are root,
# from / since that user may not be allowed into the current directory.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# pg_dir_usable DIR: can the server user create and use DIR?
pg_dir_usable() {
	[ "$(id -u)" = 0 ] || return 0
	runuser -u postgres -- test -x "$(dirname "$1")"
}

# pg_init DIR: initdb into DIR/data on first use (trust auth on loopback only).
pg_init() {
	local dir=$1
	[ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries not found (install postgresql: make deps)"
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
			--no-instructions >"$dir/initdb.log" 2>&1 ||
			die "initdb failed, see $dir/initdb.log"
	fi
}

# pg_start DIR PORT [extra postgres -c options...]: start and wait until it accepts connections.
pg_start() {
	local dir=$1 port=$2
	shift 2
	local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir"
	local o
	for o in "$@"; do opts="$opts -c $o"; done
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/postgres.log" -w -t 60 start \
		>/dev/null || die "PostgreSQL did not start on 127.0.0.1:$port, see $dir/postgres.log"
}

pg_running() {
	as_pg "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

pg_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

# pg_create_db PORT DIR NAME: create database NAME if it does not exist.
pg_create_db() {
	local port=$1 dir=$2 name=$3
	if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
		psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$name\"" \
			>/dev/null || die "could not create database $name"
	fi
}

# redis_start DIR PORT [extra redis-server options...]: start daemonized and wait for PING.
redis_start() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	command -v redis-server >/dev/null || die "redis-server not found (install redis-server: make deps)"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --protected-mode yes "$@" ||
		die "redis-server did not start on 127.0.0.1:$port, see $dir/redis.log"
	local i
	for i in $(seq 1 100); do
		redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	die "redis-server on 127.0.0.1:$port does not answer, see $dir/redis.log"
}

# proc_alive PID: is PID running? A zombie is not: a daemon whose parent is
# gone stays one until something reaps it, and kill -0 still succeeds on it.
proc_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# pid_alive PIDFILE: is the process named in PIDFILE running?
pid_alive() {
	[ -f "$1" ] && proc_alive "$(cat "$1")"
}

# stop_pid PIDFILE [NAME]: SIGTERM, wait up to 10 s, then SIGKILL; removes the pid file.
stop_pid() {
	local pidfile=$1 pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if proc_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			proc_alive "$pid" || break
			sleep 0.1
		done
		proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$pidfile"
}

# daemon_start PIDFILE LOGFILE CMD [ARGS...]: start CMD in the background, in
# its own session (a closed terminal does not take it down), and record its pid.
daemon_start() {
	local pidfile=$1 log=$2
	shift 2
	setsid "$@" >>"$log" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

# wait_http URL SECONDS: until URL answers 2xx.
wait_http() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_file PATH SECONDS: until PATH exists (a unix socket, say).
wait_file() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_dns PORT ZONE SECONDS: until PowerDNS answers ZONE's SOA with NOERROR.
wait_dns() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		dig +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" SOA 2>/dev/null | grep -q 'status: NOERROR' &&
			return 0
		sleep 0.1
	done
	return 1
}

PDNS_SERVER=${PDNS_SERVER:-/usr/sbin/pdns_server}

# pdns_start DIR DNS_PORT API_PORT API_KEY BACKEND_FLAGS...: PowerDNS
# Authoritative with the given backend (e.g. --launch=remote
# --remote-connection-string=unix:path=SOCKET), DNS and its HTTP API on
# loopback; DIR holds its control socket, pid and log.
pdns_start() {
	local dir=$1 port=$2 api_port=$3 key=$4
	shift 4
	[ -x "$PDNS_SERVER" ] || die "pdns_server not found (install pdns-server: make deps)"
	mkdir -p "$dir"
	daemon_start "$dir/pdns.pid" "$dir/pdns.log" "$PDNS_SERVER" --no-config --daemon=no \
		--guardian=no --disable-syslog --loglevel=4 --socket-dir="$dir" \
		--local-address=127.0.0.1 --local-port="$port" --security-poll-suffix= \
		--webserver --webserver-address=127.0.0.1 --webserver-port="$api_port" \
		--webserver-allow-from=127.0.0.1 --api --api-key="$key" "$@"
}

# The flags that point PowerDNS at ddns-backend's SOCKET.
pdns_remote_flags() {
	echo "--launch=remote" "--remote-connection-string=unix:path=$1,timeout=2000"
}

# cpu_ticks PID...: user + system CPU clock ticks (getconf CLK_TCK a second)
# the processes used so far; a process that is gone counts 0 (the benchmarks)
cpu_ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# reaped_cpu_ticks PID: user + system ticks of PID's exited children it waited for
reaped_cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$1/stat"
}
