#!/bin/bash
# scripts/run-demo.sh: what `make run` does until the storage servers exist:
# build the all-in-one layout's rings under ./var/aio with kumo-ring (four
# devices on 127.0.0.1, 3 replicas, part_power 10, as the all-in-one
# cluster will use) and show where a few paths land.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
dir=$top/var/aio/rings
mkdir -p "$dir"
cd "$dir"
ports=(account:6202 container:6201 object:6200)
for spec in "${ports[@]}"; do
	name=${spec%%:*}
	port=${spec##*:}
	if [ ! -f "$name.builder" ]; then
		"$bin/kumo-ring" "$name.builder" create 10 3 1 >/dev/null
		for i in 1 2 3 4; do
			"$bin/kumo-ring" "$name.builder" add \
				"r1z$i-127.0.0.1:$port/d$i" 100 >/dev/null
		done
		"$bin/kumo-ring" "$name.builder" rebalance --seed 1 >/dev/null ||
			[ $? -eq 1 ]
	fi
done
echo "== the object ring builder (kumo-ring $dir/object.builder)"
"$bin/kumo-ring" object.builder
echo
echo "== where AUTH_test/photos/cat.jpg lives (kumo-ring get-nodes)"
"$bin/kumo-ring" get-nodes object.ring.gz --prefix "" --suffix changeme \
	AUTH_test/photos/cat.jpg
cat <<EOT
Rings are in $dir. Try, for example:
  bin/kumo-ring $dir/object.builder add r1z1-127.0.0.1:6200/d5 100
  bin/kumo-ring $dir/object.builder rebalance
  bin/kumo-ring get-nodes $dir/object.ring.gz --suffix changeme --json AUTH_test/c/o
The proxy and storage servers that use these rings come with the object
store (issue "The object store"); then make run starts the whole cluster.
EOT
