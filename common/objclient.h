/*
 * common/objclient.h: the internal client of the cluster (Swift's
 * InternalClient): whole-object and ranged reads and writes, deletes,
 * container creation and listings, for the services that keep their own
 * data in the cluster (volume, fuse) without going through the proxy. It
 * is built on common/cluster.h (ring lookup, handoffs, quorum, error
 * limiting) and gives each write an X-Timestamp and the container-update
 * headers the proxy would, so listings see internal objects too.
 *
 * Every call is synchronous, thread-safe on a shared struct cluster, and
 * returns 0 (or a byte count) or -errno:
 *   -ENOENT  the object/container/account does not exist (404 by quorum)
 *   -EEXIST  a conditional create lost (412 on If-None-Match: *)
 *   -EIO     no quorum / no node answered well / a body cut short
 *   -EINVAL  a bad name; -ENOMEM.
 * A write that returns 0 is on a quorum of disks, fsynced.
 */
#ifndef KUMO_COMMON_OBJCLIENT_H
#define KUMO_COMMON_OBJCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/cluster.h"

/* What a HEAD or GET tells about an object. */
struct oc_info {
	uint64_t size;	    /* whole object */
	char etag[33];	    /* MD5 hex (XXH3-128 for a PUT with xxh_etag) */
	char timestamp[32]; /* X-Timestamp, normalized */
	char content_type[256];
};

/* Options of a PUT; NULL means the defaults. */
struct oc_put_opts {
	const char *content_type;	  /* default application/octet-stream */
	int if_none_match;		  /* If-None-Match: * (create only) */
	const struct cluster_hdrs *extra; /* e.g. X-Object-Meta-* */
	/* store the body's XXH3-128 as its ETag instead of its MD5
	 * (X-Backend-Etag-Hash: xxh3-128; objectd/etag.c): no MD5 pass at
	 * all, the object servers check the transfer, GETs and the auditor
	 * check the body by it. Only for objects nobody reads through the
	 * proxy as Swift objects (kumo-volumed's chunks, in an internal
	 * account), whose ETag no client compares with an MD5 */
	int xxh_etag;
	/* send no container update headers (X-Container-Host...), so the
	 * object servers do not update the container's listing row: only
	 * for an overwrite of an object whose row is already there and
	 * whose size stays, when nobody reads the row's ETag or date
	 * (kumo-volumed's chunks, listed by name only) */
	int no_container_update;
	/* when set: called once with the PUT's result as soon as it is known
	 * (a quorum of replicas stored it, or it failed), as Swift's proxy
	 * answers at quorum; oc_put then waits for the replicas still
	 * writing (data must stay unchanged) and returns the same result */
	void (*at_quorum)(void *arg, int rc);
	void *arg;
};

/*
 * PUT len bytes as the object, with their MD5 as its ETag and their
 * XXH3-128 (X-Backend-Body-Xxh128), by which the object servers check
 * the transfer and then store that ETag without hashing the body with
 * MD5 again (one MD5 pass, not one per replica);
 * with opts->xxh_etag, their XXH3-128 as the ETag and no MD5 at all. A
 * newer write of the object found there (409) leaves that one in place
 * and counts as done, as Swift's 202 does. The body waits for
 * 100-continue, so that a replica refusing at the headers (507) is
 * replaced by a handoff before the body goes, as Swift's proxy does.
 */
int oc_put(struct cluster *c, const char *account, const char *container,
	   const char *object, const void *data, size_t len,
	   const struct oc_put_opts *opts);

/* GET the whole object, appended to out (caller frees); info may be NULL. */
int oc_get(struct cluster *c, const char *account, const char *container,
	   const char *object, struct buf *out, struct oc_info *info);

/*
 * GET bytes [off, off+len) into buf. Returns the bytes read: len, fewer
 * only when the object ends first (0 when off >= size), or -errno.
 */
ssize_t oc_get_range(struct cluster *c, const char *account,
		     const char *container, const char *object, void *buf,
		     size_t len, uint64_t off);

int oc_head(struct cluster *c, const char *account, const char *container,
	    const char *object, struct oc_info *info);

/* DELETE the object (a tombstone on a quorum). -ENOENT when none had it. */
int oc_delete(struct cluster *c, const char *account, const char *container,
	      const char *object);

/* PUT the account (if missing) and the container; 0 when both exist. */
int oc_container_create(struct cluster *c, const char *account,
			const char *container);

/*
 * List the container's object names in order, from after marker (NULL:
 * the start), with prefix (NULL: all), calling fn(arg, name, size, etag)
 * for each until fn returns non-zero (that value is returned) or the
 * listing ends (0). Pages through listings of any length.
 */
int oc_list(struct cluster *c, const char *account, const char *container,
	    const char *prefix, const char *marker,
	    int (*fn)(void *arg, const char *name, uint64_t size,
		      const char *etag),
	    void *arg);

#endif
