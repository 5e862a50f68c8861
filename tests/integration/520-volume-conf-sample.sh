#!/bin/bash
# tests/integration/520-volume-conf-sample.sh: etc/volume-server.conf-sample
# is what kumo-volumed's config table writes (--sample), and bad
# configurations are refused at startup naming the cause: an unknown key,
# a chunk size that is not a power of two, TLS required without a
# certificate.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires "$VOLUMED"

"$VOLUMED" --sample >"$TMPDIR_TEST/sample"
cmp -s "$TMPDIR_TEST/sample" "$TOP_DIR/etc/volume-server.conf-sample" ||
	fail "etc/volume-server.conf-sample differs from kumo-volumed --sample"
for key in bind_port proxy_url nbd_port tls_cert quota_volumes \
	quota_gigabytes records_account; do
	grep -q "^# $key = " "$TMPDIR_TEST/sample" ||
		fail "the sample does not document $key"
done

conf=$TMPDIR_TEST/v.conf
printf '[volume-server]\nno_such_key = 1\n' >"$conf"
expect_exit 1 "$VOLUMED" "$conf"
expect_output_has "no_such_key"

printf '[volume-server]\nchunk_size = 1000000\nswift_dir = %s\n' \
	"$TMPDIR_TEST" >"$conf"
expect_exit 1 timeout 20 "$VOLUMED" "$conf"
expect_output_has "power of two"

printf '[volume-server]\ntls_required = true\nswift_dir = %s\n' \
	"$TMPDIR_TEST" >"$conf"
expect_exit 1 timeout 20 "$VOLUMED" "$conf"
expect_output_has "tls_required"

# a bad argument gives the usage
expect_exit 2 "$VOLUMED" --no-such-option
