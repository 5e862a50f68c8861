/*
 * common/dbaudit.c: the container and account database auditor (see
 * dbaudit.h). A pass walks the devices folder itself (rather than
 * dbstore_each) so that it sees the databases LevelDB refuses to open.
 * Records are read in batches of BATCH keys (a range scan from the last
 * one), so no iterator stays open while the pass sleeps for its pace.
 *
 * Quarantine of one record, under the database lock:
 *   gather every key <letter> H* (26 range scans, one per letter) -->
 *   write them to <dev>/quarantined/<server>s/<H>[-N] with
 *   fs_write_atomic (u32 key length, key, u32 value length, value, all
 *   big-endian) --> delete them in one synced batch
 * Invariant: nothing is deleted before its copy is durable in quarantine.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/dbaudit.h"
#include "common/dbserver.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/pace.h"
#include "common/recon.h"
#include "common/timestamp.h"

#define BATCH	 256
#define RKEY_LEN 33

struct dbaudit {
	struct dbaudit_conf conf;
	char *devices, *recon_cache;
	const struct dbaudit_ops *ops;
	void *app;
	struct dbstore *store;
	pthread_mutex_t pass_lock; /* one pass at a time */
	pthread_mutex_t lock;	   /* guards stopping */
	pthread_cond_t wake;
	int stopping;
	pthread_t thread;
	int started;
	double clock; /* the pace: next allowed moment (monotonic) */
};

/* Wait until `until` (monotonic) or a stop; 1 when stopping. */
static int wait_until(struct dbaudit *a, double until)
{
	return pace_wait(&a->lock, &a->wake, &a->stopping, until);
}

int dbaudit_new(const struct dbaudit_conf *conf, const struct dbaudit_ops *ops,
		void *app, struct dbstore *store, struct dbaudit **out)
{
	struct dbaudit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->conf = *conf;
	a->devices = strdup(conf->devices);
	a->recon_cache = strdup(conf->recon_cache);
	if (!a->devices || !a->recon_cache) {
		free(a->devices);
		free(a->recon_cache);
		free(a);
		return -ENOMEM;
	}
	a->ops = ops;
	a->app = app;
	a->store = store;
	pthread_mutex_init(&a->pass_lock, NULL);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	*out = a;
	return 0;
}

void dbaudit_free(struct dbaudit *a)
{
	if (!a)
		return;
	dbaudit_stop(a);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->pass_lock);
	free(a->devices);
	free(a->recon_cache);
	free(a);
}

/* --- quarantine ---------------------------------------------------------- */

struct gather {
	struct buf out;
	struct dbstore_batch *del;
	long n;
};

static int gather_key(void *arg, const char *key, size_t klen, const char *val,
		      size_t vlen)
{
	struct gather *g = arg;
	int rc = buf_put_be32(&g->out, (uint32_t)klen);

	if (!rc)
		rc = buf_append(&g->out, key, klen);
	if (!rc)
		rc = buf_put_be32(&g->out, (uint32_t)vlen);
	if (!rc)
		rc = buf_append(&g->out, val, vlen);
	if (rc)
		return rc;
	dbstore_batch_del(g->del, key, klen);
	g->n++;
	return 0;
}

/* A free path <qdir>/<name>[-N] into out. 0 or -ENAMETOOLONG. */
static int free_path(const char *qdir, const char *name, char *out, size_t len)
{
	struct stat st;
	int i;

	if (snprintf(out, len, "%s/%s", qdir, name) >= (int)len)
		return -ENAMETOOLONG;
	for (i = 1; stat(out, &st) == 0; i++)
		if (snprintf(out, len, "%s/%s-%d", qdir, name, i) >= (int)len)
			return -ENAMETOOLONG;
	return 0;
}

static int make_qdir(const char *dev_dir, const char *server, char *qdir,
		     size_t len)
{
	int rc;

	snprintf(qdir, len, "%s/quarantined", dev_dir);
	if (mkdir(qdir, 0755) == -1 && errno != EEXIST)
		return -errno;
	snprintf(qdir, len, "%s/quarantined/%ss", dev_dir, server);
	rc = mkdir(qdir, 0755) == -1 && errno != EEXIST ? -errno : 0;
	return rc;
}

/* dbaudit_quarantine with the database lock held. */
static int quarantine_locked(struct dbstore_db *db, const char *dev_dir,
			     const char *server, const char *rkey,
			     const char *why)
{
	struct gather g = {BUF_INIT, NULL, 0};
	char qdir[4200], path[4400], lo[RKEY_LEN], hi[RKEY_LEN + 1];
	int rc = 0, c;

	g.del = dbstore_batch_new();
	if (!g.del)
		return -ENOMEM;
	/* every key <letter> H...: [letter H, letter H 0xff) */
	for (c = 'A'; c <= 'Z' && !rc; c++) {
		lo[0] = (char)c;
		memcpy(lo + 1, rkey + 1, RKEY_LEN - 1);
		memcpy(hi, lo, RKEY_LEN);
		hi[RKEY_LEN] = (char)0xff;
		rc = dbstore_scan(db, lo, RKEY_LEN, 1, hi, RKEY_LEN + 1, 0,
				  gather_key, &g);
	}
	if (!rc)
		rc = make_qdir(dev_dir, server, qdir, sizeof(qdir));
	if (rc)
		goto out;
	rc = free_path(qdir, rkey + 1, path, sizeof(path));
	if (rc)
		goto out;
	rc = fs_write_atomic(path, g.out.data ? (void *)g.out.data : "",
			     g.out.len, 0600);
	if (!rc)
		rc = dbstore_commit(db, g.del);
out:
	if (rc)
		log_err("cannot quarantine %s record %s (%s): %s", server, rkey,
			why, strerror(-rc));
	else
		log_warn("quarantined %s record %s (%ld keys) to %s: %s",
			 server, rkey, g.n, path, why);
	buf_free(&g.out);
	dbstore_batch_free(g.del);
	return rc;
}

int dbaudit_quarantine(struct dbstore_db *db, const char *dev_dir,
		       const char *server, const char *rkey, const char *why)
{
	int rc;

	dbstore_lock(db);
	rc = quarantine_locked(db, dev_dir, server, rkey, why);
	dbstore_unlock(db);
	return rc;
}

/* --- rows, for the parts' checks ------------------------------------------ */

struct rows {
	int (*fn)(void *arg, char *val);
	void *arg;
};

static int each_row(void *arg, const char *key, size_t klen, const char *val,
		    size_t vlen)
{
	struct rows *r = arg;
	char *copy = malloc(vlen + 1);
	int rc;

	(void)key;
	(void)klen;
	if (!copy)
		return -ENOMEM;
	memcpy(copy, val, vlen);
	copy[vlen] = '\0';
	rc = r->fn(r->arg, copy);
	free(copy);
	return rc;
}

int dbaudit_rows(struct dbstore_db *db, char kind, const char *rkey,
		 int (*fn)(void *arg, char *val), void *arg)
{
	struct rows r = {fn, arg};
	size_t klen;
	char *lo = dbserver_row_key(kind, rkey, "", &klen), *hi;
	int rc;

	if (!lo)
		return -ENOMEM;
	hi = malloc(klen);
	if (!hi) {
		free(lo);
		return -ENOMEM;
	}
	memcpy(hi, lo, klen);
	hi[klen - 1]++; /* '/' + 1: past every name */
	rc = dbstore_scan(db, lo, klen, 1, hi, klen, 0, each_row, &r);
	free(lo);
	free(hi);
	return rc;
}

/* --- a pass -------------------------------------------------------------- */

#define KEY_KEEP 64 /* bytes of a key kept to resume a scan from */

struct keys {
	char k[BATCH][KEY_KEEP + 1];
	size_t len[BATCH];
	int n;
};

static int is_rkey(const char *key, size_t klen)
{
	size_t i;

	if (klen != RKEY_LEN)
		return 0;
	for (i = 1; i < klen; i++)
		if (!((key[i] >= '0' && key[i] <= '9') ||
		      (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return 1;
}

static int collect(void *arg, const char *key, size_t klen, const char *val,
		   size_t vlen)
{
	struct keys *ks = arg;
	size_t n = klen < KEY_KEEP ? klen : KEY_KEEP;

	(void)val;
	(void)vlen;
	if (ks->n == BATCH)
		return 1;
	memcpy(ks->k[ks->n], key, n);
	ks->k[ks->n][n] = '\0';
	/* a longer key is never a record key: mark it so */
	ks->len[ks->n] = klen == n ? n : KEY_KEEP + 1;
	ks->n++;
	return 0;
}

/* Audit one record: 1 passed, 0 failed (quarantined), -errno. */
static int audit_record(struct dbaudit *a, struct dbstore_db *db,
			const char *dev_dir, const char *rkey)
{
	const char *why = NULL;
	char *val = NULL;
	json_t *j = NULL;
	int rc;

	dbstore_lock(db);
	rc = dbstore_get(db, rkey, RKEY_LEN, &val, NULL);
	if (rc == -ENOENT) {
		rc = 1; /* removed meanwhile (replication, reclaim) */
		goto out;
	}
	if (rc)
		goto out;
	j = json_loads(val, 0, NULL);
	if (!json_is_object(j)) {
		why = "record is not a JSON object";
		rc = -EILSEQ;
	} else {
		rc = a->ops->check(a->app, db, rkey, val, &why);
	}
	if (rc == -EILSEQ) {
		rc = quarantine_locked(db, dev_dir, a->ops->server, rkey,
				       why ? why : "inconsistent");
		if (!rc)
			rc = 0; /* failed, quarantined */
	} else if (!rc) {
		rc = 1;
	}
out:
	dbstore_unlock(db);
	json_decref(j);
	free(val);
	return rc;
}

static int audit_db(struct dbaudit *a, struct dbstore_db *db,
		    const char *dev_dir, struct dbaudit_stats *st)
{
	struct keys *ks = malloc(sizeof(*ks));
	char lo[KEY_KEEP + 1], hi[2];
	size_t lolen = 1;
	int incl = 1, i, rc = 0;

	if (!ks)
		return -ENOMEM;
	lo[0] = a->ops->rec;
	hi[0] = (char)(a->ops->rec + 1);
	for (;;) {
		ks->n = 0;
		rc = dbstore_scan(db, lo, lolen, incl, hi, 1, 0, collect, ks);
		if (rc || !ks->n)
			break;
		for (i = 0; i < ks->n && !rc; i++) {
			int got;

			if (!is_rkey(ks->k[i], ks->len[i])) {
				st->failed++;
				log_warn("%s database on %s: malformed key "
					 "%.8s...",
					 a->ops->server, dev_dir, ks->k[i]);
				continue;
			}
			got = audit_record(a, db, dev_dir, ks->k[i]);
			if (got == 1)
				st->passed++;
			else if (got == 0)
				st->failed++;
			else
				st->errors++;
			if (a->conf.per_second > 0 &&
			    wait_until(a, pace_next(&a->clock, 1.0,
						    a->conf.per_second)))
				rc = -EINTR;
		}
		if (rc || ks->n < BATCH)
			break;
		/* go on after the last key seen */
		lolen = ks->len[ks->n - 1] > KEY_KEEP ? KEY_KEEP
						      : ks->len[ks->n - 1];
		memcpy(lo, ks->k[ks->n - 1], lolen);
		incl = 0;
	}
	free(ks);
	return rc;
}

/* Move a database LevelDB cannot open out of the way. */
static int quarantine_db(struct dbaudit *a, const char *dev_dir)
{
	char qdir[4200], from[4300], to[4400], name[300];
	int rc;

	rc = make_qdir(dev_dir, a->ops->server, qdir, sizeof(qdir));
	if (rc)
		return rc;
	snprintf(from, sizeof(from), "%s/%s", dev_dir, a->ops->dbname);
	snprintf(name, sizeof(name), "%s-%lld", a->ops->dbname,
		 (long long)time(NULL));
	rc = free_path(qdir, name, to, sizeof(to));
	if (rc)
		return rc;
	if (rename(from, to) == -1) {
		rc = -errno;
		log_err("cannot quarantine %s: %m", from);
		return rc;
	}
	log_warn("quarantined the %s database %s to %s: LevelDB cannot open it",
		 a->ops->server, from, to);
	return 0;
}

static int cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int dbaudit_pass(struct dbaudit *a, struct dbaudit_stats *stats)
{
	struct dbaudit_stats st = {0};
	char **names = NULL, **grown, dev_dir[4200];
	struct dirent *de;
	json_t *fields;
	size_t n = 0, i;
	double begin, since;
	int rc = 0, busy = 0;
	DIR *d;

	pthread_mutex_lock(&a->pass_lock);
	begin = pace_now();
	since = clock_wall_s();
	a->clock = begin;
	d = opendir(a->devices);
	while (d && (de = readdir(d))) {
		if (!dbstore_valid_device(de->d_name) || de->d_name[0] == '.')
			continue;
		grown = realloc(names, sizeof(*names) * (n + 1));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			rc = -ENOMEM;
			break;
		}
		names = grown;
		n++;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	log_info("%s audit pass begins on %s", a->ops->server, a->devices);
	for (i = 0; i < n && !rc; i++) {
		struct dbstore_db *db;
		int got = dbstore_device(a->store, names[i], 0, &db);

		snprintf(dev_dir, sizeof(dev_dir), "%s/%s", a->devices,
			 names[i]);
		if (got == -ENOENT || got == -ENODEV)
			continue;
		if (got == -EBUSY) {
			busy = 1;
			continue;
		}
		if (got == -EIO) {
			if (quarantine_db(a, dev_dir) == 0)
				st.dbs_quarantined++;
			else
				st.errors++;
			continue;
		}
		if (got) {
			st.errors++;
			continue;
		}
		rc = audit_db(a, db, dev_dir, &st);
		if (rc && rc != -EINTR) {
			log_err("%s audit of %s: %s", a->ops->server, dev_dir,
				strerror(-rc));
			st.errors++;
			rc = 0;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	st.duration = pace_now() - begin;
	pthread_mutex_unlock(&a->pass_lock);
	log_info("%s audit pass %s: %ld passed, %ld failed (quarantined), "
		 "%ld databases quarantined, %ld errors, %.2fs",
		 a->ops->server, rc == -EINTR ? "stopped" : "done", st.passed,
		 st.failed, st.dbs_quarantined, st.errors, st.duration);
	if (rc != -EINTR) {
		char k1[64], k2[64], k3[64], k4[64];

		snprintf(k1, sizeof(k1), "%s_audits_passed", a->ops->server);
		snprintf(k2, sizeof(k2), "%s_audits_failed", a->ops->server);
		snprintf(k3, sizeof(k3), "%s_audits_since", a->ops->server);
		snprintf(k4, sizeof(k4), "%s_auditor_pass_completed",
			 a->ops->server);
		fields = json_pack("{s:i,s:i,s:f,s:f}", k1, (int)st.passed, k2,
				   (int)(st.failed + st.dbs_quarantined), k3,
				   since, k4, st.duration);
		if (fields)
			recon_update(a->recon_cache, a->ops->server, fields);
		json_decref(fields);
	}
	if (stats)
		*stats = st;
	if (rc == -EINTR)
		rc = 0;
	return rc ? rc : busy ? -EBUSY : 0;
}

/* --- the thread ---------------------------------------------------------- */

static void *audit_main(void *arg)
{
	struct dbaudit *a = arg;

	while (!wait_until(a, pace_now() + a->conf.interval))
		dbaudit_pass(a, NULL);
	return NULL;
}

int dbaudit_start(struct dbaudit *a)
{
	sigset_t all, old;
	int rc;

	a->stopping = 0;
	/* signals belong to daemon_main's sigwait, not to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&a->thread, NULL, audit_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		log_err("cannot start the %s auditor: %s", a->ops->server,
			strerror(-rc));
	else
		a->started = 1;
	return rc;
}

void dbaudit_stop(struct dbaudit *a)
{
	if (!a || !a->started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->started = 0;
}
