/*
 * ring/ringfile.c: Swift's .ring.gz files, read (format v1 and v2) and
 * written (v1).
 *
 * v1, after gunzip:  "R1NG" | u16 version=1 | u32 json_len | json |
 *                    rows of u16 device ids in the JSON's byteorder, each
 *                    2^part_power long but the last, which may be short.
 * v2, after gunzip:  "R1NG" | u16 version=2 | blobs (u64 length | data) |
 *                    index blob (JSON: section -> [cstart, ustart, cend,
 *                    uend, checksum method, checksum]) | u64 index ustart |
 *                    u64 index cstart. Sections swift/ring/metadata (JSON),
 *                    swift/ring/devices (JSON), swift/ring/assignments
 *                    (network-order ids of dev_id_bytes each).
 * All integers in the framing are big-endian. The whole file is inflated in
 * memory (rings are megabytes, bounded by RING_MAX_FILE).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/fsutil.h"
#include "common/gzip.h"
#include "common/log.h"
#include "common/pyjson.h"
#include "ring/internal.h"

/* Swift writes this gzip mtime so that equal rings give equal files. */
#define RING_GZ_MTIME 1300507380u

static char *json_strdup_field(json_t *obj, const char *key, const char *dflt)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return strdup(json_string_value(v));
	return dflt ? strdup(dflt) : NULL;
}

static int json_int_field(json_t *obj, const char *key, int dflt, int *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (dflt == -1)
			return -EINVAL;
		*out = dflt;
		return 0;
	}
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		if (x < -2147483647 || x > 2147483647)
			return -EINVAL;
		*out = (int)x;
		return 0;
	}
	return -EINVAL;
}

/* Build ring->devs from a JSON array of device objects (or nulls). */
static int parse_devs(struct ring *ring, json_t *devs, const char *what)
{
	size_t i, n;

	if (!json_is_array(devs)) {
		log_err("%s: the device list is missing", what);
		return -EINVAL;
	}
	n = json_array_size(devs);
	if (n > RING_MAX_DEVS) {
		log_err("%s: %zu devices, more than %d", what, n,
			RING_MAX_DEVS);
		return -EINVAL;
	}
	ring->devs = calloc(n + 1, sizeof(*ring->devs));
	if (!ring->devs)
		return -ENOMEM;
	ring->ndevs = (int)n;
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(devs, i);
		struct ring_dev *d;
		json_t *w;

		if (json_is_null(o))
			continue;
		if (!json_is_object(o))
			goto bad;
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		ring->devs[i] = d;
		if (json_int_field(o, "id", -1, &d->id) || d->id != (int)i ||
		    json_int_field(o, "region", 1, &d->region) ||
		    json_int_field(o, "zone", -1, &d->zone) ||
		    json_int_field(o, "port", -1, &d->port))
			goto bad;
		d->ip = json_strdup_field(o, "ip", NULL);
		d->device = json_strdup_field(o, "device", NULL);
		d->meta = json_strdup_field(o, "meta", "");
		if (!d->ip || !d->device || !d->meta)
			goto bad;
		d->replication_ip =
			json_strdup_field(o, "replication_ip", d->ip);
		if (!d->replication_ip ||
		    json_int_field(o, "replication_port", d->port,
				   &d->replication_port))
			goto bad;
		w = json_object_get(o, "weight");
		d->weight = json_is_number(w) ? json_number_value(w) : 0;
	}
	return 0;
bad:
	log_err("%s: device %zu is malformed (needs id equal to its index, "
		"zone, ip, port, device)",
		what, i);
	return -EINVAL;
}

/* Allocate the table rows for given lengths. */
static int alloc_rows(struct ring *ring, int nrows)
{
	ring->rows = calloc((size_t)nrows + 1, sizeof(*ring->rows));
	ring->row_len = calloc((size_t)nrows + 1, sizeof(*ring->row_len));
	if (!ring->rows || !ring->row_len)
		return -ENOMEM;
	ring->nrows = nrows;
	return 0;
}

/*
 * Split an assignment table of count ids of width bytes at p into rows of
 * nparts (the last possibly short). big: ids are big-endian.
 */
static int fill_rows(struct ring *ring, const uint8_t *p, uint64_t count,
		     int width, int big, const char *what)
{
	uint64_t nrows64 =
		ring->nparts ? (count + ring->nparts - 1) / ring->nparts : 0;
	uint64_t k = 0;
	int r, rc;

	if (nrows64 > 64) {
		log_err("%s: %llu replica rows is not a sane ring", what,
			(unsigned long long)nrows64);
		return -EINVAL;
	}
	rc = alloc_rows(ring, (int)nrows64);
	if (rc)
		return rc;
	for (r = 0; r < ring->nrows; r++) {
		uint32_t len =
			(uint32_t)(count - k < ring->nparts ? count - k
							    : ring->nparts);
		uint32_t i;

		ring->row_len[r] = len;
		ring->rows[r] = malloc((size_t)len * 2 + 2);
		if (!ring->rows[r])
			return -ENOMEM;
		for (i = 0; i < len; i++, k++) {
			const uint8_t *q = p + k * (uint64_t)width;
			uint64_t id = 0;
			int b;

			for (b = 0; b < width; b++)
				id = big ? id << 8 | q[b]
					 : id | (uint64_t)q[b] << (8 * b);
			if (id >= RING_MAX_DEVS) {
				log_err("%s: device id %llu is out of range",
					what, (unsigned long long)id);
				return -EINVAL;
			}
			ring->rows[r][i] = (uint16_t)id;
		}
	}
	return 0;
}

static int set_part_shift(struct ring *ring, json_t *meta, const char *what)
{
	int shift;

	if (json_int_field(meta, "part_shift", -1, &shift) || shift < 1 ||
	    shift > 32) {
		log_err("%s: part_shift is missing or not in 1..32", what);
		return -EINVAL;
	}
	ring->part_power = 32 - shift;
	ring->part_shift = shift;
	ring->nparts = 1u << ring->part_power;
	json_int_field(meta, "version", -1, &ring->version);
	json_int_field(meta, "next_part_power", -1, &ring->next_part_power);
	return 0;
}

static int parse_v1(struct ring *ring, const uint8_t *u, size_t len,
		    const char *what)
{
	json_t *meta = NULL;
	json_error_t jerr;
	uint32_t jlen;
	size_t off = 6, avail;
	int rc = -EINVAL, rows, big = 0;
	const char *order;

	if (len < off + 4)
		goto trunc;
	jlen = be32_read(u + off);
	off += 4;
	if (jlen > len - off)
		goto trunc;
	meta = json_loadb((const char *)u + off, jlen, 0, &jerr);
	if (!json_is_object(meta)) {
		log_err("%s: ring metadata is not a JSON object: %s", what,
			jerr.text);
		goto out;
	}
	off += jlen;
	rc = set_part_shift(ring, meta, what);
	if (rc)
		goto out;
	rc = -EINVAL;
	if (json_int_field(meta, "replica_count", -1, &rows) || rows < 0 ||
	    rows > 64) {
		log_err("%s: replica_count is missing or out of range", what);
		goto out;
	}
	order = json_string_value(json_object_get(meta, "byteorder"));
	if (order && strcmp(order, "big") == 0)
		big = 1;
	else if (order && strcmp(order, "little") != 0) {
		log_err("%s: unknown byteorder '%s'", what, order);
		goto out;
	}
	rc = parse_devs(ring, json_object_get(meta, "devs"), what);
	if (rc)
		goto out;
	rc = -EINVAL;
	avail = len - off;
	/* every row but the last is whole; the last is whatever remains */
	if (rows > 0 &&
	    (avail % 2 || avail <= (uint64_t)(rows - 1) * ring->nparts * 2 ||
	     avail > (uint64_t)rows * ring->nparts * 2)) {
		log_err("%s: the partition table holds %zu bytes, which does "
			"not fit %d rows of %u partitions (truncated?)",
			what, avail, rows, ring->nparts);
		goto out;
	}
	rc = fill_rows(ring, u + off, avail / 2, 2, big, what);
out:
	json_decref(meta);
	return rc;
trunc:
	log_err("%s: truncated ring header", what);
	return -EINVAL;
}

/* Find a v2 section's blob, checking its length and checksum. */
static int v2_section(json_t *index, const char *name, const uint8_t *u,
		      size_t len, const uint8_t **data, uint64_t *dlen,
		      const char *what)
{
	json_t *e = json_object_get(index, name);
	const char *method, *want;
	uint64_t start, blen;
	uint8_t md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int mdlen, i;
	const EVP_MD *type;

	if (!json_is_array(e) || json_array_size(e) < 6 ||
	    !json_is_integer(json_array_get(e, 1))) {
		log_err("%s: v2 ring has no section %s", what, name);
		return -EINVAL;
	}
	start = (uint64_t)json_integer_value(json_array_get(e, 1));
	if (start > len || len - start < 8)
		goto trunc;
	blen = be64_read(u + start);
	if (blen > len - start - 8)
		goto trunc;
	*data = u + start + 8;
	*dlen = blen;
	method = json_string_value(json_array_get(e, 4));
	want = json_string_value(json_array_get(e, 5));
	if (!method || !want)
		return 0;
	if (strcmp(method, "md5") && strcmp(method, "sha1") &&
	    strcmp(method, "sha256") && strcmp(method, "sha512"))
		return 0; /* unknown methods are ignored, as Swift does */
	type = EVP_get_digestbyname(method);
	if (!type ||
	    EVP_Digest(u + start, blen + 8, md, &mdlen, type, NULL) != 1)
		return -EIO;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, want) != 0) {
		log_err("%s: section %s fails its %s checksum", what, name,
			method);
		return -EINVAL;
	}
	return 0;
trunc:
	log_err("%s: section %s runs past the end of the file", what, name);
	return -EINVAL;
}

static int parse_v2(struct ring *ring, const uint8_t *u, size_t len,
		    const char *what)
{
	json_t *index = NULL, *meta = NULL, *devs = NULL;
	json_error_t jerr;
	const uint8_t *d;
	uint64_t istart, ilen, dlen;
	int rc = -EINVAL, width;

	if (len < 6 + 16 + 8)
		goto trunc;
	istart = be64_read(u + len - 16);
	if (istart > len - 16 || len - 16 - istart < 8)
		goto trunc;
	ilen = be64_read(u + istart);
	if (ilen > len - 16 - istart - 8)
		goto trunc;
	index = json_loadb((const char *)u + istart + 8, ilen, 0, &jerr);
	if (!json_is_object(index)) {
		log_err("%s: v2 ring index is not JSON: %s", what, jerr.text);
		goto out;
	}
	rc = v2_section(index, "swift/ring/metadata", u, len, &d, &dlen, what);
	if (rc)
		goto out;
	meta = json_loadb((const char *)d, dlen, 0, &jerr);
	rc = -EINVAL;
	if (!json_is_object(meta)) {
		log_err("%s: v2 ring metadata is not JSON: %s", what,
			jerr.text);
		goto out;
	}
	rc = set_part_shift(ring, meta, what);
	if (rc)
		goto out;
	rc = -EINVAL;
	if (json_int_field(meta, "dev_id_bytes", -1, &width) ||
	    (width != 2 && width != 4 && width != 8)) {
		log_err("%s: dev_id_bytes must be 2, 4 or 8", what);
		goto out;
	}
	rc = v2_section(index, "swift/ring/devices", u, len, &d, &dlen, what);
	if (rc)
		goto out;
	devs = json_loadb((const char *)d, dlen, 0, &jerr);
	rc = parse_devs(ring, devs, what);
	if (rc)
		goto out;
	rc = v2_section(index, "swift/ring/assignments", u, len, &d, &dlen,
			what);
	if (rc)
		goto out;
	if (dlen % (uint64_t)width) {
		log_err("%s: v2 assignment table has a bad length", what);
		rc = -EINVAL;
		goto out;
	}
	rc = fill_rows(ring, d, dlen / (uint64_t)width, width, 1, what);
out:
	json_decref(devs);
	json_decref(meta);
	json_decref(index);
	return rc;
trunc:
	log_err("%s: truncated v2 ring", what);
	return -EINVAL;
}

int ring_parse(const uint8_t *data, size_t len, const char *what,
	       struct ring **out)
{
	struct buf u = BUF_INIT;
	struct ring *ring = NULL;
	uint16_t version;
	int rc;

	rc = gzip_decompress(data, len, RING_MAX_FILE, &u);
	if (rc) {
		log_err("%s: not a readable gzip file (%s)", what,
			rc == -EFBIG ? "too large" : "corrupt or truncated");
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto out;
	}
	if (u.len < 6 || memcmp(u.data, "R1NG", 4) != 0) {
		log_err("%s: not a ring file (no R1NG magic)", what);
		rc = -EINVAL;
		goto out;
	}
	version = be16_read(u.data + 4);
	ring = ring_alloc();
	if (!ring) {
		rc = -ENOMEM;
		goto out;
	}
	if (version == 1) {
		rc = parse_v1(ring, u.data, u.len, what);
	} else if (version == 2) {
		rc = parse_v2(ring, u.data, u.len, what);
	} else {
		log_err("%s: unknown ring format version %u", what, version);
		rc = -EINVAL;
	}
	if (!rc && ring->nrows == 0) {
		/* a builder's ring may be empty; a ring file must not be */
		log_err("%s: the ring has no partition table", what);
		rc = -EINVAL;
	}
	if (!rc)
		rc = ring_finish(ring, what);
	if (!rc) {
		*out = ring;
		ring = NULL;
	}
out:
	ring_put(ring);
	buf_free(&u);
	return rc;
}

int ring_load(const char *path, struct ring **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	rc = fs_read_file(path, RING_MAX_FILE, &data, &len);
	if (rc) {
		errno = -rc;
		log_err("cannot read ring %s: %m", path);
		return rc;
	}
	rc = ring_parse(data, len, path, out);
	free(data);
	return rc;
}

int ring_reload(const char *path, struct ring_stamp *stamp, struct ring **out)
{
	struct ring_stamp now = {0};
	struct stat st;

	*out = NULL;
	if (stat(path, &st) == -1) {
		int rc = -errno;

		/* a file that comes back is loaded, even with the old stamp */
		if (stamp->ino || stamp->size) {
			log_err("cannot stat ring %s: %m", path);
			memset(stamp, 0, sizeof(*stamp));
		}
		return rc;
	}
	now.mtime = st.st_mtim;
	now.size = st.st_size;
	now.ino = st.st_ino;
	if (now.mtime.tv_sec == stamp->mtime.tv_sec &&
	    now.mtime.tv_nsec == stamp->mtime.tv_nsec &&
	    now.size == stamp->size && now.ino == stamp->ino)
		return 0;
	/* stamped before loading: a bad file is tried (and logged) once */
	*stamp = now;
	return ring_load(path, out) ?: 1;
}

static int serialize_dev(struct buf *b, const struct ring_dev *d)
{
	int rc = 0;

	if (!d)
		return buf_printf(b, "null");
	rc |= buf_printf(b, "{\"device\": ");
	rc |= pyjson_string(b, d->device);
	rc |= buf_printf(b, ", \"id\": %d, \"ip\": ", d->id);
	rc |= pyjson_string(b, d->ip);
	rc |= buf_printf(b, ", \"meta\": ");
	rc |= pyjson_string(b, d->meta);
	rc |= buf_printf(b,
			 ", \"port\": %d, \"region\": %d, "
			 "\"replication_ip\": ",
			 d->port, d->region);
	rc |= pyjson_string(b, d->replication_ip);
	rc |= buf_printf(b, ", \"replication_port\": %d, \"weight\": ",
			 d->replication_port);
	rc |= pyjson_float(b, d->weight);
	rc |= buf_printf(b, ", \"zone\": %d}", d->zone);
	return rc ? -ENOMEM : 0;
}

int ring_serialize_v1(const struct ring *ring, const char *path,
		      struct buf *out)
{
	struct buf raw = BUF_INIT, js = BUF_INIT;
	const char *base = strrchr(path, '/');
	char gz_name[256];
	size_t n;
	int r, rc = 0;

	/* Python's GzipFile records the file name without ".gz" */
	snprintf(gz_name, sizeof(gz_name), "%s", base ? base + 1 : path);
	n = strlen(gz_name);
	if (n > 3 && strcmp(gz_name + n - 3, ".gz") == 0)
		gz_name[n - 3] = '\0';

	rc |= buf_printf(&js, "{\"byteorder\": \"little\", \"devs\": [");
	for (r = 0; r < ring->ndevs && !rc; r++) {
		if (r)
			rc |= buf_printf(&js, ", ");
		rc |= serialize_dev(&js, ring->devs[r]);
	}
	rc |= buf_printf(&js, "]");
	if (ring->next_part_power >= 0)
		rc |= buf_printf(&js, ", \"next_part_power\": %d",
				 ring->next_part_power);
	rc |= buf_printf(&js, ", \"part_shift\": %d, \"replica_count\": %d",
			 ring->part_shift, ring->nrows);
	if (ring->version >= 0)
		rc |= buf_printf(&js, ", \"version\": %d", ring->version);
	rc |= buf_printf(&js, "}");
	if (rc) {
		rc = -ENOMEM;
		goto out;
	}
	rc |= buf_append(&raw, "R1NG", 4);
	rc |= buf_put_be16(&raw, 1);
	rc |= buf_put_be32(&raw, (uint32_t)js.len);
	rc |= buf_append(&raw, js.data, js.len);
	for (r = 0; r < ring->nrows && !rc; r++) {
		uint32_t p;

		rc = buf_reserve(&raw, (size_t)ring->row_len[r] * 2);
		for (p = 0; p < ring->row_len[r] && !rc; p++) {
			raw.data[raw.len++] = (uint8_t)ring->rows[r][p];
			raw.data[raw.len++] = (uint8_t)(ring->rows[r][p] >> 8);
		}
	}
	if (rc) {
		rc = -ENOMEM;
		goto out;
	}
	/* level 9, as Python's GzipFile: the bytes equal Swift's */
	rc = gzip_compress(raw.data, raw.len, gz_name, RING_GZ_MTIME, 9, out);
out:
	buf_free(&raw);
	buf_free(&js);
	return rc;
}

int ring_save(const struct ring *ring, const char *path)
{
	struct buf gz = BUF_INIT;
	int rc;

	rc = ring_serialize_v1(ring, path, &gz);
	if (!rc)
		rc = fs_write_atomic(path, gz.data, gz.len, 0644);
	else
		log_err("cannot serialize ring for %s", path);
	buf_free(&gz);
	return rc;
}
