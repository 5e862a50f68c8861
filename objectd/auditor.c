/*
 * objectd/auditor.c: the object auditor, as Swift's obj/auditor.py: it
 * re-reads every object file of every device at a bounded rate and moves
 * a file that no longer matches its metadata to the device's quarantine
 * folder (df_quarantine, which also invalidates the suffix hash so that
 * the replicator brings a good copy back from another replica).
 *
 * A file fails its audit when (audit_file):
 *   - its footer is missing, its lengths do not add up to its size, or its
 *     metadata fails its CRC or does not decode (df_read_meta);
 *   - its metadata has no "name", or the name does not hash to the hash
 *     directory it lies in;
 *   - for a .data: Content-Length differs from the body length, or the
 *     hash of the body differs from its ETag: the MD5, or the XXH3-128
 *     for an object whose metadata says so (etag.c: volume chunks); a
 *     hash named there that this server does not know fails too;
 *   - for a fragment archive of an erasure-coded policy (check_archive):
 *     once committed, its size is not ec_archive_size of its
 *     X-Object-Sysmeta-Ec-Content-Length; a fragment header in it (one per
 *     segment, every ec_fragment_size(segment size) bytes) is not a valid
 *     liberasurecode header, or names another index than the archive's
 *     X-Object-Sysmeta-Ec-Frag-Index and file name.
 * I/O errors other than these count as errors and leave the file alone.
 *
 * Pace (Swift's max_files_per_second and max_bytes_per_second): the pass
 * keeps two clocks, one advanced 1/files_per_second per file, the other
 * len/bytes_per_second per chunk read, and sleeps until both are reached
 * (aud_pace). Sleeps wait on od->wake, so stopping the server cuts them.
 *
 * Each pass logs and records (recon_update, "object_auditor_stats_ALL",
 * Swift's keys: errors, passes, quarantined, bytes_processed, start_time,
 * audit_time) what it did. Runs in its own thread every auditor_interval
 * seconds (objd_every) or once with `kumo-objectd CONF --once audit`;
 * passes are serialised by od->aud_pass_lock.
 *
 * Left to others: restoring the quarantined object (the replicator), and
 * the race with a PUT landing between the audit of a file and its
 * quarantine, narrowed by checking the bad file is still there just
 * before moving its directory (a good newer file moved with it comes back
 * through replication too).
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

#include "common/ec.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/pace.h"
#include "common/policy.h"
#include "common/recon.h"
#include "common/timestamp.h"
#include "objectd/internal.h"

#define CHUNK (64 * 1024)

struct aud_pass {
	struct objd *od;
	struct aud_stats st;
	double fclock, bclock; /* next allowed moments (monotonic) */
	/* the codecs of the EC policies met so far (codec_of) */
	struct {
		int index;
		struct ec_codec *c;
	} codecs[POLICY_MAX];
	int ncodecs;
};

/* The codec of EC policy sp, opened once per pass; NULL when its backend
 * does not load here (logged; its archives then pass unchecked). */
static struct ec_codec *codec_of(struct aud_pass *p,
				 const struct storage_policy *sp)
{
	struct ec_codec *c = NULL;
	int i, rc;

	for (i = 0; i < p->ncodecs; i++)
		if (p->codecs[i].index == sp->index)
			return p->codecs[i].c;
	if (p->ncodecs == POLICY_MAX)
		return NULL;
	rc = ec_open(sp->ec_type, sp->ec_ndata, sp->ec_nparity, &c);
	if (rc)
		log_err("auditor: no codec for policy %d (%s): %s", sp->index,
			sp->ec_type, strerror(-rc));
	p->codecs[p->ncodecs].index = sp->index;
	p->codecs[p->ncodecs++].c = c;
	return c;
}

/* The fragment index a file name <ts>#<idx>[#d].data gives, or -1. */
static int name_index(const char *path)
{
	const char *base = strrchr(path, '/'), *hash;

	hash = strchr(base ? base : path, '#');
	return hash ? atoi(hash + 1) : -1;
}

/*
 * The EC checks of an archive (fd, metadata m, body_len bytes) of policy
 * sp at path: size, and every fragment header (see the top comment).
 * 0, -EILSEQ with *why set, -errno.
 */
static int check_archive(struct aud_pass *p, const struct storage_policy *sp,
			 const char *path, int fd, const struct objmeta *m,
			 uint64_t body_len, const char **why)
{
	struct ec_codec *c = codec_of(p, sp);
	const char *v = objmeta_get(m, "X-Object-Sysmeta-Ec-Frag-Index");
	const char *seg = objmeta_get(m, "X-Object-Sysmeta-Ec-Segment-Size");
	char hdr[EC_FRAGMENT_HEADER];
	uint64_t segsz = (uint64_t)sp->ec_segment_size, off, len;
	ssize_t full;
	int idx, rc;

	if (!c)
		return 0;
	idx = v ? atoi(v) : -1;
	if (seg && strtoull(seg, NULL, 10) > 0)
		segsz = strtoull(seg, NULL, 10);
	*why = "fragment index differs from its file name";
	if (idx != name_index(path))
		return -EILSEQ;
	v = objmeta_get(m, "X-Object-Sysmeta-Ec-Content-Length");
	*why = "archive size differs from ec_archive_size(Ec-Content-Length)";
	if (v && ec_archive_size(c, (size_t)segsz, strtoull(v, NULL, 10)) !=
			 (int64_t)body_len)
		return -EILSEQ;
	full = ec_fragment_size(c, (size_t)segsz);
	if (full <= 0)
		return -EINVAL;
	*why = "bad fragment header";
	if (!body_len)
		return -EILSEQ;
	for (off = 0; off < body_len; off += (uint64_t)full) {
		len = body_len - off < (uint64_t)full ? body_len - off
						      : (uint64_t)full;
		if (len < EC_FRAGMENT_HEADER)
			return -EILSEQ;
		rc = (int)pread(fd, hdr, sizeof(hdr), (off_t)off);
		if (rc != (int)sizeof(hdr))
			return rc == -1 ? -errno : -EIO;
		if (ec_fragment_index(hdr, sizeof(hdr)) != idx)
			return -EILSEQ;
	}
	return 0;
}

/* Advance a pace clock by amount/rate and sleep until it. 1 when the
 * server stops. */
static int pace(struct aud_pass *p, double *clock, double amount, double rate)
{
	double until = pace_next(clock, amount, rate);

	return until > 0 &&
	       pace_wait(&p->od->lock, &p->od->wake, &p->od->stopping, until);
}

/* "/a/c/o" split into its three parts (copies into buf). 0 or -EINVAL. */
static int split_name(const char *name, char *buf, size_t len, char **a,
		      char **c, char **o)
{
	char *s1, *s2;

	if (name[0] != '/' || strlen(name) >= len)
		return -EINVAL;
	strcpy(buf, name + 1);
	s1 = strchr(buf, '/');
	if (!s1)
		return -EINVAL;
	*s1 = '\0';
	s2 = strchr(s1 + 1, '/');
	if (!s2)
		return -EINVAL;
	*s2 = '\0';
	*a = buf;
	*c = s1 + 1;
	*o = s2 + 1;
	return **a && **c && **o ? 0 : -EINVAL;
}

/*
 * Audit one file of hash dir `hash`. Returns 0 (passed), -EILSEQ with
 * *why set (corrupt), -ENOENT (gone meanwhile), -errno (I/O error), or
 * -EINTR when the server stops.
 */
static int audit_file(struct aud_pass *p, const char *path, const char *hash,
		      int is_data, const struct storage_policy *ecp,
		      const char **why)
{
	struct objmeta m = OBJMETA_INIT;
	char namebuf[OBJ_MAX_ACCOUNT_NAME + OBJ_MAX_CONTAINER_NAME +
		     OBJ_MAX_OBJECT_NAME + 8];
	char hex[33], *buf = NULL, *a, *c, *o;
	const char *v;
	uint8_t digest[16];
	uint64_t body_len = 0, off = 0;
	struct etag_sum sum = {0};
	int fd, kind, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	rc = df_read_meta(fd, &m, &body_len);
	if (rc == -EILSEQ) {
		*why = "bad footer or metadata";
		goto out;
	}
	if (rc)
		goto out;
	v = objmeta_get(&m, "name");
	if (!v || split_name(v, namebuf, sizeof(namebuf), &a, &c, &o) ||
	    ring_hash_path(&p->od->hash, a, c, o, digest)) {
		*why = "metadata without a valid name";
		rc = -EILSEQ;
		goto out;
	}
	md5_hex(digest, hex);
	if (strcmp(hex, hash)) {
		*why = "name does not hash to its directory";
		rc = -EILSEQ;
		goto out;
	}
	if (!is_data)
		goto out;
	v = objmeta_get(&m, "Content-Length");
	if (!v || strtoull(v, NULL, 10) != body_len) {
		*why = "body length differs from Content-Length";
		rc = -EILSEQ;
		goto out;
	}
	kind = etag_check_of(&m, &v);
	if (kind < 0) {
		*why = v ? "ETag of an unknown hash" : "no ETag";
		rc = -EILSEQ;
		goto out;
	}
	buf = malloc(CHUNK);
	rc = buf ? etag_sum_init(&sum, kind) : -ENOMEM;
	if (rc)
		goto out;
	while (off < body_len) {
		size_t n = body_len - off < CHUNK ? body_len - off : CHUNK;
		ssize_t got = pread(fd, buf, n, (off_t)off);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got ? -errno : -EIO;
			goto out;
		}
		rc = etag_sum_update(&sum, buf, (size_t)got);
		if (rc)
			goto out;
		off += (uint64_t)got;
		p->st.bytes += (uint64_t)got;
		if (pace(p, &p->bclock, (double)got,
			 p->od->cfg->auditor_bytes_per_second)) {
			rc = -EINTR;
			goto out;
		}
	}
	rc = etag_sum_final(&sum, hex);
	if (!rc && strcmp(hex, v)) {
		*why = kind == ETAG_MD5 ? "body MD5 differs from ETag"
					: "body XXH3-128 differs from its hash";
		rc = -EILSEQ;
	}
	if (!rc && ecp)
		rc = check_archive(p, ecp, path, fd, &m, body_len, why);
out:
	etag_sum_free(&sum);
	free(buf);
	objmeta_free(&m);
	close(fd);
	return rc;
}

/*
 * A non-durable archive whose metadata looked corrupt may have been read
 * while a COMMIT rewrote it in place (df_commit_archive, under the
 * object's stripe lock): read its metadata again under that lock. 0 (it
 * is whole now), -ENOENT (committed meanwhile), -EILSEQ, -errno.
 */
static int recheck_nondurable(struct aud_pass *p, const char *path,
			      const char *hash)
{
	struct objmeta m = OBJMETA_INIT;
	uint64_t body_len;
	int fd, rc;

	exp_lock(p->od, hash);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = fd == -1 ? -errno : df_read_meta(fd, &m, &body_len);
	if (fd != -1)
		close(fd);
	exp_unlock(p->od, hash);
	objmeta_free(&m);
	return rc;
}

/* Non-zero for a non-durable archive's name, <ts>#<i>.data. */
static int nondurable_name(const char *name)
{
	return strchr(name, '#') && !strstr(name, "#d.");
}

/* Audit every file of one hash dir; quarantine it when one is bad. */
static int audit_hash_dir(struct aud_pass *p, const char *dev_dir,
			  const char *hash_dir, const char *hash)
{
	struct df_loc loc;
	struct dirent *de;
	char path[PATH_MAX];
	const struct storage_policy *ecp =
		policy_by_index(df_dir_policy(hash_dir));
	const char *why = NULL, *ext;
	int rc = 0, bad = 0;
	DIR *d = opendir(hash_dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	if (ecp && ecp->type != POLICY_ERASURE_CODING)
		ecp = NULL;
	while (!bad && (de = readdir(d))) {
		ext = strrchr(de->d_name, '.');
		if (!ext || (strcmp(ext, ".data") && strcmp(ext, ".ts") &&
			     strcmp(ext, ".meta")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", hash_dir, de->d_name);
		rc = audit_file(p, path, hash, !strcmp(ext, ".data"), ecp,
				&why);
		if (rc == -EILSEQ && ecp && nondurable_name(de->d_name) &&
		    !strcmp(why, "bad footer or metadata"))
			rc = recheck_nondurable(p, path, hash);
		if (rc == -EINTR)
			break;
		p->st.files++;
		if (rc == -EILSEQ) {
			bad = 1;
		} else if (rc == -ENOENT) {
			rc = 0; /* replaced by a newer write meanwhile */
		} else if (rc) {
			p->st.errors++;
			log_err("cannot audit %s: %s", path, strerror(-rc));
			rc = 0;
		} else {
			p->st.passes++;
		}
		if (pace(p, &p->fclock, 1.0,
			 p->od->cfg->auditor_files_per_second)) {
			rc = -EINTR;
			break;
		}
	}
	closedir(d);
	if (!bad)
		return rc == -EINTR ? rc : 0;
	/* still there? (a newer write may have replaced it meanwhile) */
	if (access(path, F_OK) == -1)
		return 0;
	memset(&loc, 0, sizeof(loc));
	snprintf(loc.dev_dir, sizeof(loc.dev_dir), "%s", dev_dir);
	snprintf(loc.hash_dir, sizeof(loc.hash_dir), "%s", hash_dir);
	snprintf(loc.hash, sizeof(loc.hash), "%s", hash);
	if (df_quarantine(&loc, why) == 0) {
		p->st.quarantined++;
		log_warn("auditor: %s failed its audit (%s): quarantined", path,
			 why);
	} else {
		p->st.errors++;
	}
	return 0;
}

/* Call fn for each subdirectory name of dir accepted by ok. */
static int each_subdir(const char *dir, int (*ok)(const char *),
		       int (*fn)(struct aud_pass *, const char *, const char *,
				 const char *),
		       struct aud_pass *p, const char *dev_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while (!rc && (de = readdir(d))) {
		if (!ok(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		rc = fn(p, dev_dir, path, de->d_name);
	}
	closedir(d);
	return rc;
}

static int is_part(const char *s)
{
	const char *c;

	for (c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return c != s;
}

static int is_suffix(const char *s)
{
	return strlen(s) == 3 && strspn(s, "0123456789abcdef") == 3;
}

static int on_hash(struct aud_pass *p, const char *dev_dir, const char *path,
		   const char *name)
{
	return audit_hash_dir(p, dev_dir, path, name);
}

static int on_suffix(struct aud_pass *p, const char *dev_dir, const char *path,
		     const char *name)
{
	(void)name;
	return each_subdir(path, etag_is_hex32, on_hash, p, dev_dir);
}

static int on_part(struct aud_pass *p, const char *dev_dir, const char *path,
		   const char *name)
{
	(void)name;
	return each_subdir(path, is_suffix, on_suffix, p, dev_dir);
}

static int valid_dev(const char *s)
{
	return s[0] != '.';
}

/* One storage policy's folder of a device (objects, objects-N). */
static int on_data_dir(struct aud_pass *p, const char *dev_dir,
		       const char *path, const char *name)
{
	(void)name;
	return each_subdir(path, is_part, on_part, p, dev_dir);
}

static int on_device(struct aud_pass *p, const char *dev_dir, const char *path,
		     const char *name)
{
	(void)dev_dir;
	(void)name;
	return each_subdir(path, objd_data_dir_ok, on_data_dir, p, path);
}

int aud_run_once(struct objd *od, struct aud_stats *out)
{
	struct aud_pass p;
	json_t *fields;
	double start, begin;
	int rc;

	memset(&p, 0, sizeof(p));
	p.od = od;
	pthread_mutex_lock(&od->aud_pass_lock);
	start = clock_wall_s();
	begin = pace_now();
	p.fclock = p.bclock = begin;
	log_info("object audit pass begins on %s", od->cfg->devices);
	rc = each_subdir(od->cfg->devices, valid_dev, on_device, &p, NULL);
	p.st.duration = pace_now() - begin;
	while (p.ncodecs)
		ec_close(p.codecs[--p.ncodecs].c);
	pthread_mutex_unlock(&od->aud_pass_lock);
	log_info("object audit pass %s: %" PRIu64 " files, %" PRIu64
		 " bytes, %" PRIu64 " quarantined, %" PRIu64 " errors, %.2fs",
		 rc == -EINTR ? "stopped" : "done", p.st.files, p.st.bytes,
		 p.st.quarantined, p.st.errors, p.st.duration);
	fields = json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:f,s:f}}",
			   "object_auditor_stats_ALL", "errors",
			   (json_int_t)p.st.errors, "passes",
			   (json_int_t)p.st.passes, "quarantined",
			   (json_int_t)p.st.quarantined, "bytes_processed",
			   (json_int_t)p.st.bytes, "files_processed",
			   (json_int_t)p.st.files, "start_time", start,
			   "audit_time", p.st.duration);
	if (fields && rc != -EINTR)
		recon_update(od->cfg->recon_cache_path, "object", fields);
	json_decref(fields);
	if (out)
		*out = p.st;
	return rc == -EINTR ? 0 : rc;
}

/* --- the thread ---------------------------------------------------------- */

static void auditor_pass(struct objd *od)
{
	aud_run_once(od, NULL);
}

static void *auditor_main(void *arg)
{
	struct objd *od = arg;

	objd_every(od, od->cfg->auditor_interval, auditor_pass);
	return NULL;
}

int aud_start(struct objd *od)
{
	sigset_t all, old;
	int rc;

	/* signals belong to daemon_main's sigwait, not to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&od->auditor, NULL, auditor_main, od);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		log_err("cannot start the auditor thread: %s", strerror(-rc));
	else
		od->auditor_started = 1;
	return rc;
}

void aud_stop(struct objd *od)
{
	if (!od->auditor_started)
		return;
	pthread_mutex_lock(&od->lock);
	od->stopping = 1;
	pthread_cond_broadcast(&od->wake);
	pthread_mutex_unlock(&od->lock);
	pthread_join(od->auditor, NULL);
	od->auditor_started = 0;
}
