/*
 * volume/volume.c: the volume core's store (volume.h): disks created,
 * snapshotted, cloned, imported, extended, deleted and opened. The I/O of
 * an open disk is io.c's, the stored formats record.c's, freeing shared
 * chunks gc.c's, threads pool.c's.
 *
 * Changes to disk records and families run under the store lock (one
 * volumed owns a store). Each writes in the order that keeps the stored
 * state safe if it stops half-way:
 *   snapshot/clone: bump the source's generation (so it never again
 *     overwrites the chunks the copy shares), add the copy to the family,
 *     then write the copy's record;
 *   create/import: the family, the chunk objects, then the record;
 *   delete: the family (id moves to the dead list), the record, then the
 *     chunks nothing references (gc.c).
 * A family member without a record (a copy that never finished) is
 * dropped by the next collection; a dead owner keeps its id reserved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/objclient.h"
#include "volume/vcore.h"

#define DEF_CHUNK_SIZE	(4u << 20)
#define DEF_CACHE_BYTES (256ull << 20)
#define DEF_DIRTY_BYTES (64ull << 20)

/* The open disk id, or NULL. Store lock held. */
struct vol_disk *vol_store_find_open(struct vol_store *s, const char *id)
{
	struct vol_disk *d;

	for (d = s->disks; d; d = d->next)
		if (!strcmp(d->rec.id, id))
			return d;
	return NULL;
}

int vol_store_open(const struct vol_store_conf *conf, struct vol_store **out)
{
	static const char *conts[] = {VOL_CONT_DISKS, VOL_CONT_FAMILIES,
				      VOL_CONT_CHUNKS};
	struct vol_store *s;
	size_t i;
	int rc;

	*out = NULL;
	if (!conf->cluster || !conf->account || !*conf->account ||
	    strlen(conf->account) >= sizeof(s->account) ||
	    strchr(conf->account, '/'))
		return -EINVAL;
	if (conf->chunk_size && (conf->chunk_size < 4096 ||
				 (conf->chunk_size & (conf->chunk_size - 1))))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->conf = *conf;
	snprintf(s->account, sizeof(s->account), "%s", conf->account);
	s->conf.account = s->account;
	if (!s->conf.chunk_size)
		s->conf.chunk_size = DEF_CHUNK_SIZE;
	if (!s->conf.cache_bytes)
		s->conf.cache_bytes = DEF_CACHE_BYTES;
	if (!s->conf.dirty_bytes)
		s->conf.dirty_bytes = DEF_DIRTY_BYTES;
	s->zeros = calloc(1, s->conf.chunk_size);
	if (!s->zeros) {
		free(s);
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(conts) / sizeof(conts[0]); i++) {
		rc = oc_container_create(s->conf.cluster, s->account, conts[i]);
		if (rc) {
			log_err("cannot create %s/%s: %s", s->account, conts[i],
				strerror(-rc));
			free(s->zeros);
			free(s);
			return rc;
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->cache_lock, NULL);
	pthread_mutex_init(&s->spare_lock, NULL);
	vol_link_init(&s->lru);
	vol_link_init(&s->dirty);
	pthread_mutex_init(&s->dirty_lock, NULL);
	pthread_cond_init(&s->dirty_cond, NULL);
	rc = vol_pool_start(&s->pool, VOL_WORKERS);
	if (rc) {
		pthread_cond_destroy(&s->dirty_cond);
		pthread_mutex_destroy(&s->dirty_lock);
		pthread_mutex_destroy(&s->spare_lock);
		pthread_mutex_destroy(&s->cache_lock);
		pthread_mutex_destroy(&s->lock);
		free(s->zeros);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void vol_store_close(struct vol_store *s)
{
	struct vol_disk *d;

	if (!s)
		return;
	/* no disk should be open; flush and free any that is */
	while ((d = s->disks)) {
		log_warn("disk %s still open at store close", d->rec.id);
		s->disks = d->next;
		vol_disk_flush_all(d);
		vol_disk_free(d);
	}
	vol_pool_stop(&s->pool);
	vol_spares_free(s);
	pthread_cond_destroy(&s->dirty_cond);
	pthread_mutex_destroy(&s->dirty_lock);
	pthread_mutex_destroy(&s->spare_lock);
	pthread_mutex_destroy(&s->cache_lock);
	pthread_mutex_destroy(&s->lock);
	free(s->zeros);
	free(s);
}

static int exists_cb(void *arg, const char *name, uint64_t size,
		     const char *etag)
{
	(void)arg;
	(void)name;
	(void)size;
	(void)etag;
	return 1;
}

/* 0 when id is free: no record, no family, no chunk named after it (a
 * deleted disk's id stays taken while its chunks live). -EEXIST, -errno. */
static int id_free(struct vol_store *s, const char *id)
{
	char prefix[VOL_ID_MAX + 2];
	int rc;

	if (!vol_id_valid(id))
		return -EINVAL;
	rc = oc_head(s->conf.cluster, s->account, VOL_CONT_DISKS, id, NULL);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	rc = oc_head(s->conf.cluster, s->account, VOL_CONT_FAMILIES, id, NULL);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	snprintf(prefix, sizeof(prefix), "%s/", id);
	rc = oc_list(s->conf.cluster, s->account, VOL_CONT_CHUNKS, prefix, NULL,
		     exists_cb, NULL);
	return rc == 1 ? -EEXIST : rc;
}

/* Add id to family fid's members (a new family when create). */
static int family_join(struct vol_store *s, const char *fid, const char *id,
		       int create)
{
	struct vol_idlist members = {0}, dead = {0};
	int rc = 0;

	if (!create)
		rc = vol_family_load(s, fid, &members, &dead);
	if (rc == -ENOENT) {
		log_warn("family %s has no record: starting it again", fid);
		rc = 0;
	}
	if (!rc)
		rc = vol_idlist_add(&members, id);
	if (!rc)
		rc = vol_family_save(s, fid, &members, &dead);
	vol_idlist_free(&members);
	vol_idlist_free(&dead);
	return rc;
}

static int check_size(uint64_t size)
{
	return size && !(size % 512) && size / 4096 < UINT32_MAX ? 0 : -EINVAL;
}

int vol_disk_create(struct vol_store *s, const char *id, uint64_t size)
{
	struct vol_record r = {0};
	int rc = check_size(size);

	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	rc = id_free(s, id);
	if (!rc)
		rc = family_join(s, id, id, 1);
	if (!rc)
		rc = vol_record_init(&r, id, id, size, s->conf.chunk_size);
	if (!rc)
		rc = vol_record_save(s, &r);
	pthread_mutex_unlock(&s->lock);
	vol_record_free(&r);
	return rc;
}

/*
 * The copy behind snapshot and clone: new_id gets src's content (flushed,
 * frozen by a generation bump) with size and flags. size 0: src's size.
 */
static int copy_disk(struct vol_store *s, const char *src, const char *new_id,
		     uint64_t size, uint32_t flags)
{
	struct vol_record sr = {0}, nr = {0};
	struct vol_disk *d;
	int rc;

	if (!vol_id_valid(src))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	rc = id_free(s, new_id);
	if (rc)
		goto cleanup;
	d = vol_store_find_open(s, src);
	if (d) {
		uint64_t cur;

		vol_disk_count(d, &cur, NULL);
		if (size && size < cur) {
			rc = -EINVAL;
			goto cleanup;
		}
		rc = vol_disk_freeze(d, new_id, size ? size : cur, flags, &nr);
		if (rc)
			goto cleanup;
		snprintf(sr.family, sizeof(sr.family), "%s", d->rec.family);
	} else {
		rc = vol_record_load(s, src, &sr);
		if (rc)
			goto cleanup;
		if (size && size < sr.size) {
			rc = -EINVAL;
			goto cleanup;
		}
		if (!(sr.flags & VOL_REC_SNAPSHOT)) {
			sr.gen++;
			rc = vol_record_save(s, &sr);
			if (rc)
				goto cleanup;
		}
		rc = vol_record_derive(&sr, new_id, size ? size : sr.size,
				       flags, &nr);
		if (rc)
			goto cleanup;
	}
	rc = family_join(s, sr.family, new_id, 0);
	if (!rc)
		rc = vol_record_save(s, &nr);
cleanup:
	pthread_mutex_unlock(&s->lock);
	vol_record_free(&sr);
	vol_record_free(&nr);
	return rc;
}

int vol_disk_snapshot(struct vol_store *s, const char *src, const char *snap_id)
{
	return copy_disk(s, src, snap_id, 0, VOL_REC_SNAPSHOT);
}

int vol_disk_clone(struct vol_store *s, const char *src, const char *id,
		   uint64_t size)
{
	int rc = check_size(size);

	return rc ? rc : copy_disk(s, src, id, size, 0);
}

/* --- import ---------------------------------------------------------------- */

struct import_arg {
	struct vol_store *s;
	struct vol_record *r;
	const char *account, *container, *object;
	uint32_t idx;
};

/* One chunk of the image: read, and stored unless it is all zeros, with
 * its XXH3-128 as its ETag as io.c stores chunks (no MD5 pass). The map
 * entry is set by this job only (one index each). */
static int import_job(void *arg)
{
	static const struct oc_put_opts chunk_opts = {.xxh_etag = 1};
	struct import_arg *a = arg;
	struct vol_store *s = a->s;
	uint32_t cs = a->r->chunk_size;
	char name[VOL_CHUNK_NAME_MAX];
	uint8_t *buf = malloc(cs);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	n = oc_get_range(s->conf.cluster, a->account, a->container, a->object,
			 buf, cs, (uint64_t)a->idx * cs);
	if (n < 0) {
		rc = (int)n;
		log_err("import %s: cannot read %s/%s/%s at chunk %u: %s",
			a->r->id, a->account, a->container, a->object, a->idx,
			strerror(-rc));
		goto cleanup;
	}
	if ((size_t)n < cs)
		memset(buf + n, 0, cs - (size_t)n);
	if (!memcmp(buf, s->zeros, cs))
		goto cleanup;
	vol_chunk_name(name, a->r->id, a->r->gen, a->idx);
	rc = oc_put(s->conf.cluster, s->account, VOL_CONT_CHUNKS, name, buf, cs,
		    &chunk_opts);
	if (rc) {
		log_err("import %s: cannot write chunk %s: %s", a->r->id, name,
			strerror(-rc));
		goto cleanup;
	}
	a->r->map[a->idx].owner = 1;
	a->r->map[a->idx].gen = a->r->gen;
cleanup:
	free(buf);
	return rc;
}

int vol_disk_import(struct vol_store *s, const char *id, uint64_t size,
		    const char *account, const char *container,
		    const char *object)
{
	struct import_arg *args = NULL;
	struct vol_record r = {0};
	struct oc_info info;
	struct vol_batch b;
	uint32_t i, n;
	int rc = check_size(size), rc2;

	if (rc)
		return rc;
	rc = oc_head(s->conf.cluster, account, container, object, &info);
	if (rc)
		return rc;
	if (info.size > size)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	rc = id_free(s, id);
	if (!rc)
		rc = family_join(s, id, id, 1);
	if (!rc)
		rc = vol_record_init(&r, id, id, size, s->conf.chunk_size);
	if (rc)
		goto cleanup;
	n = vol_nchunks(info.size, r.chunk_size);
	args = calloc(n ? n : 1, sizeof(*args));
	if (!args) {
		rc = -ENOMEM;
		goto cleanup;
	}
	vol_batch_init(&b);
	for (i = 0; i < n; i++) {
		args[i] = (struct import_arg){s,	 &r,	 account,
					      container, object, i};
		if (vol_pool_submit(&s->pool, import_job, &args[i], &b)) {
			rc2 = import_job(&args[i]);
			if (rc2 && !rc)
				rc = rc2;
		}
	}
	rc2 = vol_batch_wait(&b);
	if (!rc)
		rc = rc2;
	if (!rc)
		rc = vol_record_save(s, &r);
cleanup:
	pthread_mutex_unlock(&s->lock);
	free(args);
	vol_record_free(&r);
	return rc;
}

/* --- the rest -------------------------------------------------------------- */

int vol_disk_extend(struct vol_store *s, const char *id, uint64_t size)
{
	struct vol_record r = {0};
	struct vol_disk *d;
	int rc = check_size(size);

	if (rc)
		return rc;
	if (!vol_id_valid(id))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	d = vol_store_find_open(s, id);
	if (d) {
		rc = vol_disk_grow(d, size);
		goto cleanup;
	}
	rc = vol_record_load(s, id, &r);
	if (!rc && size < r.size)
		rc = -EINVAL;
	if (!rc)
		rc = vol_record_resize(&r, size);
	if (!rc)
		rc = vol_record_save(s, &r);
cleanup:
	pthread_mutex_unlock(&s->lock);
	vol_record_free(&r);
	return rc;
}

int vol_disk_delete(struct vol_store *s, const char *id)
{
	struct vol_idlist members = {0}, dead = {0};
	struct vol_record r = {0};
	int rc;

	if (!vol_id_valid(id))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (vol_store_find_open(s, id)) {
		rc = -EBUSY;
		goto cleanup;
	}
	rc = vol_record_load(s, id, &r);
	if (rc == -ENOENT) {
		/* a create or import that stopped half-way (or a delete whose
		 * collection failed) left its own family: finish it */
		rc = vol_family_load(s, id, &members, &dead);
		if (!rc && vol_idlist_find(&members, id) < 0 &&
		    vol_idlist_find(&dead, id) < 0)
			rc = -ENOENT;
		if (rc)
			goto cleanup;
		snprintf(r.family, sizeof(r.family), "%s", id);
	} else if (!rc) {
		rc = vol_family_load(s, r.family, &members, &dead);
	}
	if (rc && rc != -ENOENT)
		goto cleanup;
	if (rc == -ENOENT) {
		log_warn("disk %s: family %s has no record", id, r.family);
		rc = vol_idlist_add(&members, id);
	}
	vol_idlist_del(&members, id);
	if (!rc)
		rc = vol_idlist_add(&dead, id);
	if (!rc)
		rc = vol_family_save(s, r.family, &members, &dead);
	if (!rc) {
		rc = oc_delete(s->conf.cluster, s->account, VOL_CONT_DISKS, id);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (!rc)
		rc = vol_gc_family(s, r.family, &members, &dead);
cleanup:
	pthread_mutex_unlock(&s->lock);
	vol_idlist_free(&members);
	vol_idlist_free(&dead);
	vol_record_free(&r);
	return rc;
}

int vol_disk_stat(struct vol_store *s, const char *id, uint64_t *size,
		  uint64_t *allocated)
{
	struct vol_record r = {0};
	struct vol_disk *d;
	uint32_t i;
	uint64_t n = 0;
	int rc = 0;

	if (!vol_id_valid(id))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	d = vol_store_find_open(s, id);
	if (d) {
		rc = vol_disk_count(d, size, allocated);
		goto cleanup;
	}
	rc = vol_record_load(s, id, &r);
	if (rc)
		goto cleanup;
	for (i = 0; i < r.nchunks; i++)
		n += r.map[i].owner != 0;
	if (size)
		*size = r.size;
	if (allocated)
		*allocated = n * r.chunk_size;
cleanup:
	pthread_mutex_unlock(&s->lock);
	vol_record_free(&r);
	return rc;
}

/* *alone: r is the only member of its family (nothing else references its
 * chunks). 0 or -errno. */
static int family_alone(struct vol_store *s, const struct vol_record *r,
			int *alone)
{
	struct vol_idlist members = {0}, dead = {0};
	int rc = vol_family_load(s, r->family, &members, &dead);

	*alone = !rc && members.n == 1 && !strcmp(members.ids[0], r->id);
	vol_idlist_free(&members);
	vol_idlist_free(&dead);
	return rc == -ENOENT ? 0 : rc;
}

int vol_disk_open(struct vol_store *s, const char *id, int read_only,
		  struct vol_export *out)
{
	struct vol_record r = {0};
	struct vol_handle *hd;
	struct vol_disk *d;
	int rc = 0, solo = 0;

	if (!vol_id_valid(id))
		return -EINVAL;
	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	d = vol_store_find_open(s, id);
	if (!d) {
		rc = vol_record_load(s, id, &r);
		if (!rc)
			rc = family_alone(s, &r, &solo);
		if (!rc)
			rc = vol_disk_load(s, &r, &d);
		if (rc)
			goto cleanup;
		vol_disk_set_solo(d, solo);
		d->next = s->disks;
		s->disks = d;
	} else {
		rc = vol_disk_resize(d); /* extended while open */
		if (rc)
			goto cleanup;
	}
	d->refs++;
	hd->d = d;
	hd->size = d->open_size;
	hd->read_only = read_only || (d->rec.flags & VOL_REC_SNAPSHOT);
	memset(out, 0, sizeof(*out));
	out->ops = &vol_disk_ops;
	out->h = hd;
	snprintf(out->name, sizeof(out->name), "%s", id);
	out->read_only = hd->read_only;
	hd = NULL;
cleanup:
	pthread_mutex_unlock(&s->lock);
	vol_record_free(&r);
	free(hd);
	return rc;
}

void vol_disk_close(struct vol_store *s, struct vol_export *e)
{
	struct vol_handle *hd = e->h;
	struct vol_disk *d, **pp;
	int rc;

	if (!hd)
		return;
	d = hd->d;
	rc = vol_disk_flush_all(d);
	if (rc)
		log_err("disk %s: flush at close failed: %s", d->rec.id,
			strerror(-rc));
	pthread_mutex_lock(&s->lock);
	if (--d->refs == 0) {
		/* written between the flush and the last close: flush again,
		 * before a new open could load the stored record */
		rc = vol_disk_flush_all(d);
		if (rc)
			log_err("disk %s: unflushed data dropped at close",
				d->rec.id);
		for (pp = &s->disks; *pp; pp = &(*pp)->next) {
			if (*pp == d) {
				*pp = d->next;
				break;
			}
		}
		vol_disk_free(d);
	}
	pthread_mutex_unlock(&s->lock);
	free(hd);
	e->h = NULL;
}
