/*
 * proxy/s3object.c: S3's object operations (PutObject, CopyObject,
 * GetObject, HeadObject, DeleteObject, DeleteObjects, object ACLs) over
 * object.c, slo.c and copy.c. Owned by helper s2: until it lands, each
 * handler answers 501 NotImplemented (s3_not_implemented), so the table
 * in s3.c links.
 */
#include <stddef.h>

#include "proxy/internal.h"

const struct s3_handler s3_object_put = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_object_get = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_object_delete = {s3_not_implemented, NULL, NULL,
					    NULL};
const struct s3_handler s3_objects_delete = {s3_not_implemented, NULL, NULL,
					     NULL};
const struct s3_handler s3_object_acl_get = {s3_not_implemented, NULL, NULL,
					     NULL};
const struct s3_handler s3_object_acl_put = {s3_not_implemented, NULL, NULL,
					     NULL};
