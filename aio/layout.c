/*
 * aio/layout.c: the all-in-one cluster's files under one folder:
 *
 *   DIR/kumo.conf          every daemon's section, one file (the volume
 *                          service's records and chunks live in the
 *                          cluster, under internal accounts)
 *   DIR/local.conf         the operator's own settings, if any: merged
 *                          into kumo.conf at each start, where they win
 *                          over kumo-aio's (merge_local)
 *   DIR/rings/             account, container, object .builder + .ring.gz
 *   DIR/node/d1..d4        the four devices (every storage server has all)
 *   DIR/run/               pidfiles
 *   DIR/recon/             the recon cache of the node's servers
 *   DIR/hash_suffix        the cluster's hash path suffix, chosen once
 *
 * Data persists across starts: kumo.conf is rewritten (only the ports can
 * differ), and the rings are rebuilt (deterministically, so placement is
 * the same) only when the ports changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "aio/internal.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "ring/builder.h"

int aio_mkdir_p(const char *path)
{
	char tmp[4096];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The suffix is the cluster's secret: made once, then kept. */
static int hash_suffix(const struct aio *aio, char *out, size_t len)
{
	char path[4300];
	uint8_t *data = NULL, rnd[16];
	size_t n = 0;
	int i;

	snprintf(path, sizeof(path), "%s/hash_suffix", aio->dir);
	if (fs_read_file(path, 256, &data, &n) == 0 && n > 0) {
		snprintf(out, len, "%.*s", (int)strcspn((char *)data, "\n"),
			 (char *)data);
		free(data);
		return 0;
	}
	free(data);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (i = 0; i < 16 && (size_t)(2 * i + 2) < len; i++)
		sprintf(out + 2 * i, "%02x", rnd[i]);
	return fs_write_atomic(path, out, strlen(out), 0600);
}

static int build_ring(const struct aio *aio, const char *name, int port)
{
	char builder_path[4300], ring_path[4300], err[256] = "", add[64];
	struct builder *b = NULL;
	struct rebalance_result res;
	struct ring *ring = NULL;
	int i, rc;

	snprintf(builder_path, sizeof(builder_path), "%s/rings/%s.builder",
		 aio->dir, name);
	snprintf(ring_path, sizeof(ring_path), "%s/rings/%s.ring.gz", aio->dir,
		 name);
	rc = builder_create(AIO_PART_POWER, AIO_REPLICAS, 1, &b, err,
			    sizeof(err));
	for (i = 1; !rc && i <= AIO_DEVICES; i++) {
		struct builder_dev t;
		char scratch[64];

		/* one zone per device, as Swift's SAIO */
		snprintf(add, sizeof(add), "r1z%d-127.0.0.1:%d/d%d", i, port,
			 i);
		rc = builder_parse_add(add, &t, scratch, err, sizeof(err));
		t.weight = 100;
		if (!rc && builder_add_dev(b, &t, err, sizeof(err)) < 0)
			rc = -EINVAL;
	}
	if (!rc)
		rc = builder_rebalance(b, 1, &res, err, sizeof(err));
	if (!rc) {
		ring = builder_get_ring(b);
		rc = ring ? 0 : -ENOMEM;
	}
	if (!rc)
		rc = builder_save(b, builder_path);
	if (!rc)
		rc = ring_save(ring, ring_path);
	if (rc)
		log_err("cannot build the %s ring: %s", name,
			*err ? err : strerror(-rc));
	ring_put(ring);
	builder_free(b);
	return rc;
}

/* The settings of an INI text, in order: what ini_parse_string finds. */
struct ini_set {
	struct ini_ent {
		char *sec, *key, *val;
		int used;
	} * e;
	size_t n, cap;
	int nomem; /* ini_collect ran out of memory */
};

static void ini_set_free(struct ini_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->e[i].sec);
		free(set->e[i].key);
		free(set->e[i].val);
	}
	free(set->e);
}

/* ini_parse_string's handler: one more setting (0, an error, on ENOMEM) */
static int ini_collect(void *user, const char *sec, const char *key,
		       const char *val)
{
	struct ini_set *set = user;
	struct ini_ent *e;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;

		e = realloc(set->e, cap * sizeof(*e));
		if (!e) {
			set->nomem = 1;
			return 0;
		}
		set->e = e;
		set->cap = cap;
	}
	e = &set->e[set->n];
	e->sec = strdup(sec);
	e->key = strdup(key);
	e->val = strdup(val ? val : "");
	e->used = 0;
	if (!e->sec || !e->key || !e->val) {
		free(e->sec);
		free(e->key);
		free(e->val);
		set->nomem = 1;
		return 0;
	}
	set->n++;
	return 1;
}

/* The value local gives key of sec (its last), marking every setting of
 * that key used; NULL when it gives none. */
static const char *ini_take(struct ini_set *local, const char *sec,
			    const char *key)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; i < local->n; i++) {
		struct ini_ent *e = &local->e[i];

		if (!strcmp(e->sec, sec) && !strcmp(e->key, key)) {
			v = e->val;
			e->used = 1;
		}
	}
	return v;
}

/* Print the settings of sec that local has and nothing took yet. */
static void ini_rest(FILE *f, struct ini_set *local, const char *sec)
{
	size_t i;

	for (i = 0; i < local->n; i++) {
		struct ini_ent *e = &local->e[i];

		if (!e->used && !strcmp(e->sec, sec)) {
			const char *key = e->key;

			fprintf(f, "%s = %s\n", key, ini_take(local, sec, key));
		}
	}
}

/*
 * kumo-aio's settings (gen) with DIR/local.conf's (text, read from path)
 * merged in: a key both give has local.conf's value, local.conf's other
 * keys join their section, its other sections follow; no section or key
 * twice (Python's configparser, which Swift's tools read the file with,
 * refuses that). *out is the caller's to free. 0, -EINVAL (logged) or
 * -ENOMEM.
 */
static int merge_local(const char *gen, const char *text, const char *path,
		       char **out)
{
	struct ini_set g = {0}, l = {0};
	const char *sec = NULL;
	size_t i, len = 0;
	FILE *f = NULL;
	int rc;

	*out = NULL;
	rc = ini_parse_string(gen, ini_collect, &g);
	if (!rc) {
		rc = ini_parse_string(text, ini_collect, &l);
		if (rc > 0 && !l.nomem)
			log_err("%s: line %d is not an INI setting", path, rc);
	}
	rc = g.nomem || l.nomem || rc < 0 ? -ENOMEM : rc ? -EINVAL : 0;
	if (!rc) {
		f = open_memstream(out, &len);
		rc = f ? 0 : -ENOMEM;
	}
	if (rc)
		goto out;
	fprintf(f, "# kumo all-in-one cluster: written by kumo-aio at each "
		   "start, local.conf's settings merged in\n");
	for (i = 0; i < g.n; i++) {
		const char *v;

		if (!sec || strcmp(sec, g.e[i].sec)) {
			if (sec)
				ini_rest(f, &l, sec);
			sec = g.e[i].sec;
			fprintf(f, "%s[%s]\n", i ? "\n" : "", sec);
		}
		v = ini_take(&l, sec, g.e[i].key);
		fprintf(f, "%s = %s\n", g.e[i].key, v ? v : g.e[i].val);
	}
	if (sec)
		ini_rest(f, &l, sec);
	for (i = 0; i < l.n; i++) {
		if (l.e[i].used)
			continue;
		fprintf(f, "\n[%s]\n", l.e[i].sec);
		ini_rest(f, &l, l.e[i].sec);
	}
	if (fclose(f))
		rc = -ENOMEM;
out:
	if (rc) {
		free(*out);
		*out = NULL;
	}
	ini_set_free(&g);
	ini_set_free(&l);
	return rc;
}

static int write_conf(struct aio *aio, const char *suffix)
{
	char *text = NULL, *all = NULL, path[4200];
	uint8_t *local = NULL;
	size_t llen = 0;
	int rc, n;

	n = asprintf(
		&text,
		"# kumo all-in-one cluster: written by kumo-aio at each start\n"
		"[swift-hash]\n"
		"swift_hash_path_prefix =\n"
		"swift_hash_path_suffix = %s\n\n"
		"[proxy-server]\n"
		"bind_ip = 127.0.0.1\nbind_port = %d\nswift_dir = %s/rings\n\n"
		"[filter:tempauth]\n"
		"reseller_prefix = AUTH, SERVICE\n"
		"SERVICE_require_group = service\n"
		"# the users of Swift's all-in-one development setup\n"
		"user_admin_admin = admin .admin .reseller_admin\n"
		"user_test_tester = testing .admin\n"
		"user_test_tester2 = testing2 .admin\n"
		"user_test_tester3 = testing3\n"
		"user_test2_tester2 = testing2 .admin\n"
		"user_test5_tester5 = testing5 service\n\n"
		"[object-server]\n"
		"bind_ip = 127.0.0.1\nbind_port = %d\ndevices = %s/node\n"
		"recon_cache_path = %s/recon\nswift_dir = %s/rings\n\n"
		"[container-server]\n"
		"bind_ip = 127.0.0.1\nbind_port = %d\ndevices = %s/node\n"
		"recon_cache_path = %s/recon\nswift_dir = %s/rings\n\n"
		"[account-server]\n"
		"bind_ip = 127.0.0.1\nbind_port = %d\ndevices = %s/node\n"
		"recon_cache_path = %s/recon\nswift_dir = %s/rings\n\n"
		"[volume-server]\n"
		"bind_ip = 127.0.0.1\nbind_port = %d\nswift_dir = %s/rings\n"
		"proxy_url = http://127.0.0.1:%d\n"
		"nbd_ip = 127.0.0.1\nnbd_port = %d\n",
		suffix, aio->proxy_port, aio->dir, aio->proxy_port + 1,
		aio->dir, aio->dir, aio->dir, aio->proxy_port + 2, aio->dir,
		aio->dir, aio->dir, aio->proxy_port + 3, aio->dir, aio->dir,
		aio->dir, aio->volume_port, aio->dir, aio->proxy_port,
		aio->nbd_port);
	if (n < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/local.conf", aio->dir);
	rc = fs_read_file(path, 1 << 20, &local, &llen);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc)
		log_err("cannot read %s: %s", path, strerror(-rc));
	if (!rc && llen)
		rc = merge_local(text, (const char *)local, path, &all);
	snprintf(aio->conf, sizeof(aio->conf), "%s/kumo.conf", aio->dir);
	if (!rc)
		rc = fs_write_atomic(aio->conf, all ? all : text,
				     all ? strlen(all) : (size_t)n, 0600);
	free(all);
	free(local);
	free(text);
	return rc;
}

int aio_prepare(struct aio *aio)
{
	static const char *rings[] = {"object", "container", "account"};
	char path[4300], ports[32], suffix[64];
	uint8_t *old = NULL;
	size_t n = 0;
	int i, rc, same;

	for (i = 0; i <= AIO_DEVICES; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/rings", aio->dir);
		else
			snprintf(path, sizeof(path), "%s/node/d%d", aio->dir,
				 i);
		rc = aio_mkdir_p(path);
		if (rc) {
			log_err("cannot create %s: %s", path, strerror(-rc));
			return rc;
		}
	}
	snprintf(path, sizeof(path), "%s/run", aio->dir);
	rc = aio_mkdir_p(path);
	if (!rc)
		rc = hash_suffix(aio, suffix, sizeof(suffix));
	if (!rc)
		rc = write_conf(aio, suffix);
	if (rc) {
		log_err("cannot write the configuration under %s", aio->dir);
		return rc;
	}
	/* the rings carry the ports: rebuild them when those changed */
	snprintf(path, sizeof(path), "%s/rings/ports", aio->dir);
	snprintf(ports, sizeof(ports), "%d\n", aio->proxy_port);
	same = fs_read_file(path, 64, &old, &n) == 0 && n == strlen(ports) &&
	       !memcmp(old, ports, n);
	free(old);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/rings/%s.ring.gz", aio->dir,
			 rings[i]);
		if (same && access(path, R_OK) == 0)
			continue;
		rc = build_ring(aio, rings[i], aio->proxy_port + 1 + i);
		if (rc)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/rings/ports", aio->dir);
	return fs_write_atomic(path, ports, strlen(ports), 0644);
}
