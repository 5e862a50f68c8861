#!/bin/bash
# bench/ec.sh: liberasurecode's raw encode speed on this machine for a 4+2
# policy with 1 MiB segments (bench/ec_encode.c), for each ec_type whose
# backend loads: the reference the proxy's EC encode throughput is
# measured against (issue 6).
set -eu
B=${KUMO_BUILD:-build}/bench/ec_encode
[ -x "$B" ] || { echo "ec: $B not built (make bench builds it)"; exit 1; }
for t in liberasurecode_rs_vand isa_l_rs_vand jerasure_rs_vand; do
	"$B" "$t" 4 2 1048576 2
done
