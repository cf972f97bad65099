#!/usr/bin/env bash
# ddns-worker end to end: its own Redis on a free loopback port, jobs written
# with redis-cli as ddns-user writes them, the real binary in several runs:
#  (a) file transport: .eml files, the link in the log, metrics, a duplicate
#  (b) malformed jobs end in jobs:dead with a reason and without the token
#  (c) crash safety: killed after receiving, then after sending (crash_after);
#      a restarted worker re-claims and sends exactly once
#  (d) SES against moto_server (skipped when it is not installed), behind a
#      fault-injecting proxy (tests/integration/ses_proxy.py): a delivered
#      mail, throttling retried, a permanent refusal dead-lettered, moto's own
#      refusal of an unverified sender, health answered during a slow send
#  (e) SIGTERM: the job in hand finished, exit 0
# and SMTP (libcurl) against a small sink (tests/integration/smtp_sink.py):
# delivered, 451 retried, 550 dead-lettered, STARTTLS enforced
# Prints TAP. Usage: test_worker.sh BUILDDIR
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/servers.sh"
tmp=$(mktemp -d /tmp/ddns-worker.XXXXXX)
. "$root/tests/harness/tap.sh"

build=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
worker_bin=$build/services/worker/ddns-worker
mail=$tmp/mail
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	stop_pid "$tmp/redis/redis.pid"
	if [ "$failed" -ne 0 ] && [ -n "${DDNS_TEST_KEEP_LOGS:-}" ]; then
		echo "# logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

redis_port=$(free_port)
redis_start "$tmp/redis" "$redis_port" --save '' --appendonly no >/dev/null
rc() {
	redis-cli -h 127.0.0.1 -p "$redis_port" -n 1 "$@"
}

# ---- the worker --------------------------------------------------------------

W_PID= W_LISTEN= W_LOG=
# start_worker NAME [VAR=VALUE...]: a ddns-worker in the background, its pid in
# $W_PID, health address in $W_LISTEN, log in $W_LOG ($tmp/NAME.log).
start_worker() {
	local name=$1
	shift
	W_LISTEN=127.0.0.1:$(free_port)
	W_LOG=$tmp/$name.log
	env DDNS_REDIS_STREAM_URL="redis://127.0.0.1:$redis_port/1" \
		DDNS_WORKER_LISTEN="$W_LISTEN" DDNS_WORKER_MAIL_DIR="$mail" \
		DDNS_WORKER_CONSUMER="$name" DDNS_WORKER_RETRY_BASE=50ms \
		DDNS_WORKER_RETRY_MAX=200ms DDNS_WORKER_CLAIM_IDLE=500ms \
		DDNS_LOG_FORMAT=json DDNS_LOG_LEVEL=info "$@" \
		"$worker_bin" >"$W_LOG" 2>&1 &
	W_PID=$!
	pids+=("$W_PID")
	wait_http "http://$W_LISTEN/readyz" 10
}

# stop_worker: SIGTERM and wait (10 s at most); the exit status in $W_STATUS
stop_worker() {
	local i
	kill -TERM "$W_PID" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$W_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$W_PID" 2>/dev/null
	wait "$W_PID"
	W_STATUS=$?
}

# wait_exit SECONDS: until the worker exits by itself; its status in $W_STATUS
wait_exit() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$W_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$W_PID" 2>/dev/null; then
		W_STATUS=running
		return 1
	fi
	wait "$W_PID"
	W_STATUS=$?
}

# metric NAME: its value on the running worker's /metrics ("" when absent)
metric() {
	curl -s --max-time 2 "http://$W_LISTEN/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# metric_ge NAME MIN
metric_ge() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && awk -v v="$v" -v m="$2" 'BEGIN { exit !(v >= m) }' || {
		echo "$1 = '$v', want >= $2"
		return 1
	}
}

# metric_eq NAME VALUE
metric_eq() {
	local v
	v=$(metric "$1")
	[ "$v" = "$2" ] || {
		echo "$1 = '$v', want $2"
		return 1
	}
}

# ---- jobs ----------------------------------------------------------------------

# A job id and a token, random
new_id() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}
# a token, not starting with '_': "token=_" puts "=_" in the text, which then
# goes quoted-printable (test_message covers that) and the raw-line checks of
# the links below would miss it (1 run in 64 failed so)
new_token() {
	local t
	while t=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); [ "${t#_}" != "$t" ]; do
		:
	done
	echo "$t"
}

# job TYPE ID TO [TOKEN]: XADD as ddns-user does; prints the entry id
job() {
	if [ $# -ge 4 ]; then
		rc XADD jobs '*' type "$1" id "$2" to "$3" token "$4"
	else
		rc XADD jobs '*' type "$1" id "$2" to "$3"
	fi
}

emls() { # emls ID: how many .eml files job ID has
	find "$mail" -maxdepth 1 -name "*-$1.eml" 2>/dev/null | wc -l
}
eml_of() { # eml_of ID: the path of job ID's .eml
	find "$mail" -maxdepth 1 -name "*-$1.eml" | head -n 1
}
has_eml() { [ "$(emls "$1")" -ge 1 ]; }
pending() { rc XPENDING jobs worker | head -n 1; }
idle_queue() { [ "$(pending)" = 0 ] && [ "$(rc XLEN jobs)" = 0 ]; }
grep_q() { grep -q "$@"; }

# the dead letter (field value pairs, one a line) whose id field is ID
dead_of() {
	python3 - "$redis_port" "$1" <<-'EOF'
		import subprocess, sys
		port, want = sys.argv[1], sys.argv[2]
		out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "-n", "1", "--json",
		                      "XRANGE", "jobs:dead", "-", "+"], capture_output=True, text=True).stdout
		import json
		for entry_id, fields in json.loads(out or "[]"):
		    d = dict(zip(fields[::2], fields[1::2]))
		    if d.get("id") == want:
		        for k, v in d.items():
		            print("%s=%s" % (k, v))
		        break
	EOF
}
# the helpers and addresses, for the checks that run in bash -c
export -f rc dead_of pending idle_queue
export redis_port mail

# ---- (a) file transport ----------------------------------------------------------

id1=$(new_id) tok1=$(new_token)
check "worker starts and is ready (file transport)" start_worker w1
check "/healthz answers" curl -fsS --max-time 2 "http://$W_LISTEN/healthz"
check "/readyz reports redis and the group" \
	bash -c "curl -fsS --max-time 2 http://$W_LISTEN/readyz | grep -q '\"group\":\"ok\"'"
check "the group worker exists on jobs" bash -c "redis-cli -p $redis_port -n 1 XINFO GROUPS jobs | grep -qx worker"

entry=$(job email.verify "$id1" alice@example.org "$tok1")
check "a verify job becomes one .eml" within 10 has_eml "$id1"
f=$(eml_of "$id1")
check "the .eml has To" grep_q -x -e $'To: alice@example.org\r' "$f"
check "the .eml has the subject" grep_q -x -e $'Subject: Confirm your email address\r' "$f"
check "the .eml has the link" grep_q -x -e "http://127.0.0.1:3000/verify?token=$tok1"$'\r' "$f"
check "the .eml has From, Date, Message-ID, MIME" bash -c "
	grep -q '^From: ddns <noreply@localhost>' '$f' && grep -Eq '^Date: [A-Z][a-z]{2}, [0-9]{2} ' '$f' &&
	grep -q '^Message-ID: <$id1@localhost>' '$f' && grep -q '^Content-Type: multipart/alternative' '$f' &&
	grep -q '^Content-Type: text/html' '$f'"
check "the log has the link at info level" bash -c "grep '\"level\":\"info\"' '$W_LOG' | grep -q 'verify?token=$tok1'"
check "jobs:sent:<id> is set for 7 days" bash -c "
	[ \"\$(redis-cli -p $redis_port -n 1 TTL jobs:sent:$id1)\" -gt 604000 ]"
check "the entry is acknowledged and deleted (it holds a token)" within 5 idle_queue
check "the attempts counter is gone" bash -c "[ \"\$(redis-cli -p $redis_port -n 1 EXISTS jobs:attempts:$id1)\" = 0 ]"
check "metrics count it sent" within 3 metric_eq ddns_worker_jobs_sent_total 1
# latency: the entry id and the file name are both wall-clock milliseconds
# latency of 20 more jobs: the entry id and the file name are both wall-clock ms
lat=()
for i in $(seq 1 20); do
	idl=$(new_id)
	entry=$(job email.verify "$idl" "load$i@example.org" "$(new_token)")
	within 5 has_eml "$idl"
	lat+=($(($(basename "$(eml_of "$idl")" | cut -d- -f1) - ${entry%-*})))
done
check "20 more jobs: 20 more .eml files" test "$(find "$mail" -name '*.eml' | wc -l)" = 21
echo "# file transport, 20 jobs one after the other: XADD to .eml written (ms): min/mean/max" \
	"$(printf '%s\n' "${lat[@]}" | awk 'NR == 1 { lo = hi = $1 } { s += $1; lo = $1 < lo ? $1 : lo; hi = $1 > hi ? $1 : hi } END { printf "%d/%.1f/%d", lo, s / NR, hi }');" \
	"send (render, write, fsync, rename) mean" \
	"$(awk -v s="$(metric ddns_worker_send_duration_seconds_sum)" -v c="$(metric ddns_worker_send_duration_seconds_count)" 'BEGIN { printf "%.2f ms over %d sends", s * 1000 / c, c }')"

id1b=$(new_id) tok1b=$(new_token) id1c=$(new_id)
job email.password_reset "$id1b" bob@example.org "$tok1b" >/dev/null
job email.password_changed "$id1c" carol@example.org >/dev/null
check "a reset job has the reset link" within 10 bash -c "
	f=\$(find '$mail' -name '*-$id1b.eml'); [ -n \"\$f\" ] &&
	grep -qx 'http://127.0.0.1:3000/reset-password?token=$tok1b'$'\r' \"\$f\" &&
	grep -q '^Subject: Reset your password' \"\$f\""
check "a password-changed job has no link" within 10 bash -c "
	f=\$(find '$mail' -name '*-$id1c.eml'); [ -n \"\$f\" ] &&
	grep -q '^Subject: Your password was changed' \"\$f\" && ! grep -q token= \"\$f\""

job email.verify "$id1" alice@example.org "$tok1" >/dev/null
check "the same job id again is acknowledged, not sent" within 5 metric_eq ddns_worker_jobs_duplicate_total 1
check "... and still one .eml" bash -c "[ \"\$(find '$mail' -name '*-$id1.eml' | wc -l)\" = 1 ]"
check "the queue gauges are exported" bash -c "
	curl -s http://$W_LISTEN/metrics | grep -q '^ddns_worker_queue_lag 0' &&
	curl -s http://$W_LISTEN/metrics | grep -q '^ddns_worker_queue_pending 0'"

# ---- (b) malformed jobs ----------------------------------------------------------

bad_tok=$(new_token)
idb1=$(new_id) idb2=$(new_id) idb3=$(new_id)
rc XADD jobs '*' type email.verify id NOT-HEX to a@example.org token "$bad_tok" >/dev/null
job email.verify "$idb1" $'a@example.org\r\nBcc: victim@example.org' "$bad_tok" >/dev/null
job email.newsletter "$idb2" a@example.org >/dev/null
job email.verify "$idb3" a@example.org short-token >/dev/null
check "a job with a bad id goes to jobs:dead" within 5 bash -c "redis-cli -p $redis_port -n 1 XRANGE jobs:dead - + | grep -qx NOT-HEX"
check "... with its reason" bash -c "redis-cli -p $redis_port -n 1 XRANGE jobs:dead - + | grep -qx 'invalid job: id is not 32 lowercase hex digits'"
check "CRLF in to: jobs:dead, reason" within 5 bash -c " dead_of $idb1 | grep -qx 'reason=invalid job: to is not a valid address'"
check "unknown type: jobs:dead, reason" within 5 bash -c " dead_of $idb2 | grep -qx 'reason=invalid job: unknown type'"
check "bad token: jobs:dead, reason, attempts 0" within 5 bash -c "
	d=\$(dead_of $idb3); grep -qx 'reason=invalid job: token is not 43 base64url characters' <<<\"\$d\" &&
	grep -qx 'attempts=0' <<<\"\$d\" && grep -qx 'type=email.verify' <<<\"\$d\""
check "no token is copied into jobs:dead" bash -c "! redis-cli -p $redis_port -n 1 XRANGE jobs:dead - + | grep -q -e '$bad_tok' -e '^token\$'"
check "malformed jobs are acknowledged and deleted" within 5 idle_queue
check "no .eml for malformed jobs" bash -c "[ -z \"\$(find '$mail' -name '*-$idb1.eml' -o -name '*-$idb2.eml' -o -name '*-$idb3.eml')\" ]"
check "metrics count the dead letters" metric_eq ddns_worker_jobs_dead_lettered_total 4
check "the worker is still ready" curl -fsS --max-time 2 "http://$W_LISTEN/readyz"

# ---- (e) SIGTERM -------------------------------------------------------------------

stop_worker
check "SIGTERM: exit status 0" test "$W_STATUS" = 0
check "SIGTERM: logged stopped" grep_q '"msg":"stopped"' "$W_LOG"

# ---- (c) crash safety ----------------------------------------------------------------

id2=$(new_id) tok2=$(new_token)
check "worker with crash_after=receive starts" start_worker w2 DDNS_WORKER_CRASH_AFTER=receive
job email.verify "$id2" dave@example.org "$tok2" >/dev/null
wait_exit 10
check "crash_after=receive: the worker dies with status 1" test "$W_STATUS" = 1
check "... before sending: no .eml" test "$(emls "$id2")" = 0
check "... the job is pending, its attempt counted" bash -c "
	[ \"\$(redis-cli -p $redis_port -n 1 XPENDING jobs worker | head -n 1)\" = 1 ] &&
	[ \"\$(redis-cli -p $redis_port -n 1 GET jobs:attempts:$id2)\" = 1 ]"
check "a worker restarted normally" start_worker w3
check "... re-claims the job and sends it" within 10 has_eml "$id2"
check "... exactly once" within 5 bash -c " idle_queue"
check "... one .eml" test "$(emls "$id2")" = 1
check "... counted as claimed" metric_ge ddns_worker_jobs_claimed_total 1
stop_worker

id3=$(new_id) tok3=$(new_token)
check "worker with crash_after=send starts" start_worker w4 DDNS_WORKER_CRASH_AFTER=send
job email.verify "$id3" erin@example.org "$tok3" >/dev/null
wait_exit 10
check "crash_after=send: the worker dies with status 1" test "$W_STATUS" = 1
check "... after sending: one .eml, jobs:sent set, the entry still pending" bash -c "
	[ \"\$(find '$mail' -name '*-$id3.eml' | wc -l)\" = 1 ] &&
	[ \"\$(redis-cli -p $redis_port -n 1 EXISTS jobs:sent:$id3)\" = 1 ] &&
	[ \"\$(redis-cli -p $redis_port -n 1 XPENDING jobs worker | head -n 1)\" = 1 ]"
check "a worker restarted normally" start_worker w5
check "... re-claims and acknowledges it without sending" within 10 metric_eq ddns_worker_jobs_duplicate_total 1
check "... the queue is empty" within 5 idle_queue
check "... still one .eml" test "$(emls "$id3")" = 1
check "... nothing sent by this worker" metric_eq ddns_worker_jobs_sent_total 0

# a crash loop ends: attempts survive restarts, max_attempts caps them
id3b=$(new_id)
stop_worker
rc SET "jobs:attempts:$id3b" 3 >/dev/null
check "attempts counted before a restart count" start_worker w5b DDNS_WORKER_MAX_ATTEMPTS=3
job email.password_changed "$id3b" frank@example.org >/dev/null
check "... a job past max_attempts is dead-lettered, not sent" within 10 bash -c "
	d=\$(dead_of $id3b); grep -q '^reason=gave up: 3 attempts started' <<<\"\$d\" && grep -qx attempts=3 <<<\"\$d\""
check "... no .eml" test "$(emls "$id3b")" = 0
stop_worker

# ---- Redis restarted under a running worker -------------------------------------------------

id13=$(new_id) tok13=$(new_token)
start_worker w11 >/dev/null
redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1
check "redis gone: /readyz says not ready, /healthz still answers" within 10 bash -c "
	! curl -fsS --max-time 1 http://$W_LISTEN/readyz >/dev/null && curl -fsS --max-time 1 http://$W_LISTEN/healthz >/dev/null"
redis_start "$tmp/redis" "$redis_port" --save '' --appendonly no >/dev/null
check "redis back (empty): ready again, the group made again" within 15 curl -fsS --max-time 1 "http://$W_LISTEN/readyz"
job email.verify "$id13" kim@example.org "$tok13" >/dev/null
check "... and a new job is sent" within 10 has_eml "$id13"
stop_worker
check "... exit 0 after all that" test "$W_STATUS" = 0

# ---- SMTP (libcurl) against a local sink (tests/integration/smtp_sink.py) -----------------

python3 "$root/tests/integration/smtp_sink.py" "$tmp/smtp.port" "$tmp/smtp" >"$tmp/smtp.log" 2>&1 &
pids+=($!)
within 10 test -s "$tmp/smtp.port"
smtp_url=smtp://127.0.0.1:$(cat "$tmp/smtp.port" 2>/dev/null)
# smtp_mail ID: the sink's file of the mail of job ID
smtp_mail() {
	grep -l "^Message-ID: <$1@" "$tmp"/smtp/*.eml 2>/dev/null | head -n 1
}
export -f smtp_mail
export tmp

id9=$(new_id) tok9=$(new_token) id10=$(new_id) tok10=$(new_token) id11=$(new_id) tok11=$(new_token)
check "worker with mail_transport=smtp starts" start_worker w9 DDNS_WORKER_MAIL_TRANSPORT=smtp \
	DDNS_WORKER_SMTP_URL="$smtp_url" DDNS_WORKER_SMTP_STARTTLS=false \
	DDNS_WORKER_MAIL_FROM='ddns <noreply@example.org>'
job email.verify "$id9" ivan@example.org "$tok9" >/dev/null
check "smtp: the sink receives the mail" within 10 bash -c "[ -n \"\$(smtp_mail $id9)\" ]"
check "smtp: envelope, headers and link" bash -c "
	f=\$(smtp_mail $id9); e=\${f%.eml}.env
	grep -qx 'from <noreply@example.org>' \$e && grep -qx 'to <ivan@example.org>' \$e &&
	grep -q '^To: ivan@example.org' \$f && grep -q '^Subject: Confirm your email address' \$f &&
	grep -q 'http://127.0.0.1:3000/verify?token=$tok9' \$f"
job email.password_reset "$id10" grey@example.org "$tok10" >/dev/null
check "smtp: 451 (greylisted) is retried, then delivered" within 10 bash -c "[ -n \"\$(smtp_mail $id10)\" ]"
check "... counted as a retry" metric_ge ddns_worker_jobs_retried_total 1
job email.verify "$id11" rejected@example.org "$tok11" >/dev/null
check "smtp: 550 goes to jobs:dead at once" within 10 bash -c "
	d=\$(dead_of $id11); grep -q '^reason=smtp: 550' <<<\"\$d\" && grep -qx attempts=1 <<<\"\$d\""
stop_worker
id12=$(new_id) tok12=$(new_token)
start_worker w10 DDNS_WORKER_MAIL_TRANSPORT=smtp DDNS_WORKER_SMTP_URL="$smtp_url" \
	DDNS_WORKER_MAX_ATTEMPTS=2 >/dev/null
job email.verify "$id12" judy@example.org "$tok12" >/dev/null
check "smtp: STARTTLS required and not offered: nothing sent in clear, dead after max_attempts" \
	within 10 bash -c "d=\$(dead_of $id12); grep -q '^reason=gave up after 2 attempts: smtp: ' <<<\"\$d\" &&
	[ -z \"\$(smtp_mail $id12)\" ]"
stop_worker

# ---- (d) SES against moto_server -------------------------------------------------------

ses_checks=13
if ! command -v moto_server >/dev/null 2>&1; then
	for i in $(seq 1 "$ses_checks"); do
		n=$((n + 1))
		echo "ok $n # SKIP moto_server not found"
	done
else
	moto_port=$(free_port)
	moto_server -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
	pids+=($!)
	python3 "$root/tests/integration/ses_proxy.py" "$tmp/proxy.port" "$moto_port" 2 \
		rejected@example.org slow@example.org >"$tmp/proxy.log" 2>&1 &
	pids+=($!)
	moto=http://127.0.0.1:$moto_port
	export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
	unset AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_SESSION_TOKEN

	# moto_messages: what moto received (sender, recipients, subject, body), JSON lines
	moto_messages() {
		curl -s --max-time 5 "$moto/moto-api/data.json" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["ses"]["Message"]:
    print(json.dumps({"source": m["source"], "to": m["destinations"]["ToAddresses"],
                      "subject": m["subject"], "body": m["body"]}))'
	}
	moto_has() { moto_messages | grep -q -- "$1"; }
	export -f moto_messages
	export moto

	check "moto_server answers" within 20 curl -fsS --max-time 1 "$moto/moto-api/data.json"
	# the sender identity, verified with SES's query API (signed by curl's own SigV4)
	check "the sender identity is verified in moto" bash -c "
		curl -fsS --max-time 5 --aws-sigv4 'aws:amz:eu-west-1:ses' -u testing:testing \
			-d 'Action=VerifyEmailIdentity&EmailAddress=noreply%40example.org&Version=2010-12-01' \
			$moto/ >/dev/null &&
		curl -s $moto/moto-api/data.json | grep -q noreply@example.org"
	within 10 test -s "$tmp/proxy.port"
	proxy_port=$(cat "$tmp/proxy.port" 2>/dev/null)

	id4=$(new_id) tok4=$(new_token)
	check "worker with mail_transport=ses starts" start_worker w6 DDNS_WORKER_MAIL_TRANSPORT=ses \
		DDNS_WORKER_MAIL_FROM='ddns <noreply@example.org>' \
		AWS_ENDPOINT_URL_SES="http://127.0.0.1:$proxy_port"
	t0=$(date +%s%N)
	job email.verify "$id4" bob@example.org "$tok4" >/dev/null
	check "throttled twice (429), then moto receives the mail" within 20 moto_has '"bob@example.org"'
	t1=$(date +%s%N)
	check "... sender, recipient, subject and link as sent" bash -c "
		moto=$moto
		moto_messages | grep '\"bob@example.org\"' | python3 -c '
import json, sys
m = json.loads(sys.stdin.readline())
assert m[\"source\"] == \"ddns <noreply@example.org>\", m[\"source\"]
assert m[\"to\"] == [\"bob@example.org\"], m[\"to\"]
assert m[\"subject\"] == \"Confirm your email address\", m[\"subject\"]
assert \"http://127.0.0.1:3000/verify?token=$tok4\" in m[\"body\"], m[\"body\"]
'"
	check "... the proxy throttled the first two requests" bash -c "
		grep -c throttled '$tmp/proxy.log' | grep -qx 2 && grep -q forwarded '$tmp/proxy.log'"
	check "... ddns_worker_jobs_retried_total counts the retries" metric_ge ddns_worker_jobs_retried_total 2
	check "... sent once, acknowledged" within 5 bash -c " idle_queue"
	echo "# ses via moto: XADD to moto holding the mail $(((t1 - t0) / 1000000)) ms (2 throttled attempts, retry_base 50ms)"

	id5=$(new_id) tok5=$(new_token)
	job email.password_reset "$id5" rejected@example.org "$tok5" >/dev/null
	check "a permanent refusal (400 MessageRejected) goes to jobs:dead at once" within 10 bash -c "
		 d=\$(dead_of $id5)
		grep -q '^reason=ses: HTTP 400 MessageRejected' <<<\"\$d\" && grep -qx attempts=1 <<<\"\$d\""
	check "... and was not delivered" bash -c "! curl -s $moto/moto-api/data.json | grep -q rejected@example.org"

	# health during a send in flight, and SIGTERM finishing the job in hand
	id6=$(new_id) tok6=$(new_token)
	job email.verify "$id6" slow@example.org "$tok6" >/dev/null
	within 5 grep -q slow "$tmp/proxy.log"
	h0=$(date +%s%N)
	check "health and readiness answer while a send is in flight" bash -c "
		curl -fsS --max-time 1 http://$W_LISTEN/healthz >/dev/null &&
		curl -fsS --max-time 1 http://$W_LISTEN/readyz >/dev/null"
	h1=$(date +%s%N)
	echo "# /healthz + /readyz during a 2 s send: $(((h1 - h0) / 1000000)) ms"
	stop_worker
	check "SIGTERM during the send: it finishes, moto has the mail, exit 0" bash -c "
		[ '$W_STATUS' = 0 ] &&
		moto_messages | grep -q '\"slow@example.org\"' &&
		[ \"\$(redis-cli -p $redis_port -n 1 EXISTS jobs:sent:$id6)\" = 1 ]"
	send_ms=$(grep "\"rid\":\"$id4\"" "$tmp/w6.log" | grep -o '"ms":[0-9]*' | tail -n 1 | cut -d: -f2)

	# moto itself refuses an unverified sender: a real MessageRejected
	id7=$(new_id) tok7=$(new_token) id8=$(new_id) tok8=$(new_token)
	start_worker w7 DDNS_WORKER_MAIL_TRANSPORT=ses DDNS_WORKER_MAIL_FROM=noreply@unverified.example \
		AWS_ENDPOINT_URL_SES="$moto" >/dev/null
	job email.verify "$id7" grace@example.org "$tok7" >/dev/null
	check "moto's own MessageRejected (unverified sender) is dead-lettered" within 10 bash -c "
		dead_of $id7 | grep -q '^reason=ses: HTTP 400 MessageRejected'"
	stop_worker
	start_worker w8 DDNS_WORKER_MAIL_TRANSPORT=ses DDNS_WORKER_MAIL_FROM=noreply@example.org \
		AWS_ENDPOINT_URL_SES="$moto" >/dev/null
	job email.verify "$id8" heidi@example.org "$tok8" >/dev/null
	within 10 moto_has '"heidi@example.org"'
	direct_ms=$(grep "\"rid\":\"$id8\"" "$W_LOG" | grep -o '"ms":[0-9]*' | tail -n 1 | cut -d: -f2)
	echo "# ses send round trip: ${direct_ms:-?} ms straight to moto; ${send_ms:-?} ms through the proxy (last attempt)"
	stop_worker
fi

echo "1..$n"
exit "$failed"
