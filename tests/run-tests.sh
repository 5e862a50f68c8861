#!/bin/bash
# tests/run-tests.sh: run the Criterion unit binaries given as arguments and
# every integration script in tests/integration (NNN-name.sh), then print one
# closing line "N passed, N failed". Exits non-zero if anything failed.
#   --unit          only the unit binaries
#   --integration   only the integration scripts
# TESTS="010 011" limits the integration scripts to those numbers;
# NOT_TESTS="607 613" leaves those out (make asan: see the Makefile).
set -u
here=$(cd "$(dirname "$0")" && pwd)
mode=all
case "${1:-}" in
--unit) mode=unit; shift ;;
--integration) mode=integration; shift ;;
esac
passed=0
failed=0
failures=()

if [ "$mode" != integration ]; then
	for t in "$@"; do
		echo "== unit: $(basename "$t")"
		if "$t" -j2; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			failures+=("$(basename "$t")")
		fi
	done
fi

if [ "$mode" != unit ]; then
	for s in "$here"/integration/[0-9][0-9][0-9]-*.sh; do
		[ -e "$s" ] || continue
		name=$(basename "$s" .sh)
		if [ -n "${TESTS:-}" ]; then
			case " $TESTS " in *" ${name%%-*} "*) ;; *) continue ;; esac
		fi
		case " ${NOT_TESTS:-} " in *" ${name%%-*} "*) continue ;; esac
		echo "== integration: $name"
		log=$(mktemp)
		start=$(date +%s)
		if bash "$s" >"$log" 2>&1; then
			passed=$((passed + 1))
			echo "   ok ($(($(date +%s) - start))s)"
		else
			failed=$((failed + 1))
			failures+=("$name")
			echo "   FAILED ($(($(date +%s) - start))s); its output:"
			sed 's/^/   | /' "$log" | tail -n 60
		fi
		rm -f "$log"
	done
fi

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
