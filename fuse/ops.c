/*
 * fuse/ops.c: the FUSE low-level operations of kumo-mount, each a thin
 * translation onto meta.c (namespace) and data.c (file data) under
 * fs->lock, with durability from journal.c (fsync commits). The kernel
 * checks permissions (default_permissions); we keep the attributes right.
 *
 * A file handle: open → (read|write)* → flush → release. Invariant: an
 * inode whose nlink drops to 0 keeps its data while nopen > 0 and is
 * freed (its chunks queued for deletion after the next commit) by the
 * release that brings nopen to 0 (kj_free_inode), or at unmount by
 * ko_close_all for the handles the kernel never released (the daemon
 * stopped by a signal or a lazy unmount with files open): the final
 * commit then frees the file instead of leaving its chunks to nobody.
 * Leaves mounting and options to main.c.
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common/log.h"
#include "fuse/internal.h"

#define TIMEOUT 1.0

/* An open file: in fs->fhs from open (or create) until release, or until
 * ko_close_all at unmount for those the kernel never released. */
struct kfh {
	uint64_t ino;
	uint64_t next_off; /* the furthest end asked (sequential reads) */
#define KFH_ENDS 8
	uint64_t ends[KFH_ENDS]; /* where the last reads ended */
	unsigned nend;
	int flags;
	struct kfh *prev, *next;
};

static struct kfs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void now_ts(struct timespec *t)
{
	clock_gettime(CLOCK_REALTIME, t);
}

static void fill_attr(struct kfs *fs, struct kinode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	st->st_mode = in->mode;
	st->st_nlink = in->nlink;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_rdev = in->rdev;
	st->st_size = (off_t)in->size;
	st->st_blksize = 4096;
	st->st_blocks =
		S_ISREG(in->mode) ? (blkcnt_t)ns_blocks(&fs->ns, in) : 0;
	st->st_atim = in->atime;
	st->st_mtim = in->mtime;
	st->st_ctim = in->ctime;
}

static void reply_entry(fuse_req_t req, struct kfs *fs, struct kinode *in)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = in->ino;
	e.generation = 1;
	e.attr_timeout = TIMEOUT;
	e.entry_timeout = TIMEOUT;
	fill_attr(fs, in, &e.attr);
	in->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_entry(req, &e);
}

static int writable(struct kfs *fs)
{
	if (fs->o.ro)
		return -EROFS;
	if (fs->lease_lost)
		return -EROFS;
	return 0;
}

/* The open flags a handle keeps: with the writeback cache the kernel
 * places O_APPEND writes itself (its writeback may use any handle). */
static int fh_flags(struct kfs *fs, int flags)
{
	return fs->writeback ? flags & ~O_APPEND : flags;
}

static struct kinode *live(struct kfs *fs, fuse_ino_t ino)
{
	struct kinode *in = ns_inode(&fs->ns, ino);
	return in && !in->freed ? in : NULL;
}

/*
 * The kernel's read-ahead for this mount (-o kernel_readahead): FUSE
 * keeps the smaller of its default (128 KiB) and what op_init asks, so a
 * sequential reader's 1 MiB reads reach us as 128 KiB requests, each a
 * round trip through the kernel; with read_ahead_kb of the mount's bdi
 * at 1 MiB they come as 1 MiB requests (max_pages from max_write). It is
 * set after INIT, at the first open (a file's read-ahead state is taken
 * at open, after our reply), and only root may write it. Left alone by
 * default: random reads through the page cache then ask for more around
 * them (test 601's random operations ran about 30% slower).
 */
static void bdi_tune(struct kfs *fs)
{
	char path[96], val[32];
	int fd, n;
	pthread_mutex_lock(&fs->lock);
	n = !fs->bdi_done && fs->bdi[0] && fs->o.kernel_ra;
	fs->bdi_done = 1;
	pthread_mutex_unlock(&fs->lock);
	if (!n)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb",
		 fs->bdi);
	n = snprintf(val, sizeof(val), "%" PRIu64 "\n", fs->o.kernel_ra >> 10);
	if ((fd = open(path, O_WRONLY)) == -1 || write(fd, val, (size_t)n) != n)
		log_info("%s: %m (the kernel reads ahead 128 KiB)", path);
	if (fd != -1)
		close(fd);
}

int ko_bdi_find(struct kfs *fs, const char *mountpoint)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], dev[32], mnt[2048], *dash;
	int rc = -ENOENT;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %31s %*s %2047s", dev, mnt) != 2 ||
		    strcmp(mnt, mountpoint) || !(dash = strstr(line, " - ")) ||
		    strncmp(dash + 3, "fuse", 4))
			continue;
		snprintf(fs->bdi, sizeof(fs->bdi), "%s", dev);
		rc = 0; /* the last one: mounted over the others */
	}
	fclose(f);
	return rc;
}

/* A handle for an open of in (nopen counted), linked into fs->fhs, or
 * NULL (ENOMEM). Lock held. */
static struct kfh *fh_new(struct kfs *fs, struct kinode *in, int flags)
{
	struct kfh *fh = calloc(1, sizeof(*fh));
	if (!fh)
		return NULL;
	fh->ino = in->ino;
	fh->flags = fh_flags(fs, flags);
	fh->next = fs->fhs;
	if (fs->fhs)
		fs->fhs->prev = fh;
	fs->fhs = fh;
	in->nopen++;
	return fh;
}

/* Close fh as release does: its inode is freed when it was the last
 * open of an unlinked file; fh is unlinked and freed. Lock held. */
static void fh_close(struct kfs *fs, struct kfh *fh)
{
	struct kinode *in = ns_inode(&fs->ns, fh->ino);
	if (in && in->nopen) {
		in->nopen--;
		if (in->nlink == 0 && in->nopen == 0)
			kj_free_inode(fs, in);
	}
	if (fh->prev)
		fh->prev->next = fh->next;
	else
		fs->fhs = fh->next;
	if (fh->next)
		fh->next->prev = fh->prev;
	free(fh);
}

void ko_close_all(struct kfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	while (fs->fhs)
		fh_close(fs, fs->fhs);
	pthread_mutex_unlock(&fs->lock);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kfs *fs = FS(req);
	struct kdent *d;
	struct kinode *in;
	pthread_mutex_lock(&fs->lock);
	if (strlen(name) > KFS_NAME_MAX) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	d = ns_lookup(&fs->ns, parent, name);
	if (!d || !(in = live(fs, d->ino))) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_entry(req, fs, in);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	struct kfs *fs = FS(req);
	pthread_mutex_lock(&fs->lock);
	ns_forget(&fs->ns, ino, n);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *f)
{
	struct kfs *fs = FS(req);
	size_t i;
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < count; i++)
		ns_forget(&fs->ns, f[i].ino, f[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct stat st;
	(void)fi;
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (!in) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fs, in, &st);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct timespec now;
	struct stat st;
	int rc = 0;
	(void)fi;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if ((rc = writable(fs)))
		goto out;
	if (!(in = ns_inode(&fs->ns, ino))) {
		rc = -ENOENT;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(in->mode)) {
			rc = -EISDIR;
			goto out;
		}
		if (!S_ISREG(in->mode)) {
			rc = -EINVAL;
			goto out;
		}
		if ((rc = kd_truncate(fs, in, (uint64_t)attr->st_size)))
			goto out;
		if (!(in = ns_inode(&fs->ns, ino))) {
			rc = -ENOENT;
			goto out;
		}
		in->mtime = now;
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		in->mode = (in->mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		in->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		in->gid = attr->st_gid;
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    !(to_set & FUSE_SET_ATTR_MODE) && !S_ISDIR(in->mode))
		in->mode &= ~(uint32_t)(S_ISUID | S_ISGID);
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		in->atime = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		in->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		in->mtime = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		in->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_CTIME)
		in->ctime = attr->st_ctim;
	else
		in->ctime = now;
	ns_touch(&fs->ns, in);
	fill_attr(fs, in, &st);
out:
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	char *t = NULL;
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (in && in->symlink)
		t = strdup(in->symlink);
	pthread_mutex_unlock(&fs->lock);
	if (!t) {
		fuse_reply_err(req, in ? EINVAL : ENOENT);
		return;
	}
	fuse_reply_readlink(req, t);
	free(t);
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *target,
		      struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct kinode *in;
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs)))
		rc = ns_mknod(&fs->ns, parent, name, mode, (uint32_t)rdev,
			      ctx->uid, ctx->gid, target, &now, &in);
	if (rc) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, -rc);
		return;
	}
	if (fi) {
		struct fuse_entry_param e;
		struct kfh *fh = fh_new(fs, in, fi->flags);
		if (!fh) {
			pthread_mutex_unlock(&fs->lock);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		in->nlookup++;
		memset(&e, 0, sizeof(e));
		e.ino = in->ino;
		e.generation = 1;
		e.attr_timeout = e.entry_timeout = TIMEOUT;
		fill_attr(fs, in, &e.attr);
		fi->fh = (uint64_t)(uintptr_t)fh;
		fi->keep_cache = 1;
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_create(req, &e, fi);
		bdi_tune(fs);
		return;
	}
	reply_entry(req, fs, in);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link, NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	make_node(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, fi);
}

static void finish_victim(struct kfs *fs, struct kinode *victim)
{
	if (victim && victim->nlink == 0)
		kj_free_inode(fs, victim);
}

static void remove_common(fuse_req_t req, fuse_ino_t parent, const char *name,
			  int rmdir)
{
	struct kfs *fs = FS(req);
	struct kinode *victim = NULL;
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs)))
		rc = ns_remove(&fs->ns, parent, name, rmdir, &now, &victim);
	if (!rc)
		finish_victim(fs, victim);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_common(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_common(req, parent, name, 1);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct kfs *fs = FS(req);
	struct kinode *victim = NULL;
	struct kdent *d;
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs)))
		rc = ns_rename(&fs->ns, parent, name, newparent, newname, flags,
			       &now, &victim);
	if (!rc && victim && (d = ns_lookup(&fs->ns, newparent, newname)))
		kd_order_inode(fs, d->ino); /* replaced a file */
	if (!rc)
		finish_victim(fs, victim);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct kfs *fs = FS(req);
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs)))
		rc = ns_link(&fs->ns, ino, newparent, newname, &now);
	if (rc) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(req, fs, ns_inode(&fs->ns, ino));
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct kfh *fh;
	struct timespec now;
	int rc = 0;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(in = live(fs, ino))) {
		rc = -ENOENT;
		goto out;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY && (rc = writable(fs)))
		goto out;
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		if (in->size && (rc = kd_truncate(fs, in, 0)))
			goto out;
		if (!(in = live(fs, ino))) {
			rc = -ENOENT;
			goto out;
		}
		if (!fs->writeback) /* else the kernel sends its times */
			in->mtime = in->ctime = now;
		ns_touch(&fs->ns, in);
	}
	if (!(fh = fh_new(fs, in, fi->flags))) {
		rc = -ENOMEM;
		goto out;
	}
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->keep_cache = 1;
out:
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
	bdi_tune(fs);
}

/*
 * The reply buffer of the calling FUSE thread, of at least size bytes,
 * kept for its next read: a fresh buffer of a 1 MiB read comes from mmap
 * (main.c's M_MMAP_THRESHOLD) and cost its page faults and a munmap per
 * request. Freed when the thread exits. NULL on ENOMEM.
 */
struct rbuf {
	size_t cap;
	char data[];
};
static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_key_make(void)
{
	if (pthread_key_create(&rbuf_key, free))
		abort(); /* no key left: nothing can work */
}

static char *rbuf_get(size_t size)
{
	struct rbuf *b;
	size_t cap = 4096;
	pthread_once(&rbuf_once, rbuf_key_make);
	b = pthread_getspecific(rbuf_key);
	if (b && b->cap >= size)
		return b->data;
	while (cap < size)
		cap *= 2;
	free(b);
	b = malloc(sizeof(*b) + cap);
	pthread_setspecific(rbuf_key, b);
	if (!b)
		return NULL;
	b->cap = cap;
	return b->data;
}

/* Whether a read at off continues fh's reading: it starts where one of
 * the last KFH_ENDS reads ended (the kernel's read-ahead sends several
 * requests at once, which our threads may take out of order; a random
 * reader seldom lands exactly there). Lock held. */
static int sequential(struct kfh *fh, uint64_t off)
{
	unsigned i;
	for (i = 0; off > 0 && i < KFH_ENDS; i++)
		if (fh->ends[i] == off)
			return 1;
	return 0;
}

/* A read of fh at off up to end: noted among the last ends, and
 * next_off is the furthest end asked so far, unless the reader starts
 * over (at 0, or much further back than the kernel's read-ahead: a read
 * just behind is one the kernel sent earlier, which a thread took late).
 * Lock held. */
static void read_at(struct kfs *fs, struct kfh *fh, uint64_t off, uint64_t end)
{
	uint64_t back = 32 * (fs->o.kernel_ra + (uint64_t)fs->chunk_size);
	fh->ends[fh->nend++ % KFH_ENDS] = end;
	if (end > fh->next_off || off == 0 || end + back < fh->next_off)
		fh->next_off = end;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kfh *fh = (struct kfh *)(uintptr_t)fi->fh;
	struct kinode *in;
	char *buf = rbuf_get(size);
	ssize_t n;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (!in) {
		n = -ENOENT;
	} else {
		int seq = sequential(fh, (uint64_t)off);
		/* before kd_read, which may wait for a chunk: the requests
		 * after this one come meanwhile */
		read_at(fs, fh, (uint64_t)off, (uint64_t)off + size);
		n = kd_read(fs, in, buf, size, (uint64_t)off,
			    seq ? &fh->next_off : NULL);
	}
	pthread_mutex_unlock(&fs->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kfh *fh = (struct kfh *)(uintptr_t)fi->fh;
	struct kinode *in;
	struct timespec now;
	ssize_t n;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if ((n = writable(fs)))
		goto out;
	in = ns_inode(&fs->ns, ino);
	if (!in) {
		n = -ENOENT;
		goto out;
	}
	if (fh->flags & O_APPEND)
		off = (off_t)in->size;
	n = kd_write(fs, in, buf, size, (uint64_t)off);
	if (n > 0 && (in = ns_inode(&fs->ns, ino))) {
		/* with the writeback cache the kernel sends its own times
		 * (setattr at close and fsync); its writes may come later */
		if (!fs->writeback)
			in->mtime = in->ctime = now;
		if (in->mode & (S_ISUID | S_ISGID)) {
			const struct fuse_ctx *ctx = fuse_req_ctx(req);
			if (ctx->uid != 0)
				in->mode &= ~(uint32_t)S_ISUID;
			if (ctx->uid != 0 && (in->mode & S_IXGRP))
				in->mode &= ~(uint32_t)S_ISGID;
		}
		ns_touch(&fs->ns, in);
	}
out:
	pthread_mutex_unlock(&fs->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	(void)ino;
	pthread_mutex_lock(&fs->lock);
	fh_close(fs, (struct kfh *)(uintptr_t)fi->fh);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

/* fsync and fdatasync: this file's dirty chunks, then all pending
 * metadata (its name may be new); other files' chunks are not waited for. */
static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	int rc;
	(void)datasync;
	(void)fi;
	rc = kj_commit(FS(req), ino);
	fuse_reply_err(req, -rc);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	pthread_mutex_lock(&fs->lock);
	in = live(fs, ino);
	if (in && S_ISDIR(in->mode))
		in->nopendir++;
	pthread_mutex_unlock(&fs->lock);
	if (!in)
		fuse_reply_err(req, ENOENT);
	else if (!S_ISDIR(in->mode))
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

/*
 * A directory's entries from offset off, as readdir (names and types) or
 * readdirplus (names with their attributes: `ls -l` and the like then
 * stat from the kernel's cache instead of a lookup per name). Offsets: 1
 * ".", 2 "..", slot + 3 entries. Every entry readdirplus returns, but "."
 * and "..", counts as a lookup (the kernel forgets it later).
 */
static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     int plus)
{
	struct kfs *fs = FS(req);
	struct kinode *dir;
	char *buf = malloc(size);
	size_t used = 0;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	dir = ns_inode(&fs->ns, ino);
	if (!dir) {
		pthread_mutex_unlock(&fs->lock);
		free(buf);
		fuse_reply_err(req, ENOENT);
		return;
	}
	for (;; off++) {
		struct fuse_entry_param e;
		struct kinode *in = NULL;
		const char *name;
		size_t n;
		memset(&e, 0, sizeof(e));
		if (off == 0) {
			name = ".";
			e.attr.st_ino = dir->ino;
			e.attr.st_mode = S_IFDIR;
		} else if (off == 1) {
			name = "..";
			e.attr.st_ino = dir->parent ? dir->parent : dir->ino;
			e.attr.st_mode = S_IFDIR;
		} else if ((uint64_t)off - 2 < dir->nents) {
			struct kdent *d = dir->ents[off - 2];
			if (!d)
				continue;
			in = ns_inode(&fs->ns, d->ino);
			name = d->name;
			e.attr.st_ino = d->ino;
			e.attr.st_mode = in ? in->mode : 0;
			if (plus && in && !in->freed) {
				e.ino = in->ino;
				e.generation = 1;
				e.attr_timeout = e.entry_timeout = TIMEOUT;
				fill_attr(fs, in, &e.attr);
			}
		} else {
			break;
		}
		if (plus)
			n = fuse_add_direntry_plus(req, buf + used, size - used,
						   name, &e, off + 1);
		else
			n = fuse_add_direntry(req, buf + used, size - used,
					      name, &e.attr, off + 1);
		if (n > size - used)
			break;
		used += n;
		if (e.ino)
			in->nlookup++;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	list_dir(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	list_dir(req, ino, size, off, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	(void)fi;
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (in && in->nopendir)
		in->nopendir--;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

/* fsync of a directory: the pending metadata (names, attributes, small
 * files' inline data). Of the mount's root: every file's dirty data too,
 * as syncfs(2), which FUSE does not pass to the filesystem. */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	int rc;
	(void)datasync;
	(void)fi;
	rc = kj_commit(FS(req), ino == KFS_ROOT_INO ? KJ_ALL : KJ_META);
	fuse_reply_err(req, -rc);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct kfs *fs = FS(req);
	struct statvfs sv;
	uint64_t used = 0, i;
	(void)ino;
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < fs->ns.inb; i++) {
		struct kinode *in;
		for (in = fs->ns.ih[i]; in; in = in->hnext)
			if (!in->freed && S_ISREG(in->mode))
				used += ns_blocks(&fs->ns, in) / 8;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = 1ULL << 38; /* 1 PiB: the cluster's room is not known */
	sv.f_bfree = sv.f_blocks - used;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = 1ULL << 32;
	sv.f_ffree = sv.f_files - fs->ns.icount;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = KFS_NAME_MAX;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_statfs(req, &sv);
}

static int xattr_name_ok(const char *name)
{
	if (!strncmp(name, "system.", 7))
		return -EOPNOTSUPP; /* no POSIX ACLs */
	return 0;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs)) && !(rc = xattr_name_ok(name))) {
		in = live(fs, ino);
		rc = in ? ns_xattr_set(&fs->ns, in, name, value, size, flags)
			: -ENOENT;
		if (!rc)
			in->ctime = now;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct kfs *fs = FS(req);
	const struct kxattr *x;
	struct kinode *in;
	uint8_t *copy = NULL;
	size_t len = 0;
	int rc = 0;
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (!in)
		rc = -ENOENT;
	else if (!(x = ns_xattr_get(in, name)))
		rc = -ENODATA;
	else if (size && x->len > size)
		rc = -ERANGE;
	else if (size && !(copy = malloc(x->len ? x->len : 1)))
		rc = -ENOMEM;
	else {
		len = x->len;
		if (copy)
			memcpy(copy, x->val, len);
	}
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (!size)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, (char *)copy, len);
	free(copy);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct buf b = BUF_INIT;
	uint32_t i;
	int rc = 0;
	pthread_mutex_lock(&fs->lock);
	in = ns_inode(&fs->ns, ino);
	if (!in)
		rc = -ENOENT;
	for (i = 0; in && i < in->nxattr && !rc; i++)
		rc = buf_append(&b, in->xattrs[i].name,
				strlen(in->xattrs[i].name) + 1);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (!size)
		fuse_reply_xattr(req, b.len);
	else if (b.len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (char *)b.data, b.len);
	buf_free(&b);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct timespec now;
	int rc;
	now_ts(&now);
	pthread_mutex_lock(&fs->lock);
	if (!(rc = writable(fs))) {
		in = live(fs, ino);
		rc = in ? ns_xattr_remove(&fs->ns, in, name) : -ENOENT;
		if (!rc)
			in->ctime = now;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	struct kfs *fs = FS(req);
	struct kinode *in;
	struct timespec now;
	uint64_t end = (uint64_t)offset + (uint64_t)length;
	int rc;
	(void)fi;
	now_ts(&now);
	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if ((rc = writable(fs)))
		goto out;
	if (!(in = live(fs, ino))) {
		rc = -ENOENT;
		goto out;
	}
	if (end > KFS_MAX_SIZE) {
		rc = -EFBIG;
		goto out;
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		if ((rc = kd_zero(fs, in, (uint64_t)offset, (uint64_t)length)))
			goto out;
		if (!(in = live(fs, ino))) {
			rc = -ENOENT;
			goto out;
		}
		if (!fs->writeback) /* else the kernel keeps the times */
			in->mtime = in->ctime = now;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size) {
		in->size = end; /* space is not reserved: holes read zero */
		if (!fs->writeback)
			in->ctime = now;
	}
	ns_touch(&fs->ns, in);
out:
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

/*
 * The kernel's writeback cache: small writes gather in its page cache
 * and come to us in pages (up to max_write per request) on writeback,
 * close, fsync or memory pressure; it keeps st_size and mtime itself and
 * does O_APPEND (so file handles drop it, see keep_fh). A read-only mount
 * has nothing to write back.
 */
static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct kfs *fs = userdata;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (!fs->o.ro && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		fs->writeback = 1;
	} else {
		conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	}
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
}

const struct fuse_lowlevel_ops kfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
};
