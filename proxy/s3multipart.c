/*
 * proxy/s3multipart.c: S3's multipart uploads (Create, UploadPart,
 * UploadPartCopy, Complete as an SLO through slo_store, Abort, ListParts,
 * ListMultipartUploads). Owned by helper s2: until it lands, each handler
 * answers 501 NotImplemented (s3_not_implemented), so the table in s3.c
 * links.
 */
#include <stddef.h>

#include "proxy/internal.h"

const struct s3_handler s3_mpu_create = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_mpu_part = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_mpu_complete = {s3_not_implemented, NULL, NULL,
					   NULL};
const struct s3_handler s3_mpu_abort = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_mpu_parts = {s3_not_implemented, NULL, NULL, NULL};
const struct s3_handler s3_mpu_list = {s3_not_implemented, NULL, NULL, NULL};
