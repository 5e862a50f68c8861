/*
 * ring/builderfile.c: the builder file, kumo's equivalent of Swift's
 * pickled .builder: everything a later rebalance needs.
 *
 * After gunzip:  "KUMOBLDR" | u16 version=1 | u32 json_len | json |
 *                rows of u16 little-endian device ids (lengths in the JSON)
 *                | last_part_moves, one byte per partition (if present).
 * The JSON holds the settings and devices (keys sorted, so the same builder
 * gives the same bytes). Saving is atomic (tmp, fsync, rename).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/fsutil.h"
#include "common/gzip.h"
#include "common/log.h"
#include "ring/builder.h"
#include "ring/internal.h"

#define BUILDER_MAGIC	 "KUMOBLDR"
#define BUILDER_MAX_FILE (1u << 31)

static json_t *devs_to_json(const struct builder *b)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; arr && i < b->ndevs; i++) {
		const struct builder_dev *d = &b->devs[i];
		json_t *o;

		if (!d->present) {
			json_array_append_new(arr, json_null());
			continue;
		}
		o = json_pack("{s:i, s:i, s:i, s:s, s:i, s:s, s:i, s:s, s:s, "
			      "s:f, s:b}",
			      "id", d->id, "region", d->region, "zone", d->zone,
			      "ip", d->ip, "port", d->port, "replication_ip",
			      d->replication_ip, "replication_port",
			      d->replication_port, "device", d->device, "meta",
			      d->meta, "weight", d->weight, "removing",
			      d->removing);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int builder_serialize(const struct builder *b, struct buf *gz)
{
	struct buf raw = BUF_INIT;
	json_t *root = NULL, *rows;
	char *js = NULL;
	int i, rc = -ENOMEM;

	rows = json_array();
	for (i = 0; rows && i < b->nrows; i++)
		json_array_append_new(rows, json_integer(b->row_len[i]));
	root = json_pack(
		"{s:i, s:f, s:i, s:f, s:i, s:o, s:o, s:I, s:b, "
		"s:f, s:b}",
		"part_power", b->part_power, "replicas", b->replicas,
		"min_part_hours", b->min_part_hours, "overload", b->overload,
		"version", b->version, "devs", devs_to_json(b), "row_len", rows,
		"last_part_moves_epoch", (json_int_t)b->last_part_moves_epoch,
		"has_last_part_moves", b->last_part_moves != NULL, "dispersion",
		b->dispersion, "devs_changed", b->devs_changed);
	if (!root)
		goto out;
	js = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT |
				      JSON_REAL_PRECISION(17));
	if (!js)
		goto out;
	if (buf_append(&raw, BUILDER_MAGIC, 8) || buf_put_be16(&raw, 1) ||
	    buf_put_be32(&raw, (uint32_t)strlen(js)) ||
	    buf_append(&raw, js, strlen(js)))
		goto out;
	for (i = 0; i < b->nrows; i++) {
		uint32_t p;

		if (buf_reserve(&raw, (size_t)b->row_len[i] * 2))
			goto out;
		for (p = 0; p < b->row_len[i]; p++) {
			raw.data[raw.len++] = (uint8_t)b->rows[i][p];
			raw.data[raw.len++] = (uint8_t)(b->rows[i][p] >> 8);
		}
	}
	if (b->last_part_moves &&
	    buf_append(&raw, b->last_part_moves, b->nparts))
		goto out;
	/* level 1: the table is regular and this file is ours alone */
	rc = gzip_compress(raw.data, raw.len, NULL, 0, 1, gz);
out:
	free(js);
	json_decref(root);
	buf_free(&raw);
	return rc;
}

int builder_save(const struct builder *b, const char *path)
{
	struct buf gz = BUF_INIT;
	int rc = builder_serialize(b, &gz);

	if (rc)
		log_err("cannot serialize builder for %s", path);
	else
		rc = fs_write_atomic(path, gz.data, gz.len, 0644);
	buf_free(&gz);
	return rc;
}

static int load_dev(struct builder_dev *d, json_t *o, int index)
{
	const char *ip, *rip, *dev, *meta;
	int removing = 0;

	if (json_is_null(o)) {
		d->id = index;
		return 0;
	}
	if (json_unpack(o,
			"{s:i, s:i, s:i, s:s, s:i, s:s, s:i, s:s, s:s, "
			"s:F, s?b}",
			"id", &d->id, "region", &d->region, "zone", &d->zone,
			"ip", &ip, "port", &d->port, "replication_ip", &rip,
			"replication_port", &d->replication_port, "device",
			&dev, "meta", &meta, "weight", &d->weight, "removing",
			&removing) ||
	    d->id != index || !isfinite(d->weight) || d->weight < 0)
		return -EINVAL;
	d->removing = removing;
	d->ip = strdup(ip);
	d->replication_ip = strdup(rip);
	d->device = strdup(dev);
	d->meta = strdup(meta);
	d->present = 1;
	if (!d->ip || !d->replication_ip || !d->device || !d->meta)
		return -ENOMEM;
	return 0;
}

static int parse_builder(struct builder *b, const uint8_t *u, size_t len,
			 const char *path)
{
	json_t *root = NULL, *devs = NULL, *rows = NULL;
	json_error_t jerr;
	json_int_t epoch = 0;
	int has_moves = 0, devs_changed = 0, i, rc = -EINVAL;
	size_t off, jlen;

	if (len < 14 || memcmp(u, BUILDER_MAGIC, 8) != 0) {
		log_err("%s: not a kumo builder file (bad magic)", path);
		return -EINVAL;
	}
	if (be16_read(u + 8) != 1) {
		log_err("%s: unknown builder file version %u", path,
			be16_read(u + 8));
		return -EINVAL;
	}
	jlen = be32_read(u + 10);
	off = 14;
	if (jlen > len - off) {
		log_err("%s: truncated builder file", path);
		return -EINVAL;
	}
	root = json_loadb((const char *)u + off, jlen, 0, &jerr);
	off += jlen;
	if (!root ||
	    json_unpack_ex(root, &jerr, 0,
			   "{s:i, s:F, s:i, s:F, s:i, s:o, s:o, s:I, s:b, "
			   "s:F, s:b}",
			   "part_power", &b->part_power, "replicas",
			   &b->replicas, "min_part_hours", &b->min_part_hours,
			   "overload", &b->overload, "version", &b->version,
			   "devs", &devs, "row_len", &rows,
			   "last_part_moves_epoch", &epoch,
			   "has_last_part_moves", &has_moves, "dispersion",
			   &b->dispersion, "devs_changed", &devs_changed)) {
		log_err("%s: corrupt builder metadata: %s", path, jerr.text);
		goto out;
	}
	b->last_part_moves_epoch = epoch;
	b->devs_changed = devs_changed;
	if (b->part_power < 1 || b->part_power > 32 || !(b->replicas >= 1) ||
	    b->replicas > 64 || b->min_part_hours < 0 ||
	    b->min_part_hours > 255 || !json_is_array(devs) ||
	    json_array_size(devs) > RING_MAX_DEVS || !json_is_array(rows) ||
	    json_array_size(rows) > 64) {
		log_err("%s: builder settings out of range", path);
		goto out;
	}
	b->nparts = b->part_power == 32 ? 0 : 1u << b->part_power;
	b->ndevs = (int)json_array_size(devs);
	b->devs = calloc((size_t)b->ndevs + 1, sizeof(*b->devs));
	b->nrows = (int)json_array_size(rows);
	b->rows = calloc(64, sizeof(*b->rows));
	b->row_len = calloc(64, sizeof(*b->row_len));
	if (!b->devs || !b->rows || !b->row_len) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->ndevs; i++) {
		rc = load_dev(&b->devs[i], json_array_get(devs, (size_t)i), i);
		if (rc) {
			log_err("%s: device %d is malformed", path, i);
			goto out;
		}
	}
	rc = -EINVAL;
	for (i = 0; i < b->nrows; i++) {
		json_t *v = json_array_get(rows, (size_t)i);
		uint32_t p;

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > b->nparts ||
		    (size_t)json_integer_value(v) * 2 > len - off) {
			log_err("%s: truncated or corrupt partition table",
				path);
			goto out;
		}
		b->row_len[i] = (uint32_t)json_integer_value(v);
		b->rows[i] = malloc((size_t)b->row_len[i] * 2 + 2);
		if (!b->rows[i]) {
			rc = -ENOMEM;
			goto out;
		}
		for (p = 0; p < b->row_len[i]; p++, off += 2) {
			uint16_t d = (uint16_t)(u[off] | u[off + 1] << 8);

			if (d >= b->ndevs || !b->devs[d].present) {
				log_err("%s: partition %u is on unknown "
					"device %u",
					path, p, d);
				goto out;
			}
			b->rows[i][p] = d;
			b->devs[d].parts++;
		}
	}
	if (has_moves) {
		if (len - off != b->nparts) {
			log_err("%s: the partition move table has the wrong "
				"length (%zu bytes for %u partitions)",
				path, len - off, b->nparts);
			goto out;
		}
		b->last_part_moves = malloc(b->nparts + 1);
		if (!b->last_part_moves) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(b->last_part_moves, u + off, b->nparts);
		off += b->nparts;
	}
	if (off != len) {
		log_err("%s: %zu stray bytes at the end", path, len - off);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int builder_load(const char *path, struct builder **out)
{
	struct buf u = BUF_INIT;
	struct builder *b = NULL;
	uint8_t *data = NULL;
	size_t len;
	int rc;

	rc = fs_read_file(path, BUILDER_MAX_FILE, &data, &len);
	if (rc) {
		errno = -rc;
		log_err("cannot read builder %s: %m", path);
		return rc;
	}
	rc = gzip_decompress(data, len, BUILDER_MAX_FILE, &u);
	if (rc) {
		log_err("%s: not a readable builder file (corrupt or "
			"truncated gzip)",
			path);
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto out;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	rc = parse_builder(b, u.data, u.len, path);
	if (!rc) {
		*out = b;
		b = NULL;
	}
out:
	builder_free(b);
	buf_free(&u);
	free(data);
	return rc;
}
