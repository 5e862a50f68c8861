/*
 * volume/gc.c: freeing the chunks of a family that no disk uses any more.
 * Run by volume.c after a disk left the family (delete), with the store
 * lock held, so no snapshot, clone or delete runs meanwhile. Open disks
 * go on writing; that is safe because of what is never collected:
 *
 *  1. References are read from the stored records, after each open
 *     member stored its map: an open disk's memory can only drop
 *     references to older generations (never add them), and a chunk the
 *     stored map still names is kept until the next collection.
 *  2. A live member's chunks of its current generation are never
 *     collected: it may be writing them, their map entry not stored yet
 *     (io.c invariant 3). Only frozen generations and deleted owners'
 *     chunks are candidates.
 *  3. When a member's record cannot be read (other than missing), nothing
 *     is deleted: on doubt, keep.
 *
 * A deleted owner stays in the family's dead list until none of its chunks
 * is left; the family record goes when both lists are empty.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/objclient.h"
#include "volume/vcore.h"

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, const char *name)
{
	char *dup;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	l->v[l->n++] = dup;
	return 0;
}

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_cb(void *arg, const char *name, uint64_t size, const char *etag)
{
	(void)size;
	(void)etag;
	return names_add(arg, name);
}

/* Every chunk name the record references, into refs. */
static int add_refs(struct names *refs, const struct vol_record *r)
{
	char name[VOL_CHUNK_NAME_MAX];
	uint32_t i;
	int rc = 0;

	for (i = 0; i < r->nchunks && !rc; i++) {
		if (!r->map[i].owner)
			continue;
		vol_chunk_name(name, r->owners[r->map[i].owner - 1],
			       r->map[i].gen, i);
		rc = names_add(refs, name);
	}
	return rc;
}

struct del_arg {
	struct vol_store *s;
	const char *name;
};

static int del_job(void *arg)
{
	struct del_arg *a = arg;
	int rc = oc_delete(a->s->conf.cluster, a->s->account, VOL_CONT_CHUNKS,
			   a->name);

	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		log_err("cannot delete chunk %s: %s", a->name, strerror(-rc));
	return rc;
}

/* Delete the names in parallel. 0 or the first error. */
static int delete_all(struct vol_store *s, struct names *doomed)
{
	struct del_arg *args;
	struct vol_batch b;
	size_t i;
	int rc = 0;

	if (!doomed->n)
		return 0;
	args = calloc(doomed->n, sizeof(*args));
	if (!args)
		return -ENOMEM;
	vol_batch_init(&b);
	for (i = 0; i < doomed->n; i++) {
		args[i].s = s;
		args[i].name = doomed->v[i];
		if (vol_pool_submit(&s->pool, del_job, &args[i], &b)) {
			int rc2 = del_job(&args[i]);

			if (rc2 && !rc)
				rc = rc2;
		}
	}
	i = (size_t)vol_batch_wait(&b);
	if (!rc)
		rc = (int)i;
	free(args);
	return rc;
}

/*
 * Collect the family fid, whose lists (members, dead) the caller loaded
 * and changed; they are updated (vanished members and emptied dead owners
 * dropped) and stored (vol_family_save) at the end. Store lock held.
 * 0 or -errno (then nothing or only unreferenced chunks were deleted).
 */
int vol_gc_family(struct vol_store *s, const char *fid,
		  struct vol_idlist *members, struct vol_idlist *dead)
{
	struct names refs = {0}, chunks = {0}, doomed = {0};
	struct vol_record r;
	struct vol_disk *d;
	struct vol_idlist owners = {0};
	uint32_t *gens = NULL, gen, idx;
	vol_id owner;
	size_t j, kept;
	int i, rc = 0, live;

	gens = calloc((size_t)members->n + 1, sizeof(*gens));
	if (!gens)
		return -ENOMEM;
	for (i = 0; i < members->n; i++) {
		d = vol_store_find_open(s, members->ids[i]);
		if (d) {
			rc = vol_disk_save_map(d, 0);
			if (rc)
				goto cleanup;
		}
		rc = vol_record_load(s, members->ids[i], &r);
		if (rc == -ENOENT) {
			/* a create that never finished: it references nothing */
			log_warn("family %s: member %s has no record", fid,
				 members->ids[i]);
			vol_idlist_del(members, members->ids[i]);
			i--;
			rc = 0;
			continue;
		}
		if (rc)
			goto cleanup;
		gens[i] = r.gen;
		rc = add_refs(&refs, &r);
		vol_record_free(&r);
		if (rc)
			goto cleanup;
	}
	if (refs.n)
		qsort(refs.v, refs.n, sizeof(*refs.v), cmp_str);

	for (i = 0; i < members->n && !rc; i++)
		rc = vol_idlist_add(&owners, members->ids[i]);
	for (i = 0; i < dead->n && !rc; i++)
		rc = vol_idlist_add(&owners, dead->ids[i]);
	for (i = 0; i < owners.n && !rc; i++) {
		char prefix[VOL_ID_MAX + 2];
		int m = vol_idlist_find(members, owners.ids[i]);

		live = m >= 0;
		snprintf(prefix, sizeof(prefix), "%s/", owners.ids[i]);
		rc = oc_list(s->conf.cluster, s->account, VOL_CONT_CHUNKS,
			     prefix, NULL, list_cb, &chunks);
		if (rc == -ENOENT)
			rc = 0;
		kept = 0;
		for (j = 0; j < chunks.n && !rc; j++) {
			char *name = chunks.v[j];

			if (vol_chunk_name_parse(name, owner, &gen, &idx) ||
			    strcmp(owner, owners.ids[i])) {
				kept++;
				continue;
			}
			if ((live && gen >= gens[m]) ||
			    (refs.n && bsearch(&name, refs.v, refs.n,
					       sizeof(*refs.v), cmp_str))) {
				kept++;
				continue;
			}
			rc = names_add(&doomed, name);
		}
		if (!rc && !live && !kept)
			vol_idlist_del(dead, owners.ids[i]);
		names_free(&chunks);
	}
	if (!rc)
		rc = delete_all(s, &doomed);
	if (!rc)
		rc = vol_family_save(s, fid, members, dead);
	/* an open disk left alone may free what it replaces from now on */
	for (i = 0; !rc && i < members->n; i++) {
		d = vol_store_find_open(s, members->ids[i]);
		if (d)
			vol_disk_set_solo(d, members->n == 1);
	}
cleanup:
	names_free(&refs);
	names_free(&chunks);
	names_free(&doomed);
	vol_idlist_free(&owners);
	free(gens);
	return rc;
}
