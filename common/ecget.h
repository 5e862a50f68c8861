/*
 * common/ecget.h: the GET and HEAD of an object of an erasure-coded
 * storage policy, behind cluster_get_open/read/close (cluster.c calls
 * these for an object of a policy that has a codec; nothing else should).
 *
 * The caller sees what a replicated object's GET gives: the whole object's
 * status (200, 206, 304, 404, 412, 416, 503), Content-Length, ETag (the
 * X-Object-Sysmeta-Ec-Etag of the archives), metadata and bytes, decoded
 * from k fragment archives read at once. See ecget.c for how.
 *
 * Threads: one struct ecget belongs to the thread that opened it.
 */
#ifndef KUMO_COMMON_ECGET_H
#define KUMO_COMMON_ECGET_H

#include <sys/types.h>

#include "common/cluster.h"

struct ec_codec;
struct ecget;

/*
 * Open a GET or HEAD of an EC object whose nodes (primaries, handoffs)
 * are in nodes, with the caller's headers hdrs (Range, If-Match,
 * If-None-Match, If-Modified-Since, If-Unmodified-Since decided here; the
 * rest passed to the object servers). *resp gets the answer (the caller
 * frees it); *out is set when there is a body to read (and for a good
 * HEAD, whose read gives 0 at once). 0, or -ENOMEM.
 */
int ecget_open(struct cluster *c, const struct ec_codec *codec,
	       const struct cluster_nodes *nodes, const char *method,
	       const char *account, const char *container, const char *object,
	       const char *query, const struct cluster_hdrs *hdrs,
	       const char *txn, struct cluster_resp *resp, struct ecget **out);

/* Up to max bytes of the body: >0, 0 at the end, -EIO when it cannot be
 * finished (too few fragments left, or the whole body's MD5 is not its
 * ETag: its last bytes are then held back). */
ssize_t ecget_read(struct ecget *g, char *buf, size_t max);

/* Close and free; NULL is fine. */
void ecget_close(struct ecget *g);

#endif
