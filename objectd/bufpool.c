/*
 * objectd/bufpool.c: the DF_BUF_SIZE buffers of large uploads and large
 * GETs (df_buf_get, df_buf_put), aligned for O_DIRECT and, where the
 * kernel gives transparent huge pages, physically contiguous.
 *
 * A disk request carries at most the queue's max_segments pieces of
 * contiguous memory (254 on virtio-blk). A 1 MiB buffer of 4 KiB pages is
 * 256 pieces, so each 1 MiB O_DIRECT write from a malloc'd buffer went to
 * the disk as two requests or more, and the disk did a third less: fio,
 * 1 MiB O_DIRECT writes at queue depth 16 with an fsync every 16 MiB, got
 * 932-991 MiB/s from malloc'd buffers and 1421-1468 MiB/s from huge pages
 * on this project's machines (docs/benchmarks.md).
 *
 * So buffers are cut from regions of one huge page (BP_REGION, 2 MiB:
 * two buffers), mapped 2 MiB-aligned and madvise(MADV_HUGEPAGE)d, at most
 * BP_REGIONS of them, made on first need and kept for the life of the
 * process (64 MiB). 64 buffers are more than a volume's write-back holds
 * at once (~12 chunk PUTs of three replicas, each replica's upload one
 * buffer; 40 replica PUTs in flight on average under NBD sequential
 * writes): a fresh buffer costs page faults and cleared pages (4 MiB
 * volume chunks from fresh malloc'd buffers faulted ~60k pages per GiB,
 * ~6% of kumo-objectd's CPU).
 * A buffer given back goes on the free list of region buffers; when all
 * of them are out, a buffer is malloc'd and freed when given back. Where
 * the kernel has no huge pages (THP "never", madvise refused) a region is
 * ordinary pages, as good as malloc's.
 *
 * Invariant: a buffer is on the free list iff it is a region buffer that
 * nobody holds; a region is never unmapped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "objectd/internal.h"

#define BP_REGION     (2 * 1024 * 1024) /* a huge page on x86-64 */
#define BP_PER_REGION (BP_REGION / DF_BUF_SIZE)
#define BP_REGIONS    32

static struct {
	pthread_mutex_t lock;
	char *region[BP_REGIONS];
	int nregions;
	char *free[BP_REGIONS * BP_PER_REGION];
	int nfree;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A fresh BP_REGION-aligned region of BP_REGION bytes, huge pages asked
 * for; NULL when mmap fails. */
static char *map_region(void)
{
	char *p, *a;
	uintptr_t at;

	p = mmap(NULL, 2 * BP_REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	at = ((uintptr_t)p + BP_REGION - 1) & ~(uintptr_t)(BP_REGION - 1);
	a = (char *)at;
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + BP_REGION, (size_t)(p + BP_REGION - a));
	madvise(a, BP_REGION, MADV_HUGEPAGE); /* refused: ordinary pages */
	return a;
}

/* Whether p was cut from a region. Under pool.lock. */
static int in_region(const char *p)
{
	int i;

	for (i = 0; i < pool.nregions; i++)
		if (p >= pool.region[i] && p < pool.region[i] + BP_REGION)
			return 1;
	return 0;
}

char *df_buf_get(void)
{
	char *p = NULL, *r;
	int i;

	pthread_mutex_lock(&pool.lock);
	if (pool.nfree) {
		p = pool.free[--pool.nfree];
	} else if (pool.nregions < BP_REGIONS && (r = map_region())) {
		pool.region[pool.nregions++] = r;
		for (i = 1; i < BP_PER_REGION; i++)
			pool.free[pool.nfree++] = r + i * DF_BUF_SIZE;
		p = r;
	}
	pthread_mutex_unlock(&pool.lock);
	return p ? p : aligned_alloc(DF_DIRECT_ALIGN, DF_BUF_SIZE);
}

void df_buf_put(char *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&pool.lock);
	if (in_region(p)) {
		pool.free[pool.nfree++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	free(p);
}

int df_buf_kept(void)
{
	int n;

	pthread_mutex_lock(&pool.lock);
	n = pool.nfree;
	pthread_mutex_unlock(&pool.lock);
	return n;
}
