#!/bin/bash
# bench/run.sh: make bench. Runs every benchmark script of bench/ in turn
# (ring.sh, then the others by name), each printing its own table; none is
# part of make test (swift_aio.sh is not a benchmark: swift.sh sources it).
# BENCH="ring volume_nbd" limits the run to those names.
# A script that fails is reported and the others still run; the exit status
# is non-zero when any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
failed=()
for s in "$here"/ring.sh $(ls "$here"/*.sh | grep -v -e '/run\.sh$' -e '/ring\.sh$' -e '/swift_aio\.sh$'); do
	name=$(basename "$s" .sh)
	if [ -n "${BENCH:-}" ]; then
		case " $BENCH " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "=== bench: $name"
	bash "$s" || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench failed: ${failed[*]}"
	exit 1
fi
