/*
 * tests/unit/volume/test_nbd.c: the NBD server (volume/nbd.c) serving
 * in-memory RAM disks (a vtable written here, with allocation tracking
 * in 4 KiB blocks for base:allocation) on a free loopback port, driven by
 * the real clients (nbdinfo, nbdcopy, qemu-io from libnbd-bin and
 * qemu-utils) and by raw sockets sending what no client would: bad
 * magics, cut handshakes, requests past the end or too big, a client
 * that vanishes mid-write. After each bad input a normal client must
 * still be served.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "volume/nbd.h"
#include "volume/nbd_proto.h"

#define BLK 4096u

struct ramdisk {
	pthread_mutex_t lock;
	uint8_t *data;
	uint8_t *alloc; /* one byte per BLK block: written since trimmed */
	uint64_t size;
	int slow_ms; /* pread sleeps this long (concurrency test) */
};

static struct ramdisk disk, small, slow, direct;
static int opens, closes;
/* calls of rd_pwrite, and of direct's pwrite_from (placed) and pwrite_end */
static int pwrites, froms, ends;
static uint32_t end_flags;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void rd_init(struct ramdisk *d, uint64_t size)
{
	pthread_mutex_init(&d->lock, NULL);
	d->size = size;
	d->data = calloc(1, size);
	d->alloc = calloc(1, (size + BLK - 1) / BLK);
	cr_assert(d->data && d->alloc);
	d->slow_ms = 0;
}

static uint64_t rd_size(void *h)
{
	return ((struct ramdisk *)h)->size;
}

static int rd_pread(void *h, void *buf, uint32_t len, uint64_t off)
{
	struct ramdisk *d = h;

	cr_assert_leq(off + len, d->size);
	if (d->slow_ms)
		usleep((useconds_t)d->slow_ms * 1000);
	pthread_mutex_lock(&d->lock);
	memcpy(buf, d->data + off, len);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* Mark blocks touched by [off, off+len) allocated, or free the blocks it
 * covers whole. */
static void rd_mark(struct ramdisk *d, uint64_t off, uint64_t len, int on)
{
	uint64_t b, first, end;

	if (on) {
		for (b = off / BLK; b * BLK < off + len; b++)
			d->alloc[b] = 1;
		return;
	}
	first = (off + BLK - 1) / BLK;
	end = (off + len) / BLK;
	if (off + len == d->size)
		end = (d->size + BLK - 1) / BLK;
	for (b = first; b < end; b++)
		d->alloc[b] = 0;
}

static int rd_pwrite(void *h, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags)
{
	struct ramdisk *d = h;

	(void)flags;
	cr_assert_leq(off + len, d->size);
	pthread_mutex_lock(&d->lock);
	memcpy(d->data + off, buf, len);
	rd_mark(d, off, len, 1);
	pwrites++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* direct's pwrite_from: 4 KiB-aligned writes straight from the socket,
 * others -EAGAIN; at 1 MiB and after, one fill, then -EIO (an export
 * that fails half way). */
static int rd_pwrite_from(void *h, uint32_t len, uint64_t off,
			  int (*fill)(void *arg, void *dst, uint32_t n),
			  void *arg)
{
	struct ramdisk *d = h;
	int rc;

	cr_assert_leq(off + len, d->size);
	if ((off | len) % BLK)
		return -EAGAIN;
	pthread_mutex_lock(&d->lock);
	rc = fill(arg, d->data + off, off >= (1u << 20) ? BLK : len);
	if (!rc && off >= (1u << 20))
		rc = -EIO;
	if (!rc) {
		rd_mark(d, off, len, 1);
		froms++;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int rd_pwrite_end(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	struct ramdisk *d = h;

	cr_assert_leq(off + len, d->size);
	pthread_mutex_lock(&d->lock);
	ends++;
	end_flags = flags;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int rd_flush(void *h)
{
	(void)h;
	return 0;
}

static int rd_zero(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	struct ramdisk *d = h;

	cr_assert_leq(off + len, d->size);
	pthread_mutex_lock(&d->lock);
	memset(d->data + off, 0, len);
	rd_mark(d, off, len, !!(flags & VOL_NO_HOLE));
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int rd_trim(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	return rd_zero(h, len, off, flags & ~VOL_NO_HOLE);
}

static int rd_extents(void *h, uint32_t len, uint64_t off,
		      int (*fn)(void *, uint64_t, uint64_t, uint32_t),
		      void *arg)
{
	struct ramdisk *d = h;
	uint64_t end = off + len, pos = off, b, run_end;
	int a, r = 0;

	pthread_mutex_lock(&d->lock);
	while (pos < end && !r) {
		b = pos / BLK;
		a = d->alloc[b];
		run_end = (b + 1) * BLK;
		while (run_end < end && d->alloc[run_end / BLK] == a)
			run_end += BLK;
		if (run_end > end)
			run_end = end;
		r = fn(arg, pos, run_end - pos,
		       a ? 0 : VOL_EXTENT_HOLE | VOL_EXTENT_ZERO);
		pos = run_end;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

static const struct vol_export_ops rd_ops = {
	.size = rd_size,
	.pread = rd_pread,
	.pwrite = rd_pwrite,
	.flush = rd_flush,
	.trim = rd_trim,
	.zero = rd_zero,
	.extents = rd_extents,
};

static const struct vol_export_ops rd_direct_ops = {
	.size = rd_size,
	.pread = rd_pread,
	.pwrite = rd_pwrite,
	.pwrite_from = rd_pwrite_from,
	.pwrite_end = rd_pwrite_end,
	.flush = rd_flush,
	.trim = rd_trim,
	.zero = rd_zero,
	.extents = rd_extents,
};

/* Exports: disk (64 MiB), ro (read-only view of small), aligned (small,
 * min block 512), slow (reads take 200 ms), direct (2 MiB, with
 * pwrite_from). */
static int ex_open(void *ctx, const char *name, struct vol_export *out)
{
	(void)ctx;
	out->ops = &rd_ops;
	if (!strcmp(name, "direct")) {
		out->ops = &rd_direct_ops;
		out->h = &direct;
	} else if (!strcmp(name, "disk")) {
		out->h = &disk;
	} else if (!strcmp(name, "ro")) {
		out->h = &small;
		out->read_only = 1;
		strcpy(out->description, "read-only disk");
	} else if (!strcmp(name, "aligned")) {
		out->h = &small;
		out->min_block = 512;
	} else if (!strcmp(name, "slow")) {
		out->h = &slow;
	} else {
		return -ENOENT;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	pthread_mutex_lock(&count_lock);
	opens++;
	pthread_mutex_unlock(&count_lock);
	return 0;
}

static void ex_close(void *ctx, struct vol_export *e)
{
	(void)ctx;
	(void)e;
	pthread_mutex_lock(&count_lock);
	closes++;
	pthread_mutex_unlock(&count_lock);
}

static int ex_list(void *ctx, int (*fn)(void *, const char *, const char *),
		   void *arg)
{
	(void)ctx;
	if (fn(arg, "disk", "the big one") || fn(arg, "ro", "read-only disk"))
		return -EIO;
	return 0;
}

static const struct vol_exports exports = {ex_open, ex_close, ex_list, NULL};

static struct nbd_server *srv;
static int port;
static char tmp[256];

static void start(const struct nbd_server_conf *conf)
{
	cr_assert_eq(nbd_server_start(conf, &exports, &srv), 0);
	port = nbd_server_port(srv);
	cr_assert_gt(port, 0);
}

static void setup(void)
{
	struct nbd_server_conf conf = {.ip = "127.0.0.1", .max_connections = 8};

	signal(SIGPIPE, SIG_IGN);
	rd_init(&disk, 64 << 20);
	rd_init(&small, 1 << 20);
	rd_init(&slow, 1 << 20);
	rd_init(&direct, 2 << 20);
	pwrites = froms = ends = 0;
	slow.slow_ms = 200;
	snprintf(tmp, sizeof(tmp), "/tmp/test_nbd.XXXXXX");
	cr_assert(mkdtemp(tmp));
	start(&conf);
}

static void teardown(void)
{
	char cmd[300];

	nbd_server_stop(srv);
	srv = NULL;
	cr_expect_eq(opens, closes, "every opened export is closed");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}

/* Run a shell command; its output (stdout and stderr) into out. */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *f;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	cr_assert(f);
	if (out) {
		n = fread(out, 1, outlen - 1, f);
		out[n] = 0;
	} else {
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The server still serves a normal client. */
static void assert_alive(void)
{
	char out[256];

	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo --size nbd://127.0.0.1:%d/disk "
			 "2>&1",
			 port),
		     0, "%s", out);
	cr_assert_eq(strtoull(out, NULL, 10), 64ull << 20, "%s", out);
}

/* qemu-io commands (each "-c '...'") on export name; 0 when they all
 * ran and no verification failed. */
static int qemu_io(const char *name, const char *cmds)
{
	char out[8192];
	int r;

	r = run(out, sizeof(out),
		"timeout 60 qemu-io -f raw %s nbd://127.0.0.1:%d/%s 2>&1", cmds,
		port, name);
	if (r || strstr(out, "fail") || strstr(out, "error")) {
		cr_log_error("qemu-io %s: %s", cmds, out);
		return r ? r : 1;
	}
	return 0;
}

/* nbdinfo's description of export name holds every line of want. */
static void nbdinfo_has(const char *name, const char *const *want)
{
	char out[8192];

	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo nbd://127.0.0.1:%d/%s 2>&1", port,
			 name),
		     0, "%s", out);
	for (; *want; want++)
		cr_assert(strstr(out, *want), "%s lacks %s: %s", name, *want,
			  out);
}

TestSuite(nbd, .init = setup, .fini = teardown, .timeout = 120);

Test(nbd, nbdinfo_size_list_and_description)
{
	char out[8192];

	assert_alive();
	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo --list nbd://127.0.0.1:%d 2>&1",
			 port),
		     0, "%s", out);
	cr_assert(strstr(out, "export=\"disk\""), "%s", out);
	cr_assert(strstr(out, "export=\"ro\""), "%s", out);
	cr_assert(strstr(out, "read-only disk"), "%s", out);

	nbdinfo_has("ro", (const char *[]){"is_read_only: true",
					   "block_size_maximum: 33554432",
					   "block_size_preferred: 4096",
					   "can_multi_conn: true",
					   "base:allocation", NULL});
	nbdinfo_has("disk",
		    (const char *[]){"is_read_only: false", "can_trim: true",
				     "can_zero: true", "can_fua: true",
				     "can_flush: true", NULL});
	nbdinfo_has("aligned",
		    (const char *[]){"block_size_minimum: 512", NULL});

	/* an unknown export: nbdinfo fails, the server carries on */
	cr_assert_neq(run(out, sizeof(out),
			  "timeout 20 nbdinfo nbd://127.0.0.1:%d/nope 2>&1",
			  port),
		      0, "%s", out);
	assert_alive();
}

Test(nbd, map_shows_holes_after_trim)
{
	char out[8192];

	cr_assert_eq(qemu_io("disk", "-c 'write -P 0x11 0 1M' "
				     "-c 'write -P 0x22 8M 2M' "
				     "-c 'discard 8M 1M'"),
		     0);
	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo --map nbd://127.0.0.1:%d/disk "
			 "2>&1",
			 port),
		     0, "%s", out);
	/* nbdinfo --map: offset size type description */
	cr_assert(strstr(out, "0     1048576    0  data"), "%s", out);
	/* [1M, 8M) never written and [8M, 9M) trimmed: one hole */
	cr_assert(strstr(out, "1048576     8388608    3  hole,zero"), "%s",
		  out);
	cr_assert(strstr(out, "9437184     1048576    0  data"), "%s", out);
	cr_assert(strstr(out, "10485760    56623104    3  hole,zero"), "%s",
		  out);
	/* trimmed data reads back as zeros */
	cr_assert_eq(qemu_io("disk", "-c 'read -P 0 8M 1M' "
				     "-c 'read -P 0x22 9M 1M'"),
		     0);
}

Test(nbd, qemu_io_patterns_at_random_offsets)
{
	char cmds[4096] = "", rd[4096] = "";
	size_t n = 0, m = 0;
	int i;
	unsigned seed = (unsigned)time(NULL);

	srand(seed);
	/* disjoint 64 KiB slots of the 64 MiB disk, random order */
	for (i = 0; i < 24; i++) {
		unsigned slot = (unsigned)i * 40 + (unsigned)(rand() % 40);
		unsigned len = 512u * (1 + (unsigned)(rand() % 128));
		n += (size_t)snprintf(cmds + n, sizeof(cmds) - n,
				      "-c 'write -P %u %u %u' ", i + 1,
				      slot * 65536u, len);
		m += (size_t)snprintf(rd + m, sizeof(rd) - m,
				      "-c 'read -P %u %u %u' ", i + 1,
				      slot * 65536u, len);
	}
	cr_assert_eq(qemu_io("disk", cmds), 0, "seed %u", seed);
	cr_assert_eq(qemu_io("disk", rd), 0, "seed %u", seed);
	/* zeroing (with and without a hole), discard, FUA, unaligned */
	cr_assert_eq(qemu_io("disk", "-c 'write -P 0x33 32M 256k' "
				     "-c 'write -z 32M 64k' "
				     "-c 'write -z -u 33M 64k' "
				     "-c 'write -f -P 0x44 34M 4k' "
				     "-c 'write -P 0x55 35M 1' "
				     "-c 'flush'"),
		     0);
	cr_assert_eq(qemu_io("disk", "-c 'read -P 0 32M 64k' "
				     "-c 'read -P 0x33 32832k 192k' "
				     "-c 'read -P 0x44 34M 4k' "
				     "-c 'read -P 0x55 35M 1' "
				     "-c 'read -P 0 33M 64k'"),
		     0);
	cr_assert_eq(disk.data[32 << 20], 0);
	cr_assert_eq(disk.data[(32 << 20) + (64 << 10)], 0x33);
}

Test(nbd, nbdcopy_in_and_out)
{
	char out[4096];

	cr_assert_eq(run(out, sizeof(out),
			 "head -c 12582912 /dev/urandom > %s/in && "
			 "timeout 60 nbdcopy %s/in nbd://127.0.0.1:%d/disk && "
			 "timeout 60 nbdcopy nbd://127.0.0.1:%d/disk %s/out && "
			 "cmp -n 12582912 %s/in %s/out && "
			 "cmp -i 12582912 %s/out /dev/zero -n 54525952 2>&1",
			 tmp, tmp, port, port, tmp, tmp, tmp, tmp),
		     0, "%s", out);
	/* and through qemu-img, which uses block status */
	cr_assert_eq(run(out, sizeof(out),
			 "timeout 60 qemu-img convert -O raw "
			 "nbd://127.0.0.1:%d/disk %s/out2 && "
			 "cmp %s/out %s/out2 2>&1",
			 port, tmp, tmp, tmp),
		     0, "%s", out);
}

Test(nbd, two_clients_write_at_once)
{
	char out[4096];

	cr_assert_eq(run(out, sizeof(out),
			 "(timeout 60 qemu-io -f raw -c 'write -P 0x61 0 16M' "
			 "nbd://127.0.0.1:%d/disk > %s/a 2>&1 & "
			 "timeout 60 qemu-io -f raw -c 'write -P 0x62 16M 16M' "
			 "nbd://127.0.0.1:%d/disk > %s/b 2>&1 & wait) && "
			 "cat %s/a %s/b",
			 port, tmp, port, tmp, tmp, tmp),
		     0, "%s", out);
	cr_assert_null(strstr(out, "rror"), "%s", out);
	cr_assert_eq(qemu_io("disk", "-c 'read -P 0x61 0 16M' "
				     "-c 'read -P 0x62 16M 16M'"),
		     0);
}

/* ---- raw sockets ---- */

static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_neq(fd, -1);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void raw_read(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, (uint8_t *)buf + got, len - got, 0);
		cr_assert_gt(n, 0, "short read from the server");
		got += (size_t)n;
	}
}

static void raw_write(int fd, const void *buf, size_t len)
{
	cr_assert_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The server closes: recv sees the end (no reply bytes first). */
static void assert_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	cr_assert(n == 0 || (n == -1 && errno == ECONNRESET),
		  "connection still open (%zd)", n);
	close(fd);
}

static int raw_hello(uint32_t cflags)
{
	uint8_t h[18], f[4];
	int fd = raw_connect();

	raw_read(fd, h, sizeof(h));
	cr_assert_eq(be64_read(h), NBD_MAGIC);
	cr_assert_eq(be64_read(h + 8), NBD_OPTS_MAGIC);
	cr_assert_eq(be16_read(h + 16),
		     NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	f[0] = f[1] = f[2] = 0;
	f[3] = (uint8_t)cflags;
	raw_write(fd, f, 4);
	return fd;
}

static void raw_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
	struct buf b = BUF_INIT;

	buf_put_be64(&b, NBD_OPTS_MAGIC);
	buf_put_be32(&b, opt);
	buf_put_be32(&b, len);
	buf_append(&b, data, len);
	raw_write(fd, b.data, b.len);
	buf_free(&b);
}

/* One option reply; its type returned, data into d (up to 4096). */
static uint32_t raw_opt_reply(int fd, uint32_t opt, uint8_t *d, uint32_t *len)
{
	uint8_t h[20];
	uint32_t l;

	raw_read(fd, h, sizeof(h));
	cr_assert_eq(be64_read(h), NBD_REP_MAGIC);
	cr_assert_eq(be32_read(h + 8), opt);
	l = be32_read(h + 16);
	cr_assert_leq(l, 4096);
	raw_read(fd, d, l);
	if (len)
		*len = l;
	return be32_read(h + 12);
}

/* GO to name; returns the first reply type that is not NBD_REP_INFO. */
static uint32_t raw_go(int fd, const char *name, uint64_t *size)
{
	struct buf b = BUF_INIT;
	uint8_t d[4096];
	uint32_t t, l;

	buf_put_be32(&b, (uint32_t)strlen(name));
	buf_append(&b, name, strlen(name));
	buf_put_be16(&b, 0);
	raw_opt(fd, NBD_OPT_GO, b.data, (uint32_t)b.len);
	buf_free(&b);
	while ((t = raw_opt_reply(fd, NBD_OPT_GO, d, &l)) == NBD_REP_INFO)
		if (be16_read(d) == NBD_INFO_EXPORT && size)
			*size = be64_read(d + 2);
	return t;
}

/* A connection in transmission to name; structured replies if asked. */
static int raw_open(const char *name, int structured)
{
	uint8_t d[4096];
	int fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);

	if (structured) {
		raw_opt(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
		cr_assert_eq(
			raw_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, d, NULL),
			NBD_REP_ACK);
	}
	cr_assert_eq(raw_go(fd, name, NULL), NBD_REP_ACK);
	return fd;
}

/* A request, and with payload (len bytes) its payload in the same send:
 * over loopback they reach the server's receive queue together (len
 * small: one segment). */
static void raw_req_payload(int fd, uint16_t type, uint16_t flags,
			    uint64_t handle, uint64_t off, uint32_t len,
			    const void *payload)
{
	struct buf b = BUF_INIT;

	buf_put_be32(&b, NBD_REQUEST_MAGIC);
	buf_put_be16(&b, flags);
	buf_put_be16(&b, type);
	buf_put_be64(&b, handle);
	buf_put_be64(&b, off);
	buf_put_be32(&b, len);
	if (payload)
		cr_assert_eq(buf_append(&b, payload, len), 0);
	raw_write(fd, b.data, b.len);
	buf_free(&b);
}

static void raw_req(int fd, uint16_t type, uint16_t flags, uint64_t handle,
		    uint64_t off, uint32_t len)
{
	raw_req_payload(fd, type, flags, handle, off, len, NULL);
}

/* A simple reply's error, checking its handle. */
static uint32_t raw_simple(int fd, uint64_t handle)
{
	uint8_t h[16];

	raw_read(fd, h, sizeof(h));
	cr_assert_eq(be32_read(h), NBD_SIMPLE_REPLY_MAGIC);
	cr_assert_eq(be64_read(h + 8), handle);
	return be32_read(h + 4);
}

/* A structured chunk: type returned, payload into d (up to dlen). */
static uint16_t raw_chunk(int fd, uint64_t handle, uint16_t *flags, uint8_t *d,
			  uint32_t dlen, uint32_t *len)
{
	uint8_t h[20];

	raw_read(fd, h, sizeof(h));
	cr_assert_eq(be32_read(h), NBD_STRUCTURED_REPLY_MAGIC);
	cr_assert_eq(be64_read(h + 8), handle);
	*flags = be16_read(h + 4);
	*len = be32_read(h + 16);
	cr_assert_leq(*len, dlen);
	raw_read(fd, d, *len);
	return be16_read(h + 6);
}

/* An option header announcing len bytes of data. */
static uint8_t *opt_header(uint8_t *h, uint32_t opt, uint32_t len)
{
	memcpy(h, "IHAVEOPT", 8);
	h[8] = (uint8_t)(opt >> 24);
	h[9] = (uint8_t)(opt >> 16);
	h[10] = (uint8_t)(opt >> 8);
	h[11] = (uint8_t)opt;
	h[12] = (uint8_t)(len >> 24);
	h[13] = (uint8_t)(len >> 16);
	h[14] = (uint8_t)(len >> 8);
	h[15] = (uint8_t)len;
	return h;
}

Test(nbd, bad_magic_and_truncated_handshake)
{
	uint8_t junk[18] = "NOTIHAVEOPTJUNK", h[16];
	int fd;

	/* bad option magic */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_write(fd, junk, sizeof(junk));
	assert_closed(fd);
	assert_alive();

	/* unknown client flags */
	fd = raw_hello(0x80);
	assert_closed(fd);
	assert_alive();

	/* the client flags cut short, then gone */
	fd = raw_connect();
	raw_read(fd, junk, 18);
	raw_write(fd, "\0\0", 2);
	close(fd);
	/* an option header cut short */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_write(fd, "IHAVEOPT\0\0", 10);
	close(fd);
	/* option data announced but never sent */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_write(fd, opt_header(h, NBD_OPT_GO, 100), 16);
	close(fd);
	/* an option far too long: hang up rather than read it */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_write(fd, opt_header(h, NBD_OPT_GO, 0x7fffffff), 16);
	assert_closed(fd);
	assert_alive();

	/* bad request magic in transmission */
	fd = raw_open("disk", 0);
	raw_write(fd, junk, sizeof(junk));
	raw_write(fd, junk, 12);
	assert_closed(fd);
	assert_alive();
}

Test(nbd, options_errors_and_export_name)
{
	uint8_t d[4096];
	uint32_t l;
	uint64_t size = 0;
	int fd;

	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	/* unknown option */
	raw_opt(fd, 999, "xyz", 3);
	cr_assert_eq(raw_opt_reply(fd, 999, d, &l), NBD_REP_ERR_UNSUP);
	/* no TLS configured */
	raw_opt(fd, NBD_OPT_STARTTLS, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_STARTTLS, d, &l),
		     NBD_REP_ERR_POLICY);
	/* meta contexts need structured replies first */
	raw_opt(fd, NBD_OPT_SET_META_CONTEXT, "\0\0\0\0\0\0\0\0", 8);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, d, &l),
		     NBD_REP_ERR_INVALID);
	/* LIST with data is malformed; without, two exports */
	raw_opt(fd, NBD_OPT_LIST, "x", 1);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST, d, &l),
		     NBD_REP_ERR_INVALID);
	raw_opt(fd, NBD_OPT_LIST, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST, d, &l), NBD_REP_SERVER);
	cr_assert_eq(be32_read(d), 4);
	cr_assert_eq(memcmp(d + 4, "disk", 4), 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST, d, &l), NBD_REP_SERVER);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST, d, &l), NBD_REP_ACK);
	/* unknown export: an error, and the haggling goes on */
	cr_assert_eq(raw_go(fd, "nope", NULL), NBD_REP_ERR_UNKNOWN);
	/* malformed GO (name longer than the data) */
	raw_opt(fd, NBD_OPT_GO, "\0\0\1\0ab\0\0", 8);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_GO, d, &l), NBD_REP_ERR_INVALID);
	/* INFO does not enter transmission */
	raw_opt(fd, NBD_OPT_INFO, "\0\0\0\4disk\0\1\0\2", 12);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_INFO, d, &l), NBD_REP_INFO);
	cr_assert_eq(be16_read(d), NBD_INFO_EXPORT);
	cr_assert_eq(be64_read(d + 2), 64 << 20);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_INFO, d, &l), NBD_REP_INFO);
	cr_assert_eq(be16_read(d), NBD_INFO_BLOCK_SIZE);
	cr_assert_eq(be32_read(d + 2), 1);
	cr_assert_eq(be32_read(d + 10), 32 << 20);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_INFO, d, &l), NBD_REP_ACK);
	/* ABORT is acknowledged, then the server hangs up */
	raw_opt(fd, NBD_OPT_ABORT, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_ABORT, d, &l), NBD_REP_ACK);
	assert_closed(fd);

	/* EXPORT_NAME of an unknown export: only a hang-up says no */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_opt(fd, NBD_OPT_EXPORT_NAME, "nope", 4);
	assert_closed(fd);
	/* EXPORT_NAME of a known one, with the 124 zeroes */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_opt(fd, NBD_OPT_EXPORT_NAME, "ro", 2);
	raw_read(fd, d, 8 + 2 + 124);
	size = be64_read(d);
	cr_assert_eq(size, 1 << 20);
	cr_assert(be16_read(d + 8) & NBD_FLAG_READ_ONLY);
	/* writes to a read-only export: EPERM */
	raw_req(fd, NBD_CMD_TRIM, 0, 7, 0, 4096);
	cr_assert_eq(raw_simple(fd, 7), NBD_EPERM);
	raw_req(fd, NBD_CMD_DISC, 0, 8, 0, 0);
	assert_closed(fd);
	assert_alive();
}

Test(nbd, past_end_oversized_misaligned)
{
	uint8_t d[8192];
	uint8_t *big;
	uint16_t fl;
	uint32_t l;
	uint64_t end = 64 << 20;
	int fd;

	/* simple replies */
	fd = raw_open("disk", 0);
	raw_req(fd, NBD_CMD_READ, 0, 1, end - 512, 1024);
	cr_assert_eq(raw_simple(fd, 1), NBD_EINVAL);
	raw_req(fd, NBD_CMD_READ, 0, 2, UINT64_MAX - 10, 512);
	cr_assert_eq(raw_simple(fd, 2), NBD_EINVAL);
	raw_req(fd, NBD_CMD_WRITE, 0, 3, end, 4);
	raw_write(fd, "abcd", 4);
	cr_assert_eq(raw_simple(fd, 3), NBD_ENOSPC);
	raw_req(fd, NBD_CMD_WRITE_ZEROES, 0, 4, end - 4096, 8192);
	cr_assert_eq(raw_simple(fd, 4), NBD_ENOSPC);
	/* a read over the 32 MiB limit */
	raw_req(fd, NBD_CMD_READ, 0, 5, 0, 33 << 20);
	cr_assert_eq(raw_simple(fd, 5), NBD_EINVAL);
	/* a write over the limit: its payload is skipped, the stream stays
	 * in step */
	big = calloc(1, 33 << 20);
	cr_assert(big);
	memset(big, 0x77, 33 << 20);
	raw_req(fd, NBD_CMD_WRITE, 0, 6, 0, 33 << 20);
	raw_write(fd, big, 33 << 20);
	cr_assert_eq(raw_simple(fd, 6), NBD_EINVAL);
	free(big);
	cr_assert_eq(disk.data[0], 0, "refused write left no trace");
	/* unknown command, unknown flag, BLOCK_STATUS without context */
	raw_req(fd, 42, 0, 7, 0, 512);
	cr_assert_eq(raw_simple(fd, 7), NBD_EINVAL);
	raw_req(fd, NBD_CMD_FLUSH, 0x100, 8, 0, 0);
	cr_assert_eq(raw_simple(fd, 8), NBD_EINVAL);
	raw_req(fd, NBD_CMD_BLOCK_STATUS, 0, 9, 0, 512);
	cr_assert_eq(raw_simple(fd, 9), NBD_EINVAL);
	/* and a good read still works on this connection */
	raw_req(fd, NBD_CMD_READ, 0, 10, end - 512, 512);
	cr_assert_eq(raw_simple(fd, 10), 0);
	raw_read(fd, d, 512);
	/* a write too large to skip: the server hangs up */
	raw_req(fd, NBD_CMD_WRITE, 0, 11, 0, 1u << 30);
	assert_closed(fd);
	assert_alive();

	/* structured: READ errors come as an error chunk */
	fd = raw_open("disk", 1);
	raw_req(fd, NBD_CMD_READ, 0, 1, end - 512, 1024);
	cr_assert_eq(raw_chunk(fd, 1, &fl, d, sizeof(d), &l),
		     NBD_REPLY_TYPE_ERROR);
	cr_assert(fl & NBD_REPLY_FLAG_DONE);
	cr_assert_eq(be32_read(d), NBD_EINVAL);
	cr_assert_eq(be16_read(d + 4), l - 6);
	raw_req(fd, NBD_CMD_READ, NBD_CMD_FLAG_DF, 2, 4096, 4096);
	cr_assert_eq(raw_chunk(fd, 2, &fl, d, sizeof(d), &l),
		     NBD_REPLY_TYPE_OFFSET_DATA);
	cr_assert(fl & NBD_REPLY_FLAG_DONE);
	cr_assert_eq(l, 8 + 4096);
	cr_assert_eq(be64_read(d), 4096);
	raw_req(fd, NBD_CMD_DISC, 0, 3, 0, 0);
	assert_closed(fd);

	/* an export with 512-byte blocks refuses misaligned requests */
	fd = raw_open("aligned", 0);
	raw_req(fd, NBD_CMD_READ, 0, 1, 1, 512);
	cr_assert_eq(raw_simple(fd, 1), NBD_EINVAL);
	raw_req(fd, NBD_CMD_READ, 0, 2, 512, 100);
	cr_assert_eq(raw_simple(fd, 2), NBD_EINVAL);
	raw_req(fd, NBD_CMD_READ, 0, 3, 512, 512);
	cr_assert_eq(raw_simple(fd, 3), 0);
	raw_read(fd, d, 512);
	close(fd);
	assert_alive();
}

Test(nbd, block_status_raw)
{
	uint8_t d[4096];
	uint8_t q[] = "\0\0\0\4disk\0\0\0\1\0\0\0\x0f" NBD_META_BASE_ALLOCATION;
	uint16_t fl;
	uint32_t l;
	int fd;

	memset(disk.data + 8192, 1, 4096);
	disk.alloc[2] = 1;
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	raw_opt(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, d, &l),
		     NBD_REP_ACK);
	raw_opt(fd, NBD_OPT_LIST_META_CONTEXT, "\0\0\0\4disk\0\0\0\0", 12);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, d, &l),
		     NBD_REP_META_CONTEXT);
	cr_assert_eq(memcmp(d + 4, "base:allocation", 15), 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, d, &l),
		     NBD_REP_ACK);
	raw_opt(fd, NBD_OPT_SET_META_CONTEXT, q, sizeof(q) - 1);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, d, &l),
		     NBD_REP_META_CONTEXT);
	cr_assert_eq(be32_read(d), NBD_META_BASE_ALLOCATION_ID);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, d, &l),
		     NBD_REP_ACK);
	cr_assert_eq(raw_go(fd, "disk", NULL), NBD_REP_ACK);

	raw_req(fd, NBD_CMD_BLOCK_STATUS, 0, 1, 0, 5 * 4096);
	cr_assert_eq(raw_chunk(fd, 1, &fl, d, sizeof(d), &l),
		     NBD_REPLY_TYPE_BLOCK_STATUS);
	cr_assert(fl & NBD_REPLY_FLAG_DONE);
	cr_assert_eq(l, 4 + 3 * 8);
	cr_assert_eq(be32_read(d + 4), 8192);
	cr_assert_eq(be32_read(d + 8), NBD_STATE_HOLE | NBD_STATE_ZERO);
	cr_assert_eq(be32_read(d + 12), 4096);
	cr_assert_eq(be32_read(d + 16), 0);
	cr_assert_eq(be32_read(d + 20), 8192);
	/* REQ_ONE: the first extent only */
	raw_req(fd, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 2, 0, 5 * 4096);
	cr_assert_eq(raw_chunk(fd, 2, &fl, d, sizeof(d), &l),
		     NBD_REPLY_TYPE_BLOCK_STATUS);
	cr_assert_eq(l, 4 + 8);
	/* a range past the end */
	raw_req(fd, NBD_CMD_BLOCK_STATUS, 0, 3, 64 << 20, 4096);
	cr_assert_eq(raw_chunk(fd, 3, &fl, d, sizeof(d), &l),
		     NBD_REPLY_TYPE_ERROR);
	cr_assert_eq(be32_read(d), NBD_EINVAL);
	close(fd);
}

Test(nbd, client_vanishes_mid_write)
{
	uint8_t *p = malloc(1 << 20);
	int fd, i;

	cr_assert(p);
	memset(p, 0x5a, 1 << 20);
	for (i = 0; i < 4; i++) {
		fd = raw_open("disk", i & 1);
		raw_req(fd, NBD_CMD_WRITE, 0, 1, 1 << 20, 1 << 20);
		raw_write(fd, p, (size_t)(100 + i * 200000));
		close(fd);
	}
	free(p);
	assert_alive();
	usleep(100000);
	for (i = 0; i < (1 << 20); i++)
		cr_assert_eq(disk.data[(1 << 20) + i], 0,
			     "a cut write was applied");
}

/* An export with pwrite_from gets a WRITE's payload from the socket
 * (no payload buffer), then pwrite_end with the flags; one it refuses
 * (-EAGAIN) goes through pwrite; one it fails half way is answered with
 * its error and the rest of the payload read away: the next request is
 * served. */
Test(nbd, writes_placed_by_the_export)
{
	uint8_t p[8192], got[4096];
	int fd;

	memset(p, 0x6b, sizeof(p));
	fd = raw_open("direct", 0);
	raw_req_payload(fd, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 1, 8192, 8192, p);
	cr_assert_eq(raw_simple(fd, 1), 0);
	cr_expect_eq(froms, 1);
	cr_expect_eq(ends, 1);
	cr_expect_eq(end_flags, VOL_FUA);
	cr_expect_eq(pwrites, 0, "a placed write went through pwrite");
	cr_expect(!memcmp(direct.data + 8192, p, 8192));

	memset(p, 0x17, 4096);
	raw_req_payload(fd, NBD_CMD_WRITE, 0, 2, 512, 4096, p);
	cr_assert_eq(raw_simple(fd, 2), 0);
	cr_expect_eq(pwrites, 1, "a refused write did not go through pwrite");
	cr_expect_eq(ends, 1);
	cr_expect(!memcmp(direct.data + 512, p, 4096));

	raw_req_payload(fd, NBD_CMD_WRITE, 0, 3, 1 << 20, 8192, p);
	cr_assert_eq(raw_simple(fd, 3), NBD_EIO);
	raw_req(fd, NBD_CMD_READ, 0, 4, 8192, 4096);
	cr_assert_eq(raw_simple(fd, 4), 0);
	raw_read(fd, got, sizeof(got));
	memset(p, 0x6b, 4096);
	cr_expect(!memcmp(got, p, 4096));
	cr_expect_eq(ends, 1);
	close(fd);
	assert_alive();
}

/* A client stalled mid-payload holds none of the export's locks (the
 * payload goes to a buffer, pwrite_from is not used): another
 * connection's read of the export, which takes its lock, is served
 * meanwhile; then the write completes through pwrite. */
Test(nbd, a_stalled_payload_holds_no_export_lock)
{
	uint8_t p[8192], got[4096];
	int fd, fd2;

	memset(p, 0x3c, sizeof(p));
	fd = raw_open("direct", 0);
	fd2 = raw_open("direct", 0);
	raw_req(fd, NBD_CMD_WRITE, 0, 1, 0, sizeof(p));
	raw_write(fd, p, 4096);
	usleep(200000); /* the server reads the header meanwhile */
	raw_req(fd2, NBD_CMD_READ, 0, 2, 65536, 4096);
	cr_assert_eq(raw_simple(fd2, 2), 0,
		     "a read waited for a stalled write");
	raw_read(fd2, got, sizeof(got));
	raw_write(fd, p + 4096, 4096);
	cr_assert_eq(raw_simple(fd, 1), 0);
	cr_expect_eq(froms, 0);
	cr_expect_eq(pwrites, 1);
	cr_expect(!memcmp(direct.data, p, sizeof(p)));
	close(fd2);
	close(fd);
	assert_alive();
}

Test(nbd, requests_run_concurrently_in_one_connection)
{
	struct timespec t0, t1;
	uint8_t d[4096];
	double secs;
	int fd, i;

	fd = raw_open("slow", 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 8; i++)
		raw_req(fd, NBD_CMD_READ, 0, (uint64_t)i, (uint64_t)i * 4096,
			4096);
	for (i = 0; i < 8; i++) {
		uint8_t h[16];
		raw_read(fd, h, 16);
		cr_assert_eq(be32_read(h + 4), 0);
		cr_assert_lt(be64_read(h + 8), 8);
		raw_read(fd, d, 4096);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* 8 reads of 200 ms each in series would take 1.6 s */
	cr_assert_lt(secs, 0.8, "reads took %.2f s", secs);
	close(fd);
}

Test(nbd, max_connections)
{
	int fds[8], fd, i;
	uint8_t h[18];

	for (i = 0; i < 8; i++) {
		fds[i] = raw_connect();
		raw_read(fds[i], h, sizeof(h));
	}
	/* the ninth is closed without a greeting */
	fd = raw_connect();
	assert_closed(fd);
	close(fds[0]);
	usleep(200000);
	fd = raw_connect();
	raw_read(fd, h, sizeof(h));
	close(fd);
	for (i = 1; i < 8; i++)
		close(fds[i]);
	usleep(200000);
	assert_alive();
}

/* ---- TLS ---- */

/* A CA, a server certificate for localhost/127.0.0.1, and a client
 * certificate, in tmp/tls laid out as libnbd's tls-certificates wants. */
static void make_certs(void)
{
	char out[8192];

	cr_assert_eq(
		run(out, sizeof(out),
		    "(set -e; d=%s/tls; mkdir -p $d; cd $d; "
		    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
		    "-subj /CN=kumo-test-ca -keyout ca-key.pem -out "
		    "ca-cert.pem; "
		    "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
		    "-keyout server-key.pem -out server.csr; "
		    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
		    "extendedKeyUsage=serverAuth\\n' > server.ext; "
		    "openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey "
		    "ca-key.pem -CAcreateserial -days 2 -extfile server.ext "
		    "-out server-cert.pem; "
		    "openssl req -newkey rsa:2048 -nodes -subj /CN=client "
		    "-keyout client-key.pem -out client.csr; "
		    "printf 'extendedKeyUsage=clientAuth\\n' > client.ext; "
		    "openssl x509 -req -in client.csr -CA ca-cert.pem -CAkey "
		    "ca-key.pem -CAcreateserial -days 2 -extfile client.ext "
		    "-out client-cert.pem; "
		    "mkdir noclient; cp ca-cert.pem noclient/) 2>&1",
		    tmp),
		0, "%s", out);
}

static void restart_tls(int required, int verify_clients)
{
	char cert[300], key[300], ca[300];
	struct nbd_server_conf conf = {.ip = "127.0.0.1"};

	snprintf(cert, sizeof(cert), "%s/tls/server-cert.pem", tmp);
	snprintf(key, sizeof(key), "%s/tls/server-key.pem", tmp);
	snprintf(ca, sizeof(ca), "%s/tls/ca-cert.pem", tmp);
	conf.tls_cert = cert;
	conf.tls_key = key;
	conf.tls_ca = verify_clients ? ca : NULL;
	conf.tls_required = required;
	nbd_server_stop(srv);
	start(&conf);
}

Test(nbd, tls)
{
	char out[8192];
	uint8_t d[4096];
	int fd;

	make_certs();
	restart_tls(1, 0);
	/* TLS required: a plain client is refused, a TLS one served */
	cr_assert_neq(run(out, sizeof(out),
			  "timeout 20 nbdinfo --size "
			  "nbd://127.0.0.1:%d/disk 2>&1",
			  port),
		      0, "%s", out);
	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo --size "
			 "'nbds://localhost:%d/disk?tls-certificates=%s/tls' "
			 "2>&1",
			 port, tmp),
		     0, "%s", out);
	cr_assert_eq(strtoull(out, NULL, 10), 64ull << 20, "%s", out);
	/* data through TLS both ways, many requests in flight */
	cr_assert_eq(run(out, sizeof(out),
			 "head -c 8388608 /dev/urandom > %s/in && "
			 "timeout 60 nbdcopy %s/in "
			 "'nbds://localhost:%d/disk?tls-certificates=%s/tls' "
			 "&& timeout 60 nbdcopy "
			 "'nbds://localhost:%d/disk?tls-certificates=%s/tls' "
			 "%s/out && cmp -n 8388608 %s/in %s/out 2>&1",
			 tmp, tmp, port, tmp, port, tmp, tmp, tmp, tmp),
		     0, "%s", out);
	/* options before STARTTLS get TLS_REQD */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_opt(fd, NBD_OPT_LIST, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_LIST, d, NULL),
		     NBD_REP_ERR_TLS_REQD);
	raw_opt(fd, NBD_OPT_EXPORT_NAME, "disk", 4);
	assert_closed(fd);
	/* a bad TLS handshake: garbage after the STARTTLS ACK */
	fd = raw_hello(NBD_FLAG_C_FIXED_NEWSTYLE);
	raw_opt(fd, NBD_OPT_STARTTLS, NULL, 0);
	cr_assert_eq(raw_opt_reply(fd, NBD_OPT_STARTTLS, d, NULL), NBD_REP_ACK);
	raw_write(fd, "this is not a ClientHello at all....", 36);
	{
		char c[256];
		ssize_t n;
		do
			n = recv(fd, c, sizeof(c), 0);
		while (n > 0); /* perhaps an alert, then the end */
	}
	close(fd);

	/* client certificates verified against the CA */
	restart_tls(0, 1);
	cr_assert_eq(run(out, sizeof(out),
			 "timeout 20 nbdinfo --size "
			 "'nbds://localhost:%d/disk?tls-certificates=%s/tls' "
			 "2>&1",
			 port, tmp),
		     0, "%s", out);
	cr_assert_neq(run(out, sizeof(out),
			  "timeout 20 nbdinfo --size "
			  "'nbds://localhost:%d/disk?tls-certificates=%s/tls/"
			  "noclient' 2>&1",
			  port, tmp),
		      0, "%s", out);
	/* TLS offered, not required: plain clients still served */
	assert_alive();
}
