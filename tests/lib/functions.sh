# tests/lib/functions.sh: helpers for integration scripts. Source it first:
#   . "$(dirname "$0")/../lib/functions.sh"
# It sets -eu, makes $TMPDIR_TEST (removed at exit), and puts the built
# binaries ($KUMO_BIN, default bin/) first on PATH.
set -eu
set -o pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP_DIR=$(cd "$TESTS_DIR/.." && pwd)
KUMO_BIN=${KUMO_BIN:-$TOP_DIR/bin}
export PATH="$KUMO_BIN:$PATH"
# python3-swift and friends are Debian's; a python3 earlier on PATH may not
# see them.
PYTHON=/usr/bin/python3

_cleanup_fns=()
# cleanup_fn CMD...: run CMD at exit, last registered first.
cleanup_fn() { _cleanup_fns+=("$*"); }
_run_cleanup() {
	local i rc=$?
	for ((i = ${#_cleanup_fns[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_fns[$i]}" || true
	done
	exit $rc
}
trap _run_cleanup EXIT

TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/kumo-test.XXXXXX")
cleanup_fn rm -rf "$TMPDIR_TEST"

# fail MSG: print and exit non-zero.
fail() { echo "FAIL: $*" >&2; exit 1; }

# requires CMD...: fail (not skip) when a tool the test needs is missing;
# make test installs everything the tests use.
requires() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || fail "required tool $c is missing"
	done
}

# expect_exit CODE CMD...: run CMD, fail unless it exits with CODE. The
# output is kept in $TMPDIR_TEST/out.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$TMPDIR_TEST/out" 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		cat "$TMPDIR_TEST/out" >&2
		fail "'$*' exited $rc, expected $want"
	fi
}

# expect_output_has TEXT: the last expect_exit output contains TEXT.
expect_output_has() {
	grep -qF -- "$1" "$TMPDIR_TEST/out" ||
		{ cat "$TMPDIR_TEST/out" >&2; fail "output lacks '$1'"; }
}

# pick_unused_port: print a TCP port free on 127.0.0.1.
pick_unused_port() {
	$PYTHON - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# flip_byte FILE OFFSET: invert the bits of one byte of FILE in place (bit
# rot for the auditor and quarantine tests).
flip_byte() {
	$PYTHON - "$1" "$2" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
PY
}

# ec42_policy_conf INDEX NAME [SEG]: the [storage-policy:INDEX] section of
# a liberasurecode_rs_vand 4+2 policy NAME (SEG-byte segments, else the
# 1 MiB default), for the EC tests' configs.
ec42_policy_conf() {
	printf '[storage-policy:%s]\nname = %s\npolicy_type = erasure_coding\n' "$1" "$2"
	printf 'ec_type = liberasurecode_rs_vand\nec_num_data_fragments = 4\n'
	printf 'ec_num_parity_fragments = 2\n'
	[ -z "${3:-}" ] || printf 'ec_object_segment_size = %s\n' "$3"
}

# strace_attach PID OUT STRACE_ARGS...: strace every thread of PID into
# OUT in the background (STRACE_PID; killed at exit); returns once
# strace is attached.
strace_attach() {
	local pid=$1 out=$2 i
	shift 2
	strace -f -qq "$@" -o "$out" -p "$pid" 2>"$out.err" &
	STRACE_PID=$!
	cleanup_fn "kill $STRACE_PID 2>/dev/null"
	for i in $(seq 100); do
		awk '/^TracerPid:/ { exit $2 == 0 }' "/proc/$pid/status" &&
			return 0
		sleep 0.1
	done
	fail "strace did not attach: $(cat "$out.err")"
}
