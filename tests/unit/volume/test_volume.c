/*
 * tests/unit/volume/test_volume.c: the volume core (volume/volume.c, io.c,
 * record.c, gc.c) against a real cluster (kumo-aio from $KUMO_BIN, one for
 * the whole binary, see tests/unit/lib/aiofix.h): data read back equal to
 * an in-memory reference across a restart of the store, holes that read
 * as zeros and store nothing, snapshots and clones sharing chunks
 * copy-on-write, deletes that free exactly the unshared chunks, extend,
 * import from an image object, and concurrent writers. Small chunks (64
 * KiB to 1 MiB) and small cache/dirty limits make eviction and write-back
 * happen with little data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/objclient.h"
#include "tests/unit/lib/aiofix.h"
#include "volume/vcore.h"
#include "volume/volume.h"

#define ACCT "._test_volumes"
#define KiB  1024u
#define MiB  (1024u * 1024u)

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	aiofix_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	aiofix_stop();
}

static struct cluster *cl;

static void setup(void)
{
	cl = aiofix_cluster();
	cr_assert_not_null(cl, "no cluster (AIOFIX_DIR unset?)");
}

static void teardown(void)
{
	cluster_close(cl);
	cl = NULL;
}

TestSuite(volume, .init = setup, .fini = teardown, .timeout = 120);

static struct vol_store *store(uint32_t chunk, uint64_t cache, uint64_t dirty)
{
	struct vol_store_conf conf = {.cluster = cl,
				      .account = ACCT,
				      .chunk_size = chunk,
				      .cache_bytes = cache,
				      .dirty_bytes = dirty};
	struct vol_store *s = NULL;

	cr_assert_eq(vol_store_open(&conf, &s), 0);
	return s;
}

static int count_cb(void *arg, const char *name, uint64_t size,
		    const char *etag)
{
	(void)name;
	(void)size;
	(void)etag;
	(*(int *)arg)++;
	return 0;
}

/* Chunk objects in the cluster whose name starts with prefix. */
static int count_objects(const char *container, const char *prefix)
{
	int n = 0, rc;

	rc = oc_list(cl, ACCT, container, prefix, NULL, count_cb, &n);
	cr_assert(rc == 0 || rc == -ENOENT, "oc_list: %d", rc);
	return n;
}

static int chunks_of(const char *id)
{
	char prefix[80];

	snprintf(prefix, sizeof(prefix), "%s/", id);
	return count_objects(VOL_CONT_CHUNKS, prefix);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* The whole disk equals ref. */
static void expect_disk(struct vol_export *e, const uint8_t *ref, size_t size)
{
	uint8_t *buf = malloc(size);

	cr_assert_eq(e->ops->pread(e->h, buf, (uint32_t)size, 0), 0);
	cr_assert(!memcmp(buf, ref, size), "disk %s differs from reference",
		  e->name);
	free(buf);
}

/* Disk id, opened alone (read_only for a snapshot), equals ref. */
static void expect_stored(struct vol_store *s, const char *id, int read_only,
			  const uint8_t *ref, size_t size)
{
	struct vol_export e;

	cr_assert_eq(vol_disk_open(s, id, read_only, &e), 0);
	expect_disk(&e, ref, size);
	vol_disk_close(s, &e);
}

Test(volume, random_writes_survive_a_restart)
{
	const size_t size = 12 * MiB;
	uint8_t *ref = calloc(1, size), *buf = malloc(MiB), *got = malloc(MiB);
	struct vol_store *s = store(MiB, 3 * MiB, 2 * MiB);
	struct vol_export e;
	uint64_t sz, alloc;
	int i;

	srand(7);
	cr_assert_eq(vol_disk_create(s, "t-rand", size), 0);
	cr_assert_eq(vol_disk_create(s, "t-rand", size), -EEXIST);
	cr_assert_eq(vol_disk_open(s, "t-rand", 0, &e), 0);
	cr_expect_eq(e.ops->size(e.h), size);
	for (i = 0; i < 120; i++) {
		uint32_t len = 1 + (uint32_t)rand() % (300 * KiB);
		uint64_t off = (uint64_t)rand() % (size - len);

		if (i % 40 == 39) /* some chunk-sized, aligned writes */
			off = (off / MiB) * MiB, len = MiB;
		fill(buf, len, (uint32_t)i);
		memcpy(ref + off, buf, len);
		cr_assert_eq(
			e.ops->pwrite(e.h, buf, len, off, i % 17 ? 0 : VOL_FUA),
			0);
		if (i % 10 == 0) {
			uint32_t rl = 1 + (uint32_t)rand() % MiB;
			uint64_t ro = (uint64_t)rand() % (size - rl);

			cr_assert_eq(e.ops->pread(e.h, got, rl, ro), 0);
			cr_assert(!memcmp(got, ref + ro, rl), "read %d", i);
		}
	}
	expect_disk(&e, ref, size);
	cr_assert_eq(e.ops->flush(e.h), 0);
	/* past the end */
	cr_expect_eq(e.ops->pread(e.h, got, 2, size - 1), -EINVAL);
	cr_expect_eq(e.ops->pwrite(e.h, got, 512, size, 0), -EINVAL);
	vol_disk_close(s, &e);
	vol_store_close(s);

	/* a fresh store: what was flushed is all in the cluster */
	s = store(MiB, 3 * MiB, 2 * MiB);
	cr_assert_eq(vol_disk_stat(s, "t-rand", &sz, &alloc), 0);
	cr_expect_eq(sz, size);
	cr_expect_leq(alloc, size);
	cr_expect_eq(alloc / MiB, (uint64_t)chunks_of("t-rand"));
	expect_stored(s, "t-rand", 0, ref, size);
	vol_store_close(s);
	free(ref);
	free(buf);
	free(got);
}

struct ext {
	uint64_t off[16], len[16];
	uint32_t flags[16];
	int n;
};

static int ext_cb(void *arg, uint64_t off, uint64_t len, uint32_t flags)
{
	struct ext *x = arg;

	if (x->n == 16)
		return 1;
	x->off[x->n] = off;
	x->len[x->n] = len;
	x->flags[x->n++] = flags;
	return 0;
}

Test(volume, holes_read_zeros_and_store_nothing)
{
	const size_t size = 8 * MiB + 512 * KiB; /* a partial last chunk */
	uint8_t *buf = malloc(MiB), *zero = calloc(1, MiB);
	struct vol_store *s = store(MiB, 8 * MiB, 8 * MiB);
	struct vol_export e;
	struct ext x = {0};
	uint64_t alloc;

	cr_assert_eq(vol_disk_create(s, "t-holes", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-holes", 0, &e), 0);
	cr_assert_eq(e.ops->pread(e.h, buf, MiB, 2 * MiB), 0);
	cr_expect(!memcmp(buf, zero, MiB));
	/* zeros written to a hole stay a hole */
	cr_assert_eq(e.ops->pwrite(e.h, zero, MiB, 0, 0), 0);
	fill(buf, 4096, 1);
	cr_assert_eq(e.ops->pwrite(e.h, buf, 4096, 3 * MiB + 100, 0), 0);
	cr_assert_eq(e.ops->pwrite(e.h, buf, 4096, 8 * MiB + 4096, 0), 0);
	cr_assert_eq(e.ops->flush(e.h), 0);
	cr_expect_eq(chunks_of("t-holes"), 2);
	cr_assert_eq(vol_disk_stat(s, "t-holes", NULL, &alloc), 0);
	cr_expect_eq(alloc, 2 * MiB);

	cr_assert_eq(e.ops->extents(e.h, (uint32_t)size, 0, ext_cb, &x), 0);
	cr_assert_eq(x.n, 4);
	cr_expect_eq(x.off[0], 0);
	cr_expect_eq(x.len[0], 3 * MiB);
	cr_expect_eq(x.flags[0], VOL_EXTENT_HOLE | VOL_EXTENT_ZERO);
	cr_expect_eq(x.off[1], 3 * MiB);
	cr_expect_eq(x.len[1], MiB);
	cr_expect_eq(x.flags[1], 0);
	cr_expect_eq(x.flags[2], VOL_EXTENT_HOLE | VOL_EXTENT_ZERO);
	cr_expect_eq(x.off[3], 8 * MiB);
	cr_expect_eq(x.len[3], 512 * KiB);
	cr_expect_eq(x.flags[3], 0);

	/* a partial trim writes zeros; a whole one deallocates */
	cr_assert_eq(e.ops->trim(e.h, 4096, 3 * MiB, 0), 0);
	cr_assert_eq(e.ops->pread(e.h, buf, 8192, 3 * MiB), 0);
	cr_expect(!memcmp(buf, zero, 4096));
	cr_expect(memcmp(buf + 4096, zero, 4096));
	cr_assert_eq(e.ops->trim(e.h, MiB, 3 * MiB, 0), 0);
	cr_assert_eq(e.ops->zero(e.h, 512 * KiB, 8 * MiB, VOL_FUA), 0);
	cr_assert_eq(e.ops->flush(e.h), 0);
	cr_expect_eq(chunks_of("t-holes"), 0);
	cr_assert_eq(e.ops->pread(e.h, buf, MiB, 3 * MiB), 0);
	cr_expect(!memcmp(buf, zero, MiB));
	x.n = 0;
	cr_assert_eq(e.ops->extents(e.h, (uint32_t)size, 0, ext_cb, &x), 0);
	cr_expect_eq(x.n, 1);
	cr_expect_eq(x.len[0], size);

	/* zero with NO_HOLE allocates */
	cr_assert_eq(e.ops->zero(e.h, MiB, MiB, VOL_NO_HOLE | VOL_FUA), 0);
	x.n = 0;
	cr_assert_eq(e.ops->extents(e.h, 2 * MiB, MiB, ext_cb, &x), 0);
	cr_expect_eq(x.flags[0], VOL_EXTENT_HOLE | VOL_EXTENT_ZERO,
		     "zeros of a never-stored chunk are not stored");
	vol_disk_close(s, &e);
	cr_assert_eq(vol_disk_delete(s, "t-holes"), 0);
	cr_expect_eq(vol_disk_stat(s, "t-holes", NULL, NULL), -ENOENT);
	vol_store_close(s);
	free(buf);
	free(zero);
}

/* Write seed's pattern over [off, off+len) of disk id and the reference. */
static void put(struct vol_export *e, uint8_t *ref, uint64_t off, uint32_t len,
		uint32_t seed)
{
	uint8_t *buf = malloc(len);

	fill(buf, len, seed);
	if (ref)
		memcpy(ref + off, buf, len);
	cr_assert_eq(e->ops->pwrite(e->h, buf, len, off, 0), 0);
	free(buf);
}

/* A connection for pwrite_from: the bytes of p; its fill number fail_at
 * (from 1) copies half of what it is asked for, then fails. */
struct from_src {
	const uint8_t *p;
	int fills, fail_at;
};

static int from_fill(void *arg, void *dst, uint32_t n)
{
	struct from_src *f = arg;

	if (++f->fills == f->fail_at) {
		memcpy(dst, f->p, n / 2);
		return -ECONNRESET;
	}
	memcpy(dst, f->p, n);
	f->p += n;
	return 0;
}

/* pwrite_from takes whole blocks straight into the chunks, one fill per
 * chunk, and refuses others before any fill (-EAGAIN); a fill that fails
 * in a chunk it gave a new buffer leaves that chunk as it was (a chunk
 * never written reads zeros and is not stored), the chunks filled
 * before it keep their new bytes. */
Test(volume, writes_from_a_connection)
{
	const size_t size = 4 * MiB;
	const uint32_t blk = MiB / 64;
	uint8_t *ref = calloc(1, size), *buf = malloc(2 * MiB);
	struct vol_store *s = store(MiB, 8 * MiB, 8 * MiB);
	struct from_src f = {.p = buf};
	struct vol_export e;

	cr_assert(ref && buf);
	fill(buf, 2 * MiB, 11);
	cr_assert_eq(vol_disk_create(s, "t-from", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-from", 0, &e), 0);
	cr_assert_eq(e.ops->pwrite_from(e.h, 2 * MiB, 0, from_fill, &f), 0);
	cr_expect_eq(f.fills, 2);
	memcpy(ref, buf, 2 * MiB);
	cr_assert_eq(e.ops->pwrite_end(e.h, 2 * MiB, 0, VOL_FUA), 0);
	cr_expect_eq(chunks_of("t-from"), 2, "FUA stored both chunks");

	f = (struct from_src){.p = buf};
	cr_expect_eq(e.ops->pwrite_from(e.h, blk, 100, from_fill, &f), -EAGAIN);
	cr_expect_eq(e.ops->pwrite_from(e.h, 100, blk, from_fill, &f), -EAGAIN);
	cr_expect_eq(f.fills, 0);

	/* the end of chunk 1 (in memory), then all of chunk 2 (never
	 * written), whose fill fails half way */
	fill(buf, 2 * MiB, 12);
	f = (struct from_src){.p = buf, .fail_at = 2};
	cr_expect_eq(e.ops->pwrite_from(e.h, 3 * blk + MiB, 2 * MiB - 3 * blk,
					from_fill, &f),
		     -ECONNRESET);
	memcpy(ref + 2 * MiB - 3 * blk, buf, 3 * blk);
	expect_disk(&e, ref, size);
	cr_assert_eq(e.ops->flush(e.h), 0);
	cr_expect_eq(chunks_of("t-from"), 2,
		     "a chunk never written was stored");
	vol_disk_close(s, &e);
	vol_store_close(s);

	s = store(MiB, 8 * MiB, 8 * MiB);
	expect_stored(s, "t-from", 0, ref, size);
	vol_store_close(s);
	free(ref);
	free(buf);
}

/* Writes of whole blocks (chunk / 64) to a stored chunk not in memory
 * read nothing until a read, a smaller write or the PUT needs the rest:
 * each of those sees the stored bytes merged with the new ones. */
Test(volume, block_writes_to_stored_chunks_merge_the_old_bytes)
{
	const size_t size = 4 * MiB;
	const uint32_t blk = MiB / 64;
	uint8_t *ref = malloc(size), *got = malloc(MiB);
	struct vol_store *s = store(MiB, 8 * MiB, 8 * MiB);
	struct vol_export e;

	cr_assert_eq(vol_disk_create(s, "t-blocks", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-blocks", 0, &e), 0);
	put(&e, ref, 0, (uint32_t)size, 1);
	cr_assert_eq(e.ops->flush(e.h), 0);
	vol_disk_close(s, &e); /* the last close: memory holds no chunk */

	cr_assert_eq(vol_disk_open(s, "t-blocks", 0, &e), 0);
	/* chunk 0: two blocks, then reads inside, across and outside */
	put(&e, ref, 2 * blk, blk, 2);
	put(&e, ref, 10 * blk, 3 * blk, 3);
	cr_assert_eq(e.ops->pread(e.h, got, blk, 2 * blk), 0);
	cr_expect(!memcmp(got, ref + 2 * blk, blk));
	cr_assert_eq(e.ops->pread(e.h, got, 5 * blk, 9 * blk), 0);
	cr_expect(!memcmp(got, ref + 9 * blk, 5 * blk));
	/* chunk 1: blocks, then a write of part of a block */
	put(&e, ref, MiB + 4 * blk, 2 * blk, 4);
	put(&e, ref, MiB + 30 * blk + 100, 5000, 5);
	/* chunk 2: blocks only, stored as they are by the flush */
	put(&e, ref, 2 * MiB, 8 * blk, 6);
	put(&e, ref, 2 * MiB + 63 * blk, blk, 7);
	/* chunk 3: every block, in pieces (a sequential writer) */
	put(&e, ref, 3 * MiB, MiB / 2, 8);
	put(&e, ref, 3 * MiB + MiB / 2, MiB / 2, 9);
	expect_disk(&e, ref, size);
	cr_assert_eq(e.ops->flush(e.h), 0);
	/* chunk 2 again: blocks after its PUT, a snapshot of them */
	vol_disk_close(s, &e);
	cr_assert_eq(vol_disk_open(s, "t-blocks", 0, &e), 0);
	put(&e, ref, 2 * MiB + 20 * blk, 4 * blk, 10);
	cr_assert_eq(vol_disk_snapshot(s, "t-blocks", "t-blocks-s"), 0);
	vol_disk_close(s, &e);
	vol_store_close(s);

	s = store(MiB, 8 * MiB, 8 * MiB);
	expect_stored(s, "t-blocks", 0, ref, size);
	expect_stored(s, "t-blocks-s", 1, ref, size);
	vol_store_close(s);
	free(ref);
	free(got);
}

Test(volume, snapshot_keeps_old_data_clone_diverges)
{
	const size_t size = 4 * MiB;
	uint8_t *vref = malloc(size), *sref, *cref = calloc(1, 6 * MiB);
	struct vol_store *s = store(MiB, 2 * MiB, 2 * MiB);
	struct vol_export v, sn, c;
	uint8_t b[512];

	cr_assert_eq(vol_disk_create(s, "t-snapv", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-snapv", 0, &v), 0);
	put(&v, vref, 0, (uint32_t)size, 1);
	/* snapshot of an open disk with unflushed writes */
	cr_assert_eq(vol_disk_snapshot(s, "t-snapv", "t-snaps"), 0);
	cr_assert_eq(vol_disk_snapshot(s, "t-snapv", "t-snaps"), -EEXIST);
	sref = malloc(size);
	memcpy(sref, vref, size);
	put(&v, vref, MiB + 1000, 5000, 2);
	put(&v, vref, 3 * MiB, MiB, 3);
	cr_assert_eq(v.ops->flush(v.h), 0);
	expect_disk(&v, vref, size);
	/* 4 chunks of gen 0 shared, 2 new ones of gen 1 */
	cr_expect_eq(chunks_of("t-snapv"), 6);
	cr_expect_eq(chunks_of("t-snaps"), 0);

	cr_assert_eq(vol_disk_open(s, "t-snaps", 0, &sn), 0);
	cr_expect(sn.read_only);
	cr_expect_eq(sn.ops->pwrite(sn.h, b, 512, 0, 0), -EROFS);
	expect_disk(&sn, sref, size);

	/* a bigger clone of the snapshot, then it diverges */
	cr_assert_eq(vol_disk_clone(s, "t-snaps", "t-clone", 2 * MiB), -EINVAL);
	cr_assert_eq(vol_disk_clone(s, "t-snaps", "t-clone", 6 * MiB), 0);
	memcpy(cref, sref, size);
	cr_assert_eq(vol_disk_open(s, "t-clone", 0, &c), 0);
	cr_expect_eq(c.ops->size(c.h), 6 * MiB);
	expect_disk(&c, cref, 6 * MiB);
	put(&c, cref, 10, 100, 4);
	put(&c, cref, 5 * MiB, 4096, 5);
	cr_assert_eq(c.ops->flush(c.h), 0);
	expect_disk(&c, cref, 6 * MiB);
	expect_disk(&sn, sref, size);
	expect_disk(&v, vref, size);
	cr_expect_eq(chunks_of("t-clone"), 2);
	cr_expect_eq(vol_disk_delete(s, "t-snaps"), -EBUSY);
	vol_disk_close(s, &c);
	vol_disk_close(s, &sn);
	vol_disk_close(s, &v);

	/* after a restart, each still has its own content */
	vol_store_close(s);
	s = store(MiB, 2 * MiB, 2 * MiB);
	cr_assert_eq(vol_disk_open(s, "t-clone", 0, &c), 0);
	expect_disk(&c, cref, 6 * MiB);
	vol_disk_close(s, &c);
	cr_assert_eq(vol_disk_open(s, "t-snaps", 1, &sn), 0);
	expect_disk(&sn, sref, size);
	vol_disk_close(s, &sn);
	vol_store_close(s);
	free(vref);
	free(sref);
	free(cref);
}

Test(volume, delete_frees_exactly_the_unshared_chunks)
{
	struct vol_store *s = store(64 * KiB, MiB, MiB);
	struct vol_export v, c;

	/* v: 4 chunks; snapshot; v overwrites 2 (2 more objects) */
	cr_assert_eq(vol_disk_create(s, "t-delv", 256 * KiB), 0);
	cr_assert_eq(vol_disk_open(s, "t-delv", 0, &v), 0);
	put(&v, NULL, 0, 256 * KiB, 1);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_assert_eq(vol_disk_snapshot(s, "t-delv", "t-dels"), 0);
	put(&v, NULL, 0, 128 * KiB, 2);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_expect_eq(chunks_of("t-delv"), 6);
	/* a clone of the snapshot writes one chunk of its own */
	cr_assert_eq(vol_disk_clone(s, "t-dels", "t-delc", 256 * KiB), 0);
	cr_assert_eq(vol_disk_open(s, "t-delc", 0, &c), 0);
	put(&c, NULL, 192 * KiB, 64 * KiB, 3);
	vol_disk_close(s, &c);
	cr_expect_eq(chunks_of("t-delc"), 1);

	/* the snapshot goes: v's 2 overwritten gen-0 chunks are still used
	 * by the clone, so nothing is freed */
	cr_assert_eq(vol_disk_delete(s, "t-dels"), 0);
	cr_expect_eq(chunks_of("t-delv"), 6);
	/* v goes while open: refused */
	cr_expect_eq(vol_disk_delete(s, "t-delv"), -EBUSY);
	vol_disk_close(s, &v);
	/* v goes: its gen-1 chunks and the gen-0 chunk the clone replaced
	 * are freed; the 3 the clone reads stay */
	cr_assert_eq(vol_disk_delete(s, "t-delv"), 0);
	cr_expect_eq(chunks_of("t-delv"), 3);
	cr_expect_eq(vol_disk_create(s, "t-delv", MiB), -EEXIST,
		     "a dead owner's id stays taken");
	/* the clone still reads the first snapshot's data */
	{
		uint8_t *ref = malloc(256 * KiB);

		fill(ref, 256 * KiB, 1);
		fill(ref + 192 * KiB, 64 * KiB, 3);
		cr_assert_eq(vol_disk_open(s, "t-delc", 0, &c), 0);
		expect_disk(&c, ref, 256 * KiB);
		/* alone with a dead owner: a chunk of v it replaces goes */
		put(&c, NULL, 0, 64 * KiB, 7);
		cr_assert_eq(c.ops->flush(c.h), 0);
		cr_expect_eq(chunks_of("t-delv"), 2);
		vol_disk_close(s, &c);
		free(ref);
	}
	/* the last one goes: nothing is left, not even the family */
	cr_assert_eq(vol_disk_delete(s, "t-delc"), 0);
	cr_expect_eq(chunks_of("t-delv"), 0);
	cr_expect_eq(chunks_of("t-delc"), 0);
	cr_expect_eq(count_objects(VOL_CONT_FAMILIES, "t-del"), 0);
	cr_expect_eq(count_objects(VOL_CONT_DISKS, "t-del"), 0);
	cr_expect_eq(vol_disk_delete(s, "t-delc"), -ENOENT);
	vol_store_close(s);
}

Test(volume, snapshot_deleted_first_frees_overwritten_chunks)
{
	struct vol_store *s = store(64 * KiB, MiB, MiB);
	struct vol_export v;

	cr_assert_eq(vol_disk_create(s, "t-sdfv", 256 * KiB), 0);
	cr_assert_eq(vol_disk_open(s, "t-sdfv", 0, &v), 0);
	put(&v, NULL, 0, 256 * KiB, 1);
	cr_assert_eq(vol_disk_snapshot(s, "t-sdfv", "t-sdfs"), 0);
	put(&v, NULL, 64 * KiB, 64 * KiB, 2);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 5);
	/* deleting the snapshot while v is open frees the replaced chunk */
	cr_assert_eq(vol_disk_delete(s, "t-sdfs"), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 4);
	/* alone again, v frees the older chunks it replaces or trims */
	put(&v, NULL, 128 * KiB, 64 * KiB, 3);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 4);
	cr_assert_eq(v.ops->trim(v.h, 64 * KiB, 192 * KiB, 0), 0);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 3);
	vol_disk_close(s, &v);
	/* and after a reopen (alone, from its family record) */
	cr_assert_eq(vol_disk_open(s, "t-sdfv", 0, &v), 0);
	put(&v, NULL, 0, 64 * KiB, 4);
	cr_assert_eq(v.ops->flush(v.h), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 3);
	vol_disk_close(s, &v);
	cr_assert_eq(vol_disk_delete(s, "t-sdfv"), 0);
	cr_expect_eq(chunks_of("t-sdfv"), 0);
	vol_store_close(s);
}

Test(volume, extend_keeps_data_and_reads_zeros_after)
{
	uint8_t *ref = calloc(1, 6 * MiB);
	struct vol_store *s = store(MiB, 4 * MiB, 4 * MiB);
	struct vol_export e, e2, e3;
	uint64_t sz;

	cr_assert_eq(vol_disk_create(s, "t-ext", 2 * MiB + 512), 0);
	cr_assert_eq(vol_disk_open(s, "t-ext", 0, &e), 0);
	put(&e, ref, 2 * MiB - 512, 1024, 9);
	vol_disk_close(s, &e);
	cr_expect_eq(vol_disk_extend(s, "t-ext", MiB), -EINVAL);
	cr_assert_eq(vol_disk_extend(s, "t-ext", 5 * MiB), 0);
	cr_assert_eq(vol_disk_stat(s, "t-ext", &sz, NULL), 0);
	cr_expect_eq(sz, 5 * MiB);
	cr_assert_eq(vol_disk_open(s, "t-ext", 0, &e), 0);
	cr_expect_eq(e.ops->size(e.h), 5 * MiB);
	expect_disk(&e, ref, 5 * MiB);
	put(&e, ref, 5 * MiB - 4096, 4096, 10);
	/* extend while open (twice, the second past a page of the chunk
	 * table): open handles keep their size, new opens see the new one */
	cr_assert_eq(vol_disk_extend(s, "t-ext", 6 * MiB), 0);
	cr_expect_eq(e.ops->size(e.h), 5 * MiB);
	cr_assert_eq(vol_disk_open(s, "t-ext", 0, &e2), 0);
	cr_expect_eq(e2.ops->size(e2.h), 6 * MiB);
	put(&e2, ref, 5 * MiB + 10, 1000, 11);
	cr_assert_eq(vol_disk_extend(s, "t-ext", 2048 * MiB), 0);
	cr_assert_eq(vol_disk_open(s, "t-ext", 0, &e3), 0);
	cr_expect_eq(e3.ops->size(e3.h), 2048 * MiB);
	put(&e3, NULL, 2047 * MiB, MiB, 12);
	cr_assert_eq(
		e3.ops->pread(e3.h, ref + 5 * MiB + 10, 1000, 5 * MiB + 10), 0);
	expect_disk(&e2, ref, 6 * MiB);
	vol_disk_close(s, &e3);
	vol_disk_close(s, &e2);
	vol_disk_close(s, &e);
	cr_assert_eq(vol_disk_open(s, "t-ext", 0, &e), 0);
	cr_expect_eq(e.ops->size(e.h), 2048 * MiB);
	expect_disk(&e, ref, 6 * MiB);
	cr_expect_eq(chunks_of("t-ext"), 5);
	vol_disk_close(s, &e);
	vol_store_close(s);
	free(ref);
}

Test(volume, import_from_an_image_object)
{
	const size_t isize = 5 * MiB + 1234;
	uint8_t *img = malloc(isize), *ref = calloc(1, 8 * MiB);
	struct vol_store *s = store(MiB, 8 * MiB, 8 * MiB);

	fill(img, isize, 42);
	memset(img + 2 * MiB, 0, MiB); /* one chunk of zeros */
	memcpy(ref, img, isize);
	cr_assert_eq(oc_container_create(cl, "AUTH_vt", "images"), 0);
	cr_assert_eq(
		oc_put(cl, "AUTH_vt", "images", "disk.raw", img, isize, NULL),
		0);
	cr_expect_eq(vol_disk_import(s, "t-imp", 4 * MiB, "AUTH_vt", "images",
				     "disk.raw"),
		     -EINVAL);
	cr_expect_eq(vol_disk_import(s, "t-imp", 8 * MiB, "AUTH_vt", "images",
				     "nothing"),
		     -ENOENT);
	cr_assert_eq(vol_disk_import(s, "t-imp", 8 * MiB, "AUTH_vt", "images",
				     "disk.raw"),
		     0);
	cr_expect_eq(chunks_of("t-imp"), 5);
	expect_stored(s, "t-imp", 0, ref, 8 * MiB);
	vol_store_close(s);
	free(img);
	free(ref);
}

Test(volume, small_reads_of_a_full_cache_read_ranges)
{
	const size_t size = 8 * MiB;
	uint8_t *ref = malloc(size), got[4096];
	struct vol_store *s = store(MiB, 2 * MiB, 8 * MiB);
	struct vol_export e;
	int i;

	cr_assert_eq(vol_disk_create(s, "t-range", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-range", 0, &e), 0);
	put(&e, ref, 0, (uint32_t)size, 77);
	vol_disk_close(s, &e);
	vol_store_close(s);
	/* cold: the first two misses load chunks, then the cache is full and
	 * 4 KiB reads elsewhere read their range only */
	s = store(MiB, 2 * MiB, 8 * MiB);
	cr_assert_eq(vol_disk_open(s, "t-range", 0, &e), 0);
	srand(3);
	for (i = 0; i < 300; i++) {
		uint64_t off = 512 + (uint64_t)rand() % (size - 5000);

		cr_assert_eq(e.ops->pread(e.h, got, 4096, off), 0);
		cr_assert(!memcmp(got, ref + off, 4096), "read at %llu",
			  (unsigned long long)off);
	}
	/* a write after range reads: read-modify-write still right */
	put(&e, ref, 5 * MiB + 100, 200, 78);
	cr_assert_eq(e.ops->pread(e.h, got, 4096, 5 * MiB), 0);
	cr_assert(!memcmp(got, ref + 5 * MiB, 4096));
	expect_disk(&e, ref, size);
	vol_disk_close(s, &e);
	vol_store_close(s);
	free(ref);
}

/* --- concurrency ----------------------------------------------------------- */

struct worker {
	struct vol_export *e;
	uint8_t *ref; /* the whole disk's reference */
	uint64_t base, span;
	uint32_t block, seed;
	int rounds, err;
};

/* Writes (random blocks of its own region) and checks reads as it goes. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(w->block), *got = malloc(w->block);
	unsigned r = w->seed;
	int i;

	for (i = 0; i < w->rounds && !w->err; i++) {
		uint64_t off = w->base +
			       (uint64_t)(rand_r(&r) % (w->span / w->block)) *
				       w->block;

		fill(buf, w->block, w->seed * 1000 + (uint32_t)i);
		if (w->e->ops->pwrite(w->e->h, buf, w->block, off,
				      i % 25 == 24 ? VOL_FUA : 0))
			w->err = 1;
		memcpy(w->ref + off, buf, w->block);
		if (w->e->ops->pread(w->e->h, got, w->block, off) ||
		    memcmp(got, buf, w->block))
			w->err = 2;
		if (i % 30 == 29 && w->e->ops->flush(w->e->h))
			w->err = 3;
	}
	free(buf);
	free(got);
	return NULL;
}

/* n writers at once, the first half on e, the rest on e2; writer i owns
 * blocks of [i * stride, i * stride + span). */
static void run_workers(struct vol_export *e, struct vol_export *e2,
			uint8_t *ref, int n, uint64_t span, uint32_t block,
			uint64_t stride)
{
	pthread_t t[8];
	struct worker w[8];
	int i;

	for (i = 0; i < n; i++) {
		w[i] = (struct worker){i < n / 2 ? e : e2,
				       ref,
				       stride * (uint64_t)i,
				       span,
				       block,
				       (uint32_t)i + 1,
				       60,
				       0};
		cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]),
			     0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].err, 0, "worker %d: error %d", i, w[i].err);
	}
}

Test(volume, concurrent_writers_different_regions)
{
	const size_t size = 16 * MiB;
	uint8_t *ref = calloc(1, size);
	struct vol_store *s = store(MiB, 4 * MiB, 3 * MiB);
	struct vol_export e, e2;

	cr_assert_eq(vol_disk_create(s, "t-conc", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-conc", 0, &e), 0);
	cr_assert_eq(vol_disk_open(s, "t-conc", 0, &e2), 0);
	/* 8 writers on two handles, 2 MiB each, blocks of 12 KiB (some
	 * cross chunks) */
	run_workers(&e, &e2, ref, 8, 2 * MiB, 12 * KiB, 2 * MiB);
	cr_assert_eq(e2.ops->flush(e2.h), 0);
	vol_disk_close(s, &e2);
	expect_disk(&e, ref, size);
	vol_disk_close(s, &e);
	vol_store_close(s);
	s = store(MiB, 4 * MiB, 3 * MiB);
	expect_stored(s, "t-conc", 0, ref, size);
	vol_store_close(s);
	free(ref);
}

Test(volume, concurrent_writers_one_chunk)
{
	const size_t size = 2 * MiB;
	uint8_t *ref = calloc(1, size);
	struct vol_store *s = store(MiB, MiB, MiB);
	struct vol_export e;

	cr_assert_eq(vol_disk_create(s, "t-same", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-same", 0, &e), 0);
	/* 8 writers interleaved in one chunk: 4 KiB blocks, 64 KiB apart */
	run_workers(&e, &e, ref, 8, 64 * KiB, 4 * KiB, 64 * KiB);
	cr_assert_eq(e.ops->flush(e.h), 0);
	vol_disk_close(s, &e);
	vol_store_close(s);
	s = store(MiB, MiB, MiB);
	expect_stored(s, "t-same", 0, ref, size);
	vol_store_close(s);
	free(ref);
}

Test(volume, bad_ids_and_sizes)
{
	struct vol_store *s = store(MiB, MiB, MiB);
	struct vol_export e;

	cr_expect_eq(vol_disk_create(s, "../x", MiB), -EINVAL);
	cr_expect_eq(vol_disk_create(s, "a/b", MiB), -EINVAL);
	cr_expect_eq(vol_disk_create(s, "", MiB), -EINVAL);
	cr_expect_eq(vol_disk_create(s, "t-bad", 1000), -EINVAL);
	cr_expect_eq(vol_disk_create(s, "t-bad", 0), -EINVAL);
	cr_expect_eq(vol_disk_open(s, "t-none", 0, &e), -ENOENT);
	cr_expect_eq(vol_disk_snapshot(s, "t-none", "t-none2"), -ENOENT);
	cr_expect_eq(vol_disk_extend(s, "t-none", MiB), -ENOENT);
	vol_store_close(s);
}

Test(volume, delete_finishes_a_create_that_stopped_half_way)
{
	struct vol_store *s = store(64 * KiB, MiB, MiB);
	struct vol_idlist members = {0}, dead = {0};
	uint8_t chunk[64 * KiB];

	/* what an import leaves when it stops before its record: the family
	 * and some chunks */
	memset(chunk, 5, sizeof(chunk));
	cr_assert_eq(vol_idlist_add(&members, "t-orph"), 0);
	cr_assert_eq(vol_family_save(s, "t-orph", &members, &dead), 0);
	cr_assert_eq(oc_put(cl, ACCT, VOL_CONT_CHUNKS,
			    "t-orph/00000000/00000001", chunk, sizeof(chunk),
			    NULL),
		     0);
	cr_expect_eq(vol_disk_create(s, "t-orph", MiB), -EEXIST);
	cr_expect_eq(vol_disk_open(s, "t-orph", 0, NULL), -ENOENT);
	cr_assert_eq(vol_disk_delete(s, "t-orph"), 0);
	cr_expect_eq(chunks_of("t-orph"), 0);
	cr_expect_eq(count_objects(VOL_CONT_FAMILIES, "t-orph"), 0);
	cr_expect_eq(vol_disk_delete(s, "t-orph"), -ENOENT);
	cr_expect_eq(vol_disk_create(s, "t-orph", MiB), 0);
	cr_expect_eq(vol_disk_delete(s, "t-orph"), 0);
	vol_idlist_free(&members);
	vol_store_close(s);
}

/* Blocks of 4 KiB each equal to one of two references. */
static void expect_either(struct vol_export *e, const uint8_t *a,
			  const uint8_t *b, size_t size)
{
	uint8_t *buf = malloc(size);
	size_t off;

	cr_assert_eq(e->ops->pread(e->h, buf, (uint32_t)size, 0), 0);
	for (off = 0; off < size; off += 4096)
		cr_assert(!memcmp(buf + off, a + off, 4096) ||
				  !memcmp(buf + off, b + off, 4096),
			  "block at %zu is neither", off);
	free(buf);
}

Test(volume, a_crash_loses_only_unflushed_writes)
{
	const size_t size = 512 * KiB;
	uint8_t *p1 = malloc(size), *p2 = malloc(size);
	struct vol_store *s;
	struct vol_export e;
	int status, i;
	pid_t pid;

	fill(p1, size, 100);
	fill(p2, size, 200);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		/* the volumed that crashes: flushed P1, snapshot, then P2 in
		 * random order with write-back forced by a tiny dirty limit
		 * (new chunks stored, their map not), and no flush */
		struct cluster *c2 = aiofix_cluster();
		struct vol_store_conf conf = {.cluster = c2,
					      .account = ACCT,
					      .chunk_size = 64 * KiB,
					      .cache_bytes = 64 * KiB,
					      .dirty_bytes = 64 * KiB};

		if (!c2 || vol_store_open(&conf, &s) ||
		    vol_disk_create(s, "t-crash", size) ||
		    vol_disk_open(s, "t-crash", 0, &e) ||
		    e.ops->pwrite(e.h, p1, (uint32_t)size, 0, 0) ||
		    e.ops->flush(e.h) ||
		    vol_disk_snapshot(s, "t-crash", "t-crashs"))
			_exit(1);
		srand(5);
		for (i = 0; i < 100; i++) {
			uint64_t off =
				(uint64_t)(rand() % (int)(size / 4096)) * 4096;

			if (e.ops->pwrite(e.h, p2 + off, 4096, off, 0))
				_exit(2);
		}
		/* the crash leaves the store as it is, not the test's buffers
		 * (valgrind counts them lost and fails the child with 99) */
		free(p1);
		free(p2);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %d", status);
	s = store(64 * KiB, MiB, MiB);
	expect_stored(s, "t-crashs", 0, p1, size);
	cr_assert_eq(vol_disk_open(s, "t-crash", 0, &e), 0);
	expect_either(&e, p1, p2, size);
	vol_disk_close(s, &e);
	/* and the family still collects: everything goes with both */
	cr_assert_eq(vol_disk_delete(s, "t-crash"), 0);
	cr_assert_eq(vol_disk_delete(s, "t-crashs"), 0);
	cr_expect_eq(chunks_of("t-crash"), 0);
	vol_store_close(s);
	free(p1);
	free(p2);
}

struct snapper {
	struct vol_export *e;
	size_t size;
	int stop, err;
};

static void *hammer(void *arg)
{
	struct snapper *h = arg;
	uint8_t buf[8192];
	unsigned r = 9;
	uint32_t i = 0;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE) && !h->err) {
		uint64_t off = (uint64_t)(rand_r(&r) % (h->size / 8192)) * 8192;

		fill(buf, sizeof(buf), i++);
		if (h->e->ops->pwrite(h->e->h, buf, sizeof(buf), off, 0))
			h->err = 1;
	}
	return NULL;
}

Test(volume, snapshots_taken_under_writes_stay_frozen)
{
	const size_t size = MiB;
	uint8_t *first[3];
	struct snapper h = {.size = size};
	struct vol_store *s = store(64 * KiB, 256 * KiB, 256 * KiB);
	struct vol_export e, sn;
	char id[32];
	pthread_t t[2];
	int i;

	cr_assert_eq(vol_disk_create(s, "t-hammer", size), 0);
	cr_assert_eq(vol_disk_open(s, "t-hammer", 0, &e), 0);
	h.e = &e;
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, &h), 0);
	/* three snapshots while two threads write; each read at once */
	for (i = 0; i < 3; i++) {
		usleep(300000);
		snprintf(id, sizeof(id), "t-hammer-s%d", i);
		cr_assert_eq(vol_disk_snapshot(s, "t-hammer", id), 0);
		first[i] = malloc(size);
		cr_assert_eq(vol_disk_open(s, id, 0, &sn), 0);
		cr_assert_eq(sn.ops->pread(sn.h, first[i], (uint32_t)size, 0),
			     0);
		vol_disk_close(s, &sn);
	}
	usleep(300000);
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(h.err, 0);
	vol_disk_close(s, &e);
	/* after more writes, a delete in the family and a fresh store, each
	 * snapshot reads what it read when it was taken */
	cr_assert_eq(vol_disk_delete(s, "t-hammer-s1"), 0);
	vol_store_close(s);
	s = store(64 * KiB, 256 * KiB, 256 * KiB);
	for (i = 0; i < 3; i += 2) {
		snprintf(id, sizeof(id), "t-hammer-s%d", i);
		cr_assert_eq(vol_disk_open(s, id, 0, &sn), 0);
		expect_disk(&sn, first[i], size);
		vol_disk_close(s, &sn);
	}
	vol_store_close(s);
	for (i = 0; i < 3; i++)
		free(first[i]);
}
