/*
 * accountd/reaper.c: the account reaper (Swift's swift-account-reaper).
 * An account marked deleted (DELETE on the account server: status
 * DELETED) keeps its containers and objects until the reaper removes
 * them, reaper_delay seconds after the deletion:
 *
 *   for each container row of the account (the local database):
 *     list the container through the cluster (common/objclient.h) and
 *     DELETE each object on its object servers (oc_delete: tombstones,
 *     container updates), then
 *     DELETE the container on its container servers (X-Account-Override-
 *     Deleted, as Swift's reaper), then
 *     mark the container row deleted here (replication spreads it)
 *
 * Only the server holding the account's first primary device reaps it
 * (as Swift's reaper), so three replicas do not race. A container that
 * keeps failing is retried on the next pass; once no container row is
 * live, the replicator reclaims the account after reclaim_age.
 *
 * It leaves to others: the listings and object deletes (objclient.c),
 * node choice and quorum (cluster.c), the account's removal
 * (dbreplicator.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accountd/internal.h"
#include "common/cluster.h"
#include "common/dbserver.h"
#include "common/log.h"
#include "common/objclient.h"
#include "common/periodic.h"
#include "common/timestamp.h"

/* What one pass did (also the recon reaper_stats). */
struct reap_stats {
	long accounts, containers_deleted, objects_deleted, failures;
	double start;
};

struct reap_pass {
	struct acctd *a;
	struct cluster *cl;
	struct reap_stats st;
	int rc;
};

struct obj_ctx {
	struct reap_pass *p;
	const char *account, *container;
	int failed;
};

static int delete_obj(void *arg, const char *name, uint64_t size,
		      const char *etag)
{
	struct obj_ctx *o = arg;
	int rc;

	(void)size;
	(void)etag;
	rc = oc_delete(o->p->cl, o->account, o->container, name);
	if (!rc || rc == -ENOENT) {
		o->p->st.objects_deleted++;
		return 0;
	}
	log_warn("reaper: cannot delete /%s/%s/%s: %s", o->account,
		 o->container, name, strerror(-rc));
	o->p->st.failures++;
	o->failed = 1;
	return 0; /* the others still go; the container waits */
}

/* DELETE the container on its primaries, telling its account servers.
 * 0 when a quorum answered 2xx or 404; -EIO. */
static int delete_container(struct reap_pass *p, const char *account,
			    const char *container)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_resp resps[CLUSTER_MAX_NODES];
	struct cluster_nodes cn, an;
	struct ts now;
	char ts[TS_NORMAL_LEN + 1];
	int i, n = 0, ok = 0, rc, have_an = 0;

	memset(hdrs, 0, sizeof(hdrs));
	memset(resps, 0, sizeof(resps));
	rc = cluster_lookup(p->cl, CLUSTER_CONTAINER, account, container, NULL,
			    &cn);
	if (rc)
		return rc;
	rc = cluster_lookup(p->cl, CLUSTER_ACCOUNT, account, NULL, NULL, &an);
	if (rc)
		goto out;
	have_an = 1;
	n = cn.nprimary;
	ts_now(&now);
	ts_normal(&now, ts);
	for (i = 0; i < n && !rc; i++) {
		rc = cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts);
		if (!rc)
			rc = cluster_hdrs_add(
				&hdrs[i], "X-Account-Override-Deleted", "yes");
	}
	if (!rc)
		rc = cluster_update_headers(hdrs, n, &an, "Account", n);
	if (!rc)
		rc = cluster_make_requests(p->cl, &cn, "DELETE", account,
					   container, NULL, NULL, hdrs, n, NULL,
					   0, NULL, resps);
	for (i = 0; i < n && !rc; i++)
		if ((resps[i].status >= 200 && resps[i].status < 300) ||
		    resps[i].status == 404)
			ok++;
	if (!rc && ok < cluster_quorum(n))
		rc = -EIO;
out:
	for (i = 0; i < n; i++) {
		cluster_hdrs_free(&hdrs[i]);
		cluster_resp_free(&resps[i]);
	}
	if (have_an)
		cluster_nodes_release(&an);
	cluster_nodes_release(&cn);
	return rc;
}

/* Reap one container of an account: its objects, itself, its row. */
static int reap_container(struct reap_pass *p, struct dbstore_db *db,
			  const char *akey, const char *account,
			  const char *container)
{
	struct obj_ctx o = {p, account, container, 0};
	struct acctd_row row;
	char *k = NULL, *val = NULL;
	size_t klen;
	int rc;

	rc = oc_list(p->cl, account, container, NULL, NULL, delete_obj, &o);
	if (rc && rc != -ENOENT) {
		log_warn("reaper: cannot list /%s/%s: %s", account, container,
			 strerror(-rc));
		goto fail;
	}
	if (o.failed) {
		rc = -EIO;
		goto fail;
	}
	rc = delete_container(p, account, container);
	if (rc) {
		log_warn("reaper: cannot delete /%s/%s: %s", account, container,
			 strerror(-rc));
		goto fail;
	}
	p->st.containers_deleted++;
	/* the row, deleted now (the container servers' own update is
	 * refused by a deleted account without the override) */
	k = dbserver_row_key('L', akey, container, &klen);
	if (!k)
		return -ENOMEM;
	rc = dbstore_get(db, k, klen, &val, NULL);
	free(k);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = acctd_row_parse(val, &row);
	free(val);
	if (rc)
		return rc;
	ts_now(&row.del);
	row.object_count = row.bytes_used = 0;
	return acctd_row_update(db, akey, container, &row);
fail:
	p->st.failures++;
	return rc;
}

/* Names of the live container rows of an account. */
struct names {
	char **v;
	size_t n, cap;
};

static int add_name(void *arg, const char *name, const char *val, size_t vlen)
{
	struct names *ns = arg;

	(void)val;
	(void)vlen;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 32;
		char **v = realloc(ns->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(name);
	return ns->v[ns->n++] ? 0 : -ENOMEM;
}

/* Is the account's first primary this server's device dev? */
static int first_primary_here(struct reap_pass *p, const char *account,
			      const char *dev)
{
	const struct acctd_conf *cf = p->a->cfg;
	struct cluster_nodes an;
	const struct ring_dev *d;
	int here;

	if (cluster_lookup(p->cl, CLUSTER_ACCOUNT, account, NULL, NULL, &an))
		return 0;
	d = an.nprimary ? an.dev[0] : NULL;
	here = d && !strcmp(d->device, dev) && d->port == cf->bind_port &&
	       (!strcmp(cf->bind_ip, d->ip) || !strcmp(cf->bind_ip, "0.0.0.0"));
	cluster_nodes_release(&an);
	return here;
}

static void reap_account(struct reap_pass *p, struct dbstore_db *db,
			 const char *dev, const char *akey)
{
	struct listing_source src;
	struct dbserver_rows rs;
	struct names ns = {0};
	struct acctd_info info;
	size_t i;
	int rc;

	if (acctd_info_get(db, akey, &info))
		return;
	if (!acctd_info_status_deleted(&info) ||
	    (double)info.del.ticks / 100000.0 +
			    (double)p->a->cfg->reaper_delay >
		    clock_wall_s() ||
	    !first_primary_here(p, info.account, dev))
		goto out;
	p->st.accounts++;
	dbserver_rows_init(&rs, &src, db, 'L', akey);
	rc = src.scan(src.ctx, NULL, 1, NULL, 0, add_name, &ns);
	dbserver_rows_free(&rs);
	if (rc) {
		p->st.failures++;
		goto out;
	}
	if (ns.n)
		log_info("reaper: account %s: %zu containers to remove",
			 info.account, ns.n);
	for (i = 0; i < ns.n; i++)
		reap_container(p, db, akey, info.account, ns.v[i]);
out:
	for (i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	acctd_info_free(&info);
}

/* The account records of a device. */
struct akeys {
	char (*v)[34];
	size_t n, cap;
};

static int add_akey(void *arg, const char *key, size_t klen, const char *val,
		    size_t vlen)
{
	struct akeys *ks = arg;

	(void)val;
	(void)vlen;
	if (klen != 33)
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 64;
		char(*v)[34] = realloc(ks->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ks->v = v;
		ks->cap = cap;
	}
	memcpy(ks->v[ks->n], key, 33);
	ks->v[ks->n++][33] = '\0';
	return 0;
}

static int reap_device(struct dbstore_db *db, const char *dev, void *arg)
{
	struct reap_pass *p = arg;
	struct akeys ks = {0};
	size_t i;
	int rc = dbstore_scan(db, "A", 1, 1, "B", 1, 0, add_akey, &ks);

	for (i = 0; i < ks.n && !rc; i++)
		reap_account(p, db, dev, ks.v[i]);
	free(ks.v);
	return rc;
}

int acctd_reap_pass(struct acctd *a)
{
	const struct acctd_conf *cf = a->cfg;
	struct cluster_conf cc = {
		.swift_dir = cf->swift_dir,
		.hash_prefix = cf->hash_prefix,
		.hash_suffix = cf->hash_suffix,
		.conn_timeout = cf->conn_timeout,
		.node_timeout = cf->node_timeout,
		.error_suppression_limit = 10,
		.error_suppression_interval = 60,
	};
	struct reap_pass p;
	double took;
	json_t *f;
	int rc;

	memset(&p, 0, sizeof(p));
	p.a = a;
	p.st.start = clock_wall_s();
	pthread_mutex_lock(&a->reap_lock);
	rc = cluster_open(&cc, &p.cl);
	if (rc)
		goto out;
	rc = dbstore_each(a->store, reap_device, &p);
	took = clock_wall_s() - p.st.start;
	log_info("reaper pass: %ld accounts, %ld containers and %ld objects "
		 "deleted, %ld failures in %.2fs",
		 p.st.accounts, p.st.containers_deleted, p.st.objects_deleted,
		 p.st.failures, took);
	f = json_pack("{sf sf s{sI sI sI sI}}", "reaper_last",
		      p.st.start + took, "reaper_time", took, "reaper_stats",
		      "accounts", (json_int_t)p.st.accounts,
		      "containers_deleted", (json_int_t)p.st.containers_deleted,
		      "objects_deleted", (json_int_t)p.st.objects_deleted,
		      "failures", (json_int_t)p.st.failures);
	if (f && *cf->recon_cache_path)
		recon_update(cf->recon_cache_path, "account", f);
	json_decref(f);
out:
	cluster_close(p.cl);
	pthread_mutex_unlock(&a->reap_lock);
	return rc;
}

static void reap_pass(void *arg)
{
	acctd_reap_pass(arg);
}

int acctd_reaper_start(struct acctd *a)
{
	a->reaper.name = "reaper";
	a->reaper.interval = (double)a->cfg->reaper_interval;
	a->reaper.pass = reap_pass;
	a->reaper.arg = a;
	return periodic_start(&a->reaper);
}

void acctd_reaper_stop(struct acctd *a)
{
	periodic_stop(&a->reaper);
}
