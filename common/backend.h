/*
 * common/backend.h: request checks every Swift storage server makes
 * before it looks at its data: the path split as swift.common.utils
 * split_path with validate_device_partition (400), the path's UTF-8
 * (412), and the X-Timestamp every write carries (400 when missing or
 * bad). Each returns 0 or the HTTP status to answer, with the message
 * Swift gives in msg.
 */
#ifndef KUMO_COMMON_BACKEND_H
#define KUMO_COMMON_BACKEND_H

#include <stddef.h>

#include "common/timestamp.h"

struct http_request;

/*
 * Percent-decode raw (the request path) into buf (buflen bytes) and split
 * it as Swift's split_path(path, minsegs, maxsegs, rest_with_last):
 * segs[0..maxsegs) point into buf, NULL for absent trailing segments
 * (an empty trailing segment is ""). The first two are the device and
 * partition. Returns 0, 400 (bad path, device or partition), or 412
 * (invalid UTF-8 or NUL).
 */
int backend_split_path(const char *raw, char *buf, size_t buflen, int minsegs,
		       int maxsegs, int rest_with_last, char **segs, char *msg,
		       size_t msglen);

/* The request's X-Timestamp into *t: 0, or 400 with Swift's message. */
int backend_timestamp(struct http_request *req, struct ts *t, char *msg,
		      size_t msglen);

#endif
