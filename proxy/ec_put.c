/*
 * proxy/ec_put.c: the upload of an object into an erasure-coded storage
 * policy (Swift's ECObjectController PUT), for object.c's put_open and
 * everything built on it (copies, SLO manifests, S3 PutObject and parts).
 *
 *   open: the backend headers object.c made for every slot, plus each
 *     slot's fragment index, scheme and segment size; the client's ETag
 *     kept here (an object server would check it against its archive);
 *     cluster_put_open on the k+m primaries (slot i: primary i or the
 *     handoff standing in), Content-Length of each archive when the
 *     client's is known (ec_archive_size), else chunked
 *   write: the body through ec_stream (whole segments encoded from the
 *     caller's buffer, partial ones gathered once), the fragment archives
 *     handed to their slots (cluster_put_write_each), the whole body's
 *     MD5 as it goes
 *   finish: fewer than k+1 archives stored → 503 and no COMMIT (the
 *     non-durable archives are never served and get reclaimed); the
 *     client's ETag differs → 422; else COMMIT to every node that stored,
 *     with the object's ETag and length (sysmeta and container update
 *     override) → 201 once k+1 made theirs durable
 *
 * The backend protocol is /work/notes/ec-protocol.md's (docs/
 * storage-policies.md says what works). Threads: the request's only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/ec.h"
#include "common/log.h"
#include "common/policy.h"
#include "proxy/internal.h"

struct ec_put {
	struct cluster *c;
	struct cluster_nodes nodes; /* a ring reference of our own */
	struct cluster_put *put;
	struct ec_stream *es;
	int n, k;   /* slots (k + m), data fragments */
	int quorum; /* k + 1 */
	char *account, *container, *object, *txn;
	/* per slot: what its COMMIT carries (X-Timestamp, fragment index,
	 * the container update headers of its PUT) */
	struct cluster_hdrs commit[CLUSTER_MAX_NODES];
	EVP_MD_CTX *md5;
	uint64_t received;
	char want[33]; /* the client's ETag, "" when none */
	char etag[33]; /* the body's MD5, once finished */
};

void ec_put_free(struct ec_put *e)
{
	int i;

	if (!e)
		return;
	cluster_put_free(e->put);
	ec_stream_free(e->es);
	for (i = 0; i < CLUSTER_MAX_NODES; i++)
		cluster_hdrs_free(&e->commit[i]);
	if (e->md5)
		EVP_MD_CTX_free(e->md5);
	cluster_nodes_release(&e->nodes);
	free(e->account);
	free(e->container);
	free(e->object);
	free(e->txn);
	free(e);
}

/* The client's ETag of hdrs (quotes stripped, lower case) into want, and
 * every slot's Etag dropped. */
static void take_etag(struct ec_put *e, struct cluster_hdrs *hdrs)
{
	const char *v = cluster_hdrs_get(&hdrs[0], "Etag");
	int i;

	e->want[0] = '\0';
	if (v) {
		snprintf(e->want, sizeof(e->want), "%s", v + (*v == '"'));
		e->want[strcspn(e->want, "\"")] = '\0';
		for (i = 0; e->want[i]; i++)
			if (e->want[i] >= 'A' && e->want[i] <= 'Z')
				e->want[i] = (char)(e->want[i] - 'A' + 'a');
	}
	for (i = 0; i < e->n; i++)
		proxy_hdrs_del(&hdrs[i], "Etag");
}

/* Remove every X-Object-Sysmeta-Ec-* line of h. */
static void drop_ec_sysmeta(struct cluster_hdrs *h)
{
	int i, k = 0;

	for (i = 0; i < h->n; i++) {
		if (!strncasecmp(h->lines[i], "X-Object-Sysmeta-Ec-", 20)) {
			free(h->lines[i]);
			continue;
		}
		h->lines[k++] = h->lines[i];
	}
	h->n = k;
}

/* Slot i's EC headers, and its COMMIT's from its PUT's. 0 or -ENOMEM. */
static int slot_headers(struct ec_put *e, const struct storage_policy *sp,
			struct cluster_hdrs *h, int i)
{
	static const char *const keep[] = {"X-Timestamp", "X-Container-Host",
					   "X-Container-Device",
					   "X-Container-Partition"};
	const char *v;
	size_t j;
	int rc;

	rc = cluster_hdrs_addf(h, "X-Object-Sysmeta-Ec-Frag-Index", "%d", i);
	if (!rc)
		rc = cluster_hdrs_addf(h, "X-Object-Sysmeta-Ec-Scheme",
				       "%s %d+%d", sp->ec_type, sp->ec_ndata,
				       sp->ec_nparity);
	if (!rc)
		rc = cluster_hdrs_addf(h, "X-Object-Sysmeta-Ec-Segment-Size",
				       "%lld", sp->ec_segment_size);
	for (j = 0; !rc && j < sizeof(keep) / sizeof(keep[0]); j++) {
		v = cluster_hdrs_get(h, keep[j]);
		if (v)
			rc = cluster_hdrs_add(&e->commit[i], keep[j], v);
	}
	if (!rc)
		rc = cluster_hdrs_addf(&e->commit[i],
				       "X-Object-Sysmeta-Ec-Frag-Index", "%d",
				       i);
	return rc;
}

int ec_put_open(struct proxy_app *app, const struct cluster_nodes *nodes,
		const struct proxy_path *p, struct cluster_hdrs *hdrs,
		int64_t length, const char *txn, int *early,
		struct ec_put **out)
{
	const struct storage_policy *sp = policy_by_index(nodes->policy);
	const struct ec_codec *codec =
		cluster_ec_codec(app->cluster, nodes->policy);
	struct ec_put *e = calloc(1, sizeof(*e));
	int64_t alen = -1;
	int i, rc = -ENOMEM;

	*out = NULL;
	*early = 0;
	if (!e)
		return -ENOMEM;
	if (!sp || !codec) {
		rc = -EINVAL;
		goto fail;
	}
	e->c = app->cluster;
	e->nodes = *nodes;
	e->nodes.ring = ring_get(nodes->ring);
	e->n = nodes->nprimary;
	e->k = ec_ndata(codec);
	e->quorum = e->k + 1;
	e->account = strdup(p->account);
	e->container = strdup(p->container);
	e->object = strdup(p->object);
	e->txn = txn ? strdup(txn) : NULL;
	e->md5 = EVP_MD_CTX_new();
	if (!e->account || !e->container || !e->object || (txn && !e->txn) ||
	    !e->md5 || EVP_DigestInit_ex(e->md5, EVP_md5(), NULL) != 1)
		goto fail;
	rc = ec_stream_new(codec, (size_t)sp->ec_segment_size, &e->es);
	if (rc)
		goto fail;
	take_etag(e, hdrs);
	for (i = 0; i < e->n && !rc; i++) {
		/* a copy's source's own (its index...) give way to ours */
		drop_ec_sysmeta(&hdrs[i]);
		rc = slot_headers(e, sp, &hdrs[i], i);
	}
	if (rc)
		goto fail;
	if (length >= 0)
		alen = ec_archive_size(codec, (size_t)sp->ec_segment_size,
				       (uint64_t)length);
	rc = cluster_put_open(app->cluster, nodes, p->account, p->container,
			      p->object, hdrs, alen, e->quorum, txn, early,
			      &e->put);
	if (rc)
		goto fail;
	*out = e;
	return 0;
fail:
	ec_put_free(e);
	return rc;
}

/* Hand what the encoder has ready to the slots. 0 or -EIO. */
static int flush(struct ec_put *e)
{
	const void *each[EC_MAX_FRAGS];
	size_t ready = ec_stream_ready(e->es);
	int i, rc;

	if (!ready)
		return 0;
	for (i = 0; i < e->n; i++)
		each[i] = ec_stream_archive(e->es, i);
	rc = cluster_put_write_each(e->put, each, ready);
	ec_stream_drain(e->es);
	return rc;
}

int ec_put_write(struct ec_put *e, const void *data, size_t len)
{
	int rc;

	if (!e->put)
		return -EIO;
	e->received += len;
	if (EVP_DigestUpdate(e->md5, data, len) != 1)
		return -EIO;
	rc = ec_stream_write(e->es, data, len);
	if (rc) {
		log_err("PUT /%s/%s/%s: encoding failed: %s", e->account,
			e->container, e->object, strerror(-rc));
		return -EIO;
	}
	return flush(e);
}

/* COMMIT to the n nodes devs[] that stored slots[]: the count that made
 * their archive durable. */
static int commit(struct ec_put *e, const int *slots,
		  const struct ring_dev *const *devs, int n)
{
	struct cluster_resp resps[CLUSTER_MAX_NODES];
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	char size[32];
	int i, done = 0, rc = 0;

	memset(resps, 0, sizeof(resps));
	memset(hdrs, 0, sizeof(hdrs));
	snprintf(size, sizeof(size), "%llu", (unsigned long long)e->received);
	for (i = 0; i < n && !rc; i++) {
		rc = cluster_hdrs_copy(&hdrs[i], &e->commit[slots[i]]);
		if (!rc)
			rc = cluster_hdrs_add(
				&hdrs[i], "X-Object-Sysmeta-Ec-Etag", e->etag);
		if (!rc)
			rc = cluster_hdrs_add(
				&hdrs[i], "X-Object-Sysmeta-Ec-Content-Length",
				size);
		if (!rc)
			rc = cluster_hdrs_add(
				&hdrs[i],
				"X-Backend-Container-Update-Override-Etag",
				e->etag);
		if (!rc)
			rc = cluster_hdrs_add(
				&hdrs[i],
				"X-Backend-Container-Update-Override-Size",
				size);
	}
	if (!rc)
		rc = cluster_requests_at(e->c, &e->nodes, devs, n, "COMMIT",
					 e->account, e->container, e->object,
					 hdrs, e->txn, resps);
	for (i = 0; i < n; i++) {
		if (!rc && resps[i].status / 100 == 2)
			done++;
		else if (!rc)
			log_warn("COMMIT /%s/%s/%s fragment %d on %s:%d/%s: %d",
				 e->account, e->container, e->object, slots[i],
				 devs[i]->ip, devs[i]->port, devs[i]->device,
				 resps[i].status);
		cluster_resp_free(&resps[i]);
		cluster_hdrs_free(&hdrs[i]);
	}
	return done;
}

int ec_put_finish(struct ec_put *e, char etag[33])
{
	int statuses[CLUSTER_MAX_NODES], slots[CLUSTER_MAX_NODES];
	const struct ring_dev *devs[CLUSTER_MAX_NODES];
	char etags[CLUSTER_MAX_NODES][33];
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	int i, n = 0, ok = 0, status = 503;

	*etag = '\0';
	if (!e->put)
		return 503;
	if (ec_stream_finish(e->es) || flush(e)) {
		log_err("PUT /%s/%s/%s: too few backends left at the end",
			e->account, e->container, e->object);
		goto out;
	}
	cluster_put_finish_nodes(e->put, statuses, etags, slots, devs, &n);
	cluster_put_free(e->put);
	e->put = NULL;
	for (i = 0; i < n; i++)
		if (statuses[i] / 100 == 2) {
			slots[ok] = slots[i];
			devs[ok++] = devs[i];
		}
	if (ok < e->quorum) {
		i = cluster_best_status(statuses, n, e->quorum);
		status = i >= 0 && statuses[i] / 100 == 4 ? statuses[i] : 503;
		log_err("PUT /%s/%s/%s: %d of %d fragment archives stored, %d "
			"needed",
			e->account, e->container, e->object, ok, e->n,
			e->quorum);
		goto out;
	}
	if (EVP_DigestFinal_ex(e->md5, d, &dl) != 1 || dl != 16)
		goto out;
	for (i = 0; i < 16; i++)
		snprintf(e->etag + 2 * i, 3, "%02x", d[i]);
	if (*e->want && strcmp(e->want, e->etag)) {
		status = 422;
		goto out;
	}
	i = commit(e, slots, devs, ok);
	if (i < e->quorum) {
		log_err("PUT /%s/%s/%s: %d fragment archives durable, %d "
			"needed",
			e->account, e->container, e->object, i, e->quorum);
		goto out;
	}
	memcpy(etag, e->etag, 33);
	status = 201;
out:
	cluster_put_free(e->put);
	e->put = NULL;
	return status;
}
