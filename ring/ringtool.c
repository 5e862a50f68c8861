/*
 * ring/ringtool.c: bin/kumo-ring, the ring builder and lookup tool.
 *
 * It speaks swift-ring-builder's command syntax so that operators' habits
 * and scripts carry over:
 *   kumo-ring FILE.builder                       show devices and balance
 *   kumo-ring FILE.builder create <part_power> <replicas> <min_part_hours>
 *   kumo-ring FILE.builder add <add-value> <weight> [<add-value> <weight>..]
 *   kumo-ring FILE.builder remove <search-value> [...]
 *   kumo-ring FILE.builder set_weight <search-value> <weight> [...]
 *   kumo-ring FILE.builder set_replicas|set_min_part_hours|set_overload <v>
 *   kumo-ring FILE.builder rebalance [--seed N] [--force] [N]
 *   kumo-ring FILE.builder pretend_min_part_hours_passed | write_ring
 *   kumo-ring FILE.builder search <search-value>
 *   kumo-ring RING.ring.gz                       ring summary and quality
 *   kumo-ring get-nodes RING.ring.gz --prefix P --suffix S [--json]
 *             [--handoffs N] PATH... ("-" reads paths from stdin)
 * Exit codes are swift-ring-builder's: 0 done, 1 nothing done or a
 * warning, 2 an error. Every error names its cause; a file is only ever
 * replaced whole (tmp, fsync, rename).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/pyjson.h"
#include "ring/builder.h"
#include "ring/ring.h"

#define EXIT_OK	     0
#define EXIT_WARNING 1
#define EXIT_ERROR   2

static const char *builder_path;
static int assume_yes; /* --yes: a search may name many devices */
static char ring_path[4096];
static char backup_dir[4096];

static int usage(void)
{
	fprintf(stderr,
		"usage: kumo-ring <builder_file> [command] [args...]\n"
		"  (no command)       show the builder's devices and balance\n"
		"  create <part_power> <replicas> <min_part_hours>\n"
		"  add [r<region>]z<zone>-<ip>:<port>[R<ip>:<port>]/<device>"
		"[_<meta>] <weight> [...]\n"
		"  remove <search-value> [...]\n"
		"  set_weight <search-value> <weight> [...]\n"
		"  set_replicas <replicas> | set_min_part_hours <hours> | "
		"set_overload <fraction|N%%>\n"
		"  rebalance [--seed N] [--force]\n"
		"  pretend_min_part_hours_passed | write_ring | validate\n"
		"  search <search-value>\n"
		"kumo-ring <ring_file.ring.gz>   summary, balance, dispersion\n"
		"kumo-ring get-nodes <ring_file> --prefix P --suffix S "
		"[--json] [--handoffs N] <account[/container[/object]]>... "
		"(- reads paths from stdin)\n");
	return EXIT_ERROR;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) ? -EINVAL : 0;
}

static int parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* --- get-nodes ---------------------------------------------------------- */

static void print_dev_json(struct buf *o, const struct ring_dev *d)
{
	buf_printf(o,
		   "{\"id\": %d, \"region\": %d, \"zone\": %d, \"ip\": ", d->id,
		   d->region, d->zone);
	pyjson_string(o, d->ip);
	buf_printf(o, ", \"port\": %d, \"device\": ", d->port);
	pyjson_string(o, d->device);
	buf_printf(o, "}");
}

/* Look one path up and print it; 0 or EXIT_ERROR for a bad path. */
static int get_nodes_one(const struct ring *ring,
			 const struct ring_hash_conf *conf, const char *path,
			 int json, int max_handoffs,
			 const struct ring_dev **handoffs)
{
	const struct ring_dev *prim[64];
	char *copy = strdup(path), *acct, *cont = NULL, *obj = NULL, *s;
	uint8_t digest[16];
	char hex[33];
	struct buf o = BUF_INIT;
	uint32_t part;
	int np, nh, i, rc = 0;

	if (!copy)
		return EXIT_ERROR;
	acct = copy[0] == '/' ? copy + 1 : copy;
	s = strchr(acct, '/');
	if (s) {
		*s = '\0';
		cont = s + 1;
		s = strchr(cont, '/');
		if (s) {
			*s = '\0';
			obj = s + 1;
		}
	}
	if (!*acct || (obj && *obj && !(cont && *cont))) {
		fprintf(stderr,
			"kumo-ring: bad path '%s': expected "
			"account[/container[/object]]\n",
			path);
		rc = EXIT_ERROR;
		goto out;
	}
	if (ring_hash_path(conf, acct, cont, obj, digest)) {
		rc = EXIT_ERROR;
		goto out;
	}
	part = ring_part_of_digest(ring, digest);
	np = ring_get_part_nodes(ring, part, prim, 64);
	nh = ring_get_handoffs(ring, part, handoffs, max_handoffs);
	if (nh < 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	if (json) {
		buf_printf(&o, "{\"path\": ");
		if (pyjson_string(&o, path)) {
			fprintf(stderr, "kumo-ring: path is not UTF-8\n");
			rc = EXIT_ERROR;
			goto out;
		}
		buf_printf(&o, ", \"partition\": %u, \"primaries\": [", part);
		for (i = 0; i < np; i++) {
			if (i)
				buf_printf(&o, ", ");
			print_dev_json(&o, prim[i]);
		}
		buf_printf(&o, "], \"handoffs\": [");
		for (i = 0; i < nh; i++) {
			if (i)
				buf_printf(&o, ", ");
			print_dev_json(&o, handoffs[i]);
		}
		buf_printf(&o, "]}\n");
	} else {
		md5_hex(digest, hex);
		buf_printf(&o, "Account  \t%s\n", acct);
		if (cont && *cont)
			buf_printf(&o, "Container\t%s\n", cont);
		if (obj && *obj)
			buf_printf(&o, "Object   \t%s\n", obj);
		buf_printf(&o, "\nPartition\t%u\nHash     \t%s\n\n", part, hex);
		for (i = 0; i < np; i++)
			buf_printf(&o, "Server:Port Device\t%s:%d %s\n",
				   prim[i]->ip, prim[i]->port, prim[i]->device);
		for (i = 0; i < nh; i++)
			buf_printf(&o,
				   "Server:Port Device\t%s:%d %s\t "
				   "[Handoff]\n",
				   handoffs[i]->ip, handoffs[i]->port,
				   handoffs[i]->device);
		buf_printf(&o, "\n");
	}
	if (o.len)
		fwrite(o.data, 1, o.len, stdout);
out:
	buf_free(&o);
	free(copy);
	return rc;
}

static int cmd_get_nodes(int argc, char **argv)
{
	struct ring_hash_conf conf = {"", ""};
	const struct ring_dev **handoffs = NULL;
	const char *ring_file = NULL;
	struct ring *ring = NULL;
	int i, json = 0, max_handoffs = -1, npaths = 0, rc = EXIT_OK;
	char **paths;

	paths = calloc((size_t)argc + 1, sizeof(*paths));
	if (!paths)
		return EXIT_ERROR;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
			conf.prefix = argv[++i];
		} else if (!strcmp(argv[i], "--suffix") && i + 1 < argc) {
			conf.suffix = argv[++i];
		} else if (!strcmp(argv[i], "--handoffs") && i + 1 < argc) {
			if (parse_int(argv[++i], 0, RING_MAX_DEVS,
				      &max_handoffs)) {
				fprintf(stderr, "kumo-ring: bad --handoffs\n");
				rc = EXIT_ERROR;
				goto out;
			}
		} else if (!ring_file) {
			ring_file = argv[i];
		} else {
			paths[npaths++] = argv[i];
		}
	}
	if (!ring_file || npaths == 0) {
		rc = usage();
		goto out;
	}
	if (ring_load(ring_file, &ring)) {
		fprintf(stderr, "kumo-ring: cannot load ring %s\n", ring_file);
		rc = EXIT_ERROR;
		goto out;
	}
	if (max_handoffs < 0)
		max_handoffs = ring->ndevs;
	handoffs = calloc((size_t)max_handoffs + 1, sizeof(*handoffs));
	if (!handoffs) {
		rc = EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < npaths; i++) {
		if (strcmp(paths[i], "-") == 0) {
			char *line = NULL;
			size_t cap = 0;
			ssize_t n;

			while ((n = getline(&line, &cap, stdin)) != -1) {
				if (n > 0 && line[n - 1] == '\n')
					line[--n] = '\0';
				if (n == 0)
					continue;
				if (get_nodes_one(ring, &conf, line, json,
						  max_handoffs, handoffs))
					rc = EXIT_ERROR;
			}
			free(line);
		} else if (get_nodes_one(ring, &conf, paths[i], json,
					 max_handoffs, handoffs)) {
			rc = EXIT_ERROR;
		}
	}
out:
	free(handoffs);
	free(paths);
	ring_put(ring);
	return rc;
}

/* --- ring summary ------------------------------------------------------- */

static int cmd_ring_info(const char *path)
{
	struct ring *ring;

	if (ring_load(path, &ring)) {
		fprintf(stderr, "kumo-ring: cannot load ring %s\n", path);
		return EXIT_ERROR;
	}
	printf("%s, build version %d\n", path, ring->version);
	printf("%u partitions, %.6f replicas, %d regions, %d zones, "
	       "%d devices, %.02f balance, %.02f dispersion\n",
	       ring->nparts, ring_replica_count(ring), ring->dev_regions,
	       ring->dev_zones, ring->num_devs, ring_balance(ring),
	       ring_dispersion(ring));
	ring_put(ring);
	return EXIT_OK;
}

/* --- builder commands ---------------------------------------------------- */

static void derive_paths(const char *bpath)
{
	size_t n = strlen(bpath);
	const char *slash = strrchr(bpath, '/');

	if (n > 8 && strcmp(bpath + n - 8, ".builder") == 0)
		snprintf(ring_path, sizeof(ring_path), "%.*s.ring.gz",
			 (int)(n - 8), bpath);
	else
		snprintf(ring_path, sizeof(ring_path), "%s.ring.gz", bpath);
	if (slash)
		snprintf(backup_dir, sizeof(backup_dir), "%.*s/backups",
			 (int)(slash - bpath), bpath);
	else
		snprintf(backup_dir, sizeof(backup_dir), "backups");
}

/* Write path's timestamped copy name under backups/ into out. */
static int backup_name(char *out, size_t len, const char *path, long ts)
{
	const char *base = strrchr(path, '/');

	if (mkdir(backup_dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "kumo-ring: cannot create %s: %s\n", backup_dir,
			strerror(errno));
		return -1;
	}
	snprintf(out, len, "%s/%ld.%s", backup_dir, ts, base ? base + 1 : path);
	return 0;
}

/*
 * Save the builder and/or the ring as swift-ring-builder does: first both
 * timestamped copies in backups/, then the builder, then the ring, so that
 * a failure never leaves a ring newer than its builder.
 */
static int save_all(const struct builder *b, const struct ring *ring)
{
	struct buf rbytes = BUF_INIT, bbytes = BUF_INIT;
	char rbk[sizeof(backup_dir) + 64 + sizeof(ring_path)];
	char bbk[sizeof(backup_dir) + 64 + sizeof(ring_path)];
	long ts = (long)time(NULL);
	int rc = EXIT_ERROR;

	if ((ring && (ring_serialize_v1(ring, ring_path, &rbytes) ||
		      backup_name(rbk, sizeof(rbk), ring_path, ts) ||
		      fs_write_atomic(rbk, rbytes.data, rbytes.len, 0644))) ||
	    (b && (builder_serialize(b, &bbytes) ||
		   backup_name(bbk, sizeof(bbk), builder_path, ts) ||
		   fs_write_atomic(bbk, bbytes.data, bbytes.len, 0644))))
		goto out;
	if (b && fs_write_atomic(builder_path, bbytes.data, bbytes.len, 0644))
		goto out;
	if (ring && fs_write_atomic(ring_path, rbytes.data, rbytes.len, 0644))
		goto out;
	rc = EXIT_OK;
out:
	if (rc)
		fprintf(stderr, "kumo-ring: could not save; see above\n");
	buf_free(&rbytes);
	buf_free(&bbytes);
	return rc;
}

static int cmd_create(int argc, char **argv)
{
	struct builder *b = NULL;
	char err[256];
	double replicas;
	int pp, mph, rc;

	if (argc != 6) {
		fprintf(stderr, "usage: kumo-ring <builder_file> create "
				"<part_power> <replicas> <min_part_hours>\n");
		return EXIT_ERROR;
	}
	if (parse_int(argv[3], -1000000, 1000000, &pp) ||
	    parse_double(argv[4], &replicas) ||
	    parse_int(argv[5], -1000000, 1000000, &mph)) {
		fprintf(stderr, "kumo-ring: create: part_power and "
				"min_part_hours must be integers, replicas a "
				"number\n");
		return EXIT_ERROR;
	}
	rc = builder_create(pp, replicas, mph, &b, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kumo-ring: create: %s\n", err);
		return EXIT_ERROR;
	}
	rc = save_all(b, NULL);
	builder_free(b);
	return rc;
}

/* ip:port, with brackets around an IPv6 address as Swift shows it. */
static const char *fmt_addr(const char *ip, int port, char *out, size_t len)
{
	snprintf(out, len, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
	return out;
}

static const char *fmt_dev(const struct builder_dev *d, char *out, size_t len)
{
	char a[300], r[300];

	snprintf(out, len, "d%dr%dz%d-%sR%s/%s_\"%s\"", d->id, d->region,
		 d->zone, fmt_addr(d->ip, d->port, a, sizeof(a)),
		 fmt_addr(d->replication_ip, d->replication_port, r, sizeof(r)),
		 d->device, d->meta);
	return out;
}

static int cmd_add(struct builder *b, int argc, char **argv)
{
	struct buf said = BUF_INIT;
	int i, rc = EXIT_OK;

	if (argc < 5 || (argc - 3) % 2) {
		fprintf(stderr, "usage: kumo-ring <builder_file> add "
				"[r<region>]z<zone>-<ip>:<port>[R<ip>:<port>]"
				"/<device>[_<meta>] <weight> [...]\n");
		return EXIT_ERROR;
	}
	for (i = 3; i + 1 < argc && rc == EXIT_OK; i += 2) {
		struct builder_dev tmpl;
		char *scratch = malloc(strlen(argv[i]) + 1);
		char err[512] = "";
		int id = -1;

		if (!scratch)
			return EXIT_ERROR;
		if (builder_parse_add(argv[i], &tmpl, scratch, err,
				      sizeof(err)) == 0) {
			if (parse_double(argv[i + 1], &tmpl.weight))
				snprintf(err, sizeof(err),
					 "Invalid weight value: %s",
					 argv[i + 1]);
			else
				id = builder_add_dev(b, &tmpl, err,
						     sizeof(err));
		}
		if (id < 0) {
			fprintf(stderr,
				"kumo-ring: add: %s\n"
				"The on-disk ring builder is "
				"unchanged.\n",
				err);
			rc = EXIT_ERROR;
		} else {
			buf_printf(&said,
				   "Device %s with %s weight got id %d\n",
				   argv[i], argv[i + 1], id);
		}
		free(scratch);
	}
	/* say what was added only once all of it is good, since only
	 * then is anything saved */
	if (rc == EXIT_OK && said.len)
		fwrite(said.data, 1, said.len, stdout);
	buf_free(&said);
	return rc;
}

/*
 * The devices a search value names, into ids (RING_MAX_DEVS long): one, or
 * several when --yes was given (as swift-ring-builder's --yes). Returns
 * the count, or -1 having said why not.
 */
static int find_devs(struct builder *b, const char *value, int *ids)
{
	int n = builder_search(b, value, ids, RING_MAX_DEVS);

	if (n < 0) {
		fprintf(stderr, "kumo-ring: invalid search value: %s\n", value);
		return -1;
	}
	if (n == 0)
		fprintf(stderr,
			"kumo-ring: Search value %s matched 0 "
			"devices.\n",
			value);
	else if (n > 1 && !assume_yes)
		fprintf(stderr,
			"kumo-ring: Search value %s matched %d "
			"devices; name one (e.g. d<id>) or add --yes "
			"to change them all.\n",
			value, n);
	else
		return n;
	fprintf(stderr, "The on-disk ring builder is unchanged.\n");
	return -1;
}

static int cmd_remove(struct builder *b, int argc, char **argv)
{
	static int ids[RING_MAX_DEVS];
	char desc[1024];
	int i, k, n;

	if (argc < 4)
		return usage();
	for (i = 3; i < argc; i++) {
		n = find_devs(b, argv[i], ids);
		if (n < 0)
			return EXIT_ERROR;
		for (k = 0; k < n; k++) {
			builder_remove_dev(b, ids[k]);
			printf("%s marked for removal and will be removed "
			       "next rebalance.\n",
			       fmt_dev(&b->devs[ids[k]], desc, sizeof(desc)));
		}
	}
	return EXIT_OK;
}

static int cmd_set_weight(struct builder *b, int argc, char **argv)
{
	static int ids[RING_MAX_DEVS];
	char desc[1024];
	int i, k, n;
	double w;

	if (argc < 5 || (argc - 3) % 2)
		return usage();
	for (i = 3; i + 1 < argc; i += 2) {
		n = find_devs(b, argv[i], ids);
		if (n < 0)
			return EXIT_ERROR;
		/* 0 drains (the next rebalance empties the device);
		 * builder_set_weight refuses what is not finite */
		if (parse_double(argv[i + 1], &w) || !(w >= 0) ||
		    !isfinite(w)) {
			fprintf(stderr,
				"kumo-ring: set_weight: invalid "
				"weight %s: must be a number >= 0 (0 "
				"drains the device)\n"
				"The on-disk ring builder is "
				"unchanged.\n",
				argv[i + 1]);
			return EXIT_ERROR;
		}
		for (k = 0; k < n; k++) {
			builder_set_weight(b, ids[k], w);
			printf("%s weight set to %s\n",
			       fmt_dev(&b->devs[ids[k]], desc, sizeof(desc)),
			       argv[i + 1]);
		}
	}
	return EXIT_OK;
}

static uint64_t seed_from(const char *s)
{
	uint8_t d[16];
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!errno && end != s && !*end)
		return v;
	md5_buf(s, strlen(s), d);
	memcpy(&v, d, sizeof(v));
	return v;
}

static int cmd_rebalance(struct builder *b, int argc, char **argv)
{
	struct rebalance_result res;
	struct ring *ring;
	uint64_t seed = 0;
	int i, force = 0, have_seed = 0, status, devs_changed;
	double last_balance, last_dispersion;
	int64_t secs_left;
	char err[512] = "";

	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = 1;
		else if ((!strcmp(argv[i], "--seed") ||
			  !strcmp(argv[i], "-s")) &&
			 i + 1 < argc)
			seed = seed_from(argv[++i]), have_seed = 1;
		else if (!strncmp(argv[i], "--seed=", 7))
			seed = seed_from(argv[i] + 7), have_seed = 1;
		else if (argv[i][0] != '-')
			seed = seed_from(argv[i]), have_seed = 1;
		else
			return usage();
	}
	if (!have_seed &&
	    getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL);
	devs_changed = b->devs_changed;
	secs_left = builder_min_part_seconds_left(b);
	last_balance = b->nrows ? builder_balance(b) : BUILDER_MAX_BALANCE;
	last_dispersion = b->dispersion;
	if (builder_rebalance(b, seed, &res, err, sizeof(err))) {
		fprintf(stderr,
			"-------------------------------------------------"
			"------------------------------\n"
			"An error has occurred during ring validation. "
			"Common\ncauses of failure are rings that are empty "
			"or do not\nhave enough devices to accommodate the "
			"replica count.\nOriginal exception message:\n %s\n",
			*err ? err : "out of memory");
		return EXIT_ERROR;
	}
	if (!res.changed && !force && !res.removed_devs) {
		printf("No partitions could be reassigned.\n");
		if (secs_left > 0)
			printf("The time between rebalances must be at least "
			       "min_part_hours: %d hours (%" PRId64
			       ":%02" PRId64 ":%02" PRId64 " remaining)\n",
			       b->min_part_hours, secs_left / 3600,
			       secs_left / 60 % 60, secs_left % 60);
		else
			printf("There is no need to do so at this time\n");
		return EXIT_WARNING;
	}
	if (!force && !devs_changed && fabs(last_balance - res.balance) < 1 &&
	    last_dispersion >= 0 &&
	    fabs(last_dispersion - res.dispersion) < 1) {
		printf("Cowardly refusing to save rebalance as it did not "
		       "change at least 1%%.\n");
		return EXIT_WARNING;
	}
	printf("Reassigned %" PRIu64 " (%.02f%%) partitions. Balance is now "
	       "%.02f.  Dispersion is now %.02f\n",
	       res.changed, 100.0 * (double)res.changed / b->nparts,
	       res.balance, res.dispersion);
	status = EXIT_OK;
	if (res.dispersion > 0) {
		printf("NOTE: Dispersion of %.06f indicates some parts are "
		       "not\n      optimally dispersed.\n\n      You may want "
		       "to adjust some device weights, increase\n      the "
		       "overload or review the dispersion report.\n",
		       res.dispersion);
		status = EXIT_WARNING;
	} else if (res.balance > 5 && res.balance / 100.0 > b->overload) {
		printf("NOTE: Balance of %.02f indicates you should push this "
		       "\n      ring, wait at least %d hours, and "
		       "rebalance/repush.\n",
		       res.balance, b->min_part_hours);
		status = EXIT_WARNING;
	}
	ring = builder_get_ring(b);
	if (!ring)
		return EXIT_ERROR;
	if (save_all(b, ring) != EXIT_OK)
		status = EXIT_ERROR;
	ring_put(ring);
	return status;
}

static int cmd_write_ring(struct builder *b)
{
	struct ring *ring;
	int rc;

	if (b->ndevs == 0) {
		fprintf(stderr, "kumo-ring: Unable to write empty ring.\n");
		return EXIT_ERROR;
	}
	if (b->nrows == 0)
		printf("Warning: Writing a ring with no partition assignments "
		       "but with devices; did you forget to run "
		       "\"rebalance\"?\n");
	ring = builder_get_ring(b);
	if (!ring)
		return EXIT_ERROR;
	rc = save_all(NULL, ring);
	ring_put(ring);
	return rc;
}

/* Is the ring file on disk exactly what this builder would write? */
static const char *ring_file_state(const struct builder *b)
{
	struct buf mine = BUF_INIT;
	uint8_t *disk = NULL;
	struct ring *ring;
	size_t len = 0;
	const char *state = "is obsolete";

	if (fs_read_file(ring_path, RING_MAX_FILE, &disk, &len))
		return NULL;
	ring = builder_get_ring(b);
	if (ring && !ring_serialize_v1(ring, ring_path, &mine) &&
	    mine.len == len && !memcmp(mine.data, disk, len))
		state = "is up-to-date";
	ring_put(ring);
	buf_free(&mine);
	free(disk);
	return state;
}

static int cmd_show(struct builder *b)
{
	int64_t left = builder_min_part_seconds_left(b);
	struct ring *ring = builder_get_ring(b);
	const char *state;
	int i;

	if (!ring) {
		fprintf(stderr, "kumo-ring: the builder's partition table is "
				"inconsistent\n");
		return EXIT_ERROR;
	}
	printf("%s, build version %d\n", builder_path, b->version);
	printf("%u partitions, %.6f replicas, %d regions, %d zones, %d "
	       "devices, %.02f balance",
	       b->nparts, b->replicas, ring->dev_regions, ring->dev_zones,
	       ring->num_devs, b->nrows ? builder_balance(b) : 0.0);
	ring_put(ring);
	if (b->dispersion >= 0)
		printf(", %.02f dispersion", b->dispersion);
	printf("\nThe minimum number of hours before a partition can be "
	       "reassigned is %d (%" PRId64 ":%02" PRId64 ":%02" PRId64
	       " remaining)\n",
	       b->min_part_hours, left / 3600, left / 60 % 60, left % 60);
	printf("The overload factor is %0.2f%% (%.6f)\n", b->overload * 100,
	       b->overload);
	state = ring_file_state(b);
	if (state)
		printf("Ring file %s %s\n", ring_path, state);
	else
		printf("Ring file %s not found, probably it hasn't been "
		       "written yet\n",
		       ring_path);
	printf("Devices:   id region zone      ip address:port replication "
	       "ip:port  name weight partitions balance flags meta\n");
	for (i = 0; i < b->ndevs; i++) {
		const struct builder_dev *d = &b->devs[i];
		char ipport[300], rip[300];

		if (!d->present)
			continue;
		fmt_addr(d->ip, d->port, ipport, sizeof(ipport));
		fmt_addr(d->replication_ip, d->replication_port, rip,
			 sizeof(rip));
		printf("%13d %6d %4d %20s %20s %5s %6.02f %10u %7.02f %5s %s\n",
		       d->id, d->region, d->zone, ipport, rip, d->device,
		       d->weight, d->parts,
		       b->nrows ? builder_dev_balance(b, i) : 0.0,
		       d->removing ? "DEL" : "", d->meta);
	}
	return EXIT_OK;
}

static int cmd_search(struct builder *b, int argc, char **argv)
{
	int ids[4096], n, i;
	char desc[1024];

	if (argc != 4)
		return usage();
	n = builder_search(b, argv[3], ids, 4096);
	if (n < 0) {
		fprintf(stderr, "kumo-ring: invalid search value: %s\n",
			argv[3]);
		return EXIT_ERROR;
	}
	if (n == 0) {
		printf("No matching devices found\n");
		return EXIT_ERROR;
	}
	for (i = 0; i < n && i < 4096; i++)
		printf("%s weight %.02f partitions %u\n",
		       fmt_dev(&b->devs[ids[i]], desc, sizeof(desc)),
		       b->devs[ids[i]].weight, b->devs[ids[i]].parts);
	return EXIT_OK;
}

static int cmd_set_value(struct builder *b, const char *cmd, const char *v)
{
	double x;
	int h;

	if (!strcmp(cmd, "set_replicas")) {
		if (parse_double(v, &x) || builder_set_replicas(b, x)) {
			fprintf(stderr,
				"kumo-ring: \"%s\" is not a valid "
				"replica count (a number >= 1).\n",
				v);
			return EXIT_ERROR;
		}
		printf("The replica count is now %.6f.\nThe change will take "
		       "effect after the next rebalance.\n",
		       b->replicas);
	} else if (!strcmp(cmd, "set_min_part_hours")) {
		if (parse_int(v, 0, 255, &h)) {
			fprintf(stderr,
				"kumo-ring: min_part_hours must be "
				"an integer in 0..255, not %s\n",
				v);
			return EXIT_ERROR;
		}
		b->min_part_hours = h;
		printf("The minimum number of hours before a partition can be "
		       "reassigned is now set to %d\n",
		       h);
	} else {
		size_t n = strlen(v);
		char tmp[64];

		snprintf(tmp, sizeof(tmp), "%s", v);
		if (n && tmp[n - 1] == '%')
			tmp[n - 1] = '\0';
		if (parse_double(tmp, &x) || x < 0) {
			fprintf(stderr,
				"kumo-ring: %s is not a valid "
				"overload (>= 0).\n",
				v);
			return EXIT_ERROR;
		}
		if (n && v[n - 1] == '%')
			x /= 100;
		b->overload = x;
		b->devs_changed = 1;
		printf("The overload factor is now %0.2f%% (%.6f)\n", x * 100,
		       x);
	}
	b->version++;
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct builder *b = NULL;
	const char *cmd;
	size_t n;
	int i, j, rc;

	log_init("kumo-ring", LOG_WARN);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage();
		return argc < 2 || argv[1][0] == '-' ? EXIT_OK : EXIT_ERROR;
	}
	if (!strcmp(argv[1], "get-nodes"))
		return cmd_get_nodes(argc, argv);
	/* drop --yes wherever it is, as swift-ring-builder does */
	for (i = 2, j = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y"))
			assume_yes = 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	argv[argc] = NULL;
	builder_path = argv[1];
	n = strlen(builder_path);
	if (argc == 2 && n > 8 && !strcmp(builder_path + n - 8, ".ring.gz"))
		return cmd_ring_info(builder_path);
	derive_paths(builder_path);
	cmd = argc > 2 ? argv[2] : NULL;
	if (cmd && !strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (builder_load(builder_path, &b)) {
		fprintf(stderr,
			"kumo-ring: cannot use builder file %s (see "
			"above)\n",
			builder_path);
		return EXIT_ERROR;
	}
	if (!cmd) {
		rc = cmd_show(b);
		goto out;
	}
	if (!strcmp(cmd, "add"))
		rc = cmd_add(b, argc, argv);
	else if (!strcmp(cmd, "remove"))
		rc = cmd_remove(b, argc, argv);
	else if (!strcmp(cmd, "set_weight"))
		rc = cmd_set_weight(b, argc, argv);
	else if ((!strcmp(cmd, "set_replicas") ||
		  !strcmp(cmd, "set_min_part_hours") ||
		  !strcmp(cmd, "set_overload")) &&
		 argc == 4)
		rc = cmd_set_value(b, cmd, argv[3]);
	else if (!strcmp(cmd, "rebalance")) {
		rc = cmd_rebalance(b, argc, argv);
		goto out; /* saves for itself, only when it should */
	} else if (!strcmp(cmd, "pretend_min_part_hours_passed") && argc == 3) {
		builder_pretend_min_part_hours_passed(b);
		rc = EXIT_OK;
	} else if (!strcmp(cmd, "write_ring") && argc == 3) {
		rc = cmd_write_ring(b);
		goto out;
	} else if (!strcmp(cmd, "validate") && argc == 3) {
		struct ring *ring = builder_get_ring(b);

		rc = ring ? EXIT_OK : EXIT_ERROR;
		if (!ring)
			fprintf(stderr, "kumo-ring: the builder's partition "
					"table is inconsistent\n");
		ring_put(ring);
		goto out;
	} else if (!strcmp(cmd, "search")) {
		rc = cmd_search(b, argc, argv);
		goto out;
	} else {
		fprintf(stderr, "kumo-ring: Unknown command: %s\n", cmd);
		rc = usage();
		goto out;
	}
	if (rc == EXIT_OK)
		rc = save_all(b, NULL);
out:
	builder_free(b);
	return rc;
}
