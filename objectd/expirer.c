/*
 * objectd/expirer.c: the expiry index and the expirer, which remove
 * objects whose X-Delete-At has passed from disk and from listings.
 *
 * An object whose X-Delete-At has passed already answers 404 (df_open
 * reports it DF_EXPIRED); what is left is to reclaim its disk space and
 * to drop it from its container's listing. Swift does that through a
 * hidden .expiring_objects account walked by a separate daemon; kumo
 * keeps the work local to each object server instead: every device has
 * an index of the objects on it that carry X-Delete-At,
 *
 *   <dev>/expiring/<delete_at>-<hash>
 *
 * one small file per (X-Delete-At, object), delete_at in 10 digits (so
 * names sort by time), holding JSON {account, container, obj, partition,
 * delete_at, container_host, container_device, container_partition}: where
 * the object lives and the container update target of the write that set
 * X-Delete-At. Every replica expires its own copy independently, and all
 * reach the same state: a tombstone whose timestamp is X-Delete-At itself.
 *
 * Life of an entry (E = entry (T, hash); "current T" = the X-Delete-At of
 * the object's current .data + .meta on this device):
 *
 *                 PUT/POST setting T, under the hash lock:
 *   (no entry) ---exp_before_write: E written durably, BEFORE the commit-->
 *   INDEXED --commit .data/.meta-->  INDEXED, object current with T
 *
 *   INDEXED --a later PUT/POST/DELETE drops or changes T (exp_after_write,
 *             same lock, after its commit: current T' != T)--> (no entry)
 *   INDEXED --crash, failed or overtaken write: current T' != T--> STALE
 *   STALE --expirer pass once T is due: current T' != T--> (no entry)
 *
 *   INDEXED --expirer pass, T <= now, under the lock: current is T and
 *             the .data older than T--> tombstone <T>.ts written (df_cleanup
 *             removes the .data and .meta) --> TOMBSTONED
 *   TOMBSTONED --container update DELETE, X-Timestamp T, to E's target
 *             (sent, or saved in async_pending for the updater)-->
 *             --under the lock: exp_after_write--> (no entry)
 *   TOMBSTONED --crash before the update--> next pass finds the <T>.ts
 *             (current tombstone at exactly T): sends the update again.
 *
 * Invariants:
 *   1. Under the hash lock, whenever an object's current metadata carries
 *      X-Delete-At T, its device's index holds (T, hash): the entry is
 *      written before the file that sets T gets its name, and an entry is
 *      removed only under the lock after checking that the current T
 *      differs (or the object is gone). Every write that adds or removes
 *      entries holds the lock (exp_lock, 256 stripes by hash); writes
 *      that neither had nor set X-Delete-At need not lock.
 *   2. Entries may be stale (a crash between the entry and the commit, a
 *      write that lost to a newer one); the expirer checks the object on
 *      disk before acting, so a stale entry only costs a look when due.
 *   3. Expiry is deterministic: the tombstone's timestamp is X-Delete-At,
 *      so replicas expiring at different moments converge, a PUT newer
 *      than T always wins over it, and the container hears a DELETE at T,
 *      which a newer PUT's listing row outranks.
 *   4. An entry is removed only after the tombstone is durable and the
 *      container update was sent or saved durably in async_pending.
 *
 * Functions: exp_before_write / exp_after_write (the write side, called
 * by server.c with exp_lock held), exp_index_add / _read / _remove /
 * _path / _parse_name (the index), exp_run_once (a pass: expire_entry per
 * due entry), exp_start / exp_stop (the thread, every expirer_interval;
 * `kumo-objectd CONF --once expire` runs one pass).
 *
 * Scaling note: a pass lists each device's expiring/ directory whole;
 * entries not yet due are skipped by name without being opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/pace.h"
#include "common/policy.h"
#include "objectd/internal.h"

#define TICKS_PER_SEC	  100000
#define MAX_ENTRY_BYTES	  (16 * 1024)
#define EXP_NAME_LEN	  (10 + 1 + 32)
#define EXP_DELETE_AT_MAX 9999999999LL

/* --- the index ------------------------------------------------------------ */

int64_t exp_delete_at_of(const struct objmeta *m)
{
	const char *v = objmeta_get(m, "X-Delete-At");
	char *end;
	long long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < 0 || n > EXP_DELETE_AT_MAX)
		return 0;
	return n;
}

int exp_index_path(const char *dev_dir, int64_t delete_at, const char *hash,
		   char *out, size_t len)
{
	int n = snprintf(out, len, "%s/expiring/%010" PRId64 "-%s", dev_dir,
			 delete_at, hash);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int exp_index_parse_name(const char *name, int64_t *delete_at, char hash[33])
{
	int i;

	if (strlen(name) != EXP_NAME_LEN || name[10] != '-')
		return -EINVAL;
	*delete_at = 0;
	for (i = 0; i < 10; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		*delete_at = *delete_at * 10 + (name[i] - '0');
	}
	for (i = 11; i < EXP_NAME_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return -EINVAL;
	memcpy(hash, name + 11, 32);
	hash[32] = '\0';
	return 0;
}

int exp_index_add(const char *dev_dir, const struct exp_entry *e)
{
	json_t *j = json_object();
	char dir[DF_DEV_DIR_MAX + 16], path[DF_DEV_DIR_MAX + 64], da[16];
	char *text = NULL;
	int rc = -ENOMEM;

	if (!j)
		goto out;
	snprintf(da, sizeof(da), "%010" PRId64, e->delete_at);
	json_object_set_new(j, "account", json_string(e->account));
	json_object_set_new(j, "container", json_string(e->container));
	json_object_set_new(j, "obj", json_string(e->obj));
	json_object_set_new(j, "partition", json_string(e->part));
	json_object_set_new(j, "delete_at", json_string(da));
	json_object_set_new(j, "container_host", json_string(e->cont_host));
	json_object_set_new(j, "container_device", json_string(e->cont_device));
	json_object_set_new(j, "container_partition",
			    json_string(e->cont_part));
	if (e->policy)
		json_object_set_new(j, "policy", json_integer(e->policy));
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	if (!text)
		goto out;
	rc = exp_index_path(dev_dir, e->delete_at, e->hash, path, sizeof(path));
	if (rc)
		goto out;
	snprintf(dir, sizeof(dir), "%s/expiring", dev_dir);
	rc = df_mkdirs(dir, strlen(dev_dir));
	if (!rc)
		rc = fs_write_atomic(path, text, strlen(text), 0644);
out:
	if (rc)
		log_err("cannot add expiry entry %010" PRId64 "-%s to %s: %s",
			e->delete_at, e->hash, dev_dir, strerror(-rc));
	free(text);
	json_decref(j);
	return rc;
}

/* Copy string member key of j into out (len bytes). 0 or -EINVAL. */
static int get_str(json_t *j, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(j, key));

	if (!v || strlen(v) >= len)
		return -EINVAL;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int exp_index_read(const char *path, struct exp_entry *e)
{
	const char *base = strrchr(path, '/');
	char da[16];
	uint8_t *data = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	size_t len;
	int rc;

	memset(e, 0, sizeof(*e));
	base = base ? base + 1 : path;
	rc = exp_index_parse_name(base, &e->delete_at, e->hash);
	if (rc)
		return rc;
	rc = fs_read_file(path, MAX_ENTRY_BYTES, &data, &len);
	if (rc == -EFBIG)
		rc = -EINVAL;
	if (rc)
		return rc;
	j = json_loadb((const char *)data, len, 0, &jerr);
	rc = j ? 0 : -EINVAL;
	if (!rc)
		rc = get_str(j, "account", e->account, sizeof(e->account));
	if (!rc)
		rc = get_str(j, "container", e->container,
			     sizeof(e->container));
	if (!rc)
		rc = get_str(j, "obj", e->obj, sizeof(e->obj));
	if (!rc)
		rc = get_str(j, "partition", e->part, sizeof(e->part));
	if (!rc)
		rc = get_str(j, "delete_at", da, sizeof(da));
	if (!rc && strtoll(da, NULL, 10) != e->delete_at)
		rc = -EINVAL;
	if (!rc)
		rc = get_str(j, "container_host", e->cont_host,
			     sizeof(e->cont_host));
	if (!rc)
		rc = get_str(j, "container_device", e->cont_device,
			     sizeof(e->cont_device));
	if (!rc)
		rc = get_str(j, "container_partition", e->cont_part,
			     sizeof(e->cont_part));
	if (!rc && json_object_get(j, "policy")) {
		json_int_t pol =
			json_integer_value(json_object_get(j, "policy"));

		if (!json_is_integer(json_object_get(j, "policy")) || pol < 0 ||
		    pol > 999999999)
			rc = -EINVAL;
		e->policy = (int)pol;
	}
	json_decref(j);
	free(data);
	return rc;
}

int exp_index_remove(const char *dev_dir, int64_t delete_at, const char *hash)
{
	char path[DF_DEV_DIR_MAX + 64];
	int rc = exp_index_path(dev_dir, delete_at, hash, path, sizeof(path));
	int fd;

	if (rc)
		return rc;
	if (unlink(path) == -1) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc)
			log_err("cannot remove %s: %m", path);
		return rc;
	}
	/* make the removal durable: fsync expiring/ */
	*strrchr(path, '/') = '\0';
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1) {
		rc = -errno;
		log_err("cannot fsync %s: %m", path);
	}
	if (fd != -1)
		close(fd);
	log_debug("removed expiry entry %010" PRId64 "-%s", delete_at, hash);
	return rc;
}

/* --- the write side ------------------------------------------------------- */

static pthread_mutex_t *stripe(struct objd *od, const char *hash)
{
	unsigned v =
		(unsigned)strtoul((char[3]){hash[0], hash[1], 0}, NULL, 16);

	return &od->hash_locks[v % EXP_LOCKS];
}

void exp_lock(struct objd *od, const char *hash)
{
	pthread_mutex_lock(stripe(od, hash));
}

void exp_unlock(struct objd *od, const char *hash)
{
	pthread_mutex_unlock(stripe(od, hash));
}

static void copy_hdr(struct http_request *req, const char *name, char *out,
		     size_t len)
{
	const char *v = req ? http_header(req, name) : NULL;

	snprintf(out, len, "%s", v ? v : "");
}

int exp_before_write(struct objd *od, struct http_request *req,
		     const struct df_loc *loc, const char *part, const char *a,
		     const char *c, const char *o, int64_t new_da)
{
	struct exp_entry *e;
	int rc;

	(void)od;
	if (!new_da)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->delete_at = new_da;
	e->policy = loc->policy;
	memcpy(e->hash, loc->hash, sizeof(e->hash));
	snprintf(e->part, sizeof(e->part), "%s", part);
	snprintf(e->account, sizeof(e->account), "%s", a);
	snprintf(e->container, sizeof(e->container), "%s", c);
	snprintf(e->obj, sizeof(e->obj), "%s", o);
	copy_hdr(req, "X-Container-Host", e->cont_host, sizeof(e->cont_host));
	copy_hdr(req, "X-Container-Device", e->cont_device,
		 sizeof(e->cont_device));
	copy_hdr(req, "X-Container-Partition", e->cont_part,
		 sizeof(e->cont_part));
	rc = exp_index_add(loc->dev_dir, e);
	free(e);
	return rc;
}

/* The X-Delete-At of loc's current object (0 when none or gone), or
 * -errno when it cannot be read. */
static int64_t current_delete_at(const struct df_loc *loc)
{
	struct df_obj obj;
	int64_t da = 0;
	int rc = df_open(loc, 0, &obj);

	if (rc)
		return rc;
	if (obj.state == DF_LIVE || obj.state == DF_EXPIRED)
		da = exp_delete_at_of(&obj.meta);
	df_close(&obj);
	return da;
}

void exp_after_write(const struct df_loc *loc, int64_t old_da, int64_t new_da)
{
	int64_t cur;

	if (!old_da && !new_da)
		return;
	cur = current_delete_at(loc);
	if (cur < 0)
		return; /* cannot tell: keep the entries (invariant 1) */
	if (old_da && old_da != cur)
		exp_index_remove(loc->dev_dir, old_da, loc->hash);
	if (new_da && new_da != old_da && new_da != cur)
		exp_index_remove(loc->dev_dir, new_da, loc->hash);
}

/* --- the expirer ---------------------------------------------------------- */

/*
 * Act on the due entry at path of device dev (see the diagram). Returns 1
 * if the object was expired now, 0 if not (stale entry dropped, or left
 * for the next pass after an error).
 */
static int expire_entry(struct objd *od, const char *dev, const char *path,
			int64_t now)
{
	struct objmeta m = OBJMETA_INIT;
	struct exp_entry *e = calloc(1, sizeof(*e));
	struct df_loc *loc = calloc(1, sizeof(*loc));
	char tsbuf[TS_INTERNAL_LEN + 1];
	struct df_obj obj;
	struct ts t;
	int rc, send = 0, expired = 0, locked = 0;

	if (!e || !loc)
		goto out;
	rc = exp_index_read(path, e);
	if (rc == -ENOENT)
		goto out;
	if (rc == -EINVAL) {
		log_err("%s is not an expiry entry; removed", path);
		unlink(path);
		goto out;
	}
	if (rc) {
		log_err("cannot read %s: %s", path, strerror(-rc));
		goto out;
	}
	if (e->delete_at > now)
		goto out;
	rc = policy_by_index(e->policy)
		     ? df_locate_policy(od->cfg->devices, dev, e->part,
					e->policy, &od->hash, e->account,
					e->container, e->obj, loc)
		     : -ENOENT;
	if (rc || strcmp(loc->hash, e->hash)) {
		log_err("%s names no object of this server; removed", path);
		unlink(path);
		goto out;
	}
	t.ticks = e->delete_at * TICKS_PER_SEC;
	t.offset = 0;
	exp_lock(od, e->hash);
	locked = 1;
	rc = df_open(loc, now, &obj);
	if (rc) {
		log_err("cannot open %s to expire it: %s", loc->hash_dir,
			strerror(-rc));
		goto out;
	}
	if ((obj.state == DF_LIVE || obj.state == DF_EXPIRED) &&
	    exp_delete_at_of(&obj.meta) == e->delete_at &&
	    ts_cmp(&obj.data_ts, &t) < 0) {
		rc = objmeta_set(&m, "name", loc->name);
		if (!rc)
			rc = objmeta_set(&m, "X-Timestamp",
					 ts_internal(&t, tsbuf));
		if (!rc)
			rc = df_write_empty(loc, &t, ".ts", &m);
		if (rc) {
			log_err("cannot expire %s: %s", loc->name,
				strerror(-rc));
			df_close(&obj);
			goto out;
		}
		log_info("expired %s (X-Delete-At %" PRId64 ") on %s",
			 loc->name, e->delete_at, dev);
		send = 1;
		expired = 1;
	} else if (obj.state == DF_DELETED && !ts_cmp(&obj.data_ts, &t)) {
		send = 1; /* expired earlier; the update may not have gone */
	} else {
		log_debug("stale expiry entry %s", path);
		unlink(path);
	}
	df_close(&obj);
	exp_unlock(od, e->hash);
	locked = 0;
	if (send) {
		struct objmeta uh = OBJMETA_INIT;
		struct cont_update u = {"DELETE", e->account, e->container,
					e->obj, &uh};

		if (!objmeta_set(&uh, "X-Timestamp", ts_internal(&t, tsbuf)))
			upd_container_update_to(
				od, e->cont_host, e->cont_device, e->cont_part,
				NULL, loc->dev_dir, loc->hash, &u);
		objmeta_free(&uh);
		exp_lock(od, e->hash);
		exp_after_write(loc, e->delete_at, 0);
		exp_unlock(od, e->hash);
	}
out:
	if (locked)
		exp_unlock(od, e->hash);
	objmeta_free(&m);
	free(loc);
	free(e);
	return expired;
}

/* Remove leftover temp files (fs_write_atomic's) older than max_age. */
static void clean_tmp_entry(const char *path, long long max_age)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    time(NULL) - st.st_mtime > max_age && unlink(path) == 0)
		log_info("removed stale temp file %s", path);
}

/* One device's index. Returns the objects expired, or -errno. */
static int pass_device(struct objd *od, const char *dev, int64_t now)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], hash[33];
	struct dirent *de;
	int64_t da;
	int n = 0;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/%s/expiring", od->cfg->devices,
		     dev) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (exp_index_parse_name(de->d_name, &da, hash)) {
			if (strstr(de->d_name, ".tmp"))
				clean_tmp_entry(path, od->cfg->tmp_max_age);
			continue;
		}
		if (da > now)
			continue;
		n += expire_entry(od, dev, path, now);
	}
	closedir(d);
	return n;
}

int exp_run_once(struct objd *od, int64_t now_secs)
{
	char dev_dir[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int done = 0, rc = 0, n;
	double begin = pace_now();
	json_t *fig;

	pthread_mutex_lock(&od->exp_pass_lock);
	d = opendir(od->cfg->devices);
	if (!d) {
		rc = -errno;
		log_err("cannot list devices %s: %m", od->cfg->devices);
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(dev_dir, sizeof(dev_dir), "%s/%s",
			     od->cfg->devices,
			     de->d_name) >= (int)sizeof(dev_dir) ||
		    stat(dev_dir, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		n = pass_device(od, de->d_name, now_secs);
		if (n > 0)
			done += n;
		else if (n < 0)
			log_err("cannot expire objects of %s: %s", dev_dir,
				strerror(-n));
	}
	closedir(d);
	rc = done;
	log_info("expirer pass done: %d object(s) expired", done);
	/* recon (Swift's expirer: the pass's duration and what it expired) */
	fig = json_pack("{s:f,s:i}", "object_expiration_pass",
			pace_now() - begin, "expired_last_pass", done);
	if (fig)
		recon_update(od->cfg->recon_cache_path, "object", fig);
	json_decref(fig);
out:
	pthread_mutex_unlock(&od->exp_pass_lock);
	return rc;
}

static void expirer_pass(struct objd *od)
{
	exp_run_once(od, (int64_t)time(NULL));
}

static void *expirer_main(void *arg)
{
	struct objd *od = arg;

	objd_every(od, od->cfg->expirer_interval, expirer_pass);
	return NULL;
}

int exp_start(struct objd *od)
{
	sigset_t all, old;
	int rc;

	/* signals belong to daemon_main's sigwait, not to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&od->expirer, NULL, expirer_main, od);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		log_err("cannot start the expirer thread: %s", strerror(-rc));
	else
		od->expirer_started = 1;
	return rc;
}

void exp_stop(struct objd *od)
{
	if (!od->expirer_started)
		return;
	pthread_mutex_lock(&od->lock);
	od->stopping = 1;
	pthread_cond_broadcast(&od->wake);
	pthread_mutex_unlock(&od->lock);
	pthread_join(od->expirer, NULL);
	od->expirer_started = 0;
}
