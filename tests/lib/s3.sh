# tests/lib/s3.sh: S3 client setup for the S3 integration tests (353-357).
# Source after functions.sh and cluster.sh, then call s3_setup after
# start_cluster. The S3 endpoint is the proxy's port, path-style; the
# credentials are tempauth's test:tester / testing (Swift's s3api:
# access key account:user, secret the user's key), region us-east-1.
#
# s3_setup sets S3_URL, points HOME at a fresh folder (so no client reads
# the machine's own configuration), exports the AWS_* credentials, and
# sets AWS (awscli 2 from Debian, /usr/bin/aws, with --endpoint-url). The
# calls go through tests/lib/aws_zygote.py, which imports awscli once and
# forks each command from there: the same main(), arguments, environment,
# folder and descriptors, without ~1.2 s of start-up per call (~0.6 s
# left). AWS_EXE runs /usr/bin/aws itself (test 353 uses it throughout).
# AWS_CA_BUNDLE goes (plain http; rclone's S3 SDK fails on it).
# swift_list CONTAINER prints the Swift listing of CONTAINER (nothing when
# it does not exist), to check what an S3 call stored or left.
# s3err CODE CMD...: CMD (an aws call) fails with S3's error CODE.
# slice FILE OFFSET LENGTH prints those bytes of FILE; jget FILE A.B.0
# prints a field of a JSON file (digits index lists).

s3_setup() {
	S3_URL=http://127.0.0.1:$PROXY_PORT
	export HOME=$TMPDIR_TEST/home
	mkdir -p "$HOME/.aws"
	export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing
	export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CONFIG_FILE \
		AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL AWS_CA_BUNDLE \
		2>/dev/null || true
	local sock=$TMPDIR_TEST/aws.sock i
	$PYTHON "$TESTS_DIR/lib/aws_zygote.py" serve "$sock" &
	cleanup_fn "kill $! 2>/dev/null"
	for i in $(seq 1 100); do
		[ -S "$sock" ] && break
		kill -0 $! 2>/dev/null || fail "aws_zygote.py did not start"
		sleep 0.05
	done
	[ -S "$sock" ] || fail "aws_zygote.py did not listen within 5 s"
	AWS_EXE="timeout 120 /usr/bin/aws --endpoint-url $S3_URL"
	AWS="timeout 120 $PYTHON -S $TESTS_DIR/lib/aws_zygote.py call $sock --endpoint-url $S3_URL"
}

swift_list() {
	local out
	if out=$($SWIFT list "$1" 2>&1); then
		[ -z "$out" ] || printf '%s\n' "$out"
	else
		case "$out" in
		*"404 Not Found"* | *"not found"* | *"Not Found"*) ;;
		*) echo "$out" >&2; fail "swift list $1" ;;
		esac
	fi
}

s3err() {
	local want=$1 out=$TMPDIR_TEST/s3err.out
	shift
	if "$@" >"$out" 2>&1; then
		cat "$out" >&2
		fail "'$*' succeeded, expected $want"
	fi
	grep -q "($want)" "$out" || { cat "$out" >&2; fail "'$*': not $want"; }
}

slice() {
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}

jget() {
	$PYTHON -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$@"
}
