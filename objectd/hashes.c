/*
 * objectd/hashes.c: the suffix hashes of a partition, which the
 * replicator compares between replicas so that only suffixes that differ
 * are synced (Swift's hashes.pkl and hashes.invalid, obj/diskfile.py
 * get_hashes and invalidate_hash).
 *
 * A suffix hash is the MD5 of "<hash>\n<file names>\n" over every object
 * hash dir of the suffix in name order, the file names being what is
 * current after tidying (the newest .data or .ts and a newer .meta; in an
 * erasure-coded policy's folder every durable archive <ts>#<i>#d.data of
 * the current time, so that different indexes hash differently). Per
 * partition, on disk:
 *
 *   <dev>/objects/<part>/hashes.json    {"updated": "<gen>",
 *                                        "hashes": {sfx: md5 | null}}
 *   <dev>/objects/<part>/hashes.invalid suffixes changed since, one a line;
 *                                       flock'ed around both (lock_part)
 *
 * null marks a suffix to rehash. The states of one suffix:
 *
 *   VALID --a write in place, objd_hash_invalidate: append--> INVALID
 *   INVALID --get_hashes step 1 (locked): null in hashes.json, written,
 *            then hashes.invalid truncated--> STALE (null)
 *   STALE --step 2 (unlocked): tidy + hash--> computed
 *   computed --step 3 (locked): hashes.json unchanged since step 1?
 *            write: VALID | else: start again
 *
 * Invariants:
 *   1. A change is invalidated only once it is in place (after rename),
 *      so a hash computed after the invalidation sees it.
 *   2. hashes.invalid is truncated only after hashes.json holds its
 *      suffixes as null, both under the lock: no invalidation is lost to
 *      a concurrent writer (appends and consolidation are serialised).
 *   3. A hash computed while the suffix is invalidated again stays
 *      invalid (the new line waits in hashes.invalid for the next call).
 *   4. Two get_hashes racing (replicator and a REPLICATE request) cannot
 *      overwrite each other's newer state: step 3 writes only if the
 *      generation read in step 1 is still the one on disk.
 *   5. A missing or unreadable hashes.json means every suffix is stale.
 *
 * What is left to others: the verbs that expose these (replserver.c) and
 * the replicator that compares them (replicator.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/ec.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "objectd/internal.h"

#define HASHES_FILE	 "hashes.json"
#define INVALID_FILE	 "hashes.invalid"
#define MAX_HASHES_BYTES (4 * 1024 * 1024)
#define MAX_RETRIES	 8

int objd_hex_ok(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

int objd_suffix_ok(const char *s)
{
	return objd_hex_ok(s, 3);
}

static int hash_name_ok(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/*
 * flock the partition's hashes.invalid (made if missing) and return its
 * fd (O_APPEND: an invalidation writes its line through it), or -errno.
 * hashes.invalid is never replaced, only truncated, so its inode is the
 * lock; Swift locks a separate .lock file instead, which cost every
 * write in place one more open and close, and each new partition one
 * more file.
 */
static int lock_part(const char *part_dir)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", part_dir, INVALID_FILE);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return -errno;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			int rc = -errno;

			close(fd);
			return rc;
		}
	}
	return fd;
}

static void unlock_part(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

int objd_data_dir_ok(const char *name)
{
	const char *p;

	if (strncmp(name, "objects", 7))
		return 0;
	if (!name[7])
		return 1;
	if (name[7] != '-' || !name[8])
		return 0;
	for (p = name + 8; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* A suffix of part_dir (<dev>/objects[-N]/<part>) marked as changed. */
static int invalidate_in(const char *part_dir, const char *suffix)
{
	char line[8];
	int fd, rc = 0;

	fd = lock_part(part_dir);
	if (fd < 0) {
		rc = fd;
	} else {
		snprintf(line, sizeof(line), "%.3s\n", suffix);
		if (write(fd, line, 4) != 4)
			rc = errno ? -errno : -EIO;
		unlock_part(fd);
	}
	if (rc)
		log_err("cannot invalidate suffix %s of %s: %s", suffix,
			part_dir, strerror(-rc));
	return rc;
}

int objd_hash_invalidate(const char *dev_dir, int policy, const char *part,
			 const char *suffix)
{
	char part_dir[PATH_MAX], data_dir[32];

	policy_data_dir(policy, data_dir, sizeof(data_dir));
	snprintf(part_dir, sizeof(part_dir), "%s/%s/%s", dev_dir, data_dir,
		 part);
	return invalidate_in(part_dir, suffix);
}

int objd_hash_invalidate_dir(const char *hash_dir)
{
	char buf[PATH_MAX], *sfx, *part, *objs;
	size_t len = strlen(hash_dir);
	int ok;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, hash_dir, len + 1);
	/* <dev>/objects[-N]/<part>/<sfx>/<hash> */
	if (!(sfx = strrchr(buf, '/')))
		return -EINVAL;
	*sfx = '\0';
	if (!(sfx = strrchr(buf, '/')))
		return -EINVAL;
	*sfx++ = '\0';
	if (!(part = strrchr(buf, '/')))
		return -EINVAL;
	*part = '\0';
	objs = strrchr(buf, '/');
	ok = objs && objd_data_dir_ok(objs + 1);
	*part = '/'; /* buf: the partition dir again */
	if (!ok || !objd_suffix_ok(sfx))
		return -EINVAL;
	return invalidate_in(buf, sfx);
}

/* --- tidying and hashing a suffix ----------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The object hash dirs of sfx_dir, sorted. -ENOENT when it is absent. */
static int hash_dirs(const char *sfx_dir, char ***out, int *count)
{
	char **names = NULL, **grown;
	struct dirent *de;
	int n = 0, cap = 0, rc = 0;
	DIR *d = opendir(sfx_dir);

	*out = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!hash_name_ok(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, sizeof(*names) * (size_t)cap);
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			names = grown;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		free_names(names, n);
		return rc;
	}
	if (n)
		qsort(names, (size_t)n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
}

static struct ts reclaim_cutoff(int64_t reclaim_age)
{
	struct ts t = {((int64_t)time(NULL) - reclaim_age) * 100000, 0};

	return t;
}

/*
 * Tidy every object of sfx_dir, calling fn(arg, hash, cur) for those with
 * something left; remove the suffix dir when it ends up empty. 0, -ENOENT
 * when the suffix is absent, or -errno.
 */
static int walk_suffix(const char *sfx_dir, int64_t reclaim_age,
		       int (*fn)(void *arg, const char *hash,
				 const struct df_current *cur),
		       void *arg)
{
	struct ts cutoff = reclaim_cutoff(reclaim_age);
	char path[PATH_MAX], **names;
	struct df_current cur;
	int n, i, rc, left = 0;

	rc = hash_dirs(sfx_dir, &names, &n);
	if (rc)
		return rc;
	for (i = 0; i < n && !rc; i++) {
		snprintf(path, sizeof(path), "%s/%s", sfx_dir, names[i]);
		rc = df_tidy(path, &cutoff, &cur);
		if (rc == -ENOENT || rc == -ENOTDIR) {
			rc = 0;
			continue;
		}
		if (rc || !cur.nfiles)
			continue;
		left++;
		if (cur.state != DF_ABSENT)
			rc = fn(arg, names[i], &cur);
	}
	free_names(names, n);
	if (!rc && !left) {
		if (rmdir(sfx_dir) == -1 && errno != ENOTEMPTY &&
		    errno != EEXIST && errno != ENOENT)
			log_warn("cannot remove %s: %m", sfx_dir);
		return -ENOENT;
	}
	return rc;
}

static int hash_one(void *arg, const char *hash, const struct df_current *cur)
{
	char line[160 + EC_MAX_FRAGS * 40], tsb[TS_INTERNAL_LEN + 1];
	int n, i;

	if (!cur->ec || cur->state != DF_LIVE) {
		n = snprintf(line, sizeof(line), "%s\n%s%s\n", hash,
			     cur->data_name, cur->meta_name);
		return md5_update(arg, line, (size_t)n);
	}
	/* every durable archive's name: each index hashes differently */
	ts_internal(&cur->data_ts, tsb);
	n = snprintf(line, sizeof(line), "%s\n", hash);
	for (i = 0; i < EC_MAX_FRAGS; i++)
		if (cur->frags & (1u << i))
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      "%s#%d#d.data", tsb, i);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s\n",
		      cur->meta_name);
	return md5_update(arg, line, (size_t)n);
}

/* The hash of one suffix into hex; -ENOENT when it holds nothing. */
static int hash_suffix(const char *part_dir, const char *sfx,
		       int64_t reclaim_age, char hex[33])
{
	char sfx_dir[PATH_MAX + 8];
	void *md5 = md5_new();
	int rc;

	if (!md5)
		return -ENOMEM;
	snprintf(sfx_dir, sizeof(sfx_dir), "%s/%s", part_dir, sfx);
	rc = walk_suffix(sfx_dir, reclaim_age, hash_one, md5);
	if (rc) {
		md5_free(md5);
		return rc;
	}
	return md5_final(md5, hex);
}

/* --- the cache --------------------------------------------------------- */

/* Read hashes.json: *hashes (new ref, {} when missing or bad), *gen (new
 * string, "" when missing). */
static void read_cache(const char *part_dir, json_t **hashes, char **gen,
		       int *missing)
{
	char path[PATH_MAX + 32];
	uint8_t *data = NULL;
	size_t len;
	json_t *root = NULL, *h, *g;

	*hashes = NULL;
	*gen = NULL;
	*missing = 1;
	snprintf(path, sizeof(path), "%s/%s", part_dir, HASHES_FILE);
	if (!fs_read_file(path, MAX_HASHES_BYTES, &data, &len))
		root = json_loadb((const char *)data, len, 0, NULL);
	free(data);
	h = root ? json_object_get(root, "hashes") : NULL;
	g = root ? json_object_get(root, "updated") : NULL;
	if (json_is_object(h) && json_is_string(g)) {
		*hashes = json_deep_copy(h);
		*gen = strdup(json_string_value(g));
		*missing = 0;
	}
	json_decref(root);
	if (!*hashes)
		*hashes = json_object();
	if (!*gen)
		*gen = strdup("");
}

static int write_cache(const char *part_dir, json_t *hashes, char **gen)
{
	char path[PATH_MAX + 32], g[64];
	struct timespec now;
	json_t *root;
	char *text;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(g, sizeof(g), "%lld.%09ld-%d", (long long)now.tv_sec,
		 now.tv_nsec, (int)getpid());
	root = json_pack("{s:s, s:O}", "updated", g, "hashes", hashes);
	text = root ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(root);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", part_dir, HASHES_FILE);
	rc = fs_write_atomic(path, text, strlen(text), 0644);
	free(text);
	if (!rc) {
		free(*gen);
		*gen = strdup(g);
		if (!*gen)
			rc = -ENOMEM;
	}
	return rc;
}

/* Mark the suffixes of hashes.invalid null; returns how many. */
static int read_invalid(const char *part_dir, json_t *hashes)
{
	char path[PATH_MAX + 32], *p, *nl;
	uint8_t *data = NULL;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", part_dir, INVALID_FILE);
	if (fs_read_file(path, MAX_HASHES_BYTES, &data, &len))
		return 0;
	for (p = (char *)data; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		if (objd_suffix_ok(p)) {
			json_object_set_new(hashes, p, json_null());
			n++;
		}
	}
	free(data);
	return n;
}

static int truncate_invalid(const char *part_dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", part_dir, INVALID_FILE);
	if (truncate(path, 0) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Make hashes match the suffix dirs on disk: new ones null, gone ones
 * dropped. Returns 1 if anything changed. */
static int list_suffixes(const char *part_dir, json_t *hashes)
{
	struct dirent *de;
	const char *key;
	json_t *seen = json_object(), *v;
	void *tmp;
	int changed = 0;
	DIR *d = opendir(part_dir);

	if (!d || !seen) {
		if (d)
			closedir(d);
		json_decref(seen);
		return 0;
	}
	while ((de = readdir(d))) {
		if (!objd_suffix_ok(de->d_name))
			continue;
		json_object_set_new(seen, de->d_name, json_true());
		if (!json_object_get(hashes, de->d_name)) {
			json_object_set_new(hashes, de->d_name, json_null());
			changed = 1;
		}
	}
	closedir(d);
	json_object_foreach_safe(hashes, tmp, key, v)
	{
		if (!json_object_get(seen, key)) {
			json_object_del(hashes, key);
			changed = 1;
		}
	}
	json_decref(seen);
	return changed;
}

int objd_get_hashes(const char *dev_dir, int policy, const char *part,
		    const char *const *recalc, int nrecalc, int64_t reclaim_age,
		    json_t **out)
{
	char part_dir[PATH_MAX], hex[33], *gen = NULL, *gen2 = NULL;
	char data_dir[32];
	json_t *hashes = NULL, *disk = NULL, *v;
	const char *key;
	struct stat st;
	void *tmp;
	int lfd = -1, rc = 0, tries, i, missing, dirty;

	*out = NULL;
	policy_data_dir(policy, data_dir, sizeof(data_dir));
	snprintf(part_dir, sizeof(part_dir), "%s/%s/%s", dev_dir, data_dir,
		 part);
	for (tries = 0; tries < MAX_RETRIES; tries++) {
		json_decref(hashes);
		hashes = NULL;
		free(gen);
		gen = NULL;
		if (stat(part_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
			*out = json_object();
			rc = *out ? 0 : -ENOMEM;
			goto out;
		}
		/* 1: consolidate hashes.invalid into hashes.json */
		lfd = lock_part(part_dir);
		if (lfd < 0) {
			rc = lfd;
			goto out;
		}
		read_cache(part_dir, &hashes, &gen, &missing);
		dirty = read_invalid(part_dir, hashes) > 0;
		for (i = 0; i < nrecalc; i++)
			if (objd_suffix_ok(recalc[i]))
				json_object_set_new(hashes, recalc[i],
						    json_null());
		dirty |= list_suffixes(part_dir, hashes);
		if (dirty || missing) {
			rc = write_cache(part_dir, hashes, &gen);
			if (!rc)
				rc = truncate_invalid(part_dir);
			if (rc)
				goto out;
		}
		unlock_part(lfd);
		lfd = -1;
		/* 2: rehash the stale suffixes, unlocked */
		dirty = 0;
		json_object_foreach(hashes, key, v)
		{
			if (!json_is_null(v))
				continue;
			dirty = 1;
			rc = hash_suffix(part_dir, key, reclaim_age, hex);
			if (rc == -ENOENT) {
				rc = 0;
				json_object_set_new(hashes, key, json_false());
			} else if (rc) {
				goto out;
			} else {
				json_object_set_new(hashes, key,
						    json_string(hex));
			}
		}
		/* emptied suffixes go */
		json_object_foreach_safe(hashes, tmp, key, v)
		{
			if (json_is_false(v))
				json_object_del(hashes, key);
		}
		if (!dirty)
			break;
		/* 3: keep it if nobody wrote hashes.json meanwhile */
		lfd = lock_part(part_dir);
		if (lfd < 0) {
			rc = lfd;
			goto out;
		}
		read_cache(part_dir, &disk, &gen2, &missing);
		json_decref(disk);
		disk = NULL;
		if (!strcmp(gen, gen2)) {
			rc = write_cache(part_dir, hashes, &gen);
			free(gen2);
			gen2 = NULL;
			goto out;
		}
		free(gen2);
		gen2 = NULL;
		unlock_part(lfd);
		lfd = -1;
	}
	if (tries == MAX_RETRIES)
		log_warn("hashes of %s kept changing; answering the last ones",
			 part_dir);
out:
	unlock_part(lfd);
	if (!rc && !*out) {
		*out = hashes;
		hashes = NULL;
	}
	json_decref(hashes);
	free(gen);
	if (rc)
		log_err("cannot get the hashes of %s: %s", part_dir,
			strerror(-rc));
	return rc;
}

/* --- listing ------------------------------------------------------------ */

struct list_ctx {
	struct objd_entry *e;
	int n, cap;
};

static int list_one(void *arg, const char *hash, const struct df_current *cur)
{
	struct list_ctx *lc = arg;
	struct objd_entry *grown;

	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 16;
		grown = realloc(lc->e, sizeof(*grown) * (size_t)lc->cap);
		if (!grown)
			return -ENOMEM;
		lc->e = grown;
	}
	snprintf(lc->e[lc->n].hash, sizeof(lc->e[lc->n].hash), "%s", hash);
	lc->e[lc->n].cur = *cur;
	lc->n++;
	return 0;
}

int objd_list_suffix(const char *dev_dir, int policy, const char *part,
		     const char *sfx, int64_t reclaim_age,
		     struct objd_entry **out, int *n)
{
	struct list_ctx lc = {NULL, 0, 0};
	char sfx_dir[PATH_MAX], data_dir[32];
	int rc;

	*out = NULL;
	*n = 0;
	if (!objd_suffix_ok(sfx))
		return -EINVAL;
	policy_data_dir(policy, data_dir, sizeof(data_dir));
	snprintf(sfx_dir, sizeof(sfx_dir), "%s/%s/%s/%s", dev_dir, data_dir,
		 part, sfx);
	rc = walk_suffix(sfx_dir, reclaim_age, list_one, &lc);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0;
	if (rc) {
		free(lc.e);
		return rc;
	}
	*out = lc.e;
	*n = lc.n;
	return 0;
}
