/*
 * objectd/replicator.c: the object replicator (Swift's
 * obj/replicator.py with its SSYNC sender, simplified): it keeps every
 * partition's replicas equal and moves data to where the ring wants it.
 *
 * A pass (repl_run_once; a thread every replicator_interval seconds, or
 * `kumo-objectd CONF --once replicate`) goes over every replicated
 * storage policy in turn (policy N: object-N.ring.gz and <dev>/objects-N,
 * each request naming it in X-Backend-Storage-Policy-Index; policy 0:
 * object.ring.gz and <dev>/objects), reloads the policy's object ring from
 * swift_dir when the file changed, finds this server's devices in it (ip
 * and port of the ring device equal to bind_ip and bind_port), and makes
 * one job per partition dir found under the policy's folder:
 *
 *   primary job (this device is one of the partition's primaries):
 *     for each other primary: REPLICATE /dev/part → its suffix hashes;
 *     the suffixes whose hash differs are rehashed there (REPLICATE
 *     /dev/part/s1-s2) and compared again; for those still differing,
 *     SSYNC lists the peer's objects (hash → newest .data/.ts and .meta
 *     timestamps), every object the peer lacks or holds older is sent
 *     file by file (replication PUT, replserver.c: the exact file,
 *     metadata and timestamp; tombstones too), and a last REPLICATE of
 *     those suffixes makes the peer rehash them. What the peer holds
 *     newer it pushes itself when its replicator runs.
 *   handoff job (the partition is here but not assigned to this device):
 *     the same push to every primary, then the partition is removed.
 *
 * The handoff state machine:
 *
 *   HELD --snapshot: tidy + list every object (file names)--> LISTED
 *   LISTED --push to each primary--> all answered and every object of
 *            the snapshot is on each primary (hash equal, or listed same
 *            or newer, or sent and 201) ? VERIFIED : HELD (next pass)
 *   VERIFIED --unlink the snapshot's files, rmdir what is empty--> GONE
 *            (a file written meanwhile has another name and stays; its
 *            dirs stay with it, its suffix is invalidated)
 *
 * Invariants:
 *   1. A handoff's file is removed only after every primary has
 *      acknowledged it or something at least as new (verified), so an
 *      object stays readable on some node at every moment of a move.
 *   2. Only files from the snapshot are removed: a concurrent write is
 *      never lost.
 *   3. A peer keeps the newest file: a late or duplicate send is
 *      harmless (df_cleanup), so jobs may race with client writes and
 *      with other replicators.
 *   4. Tombstones travel like data and are reclaimed only after
 *      reclaim_age (hashes.c), by which time every replica has them:
 *      nothing deleted comes back.
 *
 * Figures of each pass are logged in one line and merged into the recon
 * cache ("object": object_replication_last, object_replication_time,
 * replication_stats). Left to others: the hashes (hashes.c), the peer
 * side (replserver.c), the on-disk format (diskfile.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/cluster.h"
#include "common/log.h"
#include "common/policy.h"
#include "common/recon.h"
#include "objectd/internal.h"

#define MAX_HANDOFFS	8   /* stand-ins tried for primaries that answer 507 */
#define SFX_BATCH	256 /* suffixes per REPLICATE/SSYNC request */
#define MAX_JSON_BYTES	(64 * 1024 * 1024)
#define RECLAIM_MARK	".reclaimed"
#define FULL_REHASH_MAX 3600 /* seconds between full rehashes, at most */

/* The object ring of each storage policy (policy_at order) and what it
 * was loaded from. */
struct repl_state {
	pthread_mutex_t lock;
	struct ring *ring[POLICY_MAX];
	struct ring_stamp stamp[POLICY_MAX]; /* of the file loaded (or tried) */
	int warned[POLICY_MAX];		     /* "no ring" said once */
};

/* --- the ring --------------------------------------------------------- */

/* The current object ring of the i-th policy (object.ring.gz for policy
 * 0, object-N.ring.gz for N; a reference the caller puts), reloaded when
 * the file changed; NULL when there is none. */
struct ring *repl_ring(struct objd *od, int i)
{
	struct repl_state *rs = od->repl;
	const struct storage_policy *sp = policy_at(i);
	char path[CONF_STR_MAX + 32];
	struct ring *ring = NULL, *fresh = NULL;
	int rc;

	if (sp->index)
		snprintf(path, sizeof(path), "%s/object-%d.ring.gz",
			 od->cfg->swift_dir, sp->index);
	else
		snprintf(path, sizeof(path), "%s/object.ring.gz",
			 od->cfg->swift_dir);
	pthread_mutex_lock(&rs->lock);
	rc = ring_reload(path, &rs->stamp[i], &fresh);
	if (rc == -ENOENT) {
		if (!rs->warned[i])
			log_info("no object ring at %s: nothing to replicate",
				 path);
		rs->warned[i] = 1;
	} else if (rc == 1) {
		if (rs->ring[i])
			ring_put(rs->ring[i]);
		rs->ring[i] = fresh;
		rs->warned[i] = 0;
		log_info("object ring %s loaded (%u partitions)", path,
			 fresh->nparts);
	}
	if (rs->ring[i])
		ring = ring_get(rs->ring[i]);
	pthread_mutex_unlock(&rs->lock);
	return ring;
}

int repl_is_local(const struct objd *od, const struct ring_dev *d)
{
	const char *ip = od->cfg->bind_ip;

	if (!d || d->port != od->cfg->bind_port)
		return 0;
	return !strcmp(ip, "0.0.0.0") || !strcmp(d->ip, ip);
}

static int same_dev(const struct ring_dev *a, const struct ring_dev *b)
{
	return a->id == b->id;
}

/* --- HTTP to peers ----------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > MAX_JSON_BYTES || buf_append(b, p, size * n))
		return 0;
	return size * n;
}

static size_t upload_read(char *p, size_t size, size_t n, void *arg)
{
	struct repl_upload *u = arg;
	size_t want = size * n;
	ssize_t got;

	if (u->off >= u->size)
		return 0;
	if (want > u->size - u->off)
		want = (size_t)(u->size - u->off);
	got = pread(u->fd, p, want, (off_t)u->off);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	u->off += (uint64_t)got;
	return (size_t)got;
}

void repl_easy_setup(const struct repl_conn *c, void *easy,
		     const struct ring_dev *peer, const char *method,
		     const char *path, struct curl_slist *hdrs)
{
	char url[8192 + 512];
	long secs = (long)ceil(c->od->cfg->replicator_node_timeout);

	snprintf(url, sizeof(url), "http://%s:%d%s", peer->ip, peer->port,
		 path);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->od->cfg->conn_timeout * 1000));
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
}

long repl_request(struct repl_conn *c, const struct ring_dev *peer,
		  const char *method, const char *path, struct curl_slist *hdrs,
		  struct repl_upload *up, struct buf *resp)
{
	long status = 0;
	struct buf sink = BUF_INIT;
	CURLcode cc;

	if (!c->easy && !(c->easy = curl_easy_init()))
		return 0;
	curl_easy_reset(c->easy);
	repl_easy_setup(c, c->easy, peer, method, path, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, resp ? resp : &sink);
	if (up) {
		curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, upload_read);
		curl_easy_setopt(c->easy, CURLOPT_READDATA, up);
		curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)up->size);
	}
	cc = curl_easy_perform(c->easy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	else
		log_warn("%s %s:%d%s: %s", method, peer->ip, peer->port, path,
			 curl_easy_strerror(cc));
	buf_free(&sink);
	return status;
}

struct curl_slist *repl_headers(const struct repl_conn *c)
{
	char line[96];
	struct curl_slist *h = NULL;

	snprintf(line, sizeof(line), "User-Agent: object-%s %d",
		 c->agent ? c->agent : "replicator", (int)getpid());
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Backend-Storage-Policy-Index: %d",
		 c->policy);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	return h;
}

/* "/<dev>/<part>[/s1-s2...]" into out for method on the peer; JSON answer
 * into *out_json (new ref). 0, -EIO (no or bad answer), -ENODEV (507). */
static int peer_json(struct repl_conn *c, const struct ring_dev *peer,
		     const char *method, const char *part, const char **sfx,
		     int nsfx, json_t **out_json)
{
	struct buf path = BUF_INIT, resp = BUF_INIT;
	struct curl_slist *h = repl_headers(c);
	char qdev[1024];
	long status;
	int i, rc = -ENOMEM;

	*out_json = NULL;
	if (!h || cluster_quote(peer->device, qdev, sizeof(qdev)) < 0 ||
	    buf_printf(&path, "/%s/%s", qdev, part))
		goto out;
	for (i = 0; i < nsfx; i++)
		if (buf_printf(&path, "%c%s", i ? '-' : '/', sfx[i]))
			goto out;
	if (buf_append(&path, "", 1))
		goto out;
	status = repl_request(c, peer, method, (char *)path.data, h, NULL,
			      &resp);
	rc = status == 507 ? -ENODEV : -EIO;
	if (status == 200)
		*out_json =
			json_loadb((const char *)resp.data, resp.len, 0, NULL);
	if (*out_json && json_is_object(*out_json))
		rc = 0;
	else if (status)
		log_warn("%s %s:%d/%s/%s: status %ld", method, peer->ip,
			 peer->port, peer->device, part, status);
	if (rc) {
		json_decref(*out_json);
		*out_json = NULL;
	}
out:
	curl_slist_free_all(h);
	buf_free(&path);
	buf_free(&resp);
	return rc;
}

/* REPLICATE (or SSYNC) of suffixes in batches, the answers merged. */
int repl_peer_json(struct repl_conn *c, const struct ring_dev *peer,
		   const char *method, const char *part, const char **sfx,
		   int nsfx, json_t **out)
{
	json_t *all = NULL, *one;
	int i, rc = 0;

	*out = NULL;
	for (i = 0; i < nsfx && !rc; i += SFX_BATCH) {
		int n = nsfx - i < SFX_BATCH ? nsfx - i : SFX_BATCH;

		rc = peer_json(c, peer, method, part, sfx + i, n, &one);
		if (rc)
			break;
		if (!all)
			all = one;
		else {
			json_object_update(all, one);
			json_decref(one);
		}
	}
	if (rc)
		json_decref(all);
	else
		*out = all ? all : json_object();
	return *out ? rc : (rc ? rc : -ENOMEM);
}

/* Send one file of hash_dir as a replication PUT. Bytes sent (>= 0) or
 * -errno. */
int64_t repl_send_file(struct repl_conn *c, const struct ring_dev *peer,
		       const char *part, const char *hash_dir,
		       const char *fname)
{
	struct objmeta m = OBJMETA_INIT;
	struct curl_slist *h = NULL;
	struct repl_upload up = {-1, 0, 0};
	char path[PATH_MAX], qdev[1024], qname[3 * 1600], line[128];
	struct buf url = BUF_INIT;
	const char *name;
	uint64_t body_len;
	struct stat st;
	long status;
	int64_t rc;

	snprintf(path, sizeof(path), "%s/%s", hash_dir, fname);
	up.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (up.fd == -1) {
		rc = errno == ENOENT ? 0 : -errno; /* superseded meanwhile */
		goto out;
	}
	rc = -EIO;
	if (fstat(up.fd, &st) == -1 || df_read_meta(up.fd, &m, &body_len))
		goto out;
	name = objmeta_get(&m, "name");
	if (!name || name[0] != '/' ||
	    cluster_quote(peer->device, qdev, sizeof(qdev)) < 0 ||
	    cluster_quote(name, qname, sizeof(qname)) < 0 ||
	    buf_printf(&url, "/%s/%s%s", qdev, part, qname) ||
	    buf_append(&url, "", 1))
		goto out;
	h = repl_headers(c);
	h = curl_slist_append(h, "X-Backend-Replication: True");
	snprintf(line, sizeof(line), "X-Backend-Replication-File: %s", fname);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	if (!h)
		goto out;
	up.size = (uint64_t)st.st_size;
	status = repl_request(c, peer, "PUT", (char *)url.data, h, &up, NULL);
	if (status == 201) {
		rc = (int64_t)st.st_size;
	} else {
		rc = status == 507 ? -ENODEV : -EIO;
		log_warn("replicating %s to %s:%d/%s: status %ld", path,
			 peer->ip, peer->port, peer->device, status);
	}
out:
	if (up.fd >= 0)
		close(up.fd);
	curl_slist_free_all(h);
	buf_free(&url);
	objmeta_free(&m);
	return rc;
}

/* --- syncing suffixes -------------------------------------------------- */

void repl_snap_free(struct repl_snap *s)
{
	free(s->e);
	free(s->sfx);
	free(s->sfxs);
	memset(s, 0, sizeof(*s));
}

int repl_snapshot(const struct objd *od, const struct repl_job *j,
		  const char **sfxs, int nsfx, struct repl_snap *s)
{
	int rc = 0, k;

	memset(s, 0, sizeof(*s));
	s->sfxs = calloc((size_t)nsfx + 1, sizeof(*s->sfxs));
	if (!s->sfxs)
		return -ENOMEM;
	memcpy(s->sfxs, sfxs, sizeof(*sfxs) * (size_t)nsfx);
	s->nsfx = nsfx;
	for (k = 0; k < nsfx && !rc; k++) {
		struct objd_entry *e, *ge;
		char(*gs)[4];
		int n, i;

		rc = objd_list_suffix(j->dev_dir, j->policy, j->part, sfxs[k],
				      od->cfg->reclaim_age, &e, &n);
		if (rc)
			break;
		ge = realloc(s->e, sizeof(*ge) * (size_t)(s->n + n + 1));
		if (ge)
			s->e = ge;
		gs = realloc(s->sfx, sizeof(*gs) * (size_t)(s->n + n + 1));
		if (gs)
			s->sfx = gs;
		if (!ge || !gs) {
			free(e);
			rc = -ENOMEM;
			break;
		}
		for (i = 0; i < n; i++) {
			s->e[s->n] = e[i];
			snprintf(s->sfx[s->n], 4, "%s", sfxs[k]);
			s->n++;
		}
		free(e);
	}
	return rc;
}

/* What a peer listed for one hash. */
struct remote {
	int found, deleted, has_meta;
	struct ts data_ts, meta_ts;
};

static void remote_of(json_t *listing, const char *hash, struct remote *r)
{
	json_t *e = json_object_get(listing, hash);
	const char *kind, *d, *m;

	memset(r, 0, sizeof(*r));
	if (!json_is_array(e))
		return;
	kind = json_string_value(json_array_get(e, 0));
	d = json_string_value(json_array_get(e, 1));
	m = json_string_value(json_array_get(e, 2));
	if (!kind || !d || ts_parse(d, &r->data_ts))
		return;
	r->found = 1;
	r->deleted = !strcmp(kind, "ts");
	if (m && !ts_parse(m, &r->meta_ts))
		r->has_meta = 1;
	else
		r->meta_ts = r->data_ts;
}

/* Figures of one sync, added to the pass's by the caller. */
struct sync_figs {
	long long objects, bytes, errors;
};

/*
 * Send peer every object of the snapshot that it lacks or holds older
 * (SSYNC lists what it has). 0 when every object of the snapshot is now
 * on the peer, or something newer is (verified: listed, or sent and
 * acknowledged durable with 201); -errno otherwise.
 */
static int sync_snap(struct repl_conn *c, const struct repl_job *j,
		     const struct ring_dev *peer, const struct repl_snap *s,
		     struct sync_figs *f)
{
	struct objd *od = c->od;
	char hash_dir[DF_HASH_DIR_MAX];
	json_t *listing = NULL;
	int i, k, rc, failed = 0;

	rc = repl_peer_json(c, peer, "SSYNC", j->part, s->sfxs, s->nsfx,
			    &listing);
	if (rc)
		return rc;
	for (k = 0; k < s->n && !od->stopping; k++) {
		const struct df_current *cur = &s->e[k].cur;
		struct remote r;
		int need_data, need_meta, moved = 0;
		int64_t sent;

		remote_of(listing, s->e[k].hash, &r);
		need_data = !r.found || ts_cmp(&r.data_ts, &cur->data_ts) < 0;
		need_meta =
			cur->has_meta &&
			(need_data ||
			 (!r.deleted && !ts_cmp(&r.data_ts, &cur->data_ts) &&
			  ts_cmp(&r.meta_ts, &cur->meta_ts) < 0));
		snprintf(hash_dir, sizeof(hash_dir), "%s/%s/%s/%s/%s",
			 j->dev_dir, j->data_dir, j->part, s->sfx[k],
			 s->e[k].hash);
		for (i = 0; i < 2; i++) {
			if (!(i ? need_meta : need_data))
				continue;
			sent = repl_send_file(c, peer, j->part, hash_dir,
					      i ? cur->meta_name
						: cur->data_name);
			if (sent < 0) {
				failed = (int)sent;
				f->errors++;
				break;
			}
			f->bytes += sent;
			moved = 1;
		}
		f->objects += moved;
	}
	json_decref(listing);
	if (od->stopping)
		return -EINTR;
	return failed;
}

/* The suffixes of local whose hash differs in remote, into out (pointers
 * into local's keys). */
static int diff_suffixes(json_t *local, json_t *remote, const char **out)
{
	const char *key;
	json_t *v, *rv;
	int n = 0;

	json_object_foreach(local, key, v)
	{
		rv = remote ? json_object_get(remote, key) : NULL;
		if (!json_is_string(rv) ||
		    strcmp(json_string_value(rv), json_string_value(v)))
			out[n++] = key;
	}
	return n;
}

/*
 * Bring peer up to date with the local partition. A primary job compares
 * hashes and syncs the differing suffixes; a handoff job pushes its whole
 * snapshot (hashes are a cache and could hide a file written this very
 * moment; removal needs every file verified). 0 when the peer has
 * everything (or newer), -errno otherwise.
 */
static int sync_peer(struct repl_conn *c, const struct repl_job *j,
		     const struct ring_dev *peer, json_t *local,
		     const struct repl_snap *handoff_snap, struct repl_pass *p)
{
	const char **diff = calloc(json_object_size(local) + 1, sizeof(*diff));
	struct sync_figs f = {0, 0, 0};
	json_t *remote = NULL, *again = NULL;
	struct repl_snap own = {0};
	const struct repl_snap *s = handoff_snap;
	int n, rc = 0;

	if (!diff)
		return -ENOMEM;
	if (!s) {
		rc = peer_json(c, peer, "REPLICATE", j->part, NULL, 0, &remote);
		if (rc)
			goto out;
		n = diff_suffixes(local, remote, diff);
		if (n) {
			/* its cache may be stale: rehash those, compare */
			rc = repl_peer_json(c, peer, "REPLICATE", j->part, diff,
					    n, &again);
			if (rc)
				goto out;
			n = diff_suffixes(local, again, diff);
		}
		if (!n)
			goto out;
		rc = repl_snapshot(c->od, j, diff, n, &own);
		if (rc)
			goto out;
		s = &own;
	}
	rc = sync_snap(c, j, peer, s, &f);
	json_decref(again);
	again = NULL;
	/* the peer rehashes what it was sent */
	if (s->nsfx &&
	    repl_peer_json(c, peer, "REPLICATE", j->part, s->sfxs, s->nsfx,
			   &again) &&
	    !rc)
		rc = -EIO;
out:
	pthread_mutex_lock(&p->lock);
	p->st.suffix_hash += (long long)json_object_size(local);
	p->st.suffix_sync += rc || !s ? 0 : s->nsfx;
	p->st.objects_moved += f.objects;
	p->st.bytes_moved += f.bytes;
	p->st.errors += f.errors + (rc ? 1 : 0);
	pthread_mutex_unlock(&p->lock);
	repl_snap_free(&own);
	json_decref(remote);
	json_decref(again);
	free(diff);
	return rc;
}

/* --- a partition job --------------------------------------------------- */

/* Force a full rehash (so old tombstones are reclaimed, even in suffixes
 * nothing touches) every quarter of reclaim_age, at most every
 * FULL_REHASH_MAX seconds: a tombstone goes soon after reclaim_age. */
void repl_maybe_full_rehash(const struct objd *od, const struct repl_job *j)
{
	char mark[DF_DEV_DIR_MAX + 64], cache[DF_DEV_DIR_MAX + 64];
	long long every = od->cfg->reclaim_age / 4 < FULL_REHASH_MAX
				  ? od->cfg->reclaim_age / 4
				  : FULL_REHASH_MAX;
	struct stat st;
	int fd;

	snprintf(mark, sizeof(mark), "%s/%s/%s/%s", j->dev_dir, j->data_dir,
		 j->part, RECLAIM_MARK);
	if (!stat(mark, &st) && st.st_mtime + every > time(NULL))
		return;
	snprintf(cache, sizeof(cache), "%s/%s/%s/hashes.json", j->dev_dir,
		 j->data_dir, j->part);
	unlink(cache); /* a missing cache means every suffix is rehashed */
	fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

static void rmdir_quiet(const char *path)
{
	if (rmdir(path) == -1 && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EEXIST)
		log_warn("cannot remove %s: %m", path);
}

/* 1 if the partition dir has no suffix dir left. */
static int part_empty(const char *part_dir)
{
	struct dirent *de;
	DIR *d = opendir(part_dir);
	int empty = 1;

	if (!d)
		return errno == ENOENT;
	while ((de = readdir(d)))
		if (objd_suffix_ok(de->d_name))
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * Remove the dirs of the snapshot's objects that are left empty, then the
 * partition when nothing else arrived (a suffix that got something new
 * is invalidated). 1 if the partition is gone.
 */
int repl_prune_handoff(const struct repl_job *j, const struct repl_snap *s)
{
	static const char *const part_files[] = {
		"hashes.json", "hashes.invalid", RECLAIM_MARK,
		".lock"}; /* .lock: what older versions locked */
	char part_dir[DF_DEV_DIR_MAX + 32], dir[DF_HASH_DIR_MAX],
		path[PATH_MAX];
	size_t f;
	int i;

	snprintf(part_dir, sizeof(part_dir), "%s/%s/%s", j->dev_dir,
		 j->data_dir, j->part);
	for (i = 0; i < s->n; i++) {
		snprintf(dir, sizeof(dir), "%s/%s/%s", part_dir, s->sfx[i],
			 s->e[i].hash);
		rmdir_quiet(dir);
	}
	for (i = 0; i < s->n; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", part_dir, s->sfx[i]);
		rmdir_quiet(dir);
		if (!access(dir, F_OK)) /* something new came: rehash it */
			objd_hash_invalidate(j->dev_dir, j->policy, j->part,
					     s->sfx[i]);
	}
	if (!part_empty(part_dir))
		return 0;
	for (f = 0; f < sizeof(part_files) / sizeof(part_files[0]); f++) {
		snprintf(path, sizeof(path), "%s/%s", part_dir, part_files[f]);
		unlink(path);
	}
	if (rmdir(part_dir) == -1) {
		if (errno != ENOENT)
			return 0;
	}
	log_info("removed handoff partition %s after pushing it to its "
		 "primaries",
		 part_dir);
	return 1;
}

/* Remove the snapshot's files (verified on every primary), then what
 * repl_prune_handoff removes. 1 if the partition is gone. */
static int remove_handoff(const struct repl_job *j, const struct repl_snap *s)
{
	char path[PATH_MAX];
	const char *name;
	int i, f;

	for (i = 0; i < s->n; i++) {
		for (f = 0; f < 2; f++) {
			name = f ? s->e[i].cur.meta_name
				 : s->e[i].cur.data_name;
			snprintf(path, sizeof(path), "%s/%s/%s/%s/%s/%s",
				 j->dev_dir, j->data_dir, j->part, s->sfx[i],
				 s->e[i].hash, name);
			if (name[0] && unlink(path) == -1 && errno != ENOENT)
				log_warn("cannot remove %s: %m", path);
		}
	}
	return repl_prune_handoff(j, s);
}

/*
 * A primary answered 507 (its device is gone or unmounted): as Swift,
 * give the partition to the next handoff instead, so that it keeps as
 * many replicas; that handoff's own replicator gives it back once the
 * device returns. *next is where the handoff walk goes on. 0 when one
 * took it, -errno otherwise.
 */
static int sync_stand_in(struct repl_pass *p, struct repl_conn *c,
			 const struct repl_job *j, json_t *local, int *next)
{
	const struct ring_dev *hand[MAX_HANDOFFS];
	int n = ring_get_handoffs(p->ring, j->partno, hand, MAX_HANDOFFS);
	int rc = -ENODEV;

	while (rc == -ENODEV && *next < n && !p->od->stopping) {
		const struct ring_dev *h = hand[(*next)++];

		if (h->id == j->dev_id)
			continue;
		rc = sync_peer(c, j, h, local, NULL, p);
		if (!rc)
			log_info("partition %s: a primary's device is gone, "
				 "handoff %s:%d/%s stands in",
				 j->part, h->ip, h->port, h->device);
	}
	return rc;
}

/* The worker thread's easy handle between its jobs (worker): its open
 * connections to the peers serve the thread's next partitions, instead of
 * a new connection (and a new server thread behind it) per partition. */
static __thread CURL *t_easy;

static void run_job(struct repl_pass *p, struct repl_job *j)
{
	struct objd *od = p->od;
	struct repl_conn c = {od, t_easy, j->policy, "replicator"};
	struct repl_snap snap = {0};
	const char **all = NULL, *key;
	json_t *local = NULL, *v;
	int i, n = 0, rc, failed = 0, removed = 0, next_handoff = 0;

	repl_maybe_full_rehash(od, j);
	rc = objd_get_hashes(j->dev_dir, j->policy, j->part, NULL, 0,
			     od->cfg->reclaim_age, &local);
	if (rc) {
		failed = 1;
		goto out;
	}
	if (j->handoff) {
		all = calloc(json_object_size(local) + 1, sizeof(*all));
		if (!all) {
			failed = 1;
			goto out;
		}
		json_object_foreach(local, key, v) all[n++] = key;
		if (repl_snapshot(od, j, all, n, &snap)) {
			failed = 1;
			goto out;
		}
	}
	for (i = 0; i < j->npeers && !od->stopping; i++) {
		rc = sync_peer(&c, j, j->peers[i], local,
			       j->handoff ? &snap : NULL, p);
		if (rc == -ENODEV && !j->handoff)
			rc = sync_stand_in(p, &c, j, local, &next_handoff);
		if (rc)
			failed = 1;
	}
	if (j->handoff && !failed && !od->stopping)
		removed = remove_handoff(j, &snap);
out:
	t_easy = c.easy; /* for this worker's next job */
	repl_snap_free(&snap);
	free(all);
	json_decref(local);
	pthread_mutex_lock(&p->lock);
	p->st.attempted++;
	if (failed || od->stopping)
		p->st.failure++;
	else
		p->st.success++;
	p->st.handoffs_removed += removed;
	pthread_mutex_unlock(&p->lock);
}

static void *worker(void *arg)
{
	struct repl_pass *p = arg;
	struct repl_job *j;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		j = p->next < p->njobs && !p->od->stopping ? &p->jobs[p->next++]
							   : NULL;
		pthread_mutex_unlock(&p->lock);
		if (!j)
			break;
		p->run(p, j);
	}
	if (t_easy)
		curl_easy_cleanup(t_easy);
	t_easy = NULL;
	return NULL;
}

/* --- collecting jobs --------------------------------------------------- */

static int add_jobs_of_dev(struct repl_pass *p, const struct ring_dev *dev,
			   int *cap)
{
	struct objd *od = p->od;
	const struct ring_dev *nodes[REPL_MAX_PRIMARIES];
	char objs[DF_DEV_DIR_MAX + 16], *end;
	struct dirent *de;
	struct repl_job *j, *grown;
	unsigned long part;
	int n, i, mine;
	DIR *d;

	if (snprintf(objs, sizeof(objs), "%s/%s/%s", od->cfg->devices,
		     dev->device, p->data_dir) >= (int)sizeof(objs))
		return -ENAMETOOLONG;
	d = opendir(objs);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!de->d_name[0] || de->d_name[0] == '.')
			continue;
		errno = 0;
		part = strtoul(de->d_name, &end, 10);
		if (*end || errno ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		if (part >= p->ring->nparts) {
			log_warn("%s/%s: no such partition in the ring", objs,
				 de->d_name);
			continue;
		}
		if (p->njobs == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			grown = realloc(p->jobs, sizeof(*grown) * (size_t)*cap);
			if (!grown) {
				closedir(d);
				return -ENOMEM;
			}
			p->jobs = grown;
		}
		j = &p->jobs[p->njobs];
		memset(j, 0, sizeof(*j));
		j->dev_id = dev->id;
		j->policy = p->policy;
		snprintf(j->data_dir, sizeof(j->data_dir), "%s", p->data_dir);
		if (snprintf(j->dev_dir, sizeof(j->dev_dir), "%s/%s",
			     od->cfg->devices,
			     dev->device) >= (int)sizeof(j->dev_dir))
			continue;
		/* the name as it is on disk (a partition has at most 10
		 * digits; a longer name is no partition of ours) */
		if (snprintf(j->part, sizeof(j->part), "%s", de->d_name) >=
		    (int)sizeof(j->part))
			continue;
		j->partno = (uint32_t)part;
		n = ring_get_part_nodes(p->ring, j->partno, nodes,
					REPL_MAX_PRIMARIES);
		for (i = mine = 0; i < n; i++)
			if (same_dev(nodes[i], dev))
				mine = 1;
		j->handoff = !mine;
		log_debug("job %s/%s: %s", dev->device, j->part,
			  mine ? "primary" : "handoff");
		for (i = 0; i < n; i++)
			if (!same_dev(nodes[i], dev))
				j->peers[j->npeers++] = nodes[i];
		p->njobs++;
	}
	closedir(d);
	return 0;
}

/*
 * Devices under `devices` that no ring device names any more (removed
 * from the ring): every partition they hold is a handoff, pushed to its
 * primaries and removed, so removing a device from the ring drains it.
 * Where servers share one devices folder (kumo-aio) each of them does
 * this; the pushes are idempotent (invariant 3).
 */
static int add_orphan_jobs(struct repl_pass *p, int *cap)
{
	struct ring_dev orphan;
	struct dirent *de;
	int i, known, rc = 0;
	DIR *d = opendir(p->od->cfg->devices);

	if (!d)
		return 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		for (i = known = 0; i < p->ring->ndevs && !known; i++)
			known = p->ring->devs[i] &&
				!strcmp(p->ring->devs[i]->device, de->d_name);
		if (known)
			continue;
		memset(&orphan, 0, sizeof(orphan));
		orphan.id = -1;
		orphan.device = de->d_name;
		rc = add_jobs_of_dev(p, &orphan, cap);
	}
	closedir(d);
	return rc;
}

/* Handoffs first: they hold what primaries lack. */
static int job_cmp(const void *a, const void *b)
{
	const struct repl_job *x = a, *y = b;

	if (x->handoff != y->handoff)
		return y->handoff - x->handoff;
	return (x->partno > y->partno) - (x->partno < y->partno);
}

/* --- the pass ------------------------------------------------------------ */

static void record(struct objd *od, const struct repl_stats *st)
{
	json_t *f = json_pack(
		"{s:I, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
		"s:f}}",
		"object_replication_last", (json_int_t)st->start,
		"object_replication_time", st->duration, "replication_stats",
		"attempted", (json_int_t)st->attempted, "success",
		(json_int_t)st->success, "failure", (json_int_t)st->failure,
		"suffix_hash", (json_int_t)st->suffix_hash, "suffix_sync",
		(json_int_t)st->suffix_sync, "objects_moved",
		(json_int_t)st->objects_moved, "bytes_moved",
		(json_int_t)st->bytes_moved, "handoffs_removed",
		(json_int_t)st->handoffs_removed, "start", st->start,
		"duration", st->duration);

	if (f)
		recon_update(od->cfg->recon_cache_path, "object", f);
	json_decref(f);
}

double repl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Collect the jobs of the policy p is set to (ring, policy, data_dir)
 * and let the workers run them; the jobs are gone afterwards. 0 or
 * -errno. */
int repl_run_policy(struct repl_pass *p)
{
	struct objd *od = p->od;
	pthread_t *tids = NULL;
	char dev_dir[DF_DEV_DIR_MAX];
	struct stat st;
	int i, cap = 0, nthreads, started = 0, rc = 0;

	for (i = 0; i < p->ring->ndevs && !rc; i++) {
		const struct ring_dev *d = p->ring->devs[i];

		if (!repl_is_local(od, d))
			continue;
		if (snprintf(dev_dir, sizeof(dev_dir), "%s/%s",
			     od->cfg->devices,
			     d->device) >= (int)sizeof(dev_dir) ||
		    stat(dev_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
			log_warn("device %s of the ring is not here: skipped",
				 dev_dir);
			p->st.errors++;
			continue;
		}
		rc = add_jobs_of_dev(p, d, &cap);
	}
	if (!rc)
		rc = add_orphan_jobs(p, &cap);
	if (rc)
		goto out;
	if (p->njobs)
		qsort(p->jobs, (size_t)p->njobs, sizeof(*p->jobs), job_cmp);
	nthreads = p->concurrency > 0 ? p->concurrency : 1;
	if (nthreads > p->njobs)
		nthreads = p->njobs;
	tids = calloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof(*tids));
	if (!tids) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, p))
			break;
		started++;
	}
	if (!started && p->njobs)
		worker(p);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
out:
	free(tids);
	free(p->jobs);
	p->jobs = NULL;
	p->njobs = p->next = 0;
	return rc;
}

int repl_run_once(struct objd *od, struct repl_stats *out)
{
	struct repl_pass p;
	int i, rings = 0, rc = 0;

	memset(&p, 0, sizeof(p));
	p.od = od;
	p.run = run_job;
	p.concurrency = (int)od->cfg->replicator_concurrency;
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_lock(&od->repl_pass_lock);
	p.st.start = repl_now();
	/* each replicated policy on its own ring, in its own folder; an
	 * erasure-coded one is the reconstructor's (reconstructor.c) */
	for (i = 0; i < policy_count() && !rc; i++) {
		const struct storage_policy *sp = policy_at(i);

		if (sp->type != POLICY_REPLICATION)
			continue;
		p.ring = repl_ring(od, i);
		if (!p.ring)
			continue;
		rings++;
		p.policy = sp->index;
		policy_data_dir(sp->index, p.data_dir, sizeof(p.data_dir));
		rc = repl_run_policy(&p);
		ring_put(p.ring);
		p.ring = NULL;
	}
	if (!rings && !rc)
		rc = -ENOENT;
	p.st.duration = repl_now() - p.st.start;
	if (rings) {
		log_info("replication pass: %lld partitions (%lld ok, %lld "
			 "failed), %lld suffixes hashed, %lld synced, %lld "
			 "objects and %lld bytes moved, %lld handoffs "
			 "removed, %lld errors, %.2fs",
			 p.st.attempted, p.st.success, p.st.failure,
			 p.st.suffix_hash, p.st.suffix_sync, p.st.objects_moved,
			 p.st.bytes_moved, p.st.handoffs_removed, p.st.errors,
			 p.st.duration);
		record(od, &p.st);
	}
	pthread_mutex_unlock(&od->repl_pass_lock);
	if (out)
		*out = p.st;
	pthread_mutex_destroy(&p.lock);
	return rc;
}

/* --- the thread -------------------------------------------------------- */

static void replicator_pass(struct objd *od)
{
	repl_run_once(od, NULL);
}

static void *replicator_main(void *arg)
{
	struct objd *od = arg;

	objd_every(od, od->cfg->replicator_interval, replicator_pass);
	return NULL;
}

/* The replicator's state, made before any pass (repl_start or --once). */
int repl_init(struct objd *od)
{
	if (od->repl)
		return 0;
	od->repl = calloc(1, sizeof(*od->repl));
	if (!od->repl)
		return -ENOMEM;
	pthread_mutex_init(&od->repl->lock, NULL);
	pthread_mutex_init(&od->repl_pass_lock, NULL);
	return 0;
}

int repl_once(struct objd *od)
{
	struct repl_stats st;
	int rc = repl_init(od);

	if (!rc)
		rc = repl_run_once(od, &st);
	if (!rc && st.failure)
		rc = -EIO;
	return rc;
}

int repl_start(struct objd *od)
{
	int rc = repl_init(od);

	if (!rc)
		rc = objd_thread_start(od, &od->replicator, replicator_main,
				       "replicator");
	if (!rc)
		od->replicator_started = 1;
	return rc;
}

void repl_stop(struct objd *od)
{
	int i;

	objd_thread_stop(od, &od->replicator, &od->replicator_started);
	if (od->repl) {
		for (i = 0; i < POLICY_MAX; i++)
			if (od->repl->ring[i])
				ring_put(od->repl->ring[i]);
		pthread_mutex_destroy(&od->repl->lock);
		pthread_mutex_destroy(&od->repl_pass_lock);
		free(od->repl);
		od->repl = NULL;
	}
}
