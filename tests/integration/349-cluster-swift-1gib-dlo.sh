#!/bin/bash
# 349-cluster-swift-1gib-dlo (heavy): `swift upload --segment-size` of a
# 1 GiB file through kumo-aio (100 MiB segments, so 11 of them), as a
# dynamic large object (X-Object-Manifest), and `swift download` of it to a pipe: the
# md5 of the bytes is the file's, and the length the client sees is 1 GiB.
# Tagged heavy: 65 s here (3 replicas, fsync, one disk); the same
# paths at 64 MiB are test 343.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires md5sum timeout /usr/bin/swift

start_cluster
cd "$TMPDIR_TEST"
GIB=$((1024 * 1024 * 1024))
head -c $GIB /dev/urandom >big
sum=$(md5sum <big | cut -c1-32)
timeout 150 $SWIFT upload --segment-size $((100 * 1024 * 1024)) c big \
	>/dev/null || fail "swift upload of 1 GiB failed"
rm -f big
got=$(timeout 150 $SWIFT download c big -o - | md5sum | cut -c1-32)
[ "$got" = "$sum" ] || fail "md5 of the download $got, expected $sum"
$SWIFT stat c big >stat || fail "swift stat"
grep -q "Content Length: $GIB" stat || { cat stat; fail "length"; }
grep -q "Manifest: c_segments/big/" stat || { cat stat; fail "not a dlo"; }
echo "349-cluster-swift-1gib-dlo: ok"
