/*
 * objectd/dioread.c: the O_DIRECT reader of a large GET's body, with
 * read-ahead. A body of DF_DIRECT_MIN bytes or more was written with
 * O_DIRECT (df_writer_open) and is read so too, a DF_BUF_SIZE block at
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
 * the page cache. This file knows nothing of HTTP.
 *
 * A whole body's MD5 (hash_len) is taken here, of the blocks as they are
 * read: the connection's thread then only copies and sends, and the MD5
 * (60% of kumo-objectd's CPU in a large GET) runs beside it, on a thread
 * of the reader's own that also drives the io_uring reads. That thread
 * marks a block ready once it is hashed, and reuses a buffer once the
 * caller asked for a later block. If the caller goes back (or the thread
 * stops on an error), the thread is joined and the rest is read and
 * hashed in the caller's thread, as without io_uring: the bytes handed
 * out past those hashed are hashed as they go (hash_more).
 *
 * A reader is used by one caller thread; the lock guards what it shares
 * with its hashing thread (the buffers' states, want, stop, error, done);
 * the MD5 (md5, hpos, hex) is the thread's until it has ended.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "common/log.h"
#include "common/md5.h"
#include "objectd/internal.h"

/* RB_READ: read, not yet hashed (threaded) */
enum { RB_EMPTY, RB_READING, RB_READ, RB_READY };

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
	/* the MD5 of the first hash_len bytes (0: none) */
	uint64_t hash_len;
	uint64_t hpos; /* bytes hashed so far */
	void *md5;     /* NULL once final (hex, md5_rc) or failed */
	int md5_rc;
	char hex[33];
	/* the hashing thread */
	int threaded; /* running, not joined */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t want; /* the caller's block: those below may be reused */
	int stop;      /* the caller asks the thread to end */
	int error;     /* -errno the thread stopped on */
	int done;      /* the thread has ended (nothing in flight) */
	int cond_init; /* lock and cond were set up */
};

/* Take one completion (waiting for it when wait): its buffer is read
 * (RB_READ when a thread is to hash it, else RB_READY). 0 or -errno
 * (none there without wait: -EAGAIN). Threaded: called with r->lock
 * held, which the wait lets go. */
static int reap(struct df_reader *r, int wait)
{
	struct io_uring_cqe *cqe;
	int rc, i;

	if (r->threaded && wait)
		pthread_mutex_unlock(&r->lock);
	do
		rc = wait ? io_uring_wait_cqe(&r->ring, &cqe)
			  : io_uring_peek_cqe(&r->ring, &cqe);
	while (rc == -EINTR);
	if (r->threaded && wait)
		pthread_mutex_lock(&r->lock);
	if (rc)
		return rc;
	i = (int)io_uring_cqe_get_data64(cqe);
	r->b[i].got = cqe->res;
	/* the kernel wrote it behind memcheck's back (make valgrind) */
	if (cqe->res > 0)
		VALGRIND_MAKE_MEM_DEFINED(r->b[i].p, (size_t)cqe->res);
	r->b[i].state = r->threaded ? RB_READ : RB_READY;
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

/* A buffer that may take a new block: not being read or hashed, and not
 * holding one of the blocks from blk on that the read-ahead would keep.
 * -1 if none. */
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
	r->b[i].state = r->threaded ? RB_READ : RB_READY;
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

/* Hash what of len bytes at data (file offset off) lies past r->hpos,
 * up to hash_len; a gap before them leaves the hash undone (-ESPIPE). */
static void hash_more(struct df_reader *r, const char *data, uint64_t off,
		      size_t len)
{
	uint64_t end = off + len < r->hash_len ? off + len : r->hash_len;

	if (!r->md5 || r->hpos >= end)
		return;
	if (off > r->hpos) {
		md5_free(r->md5);
		r->md5 = NULL;
		r->md5_rc = -ESPIPE;
		return;
	}
	r->md5_rc = md5_update(r->md5, data + (r->hpos - off),
			       (size_t)(end - r->hpos));
	r->hpos = end;
	if (!r->md5_rc && r->hpos == r->hash_len)
		r->md5_rc = md5_final(r->md5, r->hex);
	else if (!r->md5_rc)
		return;
	else
		md5_free(r->md5);
	r->md5 = NULL;
}

/*
 * The hashing thread: reads blocks 0.. of the hashed bytes in order
 * through the ring, DF_READ_AHEAD blocks from the caller's on, hashes
 * each (outside the lock: the buffer is the thread's until it is
 * RB_READY) and marks it ready. Ends once all is hashed, on r->stop, or
 * on an error (r->error), with nothing left in flight.
 */
static void *hash_thread(void *arg)
{
	struct df_reader *r = arg;
	uint64_t nblk = (r->hash_len + DF_BUF_SIZE - 1) / DF_BUF_SIZE;
	uint64_t next = 0, hnext = 0; /* the blocks to read, to hash next */
	int rc = 0, i;

	prctl(PR_SET_NAME, "objd-gethash"); /* its own line in perf and top */
	pthread_mutex_lock(&r->lock);
	while (!rc && !r->stop && hnext < nblk) {
		while (!rc && next < nblk && next < r->want + DF_READ_AHEAD &&
		       find(r, next) < 0 && (i = spare(r, r->want)) >= 0)
			rc = start(r, i, next++);
		if (!rc && r->queued)
			rc = submit(r);
		i = find(r, hnext);
		if (rc)
			break;
		if (i >= 0 && r->b[i].state == RB_READING)
			rc = reap(r, 1);
		else if (i >= 0 && r->b[i].state == RB_READ) {
			ssize_t got = r->b[i].got;

			if (got < 0) {
				rc = (int)got;
				break;
			}
			pthread_mutex_unlock(&r->lock);
			hash_more(r, r->b[i].p, hnext * DF_BUF_SIZE,
				  (size_t)got);
			pthread_mutex_lock(&r->lock);
			r->b[i].state = RB_READY;
			hnext++;
			if (got < DF_BUF_SIZE) /* end of file */
				hnext = nblk;
			pthread_cond_broadcast(&r->cond);
		} else {
			pthread_cond_wait(&r->cond, &r->lock);
		}
	}
	if (rc)
		r->error = rc;
	pthread_cond_broadcast(&r->cond);
	rc = drain(r); /* only this thread touches the ring */
	if (rc) {
		log_err("io_uring: reads left in flight: %s", strerror(-rc));
		r->error = r->error ? r->error : rc;
	}
	r->done = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* End the hashing thread (if it runs): the reader is the caller's alone
 * again, its blocks read but not hashed ready (hash_more hashes them as
 * they are handed out). 0 or the -errno the thread stopped on. */
static int unthread(struct df_reader *r)
{
	int i;

	if (!r->threaded)
		return 0;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->threaded = 0;
	for (i = 0; i < DF_READ_AHEAD; i++)
		if (r->b[i].state == RB_READ)
			r->b[i].state = RB_READY;
	return r->error;
}

int df_reader_open(int fd, uint64_t hash_len, struct df_reader **out)
{
	struct df_reader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->hash_len = hash_len;
	if (hash_len && !(r->md5 = md5_new())) {
		free(r);
		return -ENOMEM;
	}
	rc = df_set_direct(fd, 1);
	if (rc) {
		md5_free(r->md5);
		free(r);
		return rc;
	}
	r->direct = 1;
	r->ring_ok = !io_uring_queue_init(DF_READ_AHEAD, &r->ring, 0);
	if (r->ring_ok && hash_len) {
		pthread_mutex_init(&r->lock, NULL);
		pthread_cond_init(&r->cond, NULL);
		r->cond_init = 1;
		r->threaded = 1;
		if (pthread_create(&r->thread, NULL, hash_thread, r))
			r->threaded = 0; /* hashed as it is handed out */
	}
	*out = r;
	return 0;
}

/* Threaded: wait until block blk is read and hashed; the caller's buffers
 * below it may be reused. The buffer's index, -1 if the thread must end
 * first (the caller went back, or the thread stopped). */
static int ready_block(struct df_reader *r, uint64_t blk)
{
	int i = -1;

	pthread_mutex_lock(&r->lock);
	if (blk >= r->want && blk * DF_BUF_SIZE < r->hash_len) {
		if (blk != r->want) {
			r->want = blk;
			pthread_cond_broadcast(&r->cond);
		}
		while ((i = find(r, blk)) < 0 || r->b[i].state != RB_READY) {
			if (r->error || r->done) {
				i = -1;
				break;
			}
			pthread_cond_wait(&r->cond, &r->lock);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return i;
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

	if (r->threaded && (i = ready_block(r, blk)) < 0)
		rc = unthread(r); /* went back, or the thread's error */
	if (!rc && i < 0 && r->direct) {
		i = get_block(r, blk, until);
		if (i < 0)
			rc = i;
	}
	if (!rc && i >= 0 && (got = r->b[i].got) < 0)
		rc = (int)got;
	if (rc == -EINVAL) { /* O_DIRECT refused (larger sectors) */
		rc = fall_back(r);
		got = 0;
	}
	if (rc) {
		errno = -rc;
		return -1;
	}
	if (!r->direct) {
		got = pread(r->fd, buf, n, (off_t)off);
		if (got > 0)
			hash_more(r, buf, off, (size_t)got);
		return got;
	}
	if (off >= start_off + (uint64_t)got)
		return 0;
	if (n > start_off + (uint64_t)got - off)
		n = (size_t)(start_off + (uint64_t)got - off);
	memcpy(buf, r->b[i].p + (off - start_off), n);
	if (!r->threaded)
		hash_more(r, buf, off, n);
	return (ssize_t)n;
}

int df_reader_md5(struct df_reader *r, char hex[33])
{
	int rc;

	if (r->threaded) {
		pthread_mutex_lock(&r->lock);
		while (!r->done)
			pthread_cond_wait(&r->cond, &r->lock);
		pthread_mutex_unlock(&r->lock);
	}
	if (!r->hash_len)
		rc = -EINVAL;
	else if (r->md5)
		rc = -ESPIPE; /* not all read yet */
	else
		rc = r->md5_rc;
	if (!rc)
		memcpy(hex, r->hex, sizeof(r->hex));
	return rc;
}

void df_reader_close(struct df_reader *r)
{
	int i, rc;

	if (!r)
		return;
	unthread(r);
	rc = r->ring_ok ? drain(r) : 0;
	if (rc)
		log_err("io_uring: reads left in flight: %s", strerror(-rc));
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);
	/* a buffer a read may still land in is never reused (leaked) */
	for (i = 0; i < DF_READ_AHEAD; i++)
		if (!rc || r->b[i].state != RB_READING)
			df_buf_put(r->b[i].p);
	md5_free(r->md5);
	if (r->cond_init) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
	}
	free(r);
}
