/*
 * bench/ec_encode.c: liberasurecode's raw encode speed on this machine,
 * the figure the proxy's EC encode throughput is compared against.
 *
 *   ec_encode [EC_TYPE [K M [SEGMENT [SECONDS]]]]
 *
 * defaults: liberasurecode_rs_vand 4 2 1048576 2. Encodes one segment of
 * random bytes again and again for about SECONDS of CPU, straight through
 * liberasurecode_encode (+ encode_cleanup, as every caller must), and
 * prints MB/s of input (10^6 bytes per CPU second); then the same through common/ec.c
 * (which also copies the fragments into the caller's buffers). Prints
 * "n/a" for an ec_type whose backend does not load here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liberasurecode/erasurecode.h>

#include "common/ec.h"

/* CPU seconds of this process: the rate is per CPU second (the wall rate
 * on an idle machine, and unmoved by other load, as the proxy's CPU
 * seconds that bench/ec_cluster.sh compares it with). */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Raw liberasurecode: MB/s of input, or -1. */
static double raw_rate(ec_backend_id_t id, int k, int m, const char *seg,
		       size_t len, double secs)
{
	struct ec_args args = {.k = k, .m = m, .hd = m, .ct = CHKSUM_NONE};
	char **d, **p;
	uint64_t flen;
	double t0, t;
	long n = 0;
	int desc = liberasurecode_instance_create(id, &args);

	if (desc <= 0)
		return -1;
	t0 = now();
	do {
		if (liberasurecode_encode(desc, seg, len, &d, &p, &flen)) {
			liberasurecode_instance_destroy(desc);
			return -1;
		}
		liberasurecode_encode_cleanup(desc, d, p);
		n++;
		t = now() - t0;
	} while (t < secs);
	liberasurecode_instance_destroy(desc);
	return (double)n * (double)len / t / 1e6;
}

/* Through common/ec.c: MB/s of input, or -1. */
static double wrapped_rate(const char *type, int k, int m, const char *seg,
			   size_t len, double secs)
{
	struct ec_codec *c;
	char *frags[64] = {0};
	ssize_t fsz;
	double t0, t = 0, rate = -1;
	long n = 0;
	int i;

	if (ec_open(type, k, m, &c))
		return -1;
	fsz = ec_fragment_size(c, len);
	for (i = 0; fsz > 0 && i < k + m; i++)
		frags[i] = malloc((size_t)fsz);
	t0 = now();
	while (fsz > 0 && frags[k + m - 1] && t < secs) {
		if (ec_encode(c, seg, len, frags))
			break;
		n++;
		t = now() - t0;
	}
	if (n && t > 0)
		rate = (double)n * (double)len / t / 1e6;
	for (i = 0; i < k + m; i++)
		free(frags[i]);
	ec_close(c);
	return rate;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		ec_backend_id_t id;
	} types[] = {
		{"liberasurecode_rs_vand", EC_BACKEND_LIBERASURECODE_RS_VAND},
		{"isa_l_rs_vand", EC_BACKEND_ISA_L_RS_VAND},
		{"jerasure_rs_vand", EC_BACKEND_JERASURE_RS_VAND},
	};
	const char *type = argc > 1 ? argv[1] : "liberasurecode_rs_vand";
	int k = argc > 3 ? atoi(argv[2]) : 4, m = argc > 3 ? atoi(argv[3]) : 2;
	size_t len = argc > 4 ? strtoul(argv[4], NULL, 10) : 1048576;
	double secs = argc > 5 ? atof(argv[5]) : 2.0, raw, wrapped;
	char *seg = malloc(len ? len : 1);
	size_t i, t;

	if (!seg || k < 1 || m < 1)
		return 2;
	srand(42);
	for (i = 0; i < len; i++)
		seg[i] = (char)rand();
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (strcmp(types[t].name, type))
			continue;
		if (!ec_type_available(type)) {
			printf("%s %d+%d %zu-byte segments: n/a (backend "
			       "not loadable)\n",
			       type, k, m, len);
			break;
		}
		raw = raw_rate(types[t].id, k, m, seg, len, secs);
		wrapped = wrapped_rate(type, k, m, seg, len, secs);
		printf("%s %d+%d %zu-byte segments: raw encode %.0f MB/s, "
		       "common/ec.c %.0f MB/s\n",
		       type, k, m, len, raw, wrapped);
		break;
	}
	if (t == sizeof(types) / sizeof(types[0]))
		fprintf(stderr, "unknown ec_type %s\n", type);
	free(seg);
	return t == sizeof(types) / sizeof(types[0]);
}
