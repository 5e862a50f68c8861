/*
 * objectd/updater.c: container updates, as Swift's object server and
 * object updater send them.
 *
 * After a PUT, POST or DELETE, the object server tells the container
 * servers the proxy named (X-Container-Host, -Device, -Partition) with a
 * backend PUT (X-Size, X-Content-Type, X-Timestamp, X-Etag) or DELETE
 * (X-Timestamp) of /<cdev>/<cpart>/<a>/<c>/<o>, sent to all of them at
 * once over keep-alive connections (common/keepconn.c) with short
 * timeouts. A POST's or DELETE's update leaves once the change is
 * durable; a PUT's as soon as its file has its final name, while the sync
 * that makes the name durable runs (upd_update_send), its answers read
 * after that sync (upd_update_finish), so that the container's sync and
 * the object's overlap. A target that does not answer 2xx gets a record
 * saved durably (fs_write_atomic), for a PUT only once the object is
 * durable, under
 *
 *   <dev>/async_pending/<hash[-3:]>/<hash>-<timestamp>-<target id>
 *
 * holding JSON {op, account, container, obj, headers, target: {host,
 * device, partition}}. The updater (a thread every updater_interval
 * seconds, or `kumo-objectd CONF --once update`) replays each record and
 * removes it only once a container server answered 2xx.
 *
 *   (request done) --send--> 2xx: done | else: SAVED (fsynced record)
 *   SAVED --updater pass: send--> 2xx: record unlinked | else: SAVED
 *
 * Container servers order updates by their timestamps, so replaying an
 * old record after a newer update is harmless.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/cluster.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/pace.h"
#include "objectd/internal.h"

#define MAX_TARGETS	 16
#define MAX_RECORD_BYTES (1024 * 1024)

struct target {
	char host[KC_HOST_MAX];
	char device[256];
	char partition[32];
	struct buf head; /* the request (common/keepconn.c) */
	size_t path_at;	 /* where its path starts in head */
	long status;
	int ok;
};

/* Percent-encode s as Swift's quote(): unreserved characters and '/'
 * stay. Appends to out. */
static int quote_path(struct buf *out, const char *s)
{
	size_t room = 3 * strlen(s) + 1;
	int rc = buf_reserve(out, room);

	if (!rc)
		rc = cluster_quote(s, (char *)out->data + out->len, room);
	if (rc >= 0) {
		out->len += (size_t)rc;
		rc = 0;
	}
	return rc;
}

/* Append host as a Host header value: an IPv6 address bracketed. */
static int put_host(struct buf *b, const char *host)
{
	const char *colon = strrchr(host, ':');
	int v6 = colon && memchr(host, ':', (size_t)(colon - host)) &&
		 host[0] != '[';

	if (v6)
		return buf_printf(b, "[%.*s]%s", (int)(colon - host), host,
				  colon);
	return buf_printf(b, "%s", host);
}

/* Append "name: value\r\n", unless either holds a line break. */
static int put_header(struct buf *b, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n") || strpbrk(value, "\r\n"))
		return 0;
	return buf_printf(b, "%s: %s\r\n", name, value);
}

/* The request of u to t into t->head (empty): the path
 * /dev/part/a/c/o quoted, as Swift's quote() (names may hold "." and
 * ".." segments: sent as they are), and no body. 0 or -ENOMEM. */
static int prepare(struct target *t, const struct cont_update *u,
		   const char *txn)
{
	static _Atomic int pid; /* set once by whichever thread comes first */
	struct buf *b = &t->head;
	int i, rc;

	if (!pid) /* once: glibc makes a system call of each getpid */
		pid = (int)getpid();
	rc = buf_printf(b, "%s ", u->op);
	t->path_at = b->len;
	if (!rc)
		rc = buf_append(b, "/", 1);
	if (!rc)
		rc = quote_path(b, t->device);
	if (!rc)
		rc = buf_printf(b, "/%s/", t->partition);
	if (!rc)
		rc = quote_path(b, u->account);
	if (!rc)
		rc = buf_append(b, "/", 1);
	if (!rc)
		rc = quote_path(b, u->container);
	if (!rc)
		rc = buf_append(b, "/", 1);
	if (!rc)
		rc = quote_path(b, u->obj);
	if (!rc)
		rc = buf_printf(b, " HTTP/1.1\r\nHost: ");
	if (!rc)
		rc = put_host(b, t->host);
	if (!rc)
		rc = buf_printf(b, "\r\nUser-Agent: object-server %d\r\n", pid);
	for (i = 0; !rc && i < u->headers->n; i++)
		rc = put_header(b, u->headers->items[i].name,
				u->headers->items[i].value);
	if (!rc && txn)
		rc = put_header(b, "X-Trans-Id", txn);
	if (!rc)
		rc = buf_printf(b, "X-Backend-Storage-Policy-Index: 0\r\n"
				   "Content-Length: 0\r\n\r\n");
	return rc ? -ENOMEM : 0;
}

/* A container update on its way: its targets and their requests. */
struct upd_sent {
	struct target t[MAX_TARGETS];
	struct kc_req r[MAX_TARGETS];
	int at[MAX_TARGETS]; /* r[k] is the request of t[at[k]] */
	int n, m;	     /* targets, requests sent */
	const struct cont_update *u;
};

/* Send s->u to the s->n targets at once, each ->ok 0 until
 * collect_all. */
static void send_all(struct objd *od, struct upd_sent *s, const char *txn)
{
	struct target *t = s->t;
	int i;

	s->m = 0;
	for (i = 0; i < s->n; i++) {
		t[i].ok = 0;
		t[i].status = 0;
		t[i].head = (struct buf)BUF_INIT;
		if (prepare(&t[i], s->u, txn)) {
			log_err("out of memory preparing a container update");
			continue;
		}
		s->r[s->m] =
			(struct kc_req){.host = t[i].host,
					.head = (const char *)t[i].head.data,
					.head_len = t[i].head.len};
		s->at[s->m++] = i;
	}
	kc_send(s->r, s->m, od->cfg->conn_timeout, od->cfg->node_timeout);
}

/* The answers to send_all's requests; sets each target's ->ok (2xx). */
static void collect_all(struct objd *od, struct upd_sent *s)
{
	struct target *t = s->t;
	const char *path, *sp;
	int i;

	kc_collect(s->r, s->m, od->cfg->conn_timeout, od->cfg->node_timeout);
	for (i = 0; i < s->m; i++)
		t[s->at[i]].status = s->r[i].status;
	for (i = 0; i < s->n; i++) {
		t[i].ok = t[i].status >= 200 && t[i].status < 300;
		path = t[i].head.data
			       ? (const char *)t[i].head.data + t[i].path_at
			       : "";
		sp = strchr(path, ' ');
		if (!t[i].ok)
			log_warn("container update %s http://%s%.*s: %s%ld",
				 s->u->op, t[i].host, (int)(sp ? sp - path : 0),
				 path, t[i].status ? "status " : "no answer",
				 t[i].status ? t[i].status : 0L);
		buf_free(&t[i].head);
	}
}

/* Split a comma-separated header into trimmed items. Returns the count. */
static int split_list(const char *v, char out[][256], int max)
{
	int n = 0;

	while (v && n < max) {
		const char *comma = strchr(v, ',');
		size_t len = comma ? (size_t)(comma - v) : strlen(v);

		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		snprintf(out[n++], 256, "%.*s", (int)len, v);
		v = comma ? comma + 1 : NULL;
	}
	return n;
}

/* Save one failed update durably. 0 or -errno (logged). */
static int save_pending(const char *dev_dir, const char *obj_hash,
			const struct cont_update *u, const struct target *t)
{
	json_t *rec = json_object(), *hdrs = json_object(),
	       *tgt = json_object();
	const char *ts = objmeta_get(u->headers, "X-Meta-Timestamp");
	char dir[DF_DEV_DIR_MAX + 64], path[DF_DEV_DIR_MAX + 200];
	char idsrc[600], idhex[33];
	uint8_t id[16];
	char *text = NULL;
	int i, rc = -ENOMEM;

	if (!ts)
		ts = objmeta_get(u->headers, "X-Timestamp");
	if (!rec || !hdrs || !tgt)
		goto out;
	for (i = 0; i < u->headers->n; i++)
		json_object_set_new(hdrs, u->headers->items[i].name,
				    json_string(u->headers->items[i].value));
	json_object_set_new(tgt, "host", json_string(t->host));
	json_object_set_new(tgt, "device", json_string(t->device));
	json_object_set_new(tgt, "partition", json_string(t->partition));
	json_object_set_new(rec, "op", json_string(u->op));
	json_object_set_new(rec, "account", json_string(u->account));
	json_object_set_new(rec, "container", json_string(u->container));
	json_object_set_new(rec, "obj", json_string(u->obj));
	json_object_set(rec, "headers", hdrs);
	json_object_set(rec, "target", tgt);
	text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
	if (!text)
		goto out;
	if (snprintf(idsrc, sizeof(idsrc), "%s/%s/%s", t->host, t->device,
		     t->partition) < 0)
		goto out;
	md5_buf(idsrc, strlen(idsrc), id);
	md5_hex(id, idhex);
	snprintf(dir, sizeof(dir), "%s/async_pending/%s", dev_dir,
		 obj_hash + 29);
	rc = df_mkdirs(dir, strlen(dev_dir));
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/%s-%s-%.8s", dir, obj_hash,
		 ts ? ts : "0", idhex);
	rc = fs_write_atomic(path, text, strlen(text), 0644);
	if (!rc)
		log_info("saved container update for later: %s", path);
out:
	if (rc)
		log_err("cannot save a container update of /%s/%s/%s: %s",
			u->account, u->container, u->obj, strerror(-rc));
	free(text);
	json_decref(rec);
	json_decref(hdrs);
	json_decref(tgt);
	return rc;
}

/* The targets named by hosts, devices and cpart into a new upd_sent
 * for u; NULL (logged) when none, when they do not pair up, or without
 * memory. */
static struct upd_sent *targets_of(const char *hosts, const char *devices,
				   const char *cpart,
				   const struct cont_update *u)
{
	struct upd_sent *s = NULL;
	char(*h)[256] = NULL, (*d)[256] = NULL;
	int nh, nd, i;

	if (!cpart || !*cpart || !hosts || !*hosts)
		return NULL;
	h = calloc(MAX_TARGETS, 256);
	d = calloc(MAX_TARGETS, 256);
	s = calloc(1, sizeof(*s));
	if (!h || !d || !s) {
		log_err("out of memory for a container update");
		goto fail;
	}
	nh = split_list(hosts, h, MAX_TARGETS);
	nd = split_list(devices, d, MAX_TARGETS);
	if (nh != nd) {
		log_err("ERROR Container update failed: different numbers of "
			"hosts and devices in request: \"%s\" vs \"%s\"",
			hosts, devices ? devices : "");
		goto fail;
	}
	for (i = 0; i < nh; i++) {
		snprintf(s->t[i].host, sizeof(s->t[i].host), "%s", h[i]);
		snprintf(s->t[i].device, sizeof(s->t[i].device), "%s", d[i]);
		snprintf(s->t[i].partition, sizeof(s->t[i].partition), "%s",
			 cpart);
	}
	s->n = nh;
	s->u = u;
	goto out;
fail:
	free(s);
	s = NULL;
out:
	free(h);
	free(d);
	return s;
}

struct upd_sent *upd_update_send(struct objd *od, struct http_request *req,
				 const struct cont_update *u)
{
	struct upd_sent *s =
		targets_of(http_header(req, "X-Container-Host"),
			   http_header(req, "X-Container-Device"),
			   http_header(req, "X-Container-Partition"), u);

	if (s)
		send_all(od, s, http_txn(req));
	return s;
}

void upd_update_finish(struct objd *od, struct upd_sent *s, const char *dev_dir,
		       const char *obj_hash, int save)
{
	int i;

	if (!s)
		return;
	collect_all(od, s);
	for (i = 0; save && i < s->n; i++)
		if (!s->t[i].ok)
			save_pending(dev_dir, obj_hash, s->u, &s->t[i]);
	free(s);
}

void upd_container_update_to(struct objd *od, const char *hosts,
			     const char *devices, const char *cpart,
			     const char *txn, const char *dev_dir,
			     const char *obj_hash, const struct cont_update *u)
{
	struct upd_sent *s = targets_of(hosts, devices, cpart, u);

	if (s)
		send_all(od, s, txn);
	upd_update_finish(od, s, dev_dir, obj_hash, 1);
}

void upd_container_update(struct objd *od, struct http_request *req,
			  const char *dev_dir, const char *obj_hash,
			  const struct cont_update *u)
{
	upd_update_finish(od, upd_update_send(od, req, u), dev_dir, obj_hash,
			  1);
}

/* --- the updater --------------------------------------------------------- */

/*
 * Replay one record. Returns 1 if it is gone (sent, or unreadable and
 * moved aside), 0 if it stays, -errno.
 */
static int replay(struct objd *od, const char *path)
{
	struct objmeta hdrs = OBJMETA_INIT;
	struct upd_sent *sent = NULL;
	json_t *rec = NULL, *jh, *tg, *v;
	json_error_t jerr;
	const char *key, *op, *a, *c, *o, *host, *dev, *part;
	uint8_t *data = NULL;
	size_t len;
	int rc;

	rc = fs_read_file(path, MAX_RECORD_BYTES, &data, &len);
	if (rc == -ENOENT)
		return 1;
	if (rc) {
		log_err("cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	rec = json_loadb((const char *)data, len, 0, &jerr);
	jh = json_object_get(rec, "headers");
	tg = json_object_get(rec, "target");
	op = json_string_value(json_object_get(rec, "op"));
	a = json_string_value(json_object_get(rec, "account"));
	c = json_string_value(json_object_get(rec, "container"));
	o = json_string_value(json_object_get(rec, "obj"));
	host = json_string_value(json_object_get(tg, "host"));
	dev = json_string_value(json_object_get(tg, "device"));
	part = json_string_value(json_object_get(tg, "partition"));
	if (!rec || !json_is_object(jh) || !op || !a || !c || !o || !host ||
	    !dev || !part || (strcmp(op, "PUT") && strcmp(op, "DELETE"))) {
		log_err("%s is not an update record; removed", path);
		unlink(path);
		rc = 1;
		goto out;
	}
	json_object_foreach(jh, key, v)
	{
		if (json_is_string(v) &&
		    objmeta_set(&hdrs, key, json_string_value(v))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	{
		struct cont_update u = {op, a, c, o, &hdrs};

		sent = targets_of(host, dev, part, &u);
		if (!sent) { /* logged, or an empty target: kept */
			rc = -EINVAL;
			goto out;
		}
		send_all(od, sent, NULL);
		collect_all(od, sent);
	}
	rc = 0;
	if (sent->t[0].ok) {
		if (unlink(path) == -1 && errno != ENOENT) {
			rc = -errno;
			log_err("cannot remove %s: %m", path);
		} else {
			log_info("sent container update %s", path);
			rc = 1;
		}
	}
out:
	free(sent);
	objmeta_free(&hdrs);
	json_decref(rec);
	free(data);
	return rc;
}

/* Remove temp files older than max_age seconds from dir (but recycle.c's
 * rcy-* files: it removes those of a dead process itself). */
static void clean_tmp(const char *dir, long long max_age)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		/* rcy-*: recycle.c's, kept or an upload's, of any age */
		if (de->d_name[0] == '.' || !strncmp(de->d_name, "rcy-", 4))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime > max_age && unlink(path) == 0)
			log_info("removed stale temp file %s", path);
	}
	closedir(d);
}

/* One device's async_pending. Returns the records left, or -errno. */
static int pass_device(struct objd *od, const char *dev_dir)
{
	char top[PATH_MAX], sub[PATH_MAX + 300], rec[PATH_MAX + 600];
	struct dirent *de, *fe;
	DIR *d, *sd;
	int left = 0, rc;

	if (snprintf(top, sizeof(top), "%s/tmp", dev_dir) < (int)sizeof(top))
		clean_tmp(top, od->cfg->tmp_max_age);
	rcy_expire(dev_dir);
	if (snprintf(top, sizeof(top), "%s/async_pending", dev_dir) >=
	    (int)sizeof(top))
		return -ENAMETOOLONG;
	d = opendir(top);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", top, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		sd = opendir(sub);
		if (!sd)
			continue;
		while ((fe = readdir(sd))) {
			if (fe->d_name[0] == '.' || strstr(fe->d_name, ".tmp"))
				continue;
			if (snprintf(rec, sizeof(rec), "%s/%s", sub,
				     fe->d_name) >= (int)sizeof(rec))
				continue;
			rc = replay(od, rec);
			if (rc <= 0)
				left++;
		}
		closedir(sd);
		rmdir(sub); /* only succeeds when empty */
	}
	closedir(d);
	return left;
}

int upd_run_once(struct objd *od)
{
	char dev_dir[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int left = 0, rc = 0, n;
	double begin = pace_now();
	json_t *fig;

	pthread_mutex_lock(&od->pass_lock);
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
		n = pass_device(od, dev_dir);
		if (n > 0)
			left += n;
	}
	closedir(d);
	rc = left;
	log_info("updater pass done: %d update(s) still pending", left);
	/* recon (Swift's object updater: the sweep's duration) */
	fig = json_pack("{s:f,s:i}", "object_updater_sweep", pace_now() - begin,
			"async_pending", left);
	if (fig)
		recon_update(od->cfg->recon_cache_path, "object", fig);
	json_decref(fig);
out:
	pthread_mutex_unlock(&od->pass_lock);
	return rc;
}

void objd_every(struct objd *od, long long interval,
		void (*pass)(struct objd *))
{
	struct timespec until;

	pthread_mutex_lock(&od->lock);
	while (!od->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += interval;
		while (!od->stopping &&
		       pthread_cond_timedwait(&od->wake, &od->lock, &until) !=
			       ETIMEDOUT)
			;
		if (od->stopping)
			break;
		pthread_mutex_unlock(&od->lock);
		pass(od);
		pthread_mutex_lock(&od->lock);
	}
	pthread_mutex_unlock(&od->lock);
}

int objd_thread_start(struct objd *od, pthread_t *tid, void *(*fn)(void *),
		      const char *what)
{
	sigset_t all, old;
	int rc;

	/* signals belong to daemon_main's sigwait, not to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(tid, NULL, fn, od);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		log_err("cannot start the %s thread: %s", what, strerror(-rc));
	return rc;
}

void objd_thread_stop(struct objd *od, pthread_t *tid, int *started)
{
	if (!*started)
		return;
	pthread_mutex_lock(&od->lock);
	od->stopping = 1;
	pthread_cond_broadcast(&od->wake);
	pthread_mutex_unlock(&od->lock);
	pthread_join(*tid, NULL);
	*started = 0;
}

static void updater_pass(struct objd *od)
{
	upd_run_once(od);
}

static void *updater_main(void *arg)
{
	struct objd *od = arg;

	objd_every(od, od->cfg->updater_interval, updater_pass);
	return NULL;
}

int upd_start(struct objd *od)
{
	int rc;

	od->stopping = 0;
	rc = objd_thread_start(od, &od->updater, updater_main, "updater");
	if (!rc)
		od->updater_started = 1;
	return rc;
}

void upd_stop(struct objd *od)
{
	objd_thread_stop(od, &od->updater, &od->updater_started);
}
