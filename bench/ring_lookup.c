/*
 * bench/ring_lookup.c: path-to-nodes lookups per second on one core.
 *
 *   ring_lookup RING.ring.gz [N]
 * hashes N distinct object paths (prefix/suffix as a cluster would), finds
 * the partition and the primaries, and prints lookups/s; then the same with
 * the first two handoffs as well (what a PUT to a cluster with a down node
 * needs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ring/ring.h"

/* Count in decimal inside the name, so making a path costs ~nothing. */
static void next_name(char *digits, int len)
{
	int i;

	for (i = len - 1; i >= 0; i--) {
		if (digits[i] != '9') {
			digits[i]++;
			return;
		}
		digits[i] = '0';
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct ring_hash_conf conf = {"kumo-prefix", "kumo-suffix"};
	const struct ring_dev *nodes[64];
	struct ring *ring;
	long i, n = argc > 2 ? atol(argv[2]) : 2000000;
	char obj[] = "photos/2026/img-0000000000.jpg";
	char *digits = strchr(obj, '-') + 1;
	unsigned long sink = 0;
	double t0, t1;

	log_init(argv[0], LOG_WARN);
	if (argc < 2 || ring_load(argv[1], &ring))
		return 2;
	t0 = now();
	for (i = 0; i < n; i++) {
		int64_t part;

		next_name(digits, 10);
		part = ring_get_part(ring, &conf, "AUTH_test", "bench", obj);
		sink += (unsigned long)ring_get_part_nodes(ring, (uint32_t)part,
							   nodes, 64);
		sink += (unsigned long)nodes[0]->id;
	}
	t1 = now();
	printf("lookups (partition + primaries): %.0f/s on one core "
	       "(%ld in %.3f s)\n",
	       n / (t1 - t0), n, t1 - t0);
	t0 = now();
	for (i = 0; i < n / 10; i++) {
		int64_t part;

		next_name(digits, 10);
		part = ring_get_part(ring, &conf, "AUTH_test", "bench", obj);
		ring_get_part_nodes(ring, (uint32_t)part, nodes, 64);
		sink += (unsigned long)ring_get_handoffs(ring, (uint32_t)part,
							 nodes, 2);
	}
	t1 = now();
	printf("lookups (partition + primaries + 2 handoffs): %.0f/s\n",
	       n / 10 / (t1 - t0));
	ring_put(ring);
	return sink == 0;
}
