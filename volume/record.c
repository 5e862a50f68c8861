/*
 * volume/record.c: the volume core's records in the cluster: the disk
 * record (size, generation and chunk map of one disk), the family record
 * (which disks may share chunks), chunk object names, and disk ids.
 * Locking, caching and when to write are the callers' (io.c, volume.c).
 *
 * Disk record, object disks/<id>, all integers big-endian:
 *
 *   "KUMOVOL1"                 8 bytes magic
 *   chunk_size u32, size u64, gen u32, flags u32
 *   family:  u16 length + bytes
 *   nowners u16, then each owner id: u16 length + bytes (owners[0] = id)
 *   nentries u32, then per allocated index: index u32, owner u16 (1-based
 *   into owners), gen u32
 *
 * Only allocated indexes are listed (a fresh disk's record is ~60 bytes);
 * an index absent from the list is a hole: it reads as zeros. Entry
 * (owner k, gen g) at index i means the data is chunks/<owners[k-1]>/<g>/<i>.
 *
 * Family record, object families/<fid> (fid: the id of the first disk),
 * text: "kumo-family 1\n", then "member <id>\n" for each disk whose map may
 * reference chunks of the family, and "dead <id>\n" for each deleted disk
 * that still owns chunks some member references.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/objclient.h"
#include "volume/vcore.h"

#define REC_MAGIC     "KUMOVOL1"
#define REC_MAX_BYTES (64u << 20) /* 6.4M entries: a record larger is bad */
#define FAM_MAX_BYTES (1u << 20)

/* Non-zero when id is 1..VOL_ID_MAX characters of [A-Za-z0-9-]. */
int vol_id_valid(const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > VOL_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = id[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
	}
	return 1;
}

/* Chunks of a disk of size bytes. */
uint32_t vol_nchunks(uint64_t size, uint32_t chunk_size)
{
	return (uint32_t)((size + chunk_size - 1) / chunk_size);
}

/* "<owner>/<gen>/<index>" into out (VOL_CHUNK_NAME_MAX bytes). */
void vol_chunk_name(char *out, const char *owner, uint32_t gen, uint32_t index)
{
	snprintf(out, VOL_CHUNK_NAME_MAX, "%s/%08x/%08x", owner, gen, index);
}

/* The parts of a chunk object name; -EINVAL when it is not one. */
int vol_chunk_name_parse(const char *name, vol_id owner, uint32_t *gen,
			 uint32_t *index)
{
	const char *slash = strchr(name, '/');
	char *end;
	size_t n;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - name);
	if (n == 0 || n > VOL_ID_MAX || strlen(slash) != 18 || slash[9] != '/')
		return -EINVAL;
	memcpy(owner, name, n);
	owner[n] = '\0';
	*gen = (uint32_t)strtoul(slash + 1, &end, 16);
	if (end != slash + 9)
		return -EINVAL;
	*index = (uint32_t)strtoul(slash + 10, &end, 16);
	if (*end)
		return -EINVAL;
	return 0;
}

/* An empty record (every index a hole) of a new disk. 0 or -ENOMEM. */
int vol_record_init(struct vol_record *r, const char *id, const char *family,
		    uint64_t size, uint32_t chunk_size)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->family, sizeof(r->family), "%s", family);
	r->size = size;
	r->chunk_size = chunk_size;
	r->nowners = 1;
	r->owners = calloc(1, sizeof(vol_id));
	r->nchunks = vol_nchunks(size, chunk_size);
	r->map = calloc(r->nchunks ? r->nchunks : 1, sizeof(*r->map));
	if (!r->owners || !r->map) {
		vol_record_free(r);
		return -ENOMEM;
	}
	snprintf(r->owners[0], sizeof(vol_id), "%s", id);
	return 0;
}

/* Grow the record to size bytes (new indexes are holes). 0 or -ENOMEM. */
int vol_record_resize(struct vol_record *r, uint64_t size)
{
	uint32_t n = vol_nchunks(size, r->chunk_size);
	struct vol_ref *map;

	if (n > r->nchunks) {
		map = realloc(r->map, n * sizeof(*map));
		if (!map)
			return -ENOMEM;
		memset(map + r->nchunks, 0, (n - r->nchunks) * sizeof(*map));
		r->map = map;
		r->nchunks = n;
	}
	r->size = size;
	return 0;
}

/*
 * A new record id of size bytes (>= src's) whose map references what src's
 * does: owners become [id] + the owners src's map uses. The new disk's own
 * generation is 0 (it owns no chunk yet). 0 or -ENOMEM; *out is the
 * caller's.
 */
int vol_record_derive(const struct vol_record *src, const char *id,
		      uint64_t size, uint32_t flags, struct vol_record *out)
{
	uint16_t *remap = NULL;
	uint32_t i;
	int rc;

	rc = vol_record_init(out, id, src->family, size, src->chunk_size);
	if (rc)
		return rc;
	out->flags = flags;
	remap = calloc(src->nowners + 1, sizeof(*remap));
	if (!remap) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < src->nchunks && i < out->nchunks; i++) {
		uint16_t o = src->map[i].owner;

		if (!o)
			continue;
		if (!remap[o]) {
			vol_id *ow = realloc(out->owners, (out->nowners +
							   1) * sizeof(vol_id));

			if (!ow) {
				rc = -ENOMEM;
				goto cleanup;
			}
			out->owners = ow;
			memcpy(ow[out->nowners], src->owners[o - 1],
			       sizeof(vol_id));
			remap[o] = (uint16_t)++out->nowners;
		}
		out->map[i].owner = remap[o];
		out->map[i].gen = src->map[i].gen;
	}
cleanup:
	free(remap);
	if (rc)
		vol_record_free(out);
	return rc;
}

void vol_record_free(struct vol_record *r)
{
	free(r->owners);
	free(r->map);
	r->owners = NULL;
	r->map = NULL;
	r->nowners = r->nchunks = 0;
}

static int put_str16(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	int rc = buf_put_be16(b, (uint16_t)n);

	return rc ? rc : buf_append(b, s, n);
}

/* The record in its stored form, appended to out. 0 or -ENOMEM. */
int vol_record_encode(const struct vol_record *r, struct buf *out)
{
	uint32_t i, n = 0;
	int rc;

	for (i = 0; i < r->nchunks; i++)
		n += r->map[i].owner != 0;
	rc = buf_reserve(out, 64 + r->nowners * (VOL_ID_MAX + 2) + n * 10);
	if (rc)
		return rc;
	buf_append(out, REC_MAGIC, 8);
	buf_put_be32(out, r->chunk_size);
	buf_put_be64(out, r->size);
	buf_put_be32(out, r->gen);
	buf_put_be32(out, r->flags);
	put_str16(out, r->family);
	buf_put_be16(out, (uint16_t)r->nowners);
	for (i = 0; i < r->nowners; i++)
		put_str16(out, r->owners[i]);
	buf_put_be32(out, n);
	for (i = 0; i < r->nchunks; i++) {
		if (!r->map[i].owner)
			continue;
		buf_put_be32(out, i);
		buf_put_be16(out, r->map[i].owner);
		rc = buf_put_be32(out, r->map[i].gen);
		if (rc)
			return rc;
	}
	return 0;
}

/* Read a u16-prefixed id at *p; -EINVAL when it does not fit or is bad. */
static int get_id(const uint8_t **p, const uint8_t *end, vol_id out)
{
	size_t n;

	if (end - *p < 2)
		return -EINVAL;
	n = be16_read(*p);
	*p += 2;
	if (n > VOL_ID_MAX || (size_t)(end - *p) < n)
		return -EINVAL;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return vol_id_valid(out) ? 0 : -EINVAL;
}

/* Parse a stored record into *r (the caller frees it). 0, -EINVAL when
 * the bytes are not a record, -ENOMEM. */
int vol_record_decode(const uint8_t *p, size_t len, struct vol_record *r)
{
	const uint8_t *end = p + len;
	vol_id id, family;
	uint32_t cs, gen, flags, nowners, n, i;
	uint64_t size;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len < 28 || memcmp(p, REC_MAGIC, 8))
		return -EINVAL;
	cs = be32_read(p + 8);
	size = be64_read(p + 12);
	gen = be32_read(p + 20);
	flags = be32_read(p + 24);
	p += 28;
	if (cs < 4096 || (cs & (cs - 1)) || size / cs >= UINT32_MAX)
		return -EINVAL;
	rc = get_id(&p, end, family);
	if (rc)
		return rc;
	if (end - p < 2)
		return -EINVAL;
	nowners = be16_read(p);
	p += 2;
	if (nowners < 1)
		return -EINVAL;
	rc = get_id(&p, end, id);
	if (rc)
		return rc;
	rc = vol_record_init(r, id, family, size, cs);
	if (rc)
		return rc;
	r->gen = gen;
	r->flags = flags;
	r->owners = realloc(r->owners, nowners * sizeof(vol_id));
	if (!r->owners) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (i = 1; i < nowners; i++) {
		rc = get_id(&p, end, r->owners[i]);
		if (rc)
			goto cleanup;
	}
	r->nowners = nowners;
	rc = -EINVAL;
	if (end - p < 4)
		goto cleanup;
	n = be32_read(p);
	p += 4;
	if ((size_t)(end - p) != (size_t)n * 10)
		goto cleanup;
	for (i = 0; i < n; i++, p += 10) {
		uint32_t idx = be32_read(p);
		uint16_t o = be16_read(p + 4);

		if (idx >= r->nchunks || o < 1 || o > nowners)
			goto cleanup;
		r->map[idx].owner = o;
		r->map[idx].gen = be32_read(p + 6);
	}
	rc = 0;
cleanup:
	if (rc)
		vol_record_free(r);
	return rc;
}

/* Load disks/<id>. 0, -ENOENT, -EIO (also for a record that is corrupt:
 * logged), -ENOMEM. */
int vol_record_load(struct vol_store *s, const char *id, struct vol_record *r)
{
	struct buf b = BUF_INIT;
	int rc;

	rc = oc_get(s->conf.cluster, s->account, VOL_CONT_DISKS, id, &b, NULL);
	if (rc)
		goto cleanup;
	rc = vol_record_decode(b.data, b.len, r);
	if (rc == -EINVAL) {
		log_err("disk record %s/%s/%s is corrupt", s->account,
			VOL_CONT_DISKS, id);
		rc = -EIO;
	}
cleanup:
	buf_free(&b);
	return rc;
}

/* Store disks/<id> (quorum, fsynced). 0 or -errno. */
int vol_record_save(struct vol_store *s, const struct vol_record *r)
{
	struct buf b = BUF_INIT;
	int rc;

	rc = vol_record_encode(r, &b);
	if (!rc)
		rc = oc_put(s->conf.cluster, s->account, VOL_CONT_DISKS, r->id,
			    b.data, b.len, NULL);
	buf_free(&b);
	return rc;
}

/* --- id lists ------------------------------------------------------------ */

int vol_idlist_find(const struct vol_idlist *l, const char *id)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->ids[i], id))
			return i;
	return -1;
}

/* Add id unless present. 0 or -ENOMEM. */
int vol_idlist_add(struct vol_idlist *l, const char *id)
{
	if (vol_idlist_find(l, id) >= 0)
		return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		vol_id *ids = realloc(l->ids, (size_t)cap * sizeof(vol_id));

		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		l->cap = cap;
	}
	snprintf(l->ids[l->n++], sizeof(vol_id), "%s", id);
	return 0;
}

void vol_idlist_del(struct vol_idlist *l, const char *id)
{
	int i = vol_idlist_find(l, id);

	if (i < 0)
		return;
	memmove(l->ids[i], l->ids[i + 1],
		(size_t)(l->n - i - 1) * sizeof(vol_id));
	l->n--;
}

void vol_idlist_free(struct vol_idlist *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

/* --- family records ------------------------------------------------------ */

/* Load families/<fid> into two empty lists. 0, -ENOENT, -EIO, -ENOMEM. */
int vol_family_load(struct vol_store *s, const char *fid,
		    struct vol_idlist *members, struct vol_idlist *dead)
{
	struct buf b = BUF_INIT;
	char *line, *save = NULL;
	int rc;

	rc = oc_get(s->conf.cluster, s->account, VOL_CONT_FAMILIES, fid, &b,
		    NULL);
	if (rc)
		goto cleanup;
	if (b.len > FAM_MAX_BYTES || buf_append(&b, "", 1)) {
		rc = -EIO;
		goto cleanup;
	}
	if (strncmp((char *)b.data, "kumo-family 1\n", 14)) {
		log_err("family record %s is corrupt", fid);
		rc = -EIO;
		goto cleanup;
	}
	for (line = strtok_r((char *)b.data + 14, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "member ", 7) && vol_id_valid(line + 7))
			rc = vol_idlist_add(members, line + 7);
		else if (!strncmp(line, "dead ", 5) && vol_id_valid(line + 5))
			rc = vol_idlist_add(dead, line + 5);
		else {
			log_err("family record %s: bad line '%s'", fid, line);
			rc = -EIO;
		}
	}
cleanup:
	buf_free(&b);
	return rc;
}

/* Store families/<fid>, or delete it when both lists are empty. */
int vol_family_save(struct vol_store *s, const char *fid,
		    const struct vol_idlist *members,
		    const struct vol_idlist *dead)
{
	struct buf b = BUF_INIT;
	int i, rc;

	if (!members->n && !dead->n) {
		rc = oc_delete(s->conf.cluster, s->account, VOL_CONT_FAMILIES,
			       fid);
		return rc == -ENOENT ? 0 : rc;
	}
	rc = buf_printf(&b, "kumo-family 1\n");
	for (i = 0; i < members->n && !rc; i++)
		rc = buf_printf(&b, "member %s\n", members->ids[i]);
	for (i = 0; i < dead->n && !rc; i++)
		rc = buf_printf(&b, "dead %s\n", dead->ids[i]);
	if (!rc)
		rc = oc_put(s->conf.cluster, s->account, VOL_CONT_FAMILIES, fid,
			    b.data, b.len, NULL);
	buf_free(&b);
	return rc;
}
