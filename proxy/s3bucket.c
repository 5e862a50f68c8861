/*
 * proxy/s3bucket.c: S3's bucket operations over the containers of the
 * requester's account.
 */
#include <stddef.h>

#include "proxy/internal.h"

const struct s3_handler s3_list_buckets = {s3_not_implemented, NULL, NULL,
					   NULL};
const struct s3_handler s3_bucket_put = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_bucket_delete = {s3_not_implemented, NULL, NULL,
					    NULL};
const struct s3_handler s3_bucket_get = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_bucket_location = {s3_not_implemented, NULL, NULL,
					      NULL};
const struct s3_handler s3_bucket_acl_get = {s3_not_implemented, NULL, NULL,
					     NULL};
const struct s3_handler s3_bucket_acl_put = {s3_not_implemented, NULL, NULL,
					     NULL};
