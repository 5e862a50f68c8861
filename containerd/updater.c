/*
 * containerd/updater.c: account updates, the container server's half of
 * Swift's container-updater. A container's report (put and delete
 * timestamps, object count, bytes used, policy) goes to each account
 * server of its account as
 *
 *   PUT /<dev>/<part>/<account>/<container>
 *   X-Put-Timestamp, X-Delete-Timestamp, X-Object-Count, X-Bytes-Used,
 *   X-Backend-Storage-Policy-Index
 *
 * The state machine of one target of one container (broker.c keeps the
 * flags in the record, the "U" key marks records that owe something):
 *
 *   reported --report changes (contd_mark_pending)--> pending
 *   pending --2xx, report unchanged since sent (contd_update_account)-->
 *       reported
 *   pending --error, timeout, non-2xx--> pending (next pass retries)
 *
 * Invariants: 1. a pending flag is cleared only under the database lock
 * and only if the record's report still equals the one sent, so a change
 * made while a request was in flight is sent again; 2. the flags are in
 * the same synced batch as the change that set them, so an owed update
 * survives a crash or restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/pace.h"
#include "containerd/internal.h"

/* Percent-encode s (all but unreserved characters) into b. */
static int quote(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c)) {
			rc = buf_append(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One PUT to one account server: its HTTP status, or -errno. */
static int send_one(struct contd *c, const char *host, const char *dev,
		    const char *part, const struct contd_info *info,
		    const char *txn)
{
	char h[8][256], a[TS_INTERNAL_LEN + 1];
	struct curl_slist *hdrs = NULL;
	struct buf url = BUF_INIT;
	const char *colon = strrchr(host, ':');
	CURLcode cc;
	CURL *curl;
	long status = 0;
	int rc, i, n = 0;

	/* an IPv6 address given bare as "::1:6202" needs brackets */
	if (colon && memchr(host, ':', (size_t)(colon - host)) &&
	    host[0] != '[')
		rc = buf_printf(&url, "http://[%.*s]%s/", (int)(colon - host),
				host, colon);
	else
		rc = buf_printf(&url, "http://%s/", host);
	if (!rc)
		rc = quote(&url, dev);
	if (!rc)
		rc = buf_append(&url, "/", 1);
	if (!rc)
		rc = quote(&url, part);
	if (!rc)
		rc = buf_append(&url, "/", 1);
	if (!rc)
		rc = quote(&url, info->account);
	if (!rc)
		rc = buf_append(&url, "/", 1);
	if (!rc)
		rc = quote(&url, info->container);
	if (!rc)
		rc = buf_append(&url, "", 1);
	if (rc)
		goto out_url;
	snprintf(h[n++], sizeof(h[0]), "X-Put-Timestamp: %s",
		 ts_internal(&info->put, a));
	snprintf(h[n++], sizeof(h[0]), "X-Delete-Timestamp: %s",
		 ts_internal(&info->del, a));
	snprintf(h[n++], sizeof(h[0]), "X-Object-Count: %lld",
		 (long long)info->object_count);
	snprintf(h[n++], sizeof(h[0]), "X-Bytes-Used: %lld",
		 (long long)info->bytes_used);
	snprintf(h[n++], sizeof(h[0]), "X-Backend-Storage-Policy-Index: %d",
		 info->policy);
	snprintf(h[n++], sizeof(h[0]), "X-Trans-Id: %s", txn ? txn : "-");
	snprintf(h[n++], sizeof(h[0]), "User-Agent: container-server %d",
		 (int)getpid());
	snprintf(h[n++], sizeof(h[0]), "Expect:");
	for (i = 0; i < n; i++) {
		struct curl_slist *next = curl_slist_append(hdrs, h[i]);

		if (!next) {
			rc = -ENOMEM;
			goto out_hdrs;
		}
		hdrs = next;
	}
	curl = curl_easy_init();
	if (!curl) {
		rc = -ENOMEM;
		goto out_hdrs;
	}
	curl_easy_setopt(curl, CURLOPT_URL, (char *)url.data);
	/* names may hold "." and ".." segments: send them as they are */
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->cfg->conn_timeout * 1000));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 (long)(c->cfg->node_timeout * 1000));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		rc = (int)status;
	} else {
		log_warn("txn=%s account update of %s/%s to %s/%s: %s", txn,
			 info->account, info->container, host, dev,
			 curl_easy_strerror(cc));
		rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
						    : -ECONNREFUSED;
	}
	curl_easy_cleanup(curl);
out_hdrs:
	curl_slist_free_all(hdrs);
out_url:
	buf_free(&url);
	return rc;
}

static int same_report(const struct contd_info *a, const struct contd_info *b)
{
	struct contd_report x, y;

	contd_info_report(a, &x);
	contd_info_report(b, &y);
	return !ts_cmp(&x.put, &y.put) && !ts_cmp(&x.del, &y.del) &&
	       x.object_count == y.object_count &&
	       x.bytes_used == y.bytes_used && x.policy == y.policy;
}

/* Clear the pending flags of the targets in ok[] that are still the
 * same targets, if the report is still the one sent. */
static void mark_reported(struct dbstore_db *db, const char *key,
			  const struct contd_info *sent, const int *ok)
{
	struct dbstore_batch *b = NULL;
	struct contd_info now;
	int i, changed = 0;

	dbstore_lock(db);
	if (contd_info_get(db, key, &now))
		goto out;
	if (same_report(&now, sent) && now.targets.n == sent->targets.n) {
		for (i = 0; i < now.targets.n; i++) {
			if (!ok[i] || !now.targets.pending[i] ||
			    strcmp(now.targets.host[i],
				   sent->targets.host[i]) ||
			    strcmp(now.targets.dev[i], sent->targets.dev[i]))
				continue;
			now.targets.pending[i] = 0;
			changed = 1;
		}
	}
	if (changed) {
		b = dbstore_batch_new();
		if (b && !contd_info_stage(b, key, &now))
			dbstore_commit(db, b);
		dbstore_batch_free(b);
	}
	contd_info_free(&now);
out:
	dbstore_unlock(db);
}

int contd_update_account(struct contd *c, struct dbstore_db *db,
			 const char *key, const struct contd_info *info,
			 int all, const char *txn, int *sent)
{
	int ok[CONTD_MAX_TARGET] = {0};
	int i, n404 = 0, any = 0;

	*sent = 0;
	for (i = 0; i < info->targets.n; i++) {
		int st;

		if (!all && !info->targets.pending[i])
			continue;
		st = send_one(c, info->targets.host[i], info->targets.dev[i],
			      info->targets.part, info, txn);
		(*sent)++;
		if (st >= 200 && st < 300) {
			ok[i] = 1;
			any = 1;
		} else if (st == 404) {
			n404++;
		} else if (st > 0) {
			log_warn("txn=%s account update of %s/%s to %s/%s: "
				 "status %d",
				 txn, info->account, info->container,
				 info->targets.host[i], info->targets.dev[i],
				 st);
		}
	}
	if (any)
		mark_reported(db, key, info, ok);
	return n404;
}

/* --- passes -------------------------------------------------------------- */

struct keys {
	char (*k)[34];
	size_t n, cap;
};

static int collect_key(void *arg, const char *key, size_t klen, const char *val,
		       size_t vlen)
{
	struct keys *ks = arg;

	(void)val;
	(void)vlen;
	if (klen != 33)
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 64;
		char(*k)[34] = realloc(ks->k, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		ks->k = k;
		ks->cap = cap;
	}
	memcpy(ks->k[ks->n], key, 33);
	ks->k[ks->n][0] = 'C';
	ks->k[ks->n][33] = '\0';
	ks->n++;
	return 0;
}

/* Forget a "U" key whose record owes nothing (or is gone). */
static void drop_marker(struct dbstore_db *db, const char *ckey)
{
	struct dbstore_batch *b = dbstore_batch_new();
	struct contd_info info;
	char ukey[34];
	int i, pending = 0;

	if (!b)
		return;
	dbstore_lock(db);
	if (!contd_info_get(db, ckey, &info)) {
		for (i = 0; i < info.targets.n; i++)
			pending |= info.targets.pending[i];
		contd_info_free(&info);
	}
	if (!pending) {
		memcpy(ukey, ckey, 34);
		ukey[0] = 'U';
		dbstore_batch_del(b, ukey, 33);
		dbstore_commit(db, b);
	}
	dbstore_unlock(db);
	dbstore_batch_free(b);
}

static int pass_device(struct dbstore_db *db, const char *dev, void *arg)
{
	struct contd *c = arg;
	struct keys ks = {NULL, 0, 0};
	size_t i;
	int rc, tried = 0;

	rc = dbstore_scan(db, "U", 1, 1, "V", 1, 0, collect_key, &ks);
	for (i = 0; i < ks.n && !rc; i++) {
		struct contd_info info;
		int j, pending = 0, sent = 0;

		if (contd_info_get(db, ks.k[i], &info)) {
			drop_marker(db, ks.k[i]);
			continue;
		}
		for (j = 0; j < info.targets.n; j++)
			pending |= info.targets.pending[j];
		if (pending) {
			tried++;
			contd_update_account(c, db, ks.k[i], &info, 0,
					     "container-updater", &sent);
		} else {
			drop_marker(db, ks.k[i]);
		}
		contd_info_free(&info);
	}
	if (tried)
		log_info("container updater: %s: %d container(s) owed an "
			 "account update",
			 dev, tried);
	free(ks.k);
	return rc;
}

int contd_updater_pass(struct contd *c)
{
	double begin = pace_now();
	int rc = dbstore_each(c->store, pass_device, c);
	/* recon (Swift's container updater: the sweep's duration) */
	json_t *fig = json_pack("{s:f}", "container_updater_sweep",
				pace_now() - begin);

	if (fig)
		recon_update(c->cfg->recon_cache_path, "container", fig);
	json_decref(fig);
	return rc;
}

static void *updater_main(void *arg)
{
	struct contd *c = arg;

	for (;;) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += c->cfg->updater_interval;
		pthread_mutex_lock(&c->lock);
		while (!c->stopping &&
		       pthread_cond_timedwait(&c->wake, &c->lock, &until) !=
			       ETIMEDOUT)
			;
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		pthread_mutex_unlock(&c->lock);
		contd_updater_pass(c);
	}
	return NULL;
}

int contd_updater_start(struct contd *c)
{
	int rc = pthread_create(&c->updater, NULL, updater_main, c);

	if (rc) {
		log_err("cannot start the updater: %s", strerror(rc));
		return -rc;
	}
	c->updater_started = 1;
	return 0;
}

void contd_updater_stop(struct contd *c)
{
	if (!c->updater_started)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->updater, NULL);
	c->updater_started = 0;
}
