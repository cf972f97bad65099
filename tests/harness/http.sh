# HTTP checks for the shell tests, with curl: source it after tests/harness/tap.sh
# (check) with $tmp (a scratch folder) and $base (http://host:port) set.
# TOK: a bearer token to send (none if empty); CT: the Content-Type of a body;
# CURL_EXTRA: more curl arguments for every request (a cookie jar, headers).
TOK=${TOK:-}
CT=${CT:-application/json}
CURL_EXTRA=()
st=

# http METHOD PATH [BODY [CURL_ARGS...]]: the status in $st, the body in
# $tmp/body, the headers in $tmp/hdr; the bearer token is $TOK (none if empty).
# A BODY is sent with Content-Type $CT (none if empty); "-" sends none.
http() {
	local m=$1 p=$2 args
	shift 2
	args=(-s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X "$m" --max-time 10 "${CURL_EXTRA[@]}")
	[ -n "$TOK" ] && args+=(-H "Authorization: Bearer $TOK")
	if [ $# -gt 0 ] && [ "$1" = - ]; then
		shift
	elif [ $# -gt 0 ]; then
		[ -n "$CT" ] && args+=(-H "Content-Type: $CT")
		args+=(--data-binary "$1")
		shift
	fi
	st=$(curl "${args[@]}" "$@" "$base$p")
}

# j EXPR: a value of the last body (d is the parsed JSON); nothing if absent.
j() {
	python3 - "$tmp/body" "$1" <<-'EOF'
		import json, sys
		try:
		    d = json.load(open(sys.argv[1]))
		    v = eval(sys.argv[2])
		except Exception:
		    sys.exit(0)
		if isinstance(v, (dict, list, bool)) or v is None:
		    print(json.dumps(v))
		else:
		    print(v)
	EOF
}

# hdr NAME: a header of the last answer
hdr() {
	grep -i "^$1:" "$tmp/hdr" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'
}

# is STATUS CODE: the last answer had STATUS and error code CODE ("" for a
# success: then the body must carry no code)
is() {
	local code
	code=$(j 'd["code"]')
	if [ "$st" = "$1" ] && [ "$code" = "$2" ]; then
		return 0
	fi
	echo "want $1 ${2:-(no code)}, got $st ${code:-(no code)}: $(head -c 400 "$tmp/body")"
	return 1
}

# expect DESC STATUS CODE METHOD PATH [BODY [CURL_ARGS...]]
expect() {
	local desc=$1 want=$2 code=$3
	shift 3
	http "$@"
	check "$desc" is "$want" "$code"
}

