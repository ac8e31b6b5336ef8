#!/usr/bin/env bash
# End-to-end check of examples/server: build it, start it on a free loopback port with
# a token, run the seed document's curl command verbatim (base URL and token filled in),
# check the JSON it prints and the toggle it made, check a 401, a 404 on an unclean
# path, a 405 and a 413, check /metrics, then stop the server with SIGTERM and check that
# it shut down cleanly.
#
# Usage: .ci/e2e-server.sh   (from anywhere; needs go, curl and python3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The seed document's curl command, verbatim (../shared/seed/enable-disable.txt).
read -r -d '' SEED_CURL <<'EOF' || true
curl --location '{{baseUrl}}/api/dnc/enable-disable' \
  --header 'Authorization: Bearer {{authToken}}' \
  --header 'Content-Type: application/json' \
  --data '{
    "enable": true
  }'
EOF

seed="$root/../shared/seed/enable-disable.txt"
if [[ -f "$seed" ]]; then
	from_seed="$(awk '/^curl --location/{p=1} p{print} p&&/}'"'"'$/{exit}' "$seed")"
	if [[ "$from_seed" != "$SEED_CURL" ]]; then
		echo "e2e: the seed document's curl command differs from this script's copy:" >&2
		diff <(printf '%s\n' "$SEED_CURL") <(printf '%s\n' "$from_seed") >&2 || true
		exit 1
	fi
else
	echo "e2e: $seed not found; using this script's copy of its curl command" >&2
fi

tmp="$(mktemp -d)"
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "e2e: FAIL: $*" >&2
	if [[ -f "$tmp/server.log" ]]; then
		echo "--- server log ---" >&2
		cat "$tmp/server.log" >&2
	fi
	exit 1
}

# expect_json GOT WANT: GOT parses as JSON equal to WANT.
expect_json() {
	python3 -c '
import json, sys
got, want = sys.argv[1], json.loads(sys.argv[2])
try:
    parsed = json.loads(got)
except ValueError as e:
    sys.exit("not JSON (%s): %r" % (e, got))
if parsed != want:
    sys.exit("got  %s\nwant %s" % (json.dumps(parsed, sort_keys=True), json.dumps(want, sort_keys=True)))
' "$1" "$2" || fail "unexpected JSON"
}

echo "e2e: building examples/server"
go build -o "$tmp/server" ./examples/server

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
token="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

echo "e2e: starting the server on $base"
DNC_API_TOKENS="$token=e2e-org" "$tmp/server" -addr "127.0.0.1:$port" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 100); do
	if curl -fsS -o /dev/null "$base/metrics" 2>/dev/null; then
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "the server exited at start"
	sleep 0.1
done
curl -fsS -o /dev/null "$base/metrics" || fail "the server did not answer within 10 s"

auth=(--header "Authorization: Bearer $token")

# Switch DNC off first, so that the seed's "enable": true is a visible change.
out="$(curl -sS "${auth[@]}" --data '{"enable": false}' "$base/api/dnc/enable-disable")"
expect_json "$out" '{"message": "DNC setting updated successfully", "status": true, "code": 200, "errorMessage": ""}'
out="$(curl -sS "${auth[@]}" "$base/api/dnc/status")"
expect_json "$out" '{"message": "DNC setting fetched successfully", "status": true, "code": 200, "errorMessage": "", "data": {"enabled": false}}'

echo "e2e: running the seed document's curl command"
cmd="${SEED_CURL//\{\{baseUrl\}\}/$base}"
cmd="${cmd//\{\{authToken\}\}/$token}"
out="$(bash -c "$cmd")" || fail "the seed's curl command failed"
printf '%s\n' "$out"
expect_json "$out" '{"message": "DNC setting updated successfully", "status": true, "code": 200, "errorMessage": ""}'

out="$(curl -sS "${auth[@]}" "$base/api/dnc/status")"
expect_json "$out" '{"message": "DNC setting fetched successfully", "status": true, "code": 200, "errorMessage": "", "data": {"enabled": true}}'

echo "e2e: checking a wrong token"
code="$(curl -sS -o "$tmp/body" -w '%{http_code}' --header 'Authorization: Bearer not-a-token' \
	--header 'Content-Type: application/json' --data '{"enable": false}' "$base/api/dnc/enable-disable")"
[[ "$code" == 401 ]] || fail "wrong token: status $code, want 401"
expect_json "$(cat "$tmp/body")" '{"message": "invalid token", "status": false, "code": 401, "errorMessage": "invalid token"}'
out="$(curl -sS "${auth[@]}" "$base/api/dnc/status")"
expect_json "$out" '{"message": "DNC setting fetched successfully", "status": true, "code": 200, "errorMessage": "", "data": {"enabled": true}}'

echo "e2e: checking 404, 405 and 413"
# expect_status WANT CURL_ARGS...: the request answers WANT; its body is in $tmp/body and
# its headers in $tmp/headers.
expect_status() {
	local want="$1"
	shift
	local code
	code="$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "${auth[@]}" "$@")" || fail "curl $*"
	[[ "$code" == "$want" ]] || fail "curl $*: status $code, want $want: $(cat "$tmp/body")"
}
not_found='{"message": "not found: no such endpoint", "status": false, "code": 404, "errorMessage": "not found: no such endpoint"}'
for path in /api/dnc/x/../list /api/dnc//list /api/dnc/./status; do
	expect_status 404 --path-as-is "$base$path"
	expect_json "$(cat "$tmp/body")" "$not_found"
	if grep -qi '^location:' "$tmp/headers"; then fail "GET $path: redirected"; fi
done
expect_status 404 --path-as-is -X DELETE "$base/api/dnc//delete/0123456789abcdef01234567"
expect_json "$(cat "$tmp/body")" "$not_found"
if grep -qi '^location:' "$tmp/headers"; then fail "DELETE //delete: redirected"; fi
expect_status 405 --data '{"enable": false}' "$base/api/dnc/list"
expect_json "$(cat "$tmp/body")" '{"message": "method POST is not allowed on this path; allowed: GET, HEAD", "status": false, "code": 405, "errorMessage": "method POST is not allowed on this path; allowed: GET, HEAD"}'
grep -qi '^allow: GET, HEAD' "$tmp/headers" || fail "405 without Allow: GET, HEAD: $(cat "$tmp/headers")"
python3 -c 'import sys; sys.stdout.write("{\"enable\": false, \"pad\": \"" + "x" * (1 << 20) + "\"}")' >"$tmp/big.json"
expect_status 413 --header 'Content-Type: application/json' --data-binary "@$tmp/big.json" "$base/api/dnc/enable-disable"
expect_json "$(cat "$tmp/body")" '{"message": "request body too large: the limit is 1048576 bytes (1 MiB)", "status": false, "code": 413, "errorMessage": "request body too large: the limit is 1048576 bytes (1 MiB)"}'
out="$(curl -sS "${auth[@]}" "$base/api/dnc/status")"
expect_json "$out" '{"message": "DNC setting fetched successfully", "status": true, "code": 200, "errorMessage": "", "data": {"enabled": true}}'

echo "e2e: checking /metrics"
out="$(curl -sS "${auth[@]}" --data '{"phoneNumbers": ["12125551234"]}' "$base/api/dnc/check")"
expect_json "$out" '{"message": "DNC check completed successfully", "status": true, "code": 200, "errorMessage": "", "data": {"results": [{"input": "12125551234", "phoneNumber": "+12125551234", "skip": false, "reason": "not_listed"}]}}'
curl -fsS "$base/metrics" >"$tmp/metrics" || fail "GET /metrics failed"
grep -q '^dnc_decisions_total{reason="not_listed"} 1$' "$tmp/metrics" || fail "/metrics lacks the decision: $(grep dnc_ "$tmp/metrics")"
grep -q '^dnc_check_duration_seconds_count 1$' "$tmp/metrics" || fail "/metrics lacks the check latency"
grep -q '^dnc_check_storage_errors_total 0$' "$tmp/metrics" || fail "/metrics lacks the storage error count"

echo "e2e: stopping the server (SIGTERM)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[[ "$status" == 0 ]] || fail "the server exited with status $status after SIGTERM"
grep -q 'msg=stopped' "$tmp/server.log" || fail "the server did not log a clean stop"
if grep -q -- "$token" "$tmp/server.log"; then
	fail "the server logged the token"
fi

echo "e2e: OK"
