/*
 * objectd/diskfile.c: how an object lies on a device, as Swift's
 * obj/diskfile.py does it, with the metadata kept inside the files rather
 * than in xattrs (ext4 holds only ~4 KiB of them; Swift's limits need
 * more).
 *
 * Layout: <dev>/objects/<part>/<suffix>/<hash>/ holds files named by the
 * internal form of their timestamp: <ts>.data (an object), <ts>.ts (a
 * tombstone), <ts>.meta (metadata of a POST). Every file has the same
 * shape (integers big-endian):
 *
 *   body (body_len bytes; empty for .ts and .meta)
 *   metadata block (meta_len bytes, see meta.c)
 *   footer, 24 bytes: "KUMOOBJ1" | u64 body_len | u32 meta_len |
 *                     u32 crc32(metadata block)
 *
 * so a body is streamed to disk before its ETag is known, and the
 * metadata is written after it in the same file, durable with it. A file
 * whose footer is missing, whose lengths do not add up to its size, or
 * whose metadata fails its CRC is corrupt and gets quarantined; a body
 * whose hash differs from the ETag (its MD5, or the XXH3-128 the metadata
 * names: etag.c) is caught while it is read (server.c).
 *
 * The write state machine (df_writer_*, df_write_empty):
 *
 *   (none) --df_writer_open--> TMP: <dev>/tmp/tmpXXXXXX, open
 *   TMP --df_writer_write*--> TMP (body appended, MD5 updated, or the
 *        XXH3-128 the client asked for: df_writer_use_xxh128)
 *   TMP --df_writer_commit: append metadata + footer, sg_sync_first-->
 *   SYNCED --mkdir -p (no fsync yet), rename to <hash_dir>/<ts><ext>-->
 *   (df_writer_commit_then's callback runs here: a PUT's container
 *   update leaves while the next sync runs)
 *   IN PLACE --sg_sync_again: a syncfs started after the rename covers the
 *            file's entry and every dir the mkdir made (syncgroup.c: one
 *            for all the writers queued together; Swift's renamer fsyncs
 *            the hash dir and each new dir's parent instead)--> DURABLE
 *   DURABLE --df_cleanup--> older .data/.ts/.meta removed (after a PUT
 *        of a .data, an older large .data is offered to recycle.c, which
 *        keeps it for a later df_writer_open to write a body over)
 *   TMP/SYNCED --df_writer_abort or any error--> (none): tmp unlinked
 *
 * Invariants:
 *   1. A reader listing the hash dir sees only complete files: a file gets
 *      its final name only after its footer is synced.
 *   2. A request is acknowledged (201/204/202) only in DURABLE: the
 *      file's bytes and every directory entry made for it are synced.
 *   3. An upload that does not reach commit (truncated body, client gone,
 *      ETag mismatch, disk full) leaves no file behind: on_close aborts.
 *   4. The newest timestamp wins: the current state of an object is the
 *      newest .data or .ts in its hash dir (a .ts wins a tie), plus the
 *      newest .meta newer than that .data; everything else is obsolete
 *      and removed by df_cleanup (which is idempotent, so racing writers
 *      only ever remove older files).
 *   5. User names reach the disk only through the MD5 hash; the name is
 *      kept inside the metadata ('name') and checked on open.
 *
 * Erasure-coded policies (Swift's ECDiskFile, docs/storage-policies.md):
 * a .data is a fragment archive named <ts>#<idx>.data while non-durable
 * (written by PUT) and <ts>#<idx>#d.data once durable (COMMIT,
 * df_commit_archive); names without #<idx> are ignored in an EC folder and
 * names with it in a replicated one (list_files). For EC, invariant 4
 * reads: the current state is the newest .ts or *durable* .data (several
 * indexes of that time may lie side by side); non-durable archives are
 * invisible to it, are removed once older than the current state, and
 * newer ones stay until reclaim_age (df_tidy).
 *
 * COMMIT rewrites the metadata block and footer of the non-durable file
 * in place (they follow the body), fsyncs it, then renames it to #d and
 * fsyncs the directory. A crash during the rewrite can leave that
 * non-durable file torn: it was never acknowledged durable, is invisible
 * to GET, and is quarantined when read (the reconstructor rebuilds it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "common/ec.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "common/xxh.h"
#include "objectd/internal.h"

#define FOOTER_MAGIC "KUMOOBJ1"
#define FOOTER_LEN   24

enum df_kind { K_DATA, K_TS, K_META };

struct df_file {
	struct ts ts;
	enum df_kind kind;
	int idx;     /* a fragment archive's index (#<idx>), else -1 */
	int durable; /* a .data without #<idx>, or with #d */
	char name[64];
};

/* --- small file-system helpers ------------------------------------------ */

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd == -1)
		return -errno;
	if (fsync(fd) == -1)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * mkdir buf and its missing parents (below base_len) without fsyncs, as
 * Swift's makedirs_count; *top is raised to the level of the highest
 * directory made (1: buf itself, 2: its parent, ...), so that the caller
 * fsyncs that many parents (fsync_up) at once (df_mkdirs); a PUT's
 * rename_into leaves them to the sg_sync after its rename.
 */
static int mkdirs_nosync(char *buf, size_t base_len, int level, int *top)
{
	char *slash;
	int rc;

	if (mkdir(buf, 0755) == 0)
		goto made;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) <= base_len)
		return -ENOENT;
	*slash = '\0';
	rc = mkdirs_nosync(buf, base_len, level + 1, top);
	*slash = '/';
	if (rc)
		return rc;
	if (mkdir(buf, 0755) == -1)
		return errno == EEXIST ? 0 : -errno;
made:
	if (*top < level)
		*top = level;
	return 0;
}

/* fsync the directory path, then its parents up to levels above it, as
 * Swift's renamer does for the directories it made. 0 or -errno
 * (logged). */
static int fsync_up(const char *path, int levels)
{
	char dir[PATH_MAX], *slash;
	int level, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	for (level = 0; !rc && level <= levels; level++) {
		rc = fsync_dir(dir);
		if (rc)
			log_err("cannot fsync %s: %s", dir, strerror(-rc));
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
	}
	return rc;
}

/*
 * mkdir -p path, where the first base_len bytes name a directory that
 * exists; each directory made is made durable by fsyncing its parent.
 * An existing directory costs one stat (no lock on its parent).
 */
int df_mkdirs(const char *path, size_t base_len)
{
	char buf[PATH_MAX], *slash;
	size_t len = strlen(path);
	struct stat sb;
	int rc, top = 0;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	memcpy(buf, path, len + 1);
	rc = mkdirs_nosync(buf, base_len, 1, &top);
	if (rc) {
		log_err("cannot make %s: %s", path, strerror(-rc));
		return rc;
	}
	slash = strrchr(buf, '/');
	if (top && slash) { /* the parents of the dirs made */
		*slash = '\0';
		rc = fsync_up(buf, top - 1);
	}
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *data, size_t len, uint64_t off)
{
	char *p = data;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* --- locating ------------------------------------------------------------ */

int df_locate(const char *devices, const char *dev, const char *part,
	      const struct ring_hash_conf *hash, const char *a, const char *c,
	      const char *o, struct df_loc *loc)
{
	return df_locate_policy(devices, dev, part, 0, hash, a, c, o, loc);
}

/* 0 when loc's device folder is a directory, else -ENODEV. */
static int dev_check(const struct df_loc *loc)
{
	struct stat st;

	if (stat(loc->dev_dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return -ENODEV;
	return 0;
}

/* df_locate_policy; with lazy, the device folder is looked at only when
 * the path is refused (so that -ENODEV still comes first) and otherwise
 * left to df_open_ec (dev_unchecked). */
static int fill_loc(const char *devices, const char *dev, const char *part,
		    int policy, const struct ring_hash_conf *hash,
		    const char *a, const char *c, const char *o, int lazy,
		    struct df_loc *loc)
{
	char data_dir[32];
	uint8_t digest[16];
	const char *p;
	int n, rc = 0;

	for (p = part; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	loc->dev_unchecked = lazy;
	n = snprintf(loc->dev_dir, sizeof(loc->dev_dir), "%s/%s", devices, dev);
	if (n < 0 || (size_t)n >= sizeof(loc->dev_dir))
		return -ENAMETOOLONG;
	if (!lazy)
		rc = dev_check(loc);
	if (!rc)
		rc = ring_hash_path(hash, a, c, o, digest);
	if (!rc) {
		md5_hex(digest, loc->hash);
		loc->policy = policy;
		policy_data_dir(policy, data_dir, sizeof(data_dir));
		n = snprintf(loc->hash_dir, sizeof(loc->hash_dir),
			     "%s/%s/%s/%s/%s", loc->dev_dir, data_dir, part,
			     loc->hash + 29, loc->hash);
		if (n < 0 || (size_t)n >= sizeof(loc->hash_dir))
			rc = -ENAMETOOLONG;
	}
	if (!rc) {
		n = snprintf(loc->name, sizeof(loc->name), "/%s/%s/%s", a, c,
			     o);
		if (n < 0 || (size_t)n >= sizeof(loc->name))
			rc = -ENAMETOOLONG;
	}
	if (rc && lazy && dev_check(loc))
		rc = -ENODEV; /* a missing device first, as when not lazy */
	return rc;
}

int df_locate_policy(const char *devices, const char *dev, const char *part,
		     int policy, const struct ring_hash_conf *hash,
		     const char *a, const char *c, const char *o,
		     struct df_loc *loc)
{
	return fill_loc(devices, dev, part, policy, hash, a, c, o, 0, loc);
}

int df_locate_read(const char *devices, const char *dev, const char *part,
		   int policy, const struct ring_hash_conf *hash, const char *a,
		   const char *c, const char *o, struct df_loc *loc)
{
	return fill_loc(devices, dev, part, policy, hash, a, c, o, 1, loc);
}

/*
 * openat for reading, without touching the access time: under relatime
 * the first read of a file (or listing of a folder) after its write
 * dirties its inode, a journal transaction per object on the first GET or
 * HEAD after its PUT (Swift's deployment guide mounts noatime instead).
 * O_NOATIME needs the file's owner or CAP_FOWNER: refused, a plain open.
 */
static int open_noatime(int dfd, const char *path, int flags)
{
	int fd = openat(dfd, path, flags | O_NOATIME);

	if (fd == -1 && errno == EPERM)
		fd = openat(dfd, path, flags);
	return fd;
}

/* --- listing a hash dir -------------------------------------------------- */

/* The storage policy folder (objects, objects-N) a hash dir
 * <dev>/<folder>/<part>/<sfx>/<hash> is in, into out ("objects" when the
 * path has another shape). */
static void data_dir_of(const char *hash_dir, char *out, size_t len)
{
	const char *end = hash_dir + strlen(hash_dir), *start;
	int up;

	for (up = 0; up < 3 && end > hash_dir; up++)
		while (--end > hash_dir && *end != '/')
			;
	for (start = end; start > hash_dir && start[-1] != '/'; start--)
		;
	snprintf(out, len, "%.*s", (int)(end - start), start);
	if (!objd_data_dir_ok(out))
		snprintf(out, len, "objects");
}

int df_dir_policy(const char *hash_dir)
{
	char data_dir[32];

	data_dir_of(hash_dir, data_dir, sizeof(data_dir));
	return data_dir[7] == '-' ? atoi(data_dir + 8) : 0;
}

/* Non-zero when hash_dir lies in an erasure-coded policy's folder. */
static int dir_is_ec(const char *hash_dir)
{
	const struct storage_policy *sp =
		policy_by_index(df_dir_policy(hash_dir));

	return sp && sp->type == POLICY_ERASURE_CODING;
}

/* Newest first; at equal times .ts, then .meta, then .data (Swift sorts
 * the names in reverse); archives of one time by index, durable first. */
static int file_cmp(const void *pa, const void *pb)
{
	const struct df_file *a = pa, *b = pb;
	static const int rank[] = {[K_TS] = 0, [K_META] = 1, [K_DATA] = 2};
	int c = ts_cmp(&b->ts, &a->ts);

	if (!c)
		c = rank[a->kind] - rank[b->kind];
	if (!c)
		c = a->idx - b->idx;
	return c ? c : b->durable - a->durable;
}

/* "#<idx>[#d]" between a .data's timestamp and its extension (s up to
 * end) into f. 0 or -EINVAL. */
static int parse_frag(const char *s, const char *end, struct df_file *f)
{
	int idx = 0, digits = 0;

	for (s++; s < end && *s >= '0' && *s <= '9' && digits < 3; s++) {
		idx = idx * 10 + (*s - '0');
		digits++;
	}
	if (!digits || idx >= EC_MAX_FRAGS)
		return -EINVAL;
	f->idx = idx;
	f->durable = 0;
	if (s == end)
		return 0;
	if (end - s == 2 && s[0] == '#' && s[1] == 'd') {
		f->durable = 1;
		return 0;
	}
	return -EINVAL;
}

static int parse_name(const char *name, struct df_file *f)
{
	const char *dot = strrchr(name, '.'), *hash;
	char tsbuf[64];
	size_t len;

	if (!dot || strlen(name) >= sizeof(f->name))
		return -EINVAL;
	if (!strcmp(dot, ".data"))
		f->kind = K_DATA;
	else if (!strcmp(dot, ".ts"))
		f->kind = K_TS;
	else if (!strcmp(dot, ".meta"))
		f->kind = K_META;
	else
		return -EINVAL;
	f->idx = -1;
	f->durable = 1;
	hash = memchr(name, '#', (size_t)(dot - name));
	len = (size_t)((hash ? hash : dot) - name);
	if (len >= sizeof(tsbuf))
		return -EINVAL;
	if (hash && (f->kind != K_DATA || parse_frag(hash, dot, f)))
		return -EINVAL;
	memcpy(tsbuf, name, len);
	tsbuf[len] = '\0';
	if (ts_parse(tsbuf, &f->ts))
		return -EINVAL;
	strcpy(f->name, name);
	return 0;
}

/* The known files of dir, sorted newest first, into *out (malloc'd): an
 * EC folder's archives (ec) or a replicated one's plain .data files. With
 * dfd, the folder stays open there on success (the caller closes it),
 * for openat: a path walk of one name instead of the whole path. */
static int list_files_at(const char *dir, int ec, struct df_file **out,
			 int *count, int *dfd)
{
	/* getdents64 itself, not opendir: no fstat and no 32 KiB DIR to
	 * allocate for the handful of names a hash folder holds */
	char names[8192] __attribute__((aligned(8)));
	struct df_file *files = NULL, *grown;
	int n = 0, cap = 0, rc = 0, eof = 0;
	int fd =
		open_noatime(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t got = 0;

	*out = NULL;
	*count = 0;
	if (fd == -1)
		return -errno;
	while (!rc && !eof &&
	       (got = getdents64(fd, names, sizeof(names))) > 0) {
		ssize_t off;

		for (off = 0; off < got && !rc;) {
			struct dirent64 *de = (struct dirent64 *)(names + off);
			struct df_file f;

			off += de->d_reclen;
			/* ext4's hashed readdir ends the last batch at the
			 * position that means the end of the folder: no
			 * empty getdents64 to make (one of the 11 system
			 * calls of a HEAD) */
			if (off >= got && de->d_off == INT64_MAX)
				eof = 1;
			if (parse_name(de->d_name, &f) ||
			    (f.kind == K_DATA && ec != (f.idx >= 0)))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				grown = realloc(files,
						sizeof(*files) * (size_t)cap);
				if (!grown) {
					rc = -ENOMEM;
					break;
				}
				files = grown;
			}
			files[n++] = f;
		}
	}
	if (!rc && got == -1)
		rc = -errno;
	if (rc || !dfd)
		close(fd);
	if (rc) {
		free(files);
		return rc;
	}
	if (dfd)
		*dfd = fd;
	if (n)
		qsort(files, (size_t)n, sizeof(*files), file_cmp);
	*out = files;
	*count = n;
	return 0;
}

static int list_files(const char *dir, int ec, struct df_file **out, int *count)
{
	return list_files_at(dir, ec, out, count, NULL);
}

/* What is current in a sorted list (pick_current). */
struct df_pick {
	int end;	/* the newest .ts or durable .data, -1 if none */
	int meta;	/* the newest .meta newer than a .data end, or -1 */
	uint32_t frags; /* archive indexes at end's time (bit i: #i) */
};

/*
 * Pick the current files of a sorted list. Non-durable archives are
 * passed over unless nondurable is set (then the newest .data of any
 * kind may be the end).
 */
static void pick_current(const struct df_file *files, int n, int nondurable,
			 struct df_pick *p)
{
	int i;

	p->end = -1;
	p->meta = -1;
	p->frags = 0;
	for (i = 0; i < n; i++) {
		if (files[i].kind == K_META) {
			if (p->meta < 0)
				p->meta = i;
			continue;
		}
		if (files[i].kind == K_DATA && !files[i].durable && !nondurable)
			continue;
		p->end = i;
		break;
	}
	if (p->end >= 0 && files[p->end].kind == K_TS)
		p->meta = -1;
	for (i = p->end; p->end >= 0 && files[p->end].kind == K_DATA && i < n &&
			 !ts_cmp(&files[i].ts, &files[p->end].ts);
	     i++)
		if (files[i].idx >= 0 && (files[i].durable || nondurable))
			p->frags |= 1u << files[i].idx;
}

/* Non-zero when files[i] is obsolete given the pick: anything but the
 * current files (replicated), or for an archive, one older than the
 * current state or as old as a current tombstone. */
static int obsolete(const struct df_file *files, const struct df_pick *p, int i)
{
	int c;

	if (p->end < 0 || i == p->end || i == p->meta)
		return 0;
	if (files[i].kind != K_DATA || files[i].idx < 0)
		return 1;
	c = ts_cmp(&files[i].ts, &files[p->end].ts);
	return c < 0 || (c == 0 && files[p->end].kind == K_TS);
}

/* df_cleanup; with dev_dir (the hash dir's device), an obsolete .data is
 * offered to recycle.c rather than unlinked when the current file is a
 * .data too (an overwrite; a DELETE frees the space). */
static int cleanup_in(const char *hash_dir, const char *dev_dir)
{
	struct df_file *files;
	struct df_pick p;
	char path[PATH_MAX];
	int n, i, rc;

	rc = list_files(hash_dir, dir_is_ec(hash_dir), &files, &n);
	if (rc)
		return rc;
	pick_current(files, n, 0, &p);
	if (p.end < 0 || files[p.end].kind != K_DATA)
		dev_dir = NULL;
	for (i = 0; i < n; i++) {
		if (!obsolete(files, &p, i))
			continue;
		snprintf(path, sizeof(path), "%s/%s", hash_dir, files[i].name);
		if (dev_dir && files[i].kind == K_DATA)
			rc = rcy_offer(dev_dir, path);
		else
			rc = unlink(path) == -1 && errno != ENOENT ? -errno : 0;
		if (rc < 0)
			log_warn("cannot remove obsolete %s: %s", path,
				 strerror(-rc));
		else
			log_debug("removed obsolete %s", path);
	}
	free(files);
	return 0;
}

int df_cleanup(const char *hash_dir)
{
	return cleanup_in(hash_dir, NULL);
}

int df_list_archives(const char *hash_dir, struct df_archive **out, int *n)
{
	struct df_file *files;
	struct df_archive *a;
	int count, i, rc;

	*out = NULL;
	*n = 0;
	rc = list_files(hash_dir, 1, &files, &count);
	if (rc)
		return rc;
	a = calloc((size_t)count + 1, sizeof(*a));
	if (!a) {
		free(files);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		if (files[i].kind != K_DATA)
			continue;
		a[*n].ts = files[i].ts;
		a[*n].idx = files[i].idx;
		a[*n].durable = files[i].durable;
		snprintf(a[*n].name, sizeof(a[*n].name), "%s", files[i].name);
		(*n)++;
	}
	free(files);
	*out = a;
	return 0;
}

/* --- for the replicator (hashes.c) --------------------------------------- */

/* Remove every file of a sorted list (tidy's reclaim). */
static void unlink_all(const char *hash_dir, const struct df_file *files, int n)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", hash_dir, files[i].name);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("cannot reclaim %s: %m", path);
		else
			log_debug("reclaimed %s", path);
	}
}

/* Reclaim the non-durable archives older than reclaim_before that no
 * durable archive of their time stands beside. The number removed. */
static int reclaim_nondurable(const char *hash_dir, const struct df_file *files,
			      int n, const struct df_pick *p,
			      const struct ts *reclaim_before)
{
	int i, gone = 0;

	for (i = 0; i < n; i++) {
		if (files[i].kind != K_DATA || files[i].durable ||
		    ts_cmp(&files[i].ts, reclaim_before) >= 0 ||
		    (p->end >= 0 && !ts_cmp(&files[i].ts, &files[p->end].ts)))
			continue;
		unlink_all(hash_dir, &files[i], 1);
		gone++;
	}
	return gone;
}

int df_tidy(const char *hash_dir, const struct ts *reclaim_before,
	    struct df_current *cur)
{
	struct df_file *files = NULL;
	struct df_pick p;
	int n, end, meta, rc, ec = dir_is_ec(hash_dir);

	memset(cur, 0, sizeof(*cur));
	rc = df_cleanup(hash_dir);
	if (!rc)
		rc = list_files(hash_dir, ec, &files, &n);
	if (rc)
		return rc;
	pick_current(files, n, 0, &p);
	if (ec && reclaim_before &&
	    reclaim_nondurable(hash_dir, files, n, &p, reclaim_before)) {
		free(files);
		rc = list_files(hash_dir, ec, &files, &n);
		if (rc)
			return rc;
		pick_current(files, n, 0, &p);
	}
	end = p.end;
	meta = p.meta;
	if (reclaim_before &&
	    ((end >= 0 && files[end].kind == K_TS &&
	      ts_cmp(&files[end].ts, reclaim_before) < 0) ||
	     (end < 0 && n && ts_cmp(&files[0].ts, reclaim_before) < 0))) {
		/* an old tombstone, or .meta files without any .data */
		unlink_all(hash_dir, files, n);
		n = 0;
		end = meta = -1;
	}
	cur->ec = ec;
	if (end >= 0) {
		cur->state = files[end].kind == K_TS ? DF_DELETED : DF_LIVE;
		cur->data_ts = files[end].ts;
		cur->frags = p.frags;
		snprintf(cur->data_name, sizeof(cur->data_name), "%s",
			 files[end].name);
	}
	if (meta >= 0) {
		cur->has_meta = 1;
		cur->meta_ts = files[meta].ts;
		snprintf(cur->meta_name, sizeof(cur->meta_name), "%s",
			 files[meta].name);
	}
	cur->nfiles = n;
	if (!n && rmdir(hash_dir) == -1 && errno != ENOTEMPTY &&
	    errno != EEXIST && errno != ENOENT)
		log_warn("cannot remove %s: %m", hash_dir);
	free(files);
	return 0;
}

/* --- quarantine ---------------------------------------------------------- */

int df_quarantine(const struct df_loc *loc, const char *why)
{
	char qdir[PATH_MAX], target[PATH_MAX + 64], data_dir[32];
	uint32_t rnd;
	int rc;

	/* Swift's quarantine_renamer: quarantined/objects[-N]/<hash> */
	data_dir_of(loc->hash_dir, data_dir, sizeof(data_dir));
	snprintf(qdir, sizeof(qdir), "%s/quarantined/%s", loc->dev_dir,
		 data_dir);
	rc = df_mkdirs(qdir, strlen(loc->dev_dir));
	if (rc)
		goto out;
	snprintf(target, sizeof(target), "%s/%s", qdir, loc->hash);
	if (rename(loc->hash_dir, target) == -1) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			rc = -errno;
			goto out;
		}
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid();
		snprintf(target, sizeof(target), "%s/%s-%08" PRIx32, qdir,
			 loc->hash, rnd);
		if (rename(loc->hash_dir, target) == -1) {
			rc = -errno;
			goto out;
		}
	}
	rc = fsync_dir(qdir);
	objd_hash_invalidate_dir(loc->hash_dir); /* hashes.c */
out:
	if (rc)
		log_err("cannot quarantine %s (%s): %s", loc->hash_dir, why,
			strerror(-rc));
	else
		log_warn("quarantined %s to %s: %s", loc->hash_dir, target,
			 why);
	return rc;
}

/* --- reading ------------------------------------------------------------- */

/* The bytes read_meta reads at once from the end of a file: the footer
 * and, unless the metadata is larger, the metadata block before it. */
#define META_TAIL 4096

/* The largest .data df_open_ec reads whole, body and all, in its one
 * pread: a 4 KiB body with its metadata and footer (a small GET then
 * needs no read of its own, a HEAD copies a few KiB more). */
#define WHOLE_MAX 8192

/*
 * Read the footer and metadata of an open file of st_size bytes into m
 * (empty) and *body_len: one pread for both when they lie in the file's
 * last META_TAIL-byte page (a GET or HEAD then costs one system call
 * less), else two. The read starts at that page, not META_TAIL bytes
 * from the end: a body written with O_DIRECT in whole pages is not in
 * the page cache, the metadata after it is (only a footer across the
 * page's start takes the last META_TAIL bytes). With
 * whole, a file of WHOLE_MAX bytes or less is read entirely in that one
 * pread and *whole set to it (malloc'd, the body at its start; the
 * caller frees it); *whole is left alone otherwise. 0, -EILSEQ when the
 * file is corrupt, -errno.
 */
static int read_meta_whole(int fd, struct objmeta *m, uint64_t *body_len,
			   void **whole)
{
	uint8_t tail[META_TAIL], *buf = tail, *footer, *block = NULL;
	const uint8_t *meta;
	uint64_t blen, size, tlen;
	uint32_t mlen, crc;
	struct stat st;
	int rc = 0;

	if (fstat(fd, &st) == -1)
		return -errno;
	size = (uint64_t)st.st_size;
	if (size < FOOTER_LEN)
		return -EILSEQ;
	tlen = size % META_TAIL; /* all of a file shorter than a page */
	if (tlen < FOOTER_LEN)
		tlen = META_TAIL;
	if (whole && size <= WHOLE_MAX) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		tlen = size;
	}
	rc = pread_all(fd, buf, (size_t)tlen, size - tlen);
	if (rc)
		goto out;
	footer = buf + tlen - FOOTER_LEN;
	blen = be64_read(footer + 8);
	mlen = be32_read(footer + 16);
	crc = be32_read(footer + 20);
	if (memcmp(footer, FOOTER_MAGIC, 8) || mlen > OBJ_MAX_META_BLOCK ||
	    blen > size || blen + mlen + FOOTER_LEN != size) {
		rc = -EILSEQ;
		goto out;
	}
	if (mlen + FOOTER_LEN <= tlen) {
		meta = footer - mlen;
	} else {
		block = malloc(mlen);
		if (!block) {
			rc = -ENOMEM;
			goto out;
		}
		rc = pread_all(fd, block, mlen, blen);
		meta = block;
	}
	if (!rc && (uint32_t)crc32(0L, meta, mlen) != crc)
		rc = -EILSEQ;
	if (!rc && objmeta_decode(meta, mlen, m))
		rc = -EILSEQ;
	if (!rc)
		*body_len = blen;
	if (!rc && buf != tail) {
		*whole = buf;
		buf = tail;
	}
out:
	if (buf != tail)
		free(buf);
	free(block);
	return rc;
}

static int read_meta(int fd, struct objmeta *m, uint64_t *body_len)
{
	return read_meta_whole(fd, m, body_len, NULL);
}

/* For the auditor (auditor.c): read_meta, exported. */
int df_read_meta(int fd, struct objmeta *m, uint64_t *body_len)
{
	return read_meta(fd, m, body_len);
}

/* read_meta of the file path names (relative to dfd, or AT_FDCWD). */
static int read_meta_at(int dfd, const char *path, struct objmeta *m,
			uint64_t *body_len)
{
	int fd = open_noatime(dfd, path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd == -1)
		return -errno;
	rc = read_meta(fd, m, body_len);
	close(fd);
	return rc;
}

/*
 * Merge a .data's metadata with a .meta's as Swift's
 * _construct_from_data_file: the .meta's items, then what only the .data
 * may set (Content-Length, ETag and the hash it is of, sysmeta,
 * X-Static-Large-Object, name);
 * Content-Type from the .meta only if it was set later than the .data.
 */
static int merge_meta(const struct objmeta *data, const struct objmeta *mf,
		      const struct ts *data_ts, struct objmeta *out)
{
	const char *ctt = objmeta_get(mf, "Content-Type-Timestamp");
	struct ts ct_ts;
	int i, rc = 0, meta_ctype = 0;

	if (ctt && !ts_parse(ctt, &ct_ts) && ts_cmp(&ct_ts, data_ts) > 0)
		meta_ctype = 1;
	for (i = 0; !rc && i < mf->n; i++) {
		const char *nm = mf->items[i].name;

		if (!strcasecmp(nm, "name"))
			continue;
		if (!meta_ctype && (!strcasecmp(nm, "Content-Type") ||
				    !strcasecmp(nm, "Content-Type-Timestamp")))
			continue;
		rc = objmeta_set(out, nm, mf->items[i].value);
	}
	for (i = 0; !rc && i < data->n; i++) {
		const char *nm = data->items[i].name;

		if (!strcasecmp(nm, "Content-Length") ||
		    !strcasecmp(nm, "ETag") || !strcasecmp(nm, "Deleted") ||
		    !strcasecmp(nm, ETAG_HASH_HEADER) ||
		    !strcasecmp(nm, BODY_XXH_META) || !strcasecmp(nm, "name") ||
		    !strcasecmp(nm, "X-Static-Large-Object") ||
		    !strncasecmp(nm, "X-Object-Sysmeta-", 17) ||
		    (!meta_ctype && !strcasecmp(nm, "Content-Type")))
			rc = objmeta_set(out, nm, data->items[i].value);
	}
	return rc;
}

int df_open(const struct df_loc *loc, int64_t now_secs, struct df_obj *obj)
{
	return df_open_ec(loc, now_secs, -1, 0, obj);
}

/* The archive of index want (-1: the lowest) among the .data files of
 * end's time, or -1. */
static int pick_archive(const struct df_file *files, int n, int end, int want,
			int nondurable)
{
	int i;

	for (i = end; i < n && !ts_cmp(&files[i].ts, &files[end].ts); i++)
		if (files[i].kind == K_DATA &&
		    (files[i].durable || nondurable) &&
		    (want < 0 || files[i].idx == want))
			return i;
	return -1;
}

int df_open_ec(const struct df_loc *loc, int64_t now_secs, int frag_index,
	       int flags, struct df_obj *obj)
{
	struct objmeta dmeta = OBJMETA_INIT, mmeta = OBJMETA_INIT;
	struct df_file *files = NULL;
	struct df_pick p;
	const char *v, *why = NULL;
	int nondurable = flags & DF_OPEN_NONDURABLE;
	uint64_t mbody;
	char empty[33];
	int n, end, meta, rc, kind, dfd = -1;

	memset(obj, 0, sizeof(*obj));
	obj->fd = -1;
	obj->state = DF_ABSENT;
	obj->frag_index = -1;
	rc = list_files_at(loc->hash_dir, dir_is_ec(loc->hash_dir), &files, &n,
			   &dfd);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		/* no hash dir: is there a device at all (df_locate_read)? */
		rc = loc->dev_unchecked ? dev_check(loc) : 0;
		goto out;
	}
	if (rc) {
		log_err("cannot list %s: %s", loc->hash_dir, strerror(-rc));
		goto out;
	}
	pick_current(files, n, nondurable, &p);
	end = p.end;
	meta = p.meta;
	if (end < 0)
		goto out;
	obj->data_ts = files[end].ts;
	obj->meta_ts = files[end].ts;
	obj->frags = p.frags;
	if (files[end].kind == K_TS) {
		obj->state = DF_DELETED;
		goto out;
	}
	end = pick_archive(files, n, end, frag_index, nondurable);
	if (end < 0)
		goto out; /* DF_ABSENT: not that index (frags says which) */
	obj->frag_index = files[end].idx;
	obj->durable = files[end].durable;
	snprintf(obj->data_path, sizeof(obj->data_path), "%s/%s", loc->hash_dir,
		 files[end].name);
	obj->fd = open_noatime(dfd, files[end].name, O_RDONLY | O_CLOEXEC);
	if (obj->fd == -1) {
		rc = errno == ENOENT ? 0 : -errno; /* raced with a cleanup */
		if (rc)
			log_err("cannot open %s: %m", obj->data_path);
		goto out;
	}
	rc = read_meta_whole(obj->fd, &dmeta, &obj->body_len,
			     flags & DF_OPEN_NO_BODY ? NULL : &obj->whole);
	if (rc == -EILSEQ) {
		why = "bad footer or metadata";
		goto corrupt;
	}
	if (rc)
		goto out;
	v = objmeta_get(&dmeta, "name");
	if (!v || strcmp(v, loc->name)) {
		log_err("%s holds %s, not %s", obj->data_path, v ? v : "?",
			loc->name);
		rc = -EEXIST;
		goto out;
	}
	v = objmeta_get(&dmeta, "Content-Length");
	if (!v || strtoull(v, NULL, 10) != obj->body_len) {
		why = "body length differs from Content-Length";
		goto corrupt;
	}
	v = objmeta_get(&dmeta, "ETag");
	kind = etag_kind_of(&dmeta);
	if (!v || kind < 0 ||
	    (obj->body_len == 0 &&
	     (etag_sum_buf(kind, "", 0, empty) || strcmp(v, empty)))) {
		why = "bad ETag";
		goto corrupt;
	}
	if (meta >= 0) {
		rc = read_meta_at(dfd, files[meta].name, &mmeta, &mbody);
		if (rc == -EILSEQ || (!rc && mbody)) {
			why = "bad .meta file";
			goto corrupt;
		}
		if (rc == -ENOENT) {
			rc = 0;
		} else if (rc) {
			goto out;
		} else {
			obj->meta_ts = files[meta].ts;
			rc = merge_meta(&dmeta, &mmeta, &obj->data_ts,
					&obj->meta);
			if (rc)
				goto out;
		}
	}
	if (!obj->meta.n) {
		obj->meta = dmeta;
		dmeta = (struct objmeta)OBJMETA_INIT;
	}
	obj->state = DF_LIVE;
	v = objmeta_get(&obj->meta, "X-Delete-At");
	if (v && strtoll(v, NULL, 10) <= now_secs) {
		obj->state = DF_EXPIRED;
		close(obj->fd);
		obj->fd = -1;
	}
	goto out;
corrupt:
	rc = 0;
	if (files[end].durable)
		df_quarantine(loc, why);
	else /* maybe a COMMIT rewriting its metadata: the auditor decides */
		log_warn("%s: %s (non-durable, left to the auditor)",
			 obj->data_path, why);
	close(obj->fd);
	obj->fd = -1;
	objmeta_free(&obj->meta);
	obj->state = DF_ABSENT;
out:
	objmeta_free(&dmeta);
	objmeta_free(&mmeta);
	free(files);
	if (dfd >= 0)
		close(dfd);
	if (obj->state != DF_LIVE) {
		free(obj->whole);
		obj->whole = NULL;
	}
	if (rc)
		df_close(obj);
	return rc;
}

void df_close(struct df_obj *obj)
{
	if (obj->fd >= 0)
		close(obj->fd);
	obj->fd = -1;
	free(obj->whole);
	obj->whole = NULL;
	objmeta_free(&obj->meta);
}

int df_verify_body(int fd, uint64_t body_len, const char *etag, int kind)
{
	char buf[65536], hex[33];
	struct etag_sum sum;
	uint64_t off = 0;
	int rc = etag_sum_init(&sum, kind);

	while (!rc && off < body_len) {
		size_t n = body_len - off < sizeof(buf) ? body_len - off
							: sizeof(buf);

		rc = pread_all(fd, buf, n, off);
		if (!rc)
			rc = etag_sum_update(&sum, buf, n);
		off += n;
	}
	if (!rc) {
		rc = etag_sum_final(&sum, hex);
		if (!rc && strcmp(hex, etag))
			rc = -EILSEQ;
	}
	etag_sum_free(&sum);
	return rc;
}

/* --- writing ------------------------------------------------------------- */

int df_set_direct(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 ||
	    fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) == -1)
		return -errno;
	return 0;
}

/* O_DIRECT on or off for w's writes (1 or 0). 0 or -errno. */
static int writer_set_direct(struct df_writer *w, int on)
{
	int rc = df_set_direct(w->fd, on);

	if (!rc)
		w->direct = on;
	return rc;
}

/* Take a file recycle.c kept on dev_dir that fits len bytes as w's temp
 * file: its body is written over those blocks, so no inode is made in
 * tmp, no blocks are allocated, and none are freed (and discarded) by
 * the unlink of an old one. w->fd stays -1 when there is none (or it
 * cannot be opened: then it is unlinked). */
static void writer_recycle(struct df_writer *w, const char *dev_dir,
			   int64_t len)
{
	if (!rcy_take(dev_dir, (uint64_t)len, w->tmp_path, sizeof(w->tmp_path)))
		return;
	w->fd = open(w->tmp_path, O_WRONLY | O_CLOEXEC);
	if (w->fd == -1) {
		log_warn("cannot reuse %s: %m", w->tmp_path);
		unlink(w->tmp_path);
		w->tmp_path[0] = '\0';
		return;
	}
	w->recycled = 1;
}

/* A fresh empty temp file in loc's tmp as w's (made with the device's
 * first write). 0 or -errno (logged). */
static int writer_mktemp(struct df_writer *w, const struct df_loc *loc)
{
	char tmpdir[DF_DEV_DIR_MAX + 8];
	int rc, n;

	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", loc->dev_dir);
	n = snprintf(w->tmp_path, sizeof(w->tmp_path), "%s/tmpXXXXXX", tmpdir);
	if (n < 0 || (size_t)n >= sizeof(w->tmp_path))
		return -ENAMETOOLONG;
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd == -1 && errno == ENOENT) {
		rc = df_mkdirs(tmpdir, strlen(loc->dev_dir));
		if (rc)
			return rc;
		snprintf(w->tmp_path, sizeof(w->tmp_path), "%s/tmpXXXXXX",
			 tmpdir);
		w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	}
	if (w->fd == -1) {
		rc = -errno;
		log_err("cannot make a temp file in %s: %m", tmpdir);
		w->tmp_path[0] = '\0';
		return rc;
	}
	return 0;
}

int df_writer_open(const struct df_loc *loc, struct df_writer *w, int64_t len)
{
	int direct = len >= DF_DIRECT_MIN, rc;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (direct)
		writer_recycle(w, loc->dev_dir, len);
	if (w->fd == -1) {
		rc = writer_mktemp(w, loc);
		if (rc)
			return rc;
	}
	w->md5 = md5_new();
	if (!w->md5)
		goto nomem;
	if (direct) {
		w->buf = df_buf_get();
		if (!w->buf)
			goto nomem;
		writer_set_direct(w, 1); /* refused: the page cache */
	}
	return 0;
nomem:
	df_writer_abort(w);
	return -ENOMEM;
}

/* Write len bytes at the end of the file; start the writeback of what
 * reached DF_SYNC_EVERY since the last start (none to start with
 * O_DIRECT). 0 or -errno. */
static int writer_out(struct df_writer *w, const void *data, size_t len)
{
	int rc = write_all(w->fd, data, len);

	if (rc == -EINVAL && w->direct) {
		/* a device with larger sectors than DF_DIRECT_ALIGN */
		rc = writer_set_direct(w, 0);
		if (!rc)
			rc = pwrite_all(w->fd, data, len, w->on_disk);
		if (!rc &&
		    lseek(w->fd, (off_t)(w->on_disk + len), SEEK_SET) < 0)
			rc = -errno;
	}
	if (rc)
		return rc;
	w->on_disk += len;
	if (!w->direct && w->on_disk - w->writeback >= DF_SYNC_EVERY) {
		/* a hint: the fsync of df_writer_commit is what counts */
		sync_file_range(w->fd, (off_t)w->writeback,
				(off_t)(w->on_disk - w->writeback),
				SYNC_FILE_RANGE_WRITE);
		w->writeback = w->on_disk;
	}
	return 0;
}

/* Write what buf holds, through the page cache: what follows (a partial
 * buffer, the metadata) is not aligned for O_DIRECT. 0 or -errno
 * (logged). */
static int writer_flush(struct df_writer *w)
{
	int rc = w->direct ? writer_set_direct(w, 0) : 0;

	if (!rc && w->used) {
		rc = writer_out(w, w->buf, w->used);
		w->used = 0;
	}
	if (rc)
		log_err("cannot write %s: %s", w->tmp_path, strerror(-rc));
	return rc;
}

int df_writer_write(struct df_writer *w, const void *data, size_t len)
{
	const char *p = data;
	size_t left = len, n;
	int rc = 0;

	if (!w->buf && w->size + len > DF_BUF_AFTER)
		w->buf = df_buf_get(); /* NULL: write unbuffered */
	if (w->md5)
		rc = md5_update(w->md5, data, len);
	else if (w->xxh)
		xxh128_update(w->xxh, data, len);
	if (!rc && !w->buf)
		rc = writer_out(w, data, len);
	while (!rc && w->buf && left) {
		n = DF_BUF_SIZE - w->used;
		n = n < left ? n : left;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		left -= n;
		if (w->used == DF_BUF_SIZE) {
			w->used = 0;
			rc = writer_out(w, w->buf, DF_BUF_SIZE);
		}
	}
	if (rc)
		log_err("cannot write %s: %s", w->tmp_path, strerror(-rc));
	else
		w->size += len;
	return rc;
}

int df_writer_etag(struct df_writer *w, char hex[33])
{
	int rc = w->md5 ? md5_final(w->md5, hex) : -EINVAL;

	w->md5 = NULL;
	return rc;
}

int df_writer_use_xxh128(struct df_writer *w)
{
	void *st = xxh128_new();

	if (!st)
		return -ENOMEM;
	md5_free(w->md5);
	w->md5 = NULL;
	w->xxh = st;
	return 0;
}

int df_writer_xxh128(struct df_writer *w, char hex[33])
{
	if (!w->xxh)
		return -EINVAL;
	xxh128_final(w->xxh, hex);
	w->xxh = NULL;
	return 0;
}

void df_writer_abort(struct df_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp_path[0] && unlink(w->tmp_path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %m", w->tmp_path);
	w->tmp_path[0] = '\0';
	if (w->md5)
		md5_free(w->md5);
	w->md5 = NULL;
	xxh128_free(w->xxh);
	w->xxh = NULL;
	df_buf_put(w->buf);
	w->buf = NULL;
	w->used = 0;
	w->direct = 0;
	w->recycled = 0;
}

/*
 * mkdir -p the hash dir (no fsyncs yet: *top says how many levels were
 * made) and rename tmp to final in it. The replicator removes hash and
 * suffix dirs it finds empty (hashes.c), which may happen between the
 * mkdir and the rename: then make them again.
 */
static int rename_into(const char *tmp, const struct df_loc *loc,
		       const char *final, int *top)
{
	char dir[PATH_MAX];
	size_t len = strlen(loc->hash_dir);
	int tries, rc = -ENAMETOOLONG;

	for (tries = 0; len < sizeof(dir) && tries < 10; tries++) {
		memcpy(dir, loc->hash_dir, len + 1);
		rc = mkdirs_nosync(dir, strlen(loc->dev_dir), 1, top);
		if (rc == -ENOENT)
			continue;
		if (rc)
			break;
		if (rename(tmp, final) == 0)
			return 0;
		rc = -errno;
		if (rc != -ENOENT)
			break;
	}
	log_err("cannot rename %s to %s: %s", tmp, final, strerror(-rc));
	return rc;
}

/* A fragment archive renamed to #d in its hash dir --fsync(hash_dir)-->
 * DURABLE --cleanup, invalidate the suffix (hashes.c)--> done. 0 or
 * -errno (logged). */
static int settle_dir(const struct df_loc *loc)
{
	int rc = fsync_up(loc->hash_dir, 0);

	if (rc)
		return rc;
	df_cleanup(loc->hash_dir);
	objd_hash_invalidate_dir(loc->hash_dir);
	return 0;
}

/* SYNCED --mkdir -p, rename--> IN PLACE --sg_sync: one syncfs started
 * after the rename covers the new entry and the new dirs--> DURABLE
 * --cleanup, invalidate the suffix (hashes.c)--> done. A hash dir this
 * PUT made holds nothing older to clean up (a writer racing into it
 * cleans up after its own rename; the replicator's tidy of the suffix
 * catches the rest), so it is not listed again. ticket: from the
 * sg_sync_first that synced the file, or NULL. 0 or -errno (logged). */
static int put_in_place(struct df_writer *w, const struct df_loc *loc,
			const char *final, const unsigned *ticket,
			void (*placed)(void *), void *arg)
{
	int top = 0, rc = rename_into(w->tmp_path, loc, final, &top);

	if (rc)
		return rc;
	w->tmp_path[0] = '\0';
	if (placed)
		placed(arg);
	rc = ticket ? sg_sync_again(w->fd, *ticket) : sg_sync(w->fd);
	if (rc) {
		log_err("cannot sync %s: %s", final, strerror(-rc));
		return rc;
	}
	if (!top)
		cleanup_in(loc->hash_dir, loc->dev_dir);
	objd_hash_invalidate_dir(loc->hash_dir);
	return 0;
}

/* The metadata block and footer that follow a body of body_len bytes,
 * into tail (empty). 0, -E2BIG or -ENOMEM. */
static int build_tail(const struct objmeta *meta, uint64_t body_len,
		      struct buf *tail)
{
	size_t mlen;
	int rc;

	rc = objmeta_encode(meta, tail);
	if (rc)
		return rc;
	mlen = tail->len;
	if (mlen > OBJ_MAX_META_BLOCK)
		return -E2BIG;
	rc = buf_append(tail, FOOTER_MAGIC, 8);
	if (!rc)
		rc = buf_put_be64(tail, body_len);
	if (!rc)
		rc = buf_put_be32(tail, (uint32_t)mlen);
	if (!rc)
		rc = buf_put_be32(tail,
				  (uint32_t)crc32(0L, tail->data, (uInt)mlen));
	return rc;
}

uint64_t df_tail_reserve(const struct objmeta *meta)
{
	/* the two items put_end adds: Content-Length (20 digits at most)
	 * and ETag (32 hex digits), each 6 bytes of lengths */
	uint64_t n = 4 + FOOTER_LEN + (6 + 14 + 20) + (6 + 4 + 32);
	int i;

	for (i = 0; i < meta->n; i++)
		n += 6 + strlen(meta->items[i].name) +
		     strlen(meta->items[i].value);
	return n;
}

int df_writer_commit(struct df_writer *w, const struct df_loc *loc,
		     const struct ts *ts, const char *ext,
		     const struct objmeta *meta)
{
	return df_writer_commit_then(w, loc, ts, ext, meta, NULL, NULL);
}

int df_writer_commit_then(struct df_writer *w, const struct df_loc *loc,
			  const struct ts *ts, const char *ext,
			  const struct objmeta *meta, void (*placed)(void *),
			  void *arg)
{
	struct buf tail = BUF_INIT;
	char final[PATH_MAX + 64], tsbuf[TS_INTERNAL_LEN + 1];
	unsigned ticket = 0;
	int rc;

	rc = build_tail(meta, w->size, &tail);
	if (rc)
		goto out;
	rc = writer_flush(w);
	if (!rc)
		rc = write_all(w->fd, tail.data, tail.len);
	/* a kept file may be longer: its old bytes past the new footer go */
	if (!rc && w->recycled &&
	    ftruncate(w->fd, (off_t)(w->on_disk + tail.len)) == -1)
		rc = -errno;
	if (!rc)
		rc = sg_sync_first(w->fd, &ticket);
	if (rc) {
		log_err("cannot write %s: %s", w->tmp_path, strerror(-rc));
		goto out;
	}
	snprintf(final, sizeof(final), "%s/%s%s", loc->hash_dir,
		 ts_internal(ts, tsbuf), ext);
	rc = put_in_place(w, loc, final, &ticket, placed, arg);
out:
	buf_free(&tail);
	df_writer_abort(w);
	return rc;
}

/* --- replicated files (replserver.c) ------------------------------------ */

int df_writer_place(struct df_writer *w, const struct df_loc *loc,
		    const char *fname, struct objmeta *meta)
{
	char final[PATH_MAX + 64];
	const char *v;
	struct df_file f;
	uint64_t body_len = 0;
	int rc;

	if (parse_name(fname, &f)) {
		rc = -EINVAL;
		goto out;
	}
	rc = writer_flush(w);
	if (!rc)
		rc = read_meta(w->fd, meta, &body_len);
	if (rc)
		goto out;
	rc = -EILSEQ;
	v = objmeta_get(meta, "name");
	if (!v || strcmp(v, loc->name))
		goto out;
	v = objmeta_get(meta, "X-Timestamp");
	if (v) {
		struct ts t;

		if (ts_parse(v, &t) || ts_cmp(&t, &f.ts))
			goto out;
	}
	if (f.kind == K_DATA) {
		v = objmeta_get(meta, "Content-Length");
		if (!v || strtoull(v, NULL, 10) != body_len)
			goto out;
		int kind = etag_check_of(meta, &v);

		if (kind < 0 || df_verify_body(w->fd, body_len, v, kind))
			goto out;
	} else if (body_len) {
		goto out;
	}
	if (fsync(w->fd) == -1) {
		rc = -errno;
		log_err("cannot fsync %s: %m", w->tmp_path);
		goto out;
	}
	snprintf(final, sizeof(final), "%s/%s", loc->hash_dir, fname);
	rc = put_in_place(w, loc, final, NULL, NULL, NULL);
out:
	if (rc == -EILSEQ || rc == -EINVAL)
		log_err("refused replicated %s for %s: not a whole file of it",
			fname, loc->hash_dir);
	df_writer_abort(w);
	return rc;
}

int df_write_empty(const struct df_loc *loc, const struct ts *ts,
		   const char *ext, const struct objmeta *meta)
{
	struct df_writer w;
	int rc = df_writer_open(loc, &w, -1);

	if (rc)
		return rc;
	return df_writer_commit(&w, loc, ts, ext, meta);
}

/* --- the durable commit of a fragment archive (server.c) ----------------- */

/*
 * Rewrite the metadata of the open non-durable archive fd as its
 * metadata plus add's items (into *meta), and fsync it. 0, -EILSEQ
 * (corrupt file), -errno.
 */
static int rewrite_meta(int fd, const struct objmeta *add, struct objmeta *meta)
{
	struct buf tail = BUF_INIT;
	uint64_t body_len;
	int i, rc = read_meta(fd, meta, &body_len);

	for (i = 0; !rc && i < add->n; i++)
		rc = objmeta_set(meta, add->items[i].name, add->items[i].value);
	if (!rc)
		rc = build_tail(meta, body_len, &tail);
	if (!rc)
		rc = pwrite_all(fd, tail.data, tail.len, body_len);
	if (!rc && ftruncate(fd, (off_t)(body_len + tail.len)) == -1)
		rc = -errno;
	if (!rc && fsync(fd) == -1)
		rc = -errno;
	buf_free(&tail);
	return rc;
}

int df_commit_archive(const struct df_loc *loc, const struct ts *ts, int idx,
		      const struct objmeta *add, struct objmeta *meta)
{
	char nd[PATH_MAX], d[PATH_MAX], tsbuf[TS_INTERNAL_LEN + 1];
	uint64_t body_len;
	int fd, rc;

	ts_internal(ts, tsbuf);
	snprintf(nd, sizeof(nd), "%s/%s#%d.data", loc->hash_dir, tsbuf, idx);
	snprintf(d, sizeof(d), "%s/%s#%d#d.data", loc->hash_dir, tsbuf, idx);
	rc = read_meta_at(AT_FDCWD, d, meta, &body_len);
	if (rc != -ENOENT && rc != -ENOTDIR)
		return rc ? rc : 1; /* already durable (or unreadable) */
	fd = open(nd, O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOTDIR ? -ENOENT : -errno;
	rc = rewrite_meta(fd, add, meta);
	close(fd);
	if (rc) {
		log_err("cannot commit %s: %s", nd, strerror(-rc));
		return rc;
	}
	if (rename(nd, d) == -1) {
		rc = -errno;
		if (rc == -ENOENT && access(d, F_OK) == 0)
			return 1; /* a concurrent COMMIT did it */
		log_err("cannot rename %s to #d: %s", nd, strerror(-rc));
		return rc;
	}
	return settle_dir(loc);
}
