#!/bin/bash
# 514-volume-nbd-refused: kumo-volumed's NBD port serves a volume only
# while it is attached: an unknown export name, and the volume's own name
# before attaching and after detaching, are refused (nbdinfo fails), and
# the server keeps serving the attached volume in between.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl nbdinfo

start_cluster
id=$(vol_create 1)
expect_exit 1 timeout 20 nbdinfo "nbd://127.0.0.1:$NBD_PORT/$id"
expect_exit 1 timeout 20 nbdinfo "nbd://127.0.0.1:$NBD_PORT/no-such-export"
uri=$(vol_attach "$id")
expect_exit 1 timeout 20 nbdinfo "nbd://127.0.0.1:$NBD_PORT/${uri##*/}x"
expect_exit 0 timeout 20 nbdinfo --size "$uri"
expect_output_has 1073741824
vol_detach "$id"
expect_exit 1 timeout 20 nbdinfo "$uri"
echo ok
