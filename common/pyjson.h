/*
 * common/pyjson.h: JSON output formatted exactly as Python's json.dumps
 * with ensure_ascii=True and the default separators (", " and ": "), so
 * that files kumo writes for OpenStack tools match theirs byte for byte.
 * Reading JSON is jansson's job; this is only the writing side.
 */
#ifndef KUMO_COMMON_PYJSON_H
#define KUMO_COMMON_PYJSON_H

#include "common/buf.h"

/* Append a JSON string literal (quotes included), escaping as Python does:
 * non-ASCII as \uXXXX (surrogate pairs above U+FFFF). s must be UTF-8.
 * Returns 0, -EINVAL for invalid UTF-8, -ENOMEM. */
int pyjson_string(struct buf *b, const char *s);

/* Append a float as Python's repr() writes it (100.0, 0.1, 1e+16). */
int pyjson_float(struct buf *b, double v);

#endif
