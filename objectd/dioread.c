/*
 * objectd/dioread.c: the O_DIRECT reader of a large GET's body, with
 * read-ahead. A body of DF_DIRECT_MIN bytes or more was written with
 * O_DIRECT (df_writer_direct) and is read so too, a DF_BUF_SIZE block at
 * a time into kept aligned buffers (df_buf_get): through the page cache
 * each block took fresh pages, which this machine makes dear.
 *
 * Read one block at a time, synchronously, the disk sat idle while a
 * block was hashed and sent, and the send waited while the next block
 * was read (a 256 MiB GET: 0.75 s of its 1.2 s in preads). So while the
 * caller consumes block b, the next DF_READ_AHEAD - 1 blocks (up to the
 * end the caller names) are read through io_uring; the caller waits only
 * when a block it needs is not there yet. Without io_uring (refused by
 * the kernel or its settings) a block is read when it is needed, as
 * before; where the filesystem refuses O_DIRECT (EINVAL: larger sectors),
 * the page cache. The caller, server.c's stream, hashes and sends what it
 * is given; this file knows nothing of HTTP.
 *
 * One reader is used by one thread (the connection's); nothing is shared
 * but the buffer pool, which has its own lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>

#include "common/log.h"
#include "objectd/internal.h"

enum { RB_EMPTY, RB_READING, RB_READY };

struct df_reader {
	int fd;
	int direct;  /* 0 once O_DIRECT was refused: plain preads */
	int ring_ok; /* io_uring set up: read ahead */
	int queued;  /* prepared, not yet submitted */
	int reading; /* submitted, not yet completed */
	struct io_uring ring;
	struct {
		char *p;
		uint64_t blk; /* the block held or being read */
		int state;
		ssize_t got; /* RB_READY: bytes read or -errno */
	} b[DF_READ_AHEAD];
};

int df_reader_open(int fd, struct df_reader **out)
{
	struct df_reader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	rc = df_set_direct(fd, 1);
	if (rc) {
		free(r);
		return rc;
	}
	r->direct = 1;
	r->ring_ok = !io_uring_queue_init(DF_READ_AHEAD, &r->ring, 0);
	*out = r;
	return 0;
}

/* Take one completion (waiting for it when wait): its buffer is ready.
 * 0 or -errno (none there without wait: -EAGAIN). */
static int reap(struct df_reader *r, int wait)
{
	struct io_uring_cqe *cqe;
	int rc, i;

	do
		rc = wait ? io_uring_wait_cqe(&r->ring, &cqe)
			  : io_uring_peek_cqe(&r->ring, &cqe);
	while (rc == -EINTR);
	if (rc)
		return rc;
	i = (int)io_uring_cqe_get_data64(cqe);
	r->b[i].got = cqe->res;
	r->b[i].state = RB_READY;
	r->reading--;
	io_uring_cqe_seen(&r->ring, cqe);
	return 0;
}

/* Hand what was prepared to the kernel. 0 or -errno (logged). */
static int submit(struct df_reader *r)
{
	int rc = 0;

	while (r->queued > 0) {
		rc = io_uring_submit(&r->ring);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc <= 0) {
			log_err("io_uring_submit: %s",
				strerror(rc ? -rc : EIO));
			rc = rc ? rc : -EIO;
			break;
		}
		r->reading += rc;
		r->queued -= rc;
		rc = 0;
	}
	return rc;
}

/* The buffer holding (or reading) block blk, -1 if none. */
static int find(const struct df_reader *r, uint64_t blk)
{
	int i;

	for (i = 0; i < DF_READ_AHEAD; i++)
		if (r->b[i].state != RB_EMPTY && r->b[i].blk == blk)
			return i;
	return -1;
}

/* A buffer that may take a new block: not being read, and not holding
 * one of the blocks from blk on that the read-ahead would keep. -1 if
 * none. */
static int spare(const struct df_reader *r, uint64_t blk)
{
	int i;

	for (i = 0; i < DF_READ_AHEAD; i++)
		if (r->b[i].state == RB_EMPTY)
			return i;
	for (i = 0; i < DF_READ_AHEAD; i++)
		if (r->b[i].state == RB_READY &&
		    (r->b[i].blk < blk || r->b[i].blk >= blk + DF_READ_AHEAD))
			return i;
	return -1;
}

/* Start reading block blk into buffer i: prepared for io_uring, or read
 * now without it. 0 or -ENOMEM. */
static int start(struct df_reader *r, int i, uint64_t blk)
{
	off_t at = (off_t)(blk * DF_BUF_SIZE);

	if (!r->b[i].p && !(r->b[i].p = df_buf_get()))
		return -ENOMEM;
	r->b[i].blk = blk;
	if (r->ring_ok) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

		if (sqe) {
			io_uring_prep_read(sqe, r->fd, r->b[i].p, DF_BUF_SIZE,
					   (uint64_t)at);
			io_uring_sqe_set_data64(sqe, (uint64_t)i);
			r->b[i].state = RB_READING;
			r->queued++;
			return 0;
		}
	}
	r->b[i].got = pread(r->fd, r->b[i].p, DF_BUF_SIZE, at);
	if (r->b[i].got < 0)
		r->b[i].got = -errno;
	r->b[i].state = RB_READY;
	return 0;
}

/* Wait for every read in flight (their buffers may be reused then).
 * 0 or -errno: the buffers of reads not known finished must not be. */
static int drain(struct df_reader *r)
{
	int rc = 0;

	if (r->queued)
		rc = submit(r);
	while (!rc && r->reading)
		rc = reap(r, 1);
	return rc;
}

/* Make block blk ready in a buffer and read ahead up to until (a file
 * offset). The buffer's index, or -errno. */
static int get_block(struct df_reader *r, uint64_t blk, uint64_t until)
{
	int i, rc = 0;
	uint64_t nb;

	while (!rc && (i = find(r, blk)) < 0) {
		i = spare(r, blk);
		if (i >= 0)
			rc = start(r, i, blk);
		else /* every buffer is being read */
			rc = r->queued ? submit(r) : reap(r, 1);
	}
	for (nb = blk + 1; !rc && r->ring_ok && nb < blk + DF_READ_AHEAD &&
			   nb * DF_BUF_SIZE < until;
	     nb++) {
		int j = find(r, nb) >= 0 ? -1 : spare(r, blk);

		if (j >= 0)
			rc = start(r, j, nb);
	}
	if (!rc)
		rc = submit(r);
	while (!rc && r->b[i].state == RB_READING)
		rc = reap(r, 1);
	return rc ? rc : i;
}

/* O_DIRECT refused: the rest through the page cache. 0 or -errno. */
static int fall_back(struct df_reader *r)
{
	int rc = drain(r);

	if (!rc)
		rc = df_set_direct(r->fd, 0);
	if (!rc)
		r->direct = 0;
	return rc;
}

ssize_t df_reader_pread(struct df_reader *r, char *buf, size_t n, uint64_t off,
			uint64_t until)
{
	uint64_t blk = off / DF_BUF_SIZE, start_off = blk * DF_BUF_SIZE;
	ssize_t got = 0;
	int i = -1, rc = 0;

	if (r->direct) {
		i = get_block(r, blk, until);
		if (i >= 0)
			got = r->b[i].got;
		else
			rc = i;
		if (got == -EINVAL)
			rc = fall_back(r);
		else if (got < 0)
			rc = (int)got;
	}
	if (rc) {
		errno = -rc;
		return -1;
	}
	if (!r->direct)
		return pread(r->fd, buf, n, (off_t)off);
	if (off >= start_off + (uint64_t)got)
		return 0;
	if (n > start_off + (uint64_t)got - off)
		n = (size_t)(start_off + (uint64_t)got - off);
	memcpy(buf, r->b[i].p + (off - start_off), n);
	return (ssize_t)n;
}

void df_reader_close(struct df_reader *r)
{
	int i, rc;

	if (!r)
		return;
	rc = r->ring_ok ? drain(r) : 0;
	if (rc)
		log_err("io_uring: reads left in flight: %s", strerror(-rc));
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);
	/* a buffer a read may still land in is never reused (leaked) */
	for (i = 0; i < DF_READ_AHEAD; i++)
		if (!rc || r->b[i].state != RB_READING)
			df_buf_put(r->b[i].p);
	free(r);
}
