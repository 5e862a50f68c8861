/*
 * volume/exports.c: what the NBD server may open. Its struct vol_exports
 * (nbd.h) resolves an export name to an attached volume: a name is
 *
 *     <volume id>.<project hash>.<32 random hex digits>
 *
 * made by os-initialize_connection (actions.c) and written into the
 * volume's record as attachment.export. open() accepts a name only while
 * the record names it (read under the volume's lock), so an export is
 * served only to its attachment, and a guessed or stale name is
 * NBD_REP_ERR_UNKNOWN. The project hash in the name only finds the record.
 *
 * Each open is a handle wrapping the core's export (vol_disk_open). When
 * the attachment ends (os-terminate_connection, os-detach, os-unreserve)
 * vd_exports_revoke closes the core export of every handle of the volume
 * (flushing what was written) and marks them revoked: the connections
 * stay until their clients leave, but every request then fails with EIO.
 * Lock order: the volume's lock, then the registry's mutex, then a
 * handle's rwlock (requests hold it shared, revoke and close exclusive).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "volume/internal.h"
#include "volume/nbd.h"
#include "volume/volume.h"

struct vx_handle {
	struct volumed *vd;
	struct vol_export inner; /* the core's export */
	char vol_id[37];
	uint64_t size;
	pthread_rwlock_t rw;
	int revoked;
	struct vx_handle *next;
};

struct vd_exports {
	pthread_mutex_t mu;
	struct vx_handle *open;
};

int vd_exports_new(struct volumed *vd, struct vd_exports **out)
{
	struct vd_exports *x = calloc(1, sizeof(*x));

	(void)vd;
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->mu, NULL);
	*out = x;
	return 0;
}

void vd_exports_free(struct vd_exports *x)
{
	if (!x)
		return;
	/* the NBD server is stopped: every handle was closed */
	pthread_mutex_destroy(&x->mu);
	free(x);
}

int vd_export_name(const char *phash, const char *vol_id, char *out, size_t len)
{
	uint8_t rnd[16];
	char hex[33];
	int i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", rnd[i]);
	snprintf(out, len, "%s.%s.%s", vol_id, phash, hex);
	return 0;
}

/* Split a name into volume id and project hash; -ENOENT if malformed. */
static int parse_name(const char *name, char vol_id[37], char phash[33])
{
	size_t i;

	if (strlen(name) != 36 + 1 + 32 + 1 + 32 || name[36] != '.' ||
	    name[69] != '.')
		return -ENOENT;
	memcpy(vol_id, name, 36);
	vol_id[36] = '\0';
	memcpy(phash, name + 37, 32);
	phash[32] = '\0';
	if (!rec_valid_id(vol_id))
		return -ENOENT;
	for (i = 37; i < strlen(name); i++)
		if (i != 69 && !strchr("0123456789abcdef", name[i]))
			return -ENOENT;
	return 0;
}

/* --- the wrapped export -------------------------------------------------- */

static uint64_t vx_size(void *p)
{
	return ((struct vx_handle *)p)->size;
}

#define VX_CALL(p, call)                           \
	do {                                       \
		struct vx_handle *h_ = (p);        \
		int rc_ = -EIO;                    \
		pthread_rwlock_rdlock(&h_->rw);    \
		if (!h_->revoked)                  \
			rc_ = h_->inner.ops->call; \
		pthread_rwlock_unlock(&h_->rw);    \
		return rc_;                        \
	} while (0)

static int vx_pread(void *p, void *buf, uint32_t len, uint64_t off)
{
	VX_CALL(p, pread(h_->inner.h, buf, len, off));
}

static int vx_pwrite(void *p, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags)
{
	VX_CALL(p, pwrite(h_->inner.h, buf, len, off, flags));
}

/* -EAGAIN when the inner export has no pwrite_from (export.h). */
static int vx_pwrite_from(void *p, uint32_t len, uint64_t off,
			  int (*fill)(void *arg, void *dst, uint32_t n),
			  void *arg)
{
	struct vx_handle *h = p;

	if (!h->inner.ops->pwrite_from)
		return -EAGAIN;
	VX_CALL(p, pwrite_from(h_->inner.h, len, off, fill, arg));
}

static int vx_pwrite_end(void *p, uint32_t len, uint64_t off, uint32_t flags)
{
	VX_CALL(p, pwrite_end(h_->inner.h, len, off, flags));
}

static int vx_flush(void *p)
{
	VX_CALL(p, flush(h_->inner.h));
}

static int vx_trim(void *p, uint32_t len, uint64_t off, uint32_t flags)
{
	VX_CALL(p, trim(h_->inner.h, len, off, flags));
}

static int vx_zero(void *p, uint32_t len, uint64_t off, uint32_t flags)
{
	VX_CALL(p, zero(h_->inner.h, len, off, flags));
}

static int vx_extents(void *p, uint32_t len, uint64_t off,
		      int (*fn)(void *arg, uint64_t off, uint64_t len,
				uint32_t flags),
		      void *arg)
{
	VX_CALL(p, extents(h_->inner.h, len, off, fn, arg));
}

static const struct vol_export_ops vx_ops = {
	.size = vx_size,
	.pread = vx_pread,
	.pwrite = vx_pwrite,
	.pwrite_from = vx_pwrite_from,
	.pwrite_end = vx_pwrite_end,
	.flush = vx_flush,
	.trim = vx_trim,
	.zero = vx_zero,
	.extents = vx_extents,
};

/* --- the exports --------------------------------------------------------- */

static int vx_open(void *ctx, const char *name, struct vol_export *out)
{
	struct volumed *vd = ctx;
	struct vd_exports *x = vd->exports;
	char vol_id[37], phash[33];
	struct vx_handle *h = NULL;
	const char *exp, *mode;
	json_t *rec = NULL, *att;
	int rc;

	if (parse_name(name, vol_id, phash))
		return -ENOENT;
	rec_lock(vd, vol_id);
	rc = rec_get(vd, REC_VOLUME, phash, vol_id, &rec);
	if (rc)
		goto out;
	att = json_object_get(rec, "attachment");
	exp = rec_str(att, "export");
	if (!exp || strcmp(exp, name)) {
		rc = -ENOENT;
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		rc = -ENOMEM;
		goto out;
	}
	mode = rec_str(att, "mode");
	rc = vol_disk_open(vd->store, vol_id, mode && !strcmp(mode, "ro"),
			   &h->inner);
	if (rc) {
		log_err("export of volume %s: cannot open its disk: %s", vol_id,
			strerror(-rc));
		goto out;
	}
	{
		pthread_rwlockattr_t a;

		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(
			&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&h->rw, &a);
		pthread_rwlockattr_destroy(&a);
	}
	h->vd = vd;
	h->size = h->inner.ops->size(h->inner.h);
	snprintf(h->vol_id, sizeof(h->vol_id), "%s", vol_id);
	out->ops = &vx_ops;
	out->h = h;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->description, sizeof(out->description), "kumo volume %s",
		 vol_id);
	out->read_only = h->inner.read_only;
	out->min_block = h->inner.min_block;
	pthread_mutex_lock(&x->mu);
	h->next = x->open;
	x->open = h;
	pthread_mutex_unlock(&x->mu);
	log_info("volume %s exported to a client", vol_id);
	h = NULL;
out:
	free(h);
	json_decref(rec);
	rec_unlock(vd, vol_id);
	return rc;
}

static void vx_close(void *ctx, struct vol_export *e)
{
	struct volumed *vd = ctx;
	struct vd_exports *x = vd->exports;
	struct vx_handle *h = e->h, **pp;

	pthread_mutex_lock(&x->mu);
	for (pp = &x->open; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_rwlock_wrlock(&h->rw);
	if (!h->revoked)
		vol_disk_close(vd->store, &h->inner);
	pthread_rwlock_unlock(&h->rw);
	pthread_mutex_unlock(&x->mu);
	pthread_rwlock_destroy(&h->rw);
	free(h);
}

/* The names are secrets of their attachments: none is listed. */
static int vx_list(void *ctx,
		   int (*fn)(void *arg, const char *name,
			     const char *description),
		   void *arg)
{
	(void)ctx;
	(void)fn;
	(void)arg;
	return 0;
}

void vd_exports_ops(struct volumed *vd, struct vol_exports *out)
{
	out->open = vx_open;
	out->close = vx_close;
	out->list = vx_list;
	out->ctx = vd;
}

void vd_exports_revoke(struct volumed *vd, const char *vol_id)
{
	struct vd_exports *x = vd->exports;
	struct vx_handle *h;
	int n = 0;

	pthread_mutex_lock(&x->mu);
	for (h = x->open; h; h = h->next) {
		if (strcmp(h->vol_id, vol_id))
			continue;
		pthread_rwlock_wrlock(&h->rw);
		if (!h->revoked) {
			vol_disk_close(vd->store, &h->inner);
			h->revoked = 1;
			n++;
		}
		pthread_rwlock_unlock(&h->rw);
	}
	pthread_mutex_unlock(&x->mu);
	if (n)
		log_info("volume %s: %d open export(s) revoked", vol_id, n);
}

json_t *vd_connection_info(struct volumed *vd, const char *vol_id,
			   const char *attachment_id, const char *export)
{
	const struct volumed_conf *c = vd->conf;
	const char *host = *c->nbd_host ? c->nbd_host : c->nbd_ip;
	int port = vd->nbd ? nbd_server_port(vd->nbd) : (int)c->nbd_port;
	int tls = *c->tls_cert != '\0';
	char uri[CONF_STR_MAX + 700];
	json_t *data;

	snprintf(uri, sizeof(uri), "%s://%s:%d/%s", tls ? "nbds" : "nbd", host,
		 port, export);
	data = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:b}",
			 "host", host, "port", port, "export_name", export,
			 "export_uri", uri, "volume_id", vol_id,
			 "attachment_id", attachment_id, "access_mode", "rw",
			 "discard", 1, "tls", tls);
	if (data && tls) {
		/* what a client needs to trust the server and, when client
		 * certificates are asked for, which CA signs them */
		json_object_set_new(data, "tls_cert", json_string(c->tls_cert));
		json_object_set_new(data, "tls_required",
				    json_boolean(c->tls_required));
		if (*c->tls_ca)
			json_object_set_new(data, "tls_ca",
					    json_string(c->tls_ca));
	}
	return json_pack("{s:{s:s, s:o}}", "connection_info",
			 "driver_volume_type", "nbd", "data", data);
}
