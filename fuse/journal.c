/*
 * fuse/journal.c: the metadata journal and the write lease of a kumo
 * filesystem in the cluster (layout in internal.h).
 *
 * A commit (kj_commit(fs, ino)) makes the whole namespace and the data of
 * one inode (fsync), of all (unmount, KJ_ALL) or of none (fsyncdir, the
 * periodic commit after its own flush, KJ_META) durable, atomically:
 *
 *   cut (lock held: ns_cut → batch seq+1; epoch++; take queued deletes)
 *    → flush the chunks of ino dirtied before the cut (kd_flush_epoch;
 *      the workers take them before any other); append to the log the
 *      delta lists of the chunks stored as deltas or whole meanwhile
 *      (fs->amend: the deltas the fsync waited for are named by its log)
 *    → PUT m/log/<seq+1> If-None-Match: *        ← the commit point
 *    → DELETE the chunks the batch stopped naming (kd_delete_now)
 *    → every 64 logs: PUT m/snap/<seq+1> (the state at the cut, then
 *      the same delta lists),
 *      m/head, then delete logs and snapshots older than the snapshot
 *      before it (one step of listing lag stays readable)
 *
 * The committer thread, every commit_seconds: flush every chunk dirty so
 * far without commit_lock (an fsync meanwhile commits at once), then
 * commit KJ_META.
 *
 * Invariants: (1) a log names every chunk of the fsynced inode PUT before
 * it; other inodes' chunks it names may still be in the cache (written
 * since their last flush): a crash then leaves such a chunk's older
 * object, or none, which reads as zeros, never another file's data (as
 * ext4 data=writeback for data not fsynced); (2) a chunk is
 * deleted only after a log that no longer names it; (3) a mount loads the
 * newest snapshot and then the logs after it in order until one is
 * missing, so it sees a prefix of the commits, each whole: a rename is
 * one record group of one object, never half done; (4) logs are created
 * with If-None-Match, so two writers can never both commit seq n. A crash
 * between (1) and (2) leaves chunks no log names: the next writable mount
 * sees that the last mark was MOUNT (not CLEAN; a snapshot taken while
 * mounted carries a MOUNT, as the logs after it hold none) and sweeps d/
 * for chunks of freed inodes or clear bits, and frees inodes left with
 * nlink 0 (unlinked while open).
 *
 * The lease: lease.<n> holds "<holder> <expiry unix time> held|released".
 * Taking it: read the newest lease.<n>; if held and not expired, fail
 * (-EBUSY); else create lease.<n+1> with If-None-Match (one taker wins).
 * The holder rewrites its lease every lease_seconds/3 and stops writing
 * (EROFS) when it cannot before expiry, or sees lease.<n+1>. Expiry uses
 * the hosts' clocks, which must agree within a few seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/internal.h"

#define SNAP_EVERY 64

static void obj_name(char *out, size_t len, const char *kind, uint64_t n)
{
	snprintf(out, len, "%s%016" PRIx64, kind, n);
}

int kj_mkfs(struct kopts *o, const char *name)
{
	struct swc *sw = NULL;
	struct kns ns;
	struct buf b = BUF_INIT;
	struct timespec now;
	char super[128], oname[64];
	int rc;
	if ((rc = ns_init(&ns, KFS_CHUNK_DEFAULT)))
		return rc;
	if ((rc = swc_open(o->auth_url, o->user, o->key, name, &sw)))
		goto out;
	if ((rc = swc_container_create(sw))) {
		log_err("cannot create container %s: %s", name, strerror(-rc));
		goto out;
	}
	snprintf(super, sizeof(super), "kumofs 1 chunk=%u\n",
		 KFS_CHUNK_DEFAULT);
	rc = swc_put(sw, "super", super, strlen(super), 1);
	if (rc == -EEXIST) {
		log_err("filesystem %s exists already", name);
		goto out;
	} else if (rc) {
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if ((rc = ns_mkroot(&ns, 0, 0, &now)) || (rc = ns_snapshot(&ns, 0, &b)))
		goto out;
	obj_name(oname, sizeof(oname), "m/snap/", 0);
	rc = swc_put(sw, oname, b.data, b.len, 0);
	if (!rc)
		rc = swc_put(sw, "m/head", "0\n", 2, 0);
out:
	buf_free(&b);
	ns_free(&ns);
	swc_close(sw);
	return rc;
}

struct maxname {
	const char *prefix;
	uint64_t max;
	int found;
};

static int take_max(void *arg, const char *name)
{
	struct maxname *m = arg;
	size_t pl = strlen(m->prefix);
	char *end;
	uint64_t v;
	if (strncmp(name, m->prefix, pl))
		return 0;
	v = strtoull(name + pl, &end, 16);
	if (*end || end == name + pl)
		return 0;
	if (!m->found || v > m->max)
		m->max = v;
	m->found = 1;
	return 0;
}

/* The newest n of prefix<n>: the listing, then probes past it. */
static int newest(struct kfs *fs, const char *prefix, uint64_t hint,
		  uint64_t *out, int *found)
{
	struct maxname m = {prefix, 0, 0};
	char name[64];
	int rc = swc_list(fs->sw, prefix, take_max, &m);
	if (rc)
		return rc;
	if (hint > m.max || !m.found) {
		obj_name(name, sizeof(name), prefix, hint);
		if (!swc_head(fs->sw, name)) {
			m.max = hint;
			m.found = 1;
		}
	}
	while (m.found) {
		obj_name(name, sizeof(name), prefix, m.max + 1);
		if ((rc = swc_head(fs->sw, name)) == -ENOENT)
			break;
		if (rc)
			return rc;
		m.max++;
	}
	*out = m.max;
	*found = m.found;
	return 0;
}

struct sweep {
	struct kfs *fs;
	uint64_t removed;
};

/* Whether in names delta gen of chunk idx. */
static int names_delta(const struct kinode *in, uint64_t idx, uint64_t gen)
{
	uint32_t n, first = ns_delta_find(in, idx, &n), i;
	for (i = first; i < first + n; i++)
		if (in->deltas[i].gen == gen)
			return 1;
	return 0;
}

static int sweep_one(void *arg, const char *name)
{
	struct sweep *sw = arg;
	struct kfs *fs = sw->fs;
	uint64_t ino, idx, gen = 0;
	struct kinode *in;
	char tail;
	int n = sscanf(name, "d/%16" SCNx64 "/%8" SCNx64 ".%16" SCNx64 "%c",
		       &ino, &idx, &gen, &tail);
	if (n != 2 && n != 3)
		return 0;
	in = ns_inode(&fs->ns, ino);
	if (in && in->nlink && ns_chunk_test(in, idx) &&
	    (!gen || names_delta(in, idx, gen)))
		return 0;
	if (swc_delete(fs->sw, name) == 0)
		sw->removed++;
	return 0;
}

int kj_load(struct kfs *fs)
{
	struct buf b = BUF_INIT;
	char name[64];
	uint64_t head = 0, snap, seq;
	int found, rc;
	if ((rc = swc_get(fs->sw, "super", &b))) {
		log_err("filesystem %s: no super object (%s); run --mkfs",
			fs->name, strerror(-rc));
		goto out;
	}
	if (buf_append(&b, "", 1) ||
	    sscanf((char *)b.data, "kumofs 1 chunk=%u", &fs->chunk_size) != 1 ||
	    fs->chunk_size < 4096 || fs->chunk_size > (64u << 20)) {
		log_err("filesystem %s: bad super object", fs->name);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = ns_init(&fs->ns, fs->chunk_size)))
		goto out;
	b.len = 0;
	if (!swc_get(fs->sw, "m/head", &b) && !buf_append(&b, "", 1))
		head = strtoull((char *)b.data, NULL, 10);
	if ((rc = newest(fs, "m/snap/", head, &snap, &found)))
		goto out;
	if (!found) {
		log_err("filesystem %s: no snapshot", fs->name);
		rc = -EINVAL;
		goto out;
	}
	b.len = 0;
	obj_name(name, sizeof(name), "m/snap/", snap);
	fs->ns.last_clean = 1; /* unless the snapshot or a log says MOUNT */
	if ((rc = swc_get(fs->sw, name, &b)) ||
	    (rc = ns_apply(&fs->ns, b.data, b.len, &seq))) {
		log_err("filesystem %s: snapshot %s: %s", fs->name, name,
			strerror(-rc));
		goto out;
	}
	fs->seq = fs->snap_seq = fs->prev_snap_seq = snap;
	for (;;) {
		b.len = 0;
		obj_name(name, sizeof(name), "m/log/", fs->seq + 1);
		rc = swc_get(fs->sw, name, &b);
		if (rc == -ENOENT)
			break;
		if (rc || (rc = ns_apply(&fs->ns, b.data, b.len, &seq))) {
			log_err("filesystem %s: log %s: %s", fs->name, name,
				strerror(-rc));
			goto out;
		}
		fs->seq++;
		fs->logs_since_snap++;
	}
	rc = 0;
	if (!ns_inode(&fs->ns, KFS_ROOT_INO)) {
		log_err("filesystem %s: no root directory", fs->name);
		rc = -EINVAL;
	}
	log_info("filesystem %s: snapshot %" PRIu64 ", log up to %" PRIu64
		 ", %" PRIu64 " inodes",
		 fs->name, snap, fs->seq, fs->ns.icount);
out:
	buf_free(&b);
	return rc;
}

/* Free the inodes an unclean stop left with nlink 0 and sweep chunks
 * that no inode names (writable mounts, before serving). */
static int recover(struct kfs *fs)
{
	struct sweep sw = {fs, 0};
	uint64_t i;
	int rc;
	if (fs->ns.last_clean)
		return 0;
	for (i = 0; i < fs->ns.inb; i++) {
		struct kinode *in = fs->ns.ih[i], *nx;
		for (; in; in = nx) {
			nx = in->hnext;
			if (in->nlink == 0 && in->ino != KFS_ROOT_INO)
				ns_release(&fs->ns, in);
		}
	}
	rc = swc_list(fs->sw, "d/", sweep_one, &sw);
	log_info("filesystem %s: unclean stop before: %" PRIu64 " chunks swept",
		 fs->name, sw.removed);
	return rc;
}

static int lease_write(struct kfs *fs, uint64_t n, const char *state,
		       time_t until, int create)
{
	char name[64], body[512], host[256] = "";
	gethostname(host, sizeof(host) - 1);
	obj_name(name, sizeof(name), "lease.", n);
	snprintf(body, sizeof(body), "%s:%d %lld %s\n", host, (int)getpid(),
		 (long long)until, state);
	return swc_put(fs->sw, name, body, strlen(body), create);
}

int kj_lease_take(struct kfs *fs)
{
	struct buf b = BUF_INIT;
	char name[64], holder[300] = "", state[32] = "";
	long long until = 0;
	uint64_t n = 0;
	int found, rc;
	time_t now = time(NULL);
	if ((rc = newest(fs, "lease.", 0, &n, &found)))
		goto out;
	if (found) {
		obj_name(name, sizeof(name), "lease.", n);
		rc = swc_get(fs->sw, name, &b);
		if (rc && rc != -ENOENT)
			goto out;
		if (!rc && !buf_append(&b, "", 1))
			sscanf((char *)b.data, "%299s %lld %31s", holder,
			       &until, state);
		if (!strcmp(state, "held") && until > (long long)now) {
			log_err("filesystem %s is mounted read-write by %s "
				"(lease valid %lld s more); mount with -o ro "
				"or wait",
				fs->name, holder, until - (long long)now);
			rc = -EBUSY;
			goto out;
		}
	}
	fs->lease_until = now + fs->o.lease_seconds;
	rc = lease_write(fs, found ? n + 1 : 1, "held", fs->lease_until, 1);
	if (rc == -EEXIST) {
		log_err("filesystem %s: another mount took the lease first",
			fs->name);
		rc = -EBUSY;
		goto out;
	}
	if (rc)
		goto out;
	fs->lease_epoch = found ? n + 1 : 1;
	if (found) {
		obj_name(name, sizeof(name), "lease.", n);
		swc_delete(fs->sw, name);
	}
	rc = recover(fs);
	if (!rc) {
		pthread_mutex_lock(&fs->lock);
		ns_mark(&fs->ns, 1);
		pthread_mutex_unlock(&fs->lock);
		rc = kj_commit(fs, KJ_ALL);
	}
out:
	buf_free(&b);
	return rc;
}

void kj_lease_release(struct kfs *fs)
{
	if (!fs->lease_epoch || fs->lease_lost)
		return;
	lease_write(fs, fs->lease_epoch, "released", 0, 0);
}

static void delete_old(struct kfs *fs, uint64_t keep_from)
{
	char name[64];
	uint64_t s;
	/* logs up to keep_from and snapshots before it */
	for (s = keep_from; s > 0; s--) {
		obj_name(name, sizeof(name), "m/log/", s);
		if (swc_delete(fs->sw, name) == -ENOENT && s + 200 < keep_from)
			break;
	}
	for (s = keep_from; s-- > 0;) {
		obj_name(name, sizeof(name), "m/snap/", s);
		if (swc_delete(fs->sw, name) == -ENOENT && s + 200 < keep_from)
			break;
	}
}

int kj_commit(struct kfs *fs, uint64_t ino)
{
	struct buf log = BUF_INIT, snap = BUF_INIT;
	struct kdel *dels = NULL;
	uint64_t ndels = 0, i, epoch, seq;
	char name[64];
	int rc = 0, cut;
	if (fs->o.ro)
		return 0;
	pthread_mutex_lock(&fs->commit_lock);
	pthread_mutex_lock(&fs->lock);
	if (fs->lease_lost) {
		rc = -EROFS;
		goto unlock;
	}
	seq = fs->seq + 1;
	if (fs->uncommitted.len) { /* a cut whose PUT failed: first */
		log = fs->uncommitted;
		memset(&fs->uncommitted, 0, sizeof(fs->uncommitted));
		cut = 1;
	} else if ((cut = ns_cut(&fs->ns, seq, &log)) < 0) {
		rc = cut;
		goto unlock;
	}
	epoch = fs->epoch++;
	fs->amending = 1; /* deltas stored from now on: fs->amend */
	fs->amend.len = 0;
	fs->amend_error = 0;
	dels = fs->dels;
	ndels = fs->ndels;
	fs->dels = NULL;
	fs->ndels = fs->capdels = 0;
	if (cut && fs->logs_since_snap + 1 >= SNAP_EVERY &&
	    ns_snapshot(&fs->ns, seq, &snap))
		snap.len = 0;
	rc = kd_flush_epoch(fs, epoch, ino);
	/* the delta lists that changed since the cut: this log names the
	 * deltas its fsync waited for */
	fs->amending = 0;
	if (!rc)
		rc = fs->amend_error;
	if (!rc && fs->amend.len && !cut) {
		if (buf_append(&log, "KFL1", 4) || buf_put_be64(&log, seq))
			rc = -ENOMEM;
		cut = 1;
	}
	if (!rc && fs->amend.len &&
	    buf_append(&log, fs->amend.data, fs->amend.len))
		rc = -ENOMEM;
	if (!rc && fs->amend.len && snap.len &&
	    buf_append(&snap, fs->amend.data, fs->amend.len))
		snap.len = 0; /* the snapshot is the state after log seq */
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		goto failed;
	if (cut) {
		obj_name(name, sizeof(name), "m/log/", seq);
		rc = swc_put(fs->sw, name, log.data, log.len, 1);
		if (rc == -EEXIST) {
			log_err("filesystem %s: log %s written by another "
				"mount: this mount stops writing",
				fs->name, name);
			pthread_mutex_lock(&fs->lock);
			fs->lease_lost = 1;
			pthread_mutex_unlock(&fs->lock);
			rc = -EROFS;
			goto out;
		}
		if (rc)
			goto failed;
		fs->seq = seq;
		fs->logs_since_snap++;
	}
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < ndels; i++)
		kd_delete_now(fs, dels[i].ino, dels[i].idx, dels[i].gen);
	pthread_mutex_unlock(&fs->lock);
	if (snap.len) {
		obj_name(name, sizeof(name), "m/snap/", seq);
		if (!swc_put(fs->sw, name, snap.data, snap.len, 0)) {
			char h[32];
			snprintf(h, sizeof(h), "%" PRIu64 "\n", seq);
			swc_put(fs->sw, "m/head", h, strlen(h), 0);
			delete_old(fs, fs->snap_seq);
			fs->prev_snap_seq = fs->snap_seq;
			fs->snap_seq = seq;
			fs->logs_since_snap = 0;
		}
	}
	goto out;
failed:
	/* keep the cut and the deletes for the next commit */
	pthread_mutex_lock(&fs->lock);
	if (cut) {
		buf_free(&fs->uncommitted);
		fs->uncommitted = log;
		memset(&log, 0, sizeof(log));
	}
	for (i = 0; i < ndels; i++)
		kd_queue_delete(fs, dels[i].ino, dels[i].idx, dels[i].gen);
unlock:
	pthread_mutex_unlock(&fs->lock);
out:
	pthread_mutex_unlock(&fs->commit_lock);
	free(dels);
	buf_free(&log);
	buf_free(&snap);
	return rc;
}

void kj_free_inode(struct kfs *fs, struct kinode *in)
{
	if (in->freed || in->nlink || in->nopen || in->ino == KFS_ROOT_INO)
		return;
	kd_drop_inode(fs, in);
	ns_release(&fs->ns, in);
}

/*
 * Every commit_seconds: PUT the chunks dirtied so far, then commit the
 * metadata. The PUTs run outside commit_lock, so an fsync meanwhile
 * commits at once; chunks dirtied between the two steps are named by
 * the log before their PUT (as after another file's fsync).
 */
static void *committer(void *arg)
{
	struct kfs *fs = arg;
	for (;;) {
		uint64_t epoch;
		int i;
		for (i = 0; i < fs->o.commit_seconds * 10; i++) {
			usleep(100000);
			if (fs->stopping)
				return NULL;
		}
		pthread_mutex_lock(&fs->lock);
		epoch = fs->epoch++;
		kd_flush_epoch(fs, epoch, KD_ALL);
		pthread_mutex_unlock(&fs->lock);
		kj_commit(fs, KJ_META);
	}
}

static void *renewer(void *arg)
{
	struct kfs *fs = arg;
	for (;;) {
		char name[64];
		time_t until;
		int i;
		for (i = 0; i < fs->o.lease_seconds * 10 / 3 + 1; i++) {
			usleep(100000);
			if (fs->stopping)
				return NULL;
		}
		obj_name(name, sizeof(name), "lease.", fs->lease_epoch + 1);
		if (swc_head(fs->sw, name) == 0) {
			log_err("filesystem %s: another mount took the lease",
				fs->name);
			pthread_mutex_lock(&fs->lock);
			fs->lease_lost = 1;
			pthread_mutex_unlock(&fs->lock);
			return NULL;
		}
		until = time(NULL) + fs->o.lease_seconds;
		if (!lease_write(fs, fs->lease_epoch, "held", until, 0)) {
			fs->lease_until = until;
		} else if (time(NULL) >= fs->lease_until) {
			log_err("filesystem %s: lease expired unrenewed",
				fs->name);
			pthread_mutex_lock(&fs->lock);
			fs->lease_lost = 1;
			pthread_mutex_unlock(&fs->lock);
			return NULL;
		}
	}
}

int kj_start(struct kfs *fs)
{
	if (fs->o.ro)
		return 0;
	if (pthread_create(&fs->committer, NULL, committer, fs))
		return -EAGAIN;
	fs->committer_up = 1;
	if (pthread_create(&fs->renewer, NULL, renewer, fs))
		return -EAGAIN;
	fs->renewer_up = 1;
	return 0;
}

void kj_stop(struct kfs *fs)
{
	fs->stopping = 1;
	if (fs->committer_up)
		pthread_join(fs->committer, NULL);
	if (fs->renewer_up)
		pthread_join(fs->renewer, NULL);
	fs->committer_up = fs->renewer_up = 0;
}
