/*
 * fuse/meta.c: the namespace of a kumo filesystem in memory and its
 * records. Inodes live in a hash by number (never reused: next_ino only
 * grows), directory entries in a hash by (parent, name) and, for readdir,
 * in a per-directory array whose slots are stable while a handle is open
 * (removal leaves a hole; holes are packed when no handle is open).
 *
 * Every change is appended to the pending batch: dentry records (LINK,
 * UNLINK) in order, and the set of inodes whose attributes changed. The
 * cut (ns_cut) writes INODE records (the state at the cut) first, then the
 * dentry records, then FREE records, as one log object: replaying it
 * (ns_apply) gives the state at the cut. Replay tolerates entries that
 * name inodes the same batch freed, which is how a batch that creates and
 * removes a file reads. A snapshot is the same format: all INODEs, then
 * all LINKs. Record layout (big endian): u8 type, then
 *   INODE  ino64 mode32 uid32 gid32 nlink32 rdev32 size64 3x(sec64 nsec32)
 *          symlen32 sym nxattr32 {nl16 name vl32 val} nruns32 {start64 n64}
 *   LINK   parent64 namelen16 name ino64     UNLINK parent64 namelen16 name
 *   FREE   ino64    NEXTINO ino64    MOUNT    CLEAN
 * An object: "KFL1" (log) or "KFS1" (snapshot), seq64, records.
 * Leaves I/O and locking to the callers (data.c, journal.c, ops.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fuse/internal.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t dent_hash(uint64_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ mix64(parent);
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ULL;
	return mix64(h);
}

int ns_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || strchr(name, '/'))
		return -EINVAL;
	if (n > KFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

int ns_init(struct kns *ns, uint32_t chunk_size)
{
	memset(ns, 0, sizeof(*ns));
	ns->inb = 1024;
	ns->dnb = 1024;
	ns->ih = calloc(ns->inb, sizeof(*ns->ih));
	ns->dh = calloc(ns->dnb, sizeof(*ns->dh));
	if (!ns->ih || !ns->dh) {
		free(ns->ih);
		free(ns->dh);
		return -ENOMEM;
	}
	ns->next_ino = KFS_ROOT_INO + 1;
	ns->chunk_size = chunk_size;
	return 0;
}

static void inode_free_mem(struct kinode *in)
{
	uint32_t i;
	for (i = 0; i < in->nxattr; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].val);
	}
	free(in->xattrs);
	free(in->symlink);
	free(in->idata);
	free(in->cmap);
	free(in->deltas);
	free(in->ents);
	free(in);
}

void ns_free(struct kns *ns)
{
	uint64_t i;
	if (!ns->ih)
		return;
	for (i = 0; i < ns->inb; i++) {
		struct kinode *in = ns->ih[i], *nx;
		for (; in; in = nx) {
			nx = in->hnext;
			inode_free_mem(in);
		}
	}
	for (i = 0; i < ns->dnb; i++) {
		struct kdent *d = ns->dh[i], *nx;
		for (; d; d = nx) {
			nx = d->hnext;
			free(d);
		}
	}
	free(ns->ih);
	free(ns->dh);
	free(ns->dirty);
	free(ns->freed);
	buf_free(&ns->ops);
	memset(ns, 0, sizeof(*ns));
}

struct kinode *ns_inode(struct kns *ns, uint64_t ino)
{
	struct kinode *in = ns->ih[mix64(ino) & (ns->inb - 1)];
	while (in && in->ino != ino)
		in = in->hnext;
	return in;
}

static int ihash_grow(struct kns *ns)
{
	uint64_t nb = ns->inb * 2, i;
	struct kinode **h = calloc(nb, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (i = 0; i < ns->inb; i++) {
		struct kinode *in = ns->ih[i], *nx;
		for (; in; in = nx) {
			nx = in->hnext;
			in->hnext = h[mix64(in->ino) & (nb - 1)];
			h[mix64(in->ino) & (nb - 1)] = in;
		}
	}
	free(ns->ih);
	ns->ih = h;
	ns->inb = nb;
	return 0;
}

static int ihash_add(struct kns *ns, struct kinode *in)
{
	if (ns->icount >= ns->inb * 2 && ihash_grow(ns))
		return -ENOMEM;
	uint64_t b = mix64(in->ino) & (ns->inb - 1);
	in->hnext = ns->ih[b];
	ns->ih[b] = in;
	ns->icount++;
	return 0;
}

static void ihash_del(struct kns *ns, struct kinode *in)
{
	struct kinode **pp = &ns->ih[mix64(in->ino) & (ns->inb - 1)];
	while (*pp && *pp != in)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = in->hnext;
		ns->icount--;
	}
}

struct kdent *ns_lookup(struct kns *ns, uint64_t parent, const char *name)
{
	struct kdent *d = ns->dh[dent_hash(parent, name) & (ns->dnb - 1)];
	while (d && (d->parent != parent || strcmp(d->name, name)))
		d = d->hnext;
	return d;
}

static int dhash_grow(struct kns *ns)
{
	uint64_t nb = ns->dnb * 2, i;
	struct kdent **h = calloc(nb, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (i = 0; i < ns->dnb; i++) {
		struct kdent *d = ns->dh[i], *nx;
		for (; d; d = nx) {
			uint64_t b = dent_hash(d->parent, d->name) & (nb - 1);
			nx = d->hnext;
			d->hnext = h[b];
			h[b] = d;
		}
	}
	free(ns->dh);
	ns->dh = h;
	ns->dnb = nb;
	return 0;
}

void ns_touch(struct kns *ns, struct kinode *in)
{
	if (in->dirty)
		return;
	if (ns->ndirty == ns->capdirty) {
		uint64_t cap = ns->capdirty ? ns->capdirty * 2 : 64;
		uint64_t *p = realloc(ns->dirty, cap * sizeof(*p));
		if (!p)
			return; /* stays clean in the batch: next touch */
		ns->dirty = p;
		ns->capdirty = cap;
	}
	ns->dirty[ns->ndirty++] = in->ino;
	in->dirty = 1;
}

static int put_name(struct buf *b, const char *name)
{
	size_t n = strlen(name);
	int rc = buf_put_be16(b, (uint16_t)n);
	return rc ? rc : buf_append(b, name, n);
}

static int rec_link_to(struct buf *b, uint64_t parent, const char *name,
		       uint64_t ino)
{
	uint8_t t = REC_LINK;
	int rc = buf_append(b, &t, 1);
	if (!rc)
		rc = buf_put_be64(b, parent);
	if (!rc)
		rc = put_name(b, name);
	if (!rc)
		rc = buf_put_be64(b, ino);
	return rc;
}

static int rec_link(struct kns *ns, uint64_t parent, const char *name,
		    uint64_t ino)
{
	return rec_link_to(&ns->ops, parent, name, ino);
}

static int rec_unlink(struct kns *ns, uint64_t parent, const char *name)
{
	uint8_t t = REC_UNLINK;
	int rc = buf_append(&ns->ops, &t, 1);
	if (!rc)
		rc = buf_put_be64(&ns->ops, parent);
	if (!rc)
		rc = put_name(&ns->ops, name);
	return rc;
}

/* Add the entry in memory only (replay and the operations below). */
static int dent_add(struct kns *ns, uint64_t parent, const char *name,
		    uint64_t ino)
{
	struct kinode *dir = ns_inode(ns, parent);
	struct kinode *in = ns_inode(ns, ino);
	struct kdent *d, *old;
	size_t n = strlen(name);
	if (!dir || !S_ISDIR(dir->mode))
		return 0; /* replay: a directory the batch also freed */
	old = ns_lookup(ns, parent, name);
	if (old) { /* replay of a replace: point the entry elsewhere */
		old->ino = ino;
		goto parent;
	}
	if (ns->dcount >= ns->dnb * 2 && dhash_grow(ns))
		return -ENOMEM;
	if (dir->nents == dir->capents) {
		uint32_t cap = dir->capents ? dir->capents * 2 : 8;
		struct kdent **e = realloc(dir->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		dir->ents = e;
		dir->capents = cap;
	}
	d = malloc(sizeof(*d) + n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, name, n + 1);
	d->parent = parent;
	d->ino = ino;
	d->slot = dir->nents;
	dir->ents[dir->nents++] = d;
	dir->nlive++;
	uint64_t b = dent_hash(parent, name) & (ns->dnb - 1);
	d->hnext = ns->dh[b];
	ns->dh[b] = d;
	ns->dcount++;
parent:
	if (in && S_ISDIR(in->mode))
		in->parent = parent;
	return 0;
}

static void dir_pack(struct kinode *dir)
{
	uint32_t i, j = 0;
	if (dir->nopendir || dir->nlive * 2 >= dir->nents)
		return;
	for (i = 0; i < dir->nents; i++)
		if (dir->ents[i]) {
			dir->ents[j] = dir->ents[i];
			dir->ents[j]->slot = j;
			j++;
		}
	dir->nents = j;
}

static void dent_del(struct kns *ns, uint64_t parent, const char *name)
{
	struct kdent **pp = &ns->dh[dent_hash(parent, name) & (ns->dnb - 1)];
	struct kdent *d;
	struct kinode *dir;
	while (*pp && ((*pp)->parent != parent || strcmp((*pp)->name, name)))
		pp = &(*pp)->hnext;
	d = *pp;
	if (!d)
		return;
	*pp = d->hnext;
	ns->dcount--;
	dir = ns_inode(ns, parent);
	if (dir && d->slot < dir->nents && dir->ents[d->slot] == d) {
		dir->ents[d->slot] = NULL;
		dir->nlive--;
		dir_pack(dir);
	}
	free(d);
}

static struct kinode *inode_new(struct kns *ns, uint64_t ino)
{
	struct kinode *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ino = ino;
	if (ihash_add(ns, in)) {
		free(in);
		return NULL;
	}
	return in;
}

int ns_mkroot(struct kns *ns, uint32_t uid, uint32_t gid,
	      const struct timespec *now)
{
	struct kinode *in = inode_new(ns, KFS_ROOT_INO);
	if (!in)
		return -ENOMEM;
	in->mode = S_IFDIR | 0755;
	in->uid = uid;
	in->gid = gid;
	in->nlink = 2;
	in->parent = KFS_ROOT_INO;
	in->atime = in->mtime = in->ctime = *now;
	ns_touch(ns, in);
	return 0;
}

static void stamp_dir(struct kns *ns, struct kinode *dir,
		      const struct timespec *now)
{
	dir->mtime = dir->ctime = *now;
	ns_touch(ns, dir);
}

static int dir_of(struct kns *ns, uint64_t ino, struct kinode **out)
{
	struct kinode *dir = ns_inode(ns, ino);
	if (!dir || dir->freed)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir->nlink == 0)
		return -ENOENT; /* removed while open */
	*out = dir;
	return 0;
}

int ns_mknod(struct kns *ns, uint64_t parent, const char *name, uint32_t mode,
	     uint32_t rdev, uint32_t uid, uint32_t gid, const char *target,
	     const struct timespec *now, struct kinode **out)
{
	struct kinode *dir, *in;
	int rc = ns_name_valid(name);
	if (rc)
		return rc;
	if ((rc = dir_of(ns, parent, &dir)))
		return rc;
	if (ns_lookup(ns, parent, name))
		return -EEXIST;
	if (target && strlen(target) > KFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	in = inode_new(ns, ns->next_ino++);
	if (!in)
		return -ENOMEM;
	in->mode = mode;
	in->rdev = rdev;
	in->uid = uid;
	in->gid = gid;
	if (dir->mode & S_ISGID) { /* BSD group semantics of setgid dirs */
		in->gid = dir->gid;
		if (S_ISDIR(mode))
			in->mode |= S_ISGID;
	}
	in->nlink = S_ISDIR(mode) ? 2 : 1;
	in->inl = S_ISREG(mode);
	in->atime = in->mtime = in->ctime = *now;
	if (target) {
		in->symlink = strdup(target);
		if (!in->symlink)
			goto nomem;
		in->size = strlen(target);
	}
	if (dent_add(ns, parent, name, in->ino) ||
	    rec_link(ns, parent, name, in->ino))
		goto nomem;
	if (S_ISDIR(mode)) {
		in->parent = parent;
		dir->nlink++;
	}
	ns_touch(ns, in);
	stamp_dir(ns, dir, now);
	*out = in;
	return 0;
nomem:
	dent_del(ns, parent, name);
	ihash_del(ns, in);
	inode_free_mem(in);
	return -ENOMEM;
}

int ns_link(struct kns *ns, uint64_t ino, uint64_t newparent,
	    const char *newname, const struct timespec *now)
{
	struct kinode *dir, *in = ns_inode(ns, ino);
	int rc = ns_name_valid(newname);
	if (rc)
		return rc;
	if (!in || in->freed)
		return -ENOENT;
	if (S_ISDIR(in->mode))
		return -EPERM;
	if (in->nlink == 0)
		return -ENOENT;
	if (in->nlink >= 65000)
		return -EMLINK;
	if ((rc = dir_of(ns, newparent, &dir)))
		return rc;
	if (ns_lookup(ns, newparent, newname))
		return -EEXIST;
	if ((rc = dent_add(ns, newparent, newname, ino)) ||
	    (rc = rec_link(ns, newparent, newname, ino)))
		return rc;
	in->nlink++;
	in->ctime = *now;
	ns_touch(ns, in);
	stamp_dir(ns, dir, now);
	return 0;
}

/* Drop the entry and one link of its inode (a directory: all of them). */
static int drop_entry(struct kns *ns, struct kinode *dir, const char *name,
		      struct kinode *in, const struct timespec *now)
{
	int rc = rec_unlink(ns, dir->ino, name);
	if (rc)
		return rc;
	dent_del(ns, dir->ino, name);
	if (S_ISDIR(in->mode)) {
		in->nlink = 0;
		dir->nlink--;
	} else {
		in->nlink--;
	}
	in->ctime = *now;
	ns_touch(ns, in);
	stamp_dir(ns, dir, now);
	return 0;
}

int ns_remove(struct kns *ns, uint64_t parent, const char *name, int rmdir,
	      const struct timespec *now, struct kinode **victim)
{
	struct kinode *dir, *in;
	struct kdent *d;
	int rc;
	*victim = NULL;
	if (!strcmp(name, "."))
		return -EINVAL;
	if (!strcmp(name, ".."))
		return -ENOTEMPTY;
	if ((rc = dir_of(ns, parent, &dir)))
		return rc;
	d = ns_lookup(ns, parent, name);
	if (!d || !(in = ns_inode(ns, d->ino)))
		return -ENOENT;
	if (rmdir && !S_ISDIR(in->mode))
		return -ENOTDIR;
	if (!rmdir && S_ISDIR(in->mode))
		return -EISDIR;
	if (rmdir && in->nlive)
		return -ENOTEMPTY;
	if ((rc = drop_entry(ns, dir, name, in, now)))
		return rc;
	*victim = in;
	return 0;
}

/* Non-zero when dir a is b or lies under b. */
static int under(struct kns *ns, uint64_t a, uint64_t b)
{
	int depth = 0;
	for (;;) {
		struct kinode *in;
		if (a == b)
			return 1;
		if (a == KFS_ROOT_INO || depth++ > 100000)
			return 0;
		in = ns_inode(ns, a);
		if (!in)
			return 0;
		a = in->parent;
	}
}

int ns_rename(struct kns *ns, uint64_t op, const char *oname, uint64_t np,
	      const char *nname, unsigned flags, const struct timespec *now,
	      struct kinode **victim)
{
	struct kinode *odir, *ndir, *src, *dst = NULL;
	struct kdent *sd, *dd;
	int rc;
	*victim = NULL;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((rc = ns_name_valid(oname)) || (rc = ns_name_valid(nname)))
		return rc == -ENAMETOOLONG ? rc : -EINVAL;
	if ((rc = dir_of(ns, op, &odir)) || (rc = dir_of(ns, np, &ndir)))
		return rc;
	sd = ns_lookup(ns, op, oname);
	if (!sd || !(src = ns_inode(ns, sd->ino)))
		return -ENOENT;
	dd = ns_lookup(ns, np, nname);
	if (dd)
		dst = ns_inode(ns, dd->ino);
	if (dst && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (!dst && (flags & RENAME_EXCHANGE))
		return -ENOENT;
	if (S_ISDIR(src->mode) && under(ns, np, src->ino))
		return -EINVAL;
	if (dst && src == dst)
		return 0; /* the same inode: POSIX says do nothing */
	if (flags & RENAME_EXCHANGE) {
		if (S_ISDIR(dst->mode) && under(ns, op, dst->ino))
			return -EINVAL;
		if ((rc = rec_unlink(ns, op, oname)) ||
		    (rc = rec_unlink(ns, np, nname)) ||
		    (rc = rec_link(ns, op, oname, dst->ino)) ||
		    (rc = rec_link(ns, np, nname, src->ino)))
			return rc;
		sd->ino = dst->ino;
		dd->ino = src->ino;
		if (S_ISDIR(src->mode)) {
			src->parent = np;
			odir->nlink--;
			ndir->nlink++;
		}
		if (S_ISDIR(dst->mode)) {
			dst->parent = op;
			ndir->nlink--;
			odir->nlink++;
		}
		src->ctime = dst->ctime = *now;
		ns_touch(ns, src);
		ns_touch(ns, dst);
		stamp_dir(ns, odir, now);
		stamp_dir(ns, ndir, now);
		return 0;
	}
	if (dst) {
		if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
			return -ENOTDIR;
		if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
			return -EISDIR;
		if (S_ISDIR(dst->mode) && dst->nlive)
			return -ENOTEMPTY;
		if ((rc = drop_entry(ns, ndir, nname, dst, now)))
			return rc;
		*victim = dst;
	}
	if ((rc = rec_unlink(ns, op, oname)))
		return rc;
	dent_del(ns, op, oname);
	if ((rc = rec_link(ns, np, nname, src->ino)) ||
	    (rc = dent_add(ns, np, nname, src->ino)))
		return rc; /* -ENOMEM: the batch still says what happened */
	if (S_ISDIR(src->mode) && op != np) {
		odir->nlink--;
		ndir->nlink++;
	}
	src->ctime = *now;
	ns_touch(ns, src);
	stamp_dir(ns, odir, now);
	stamp_dir(ns, ndir, now);
	return 0;
}

void ns_release(struct kns *ns, struct kinode *in)
{
	if (in->freed)
		return;
	if (ns->nfreed == ns->capfreed) {
		uint64_t cap = ns->capfreed ? ns->capfreed * 2 : 64;
		uint64_t *p = realloc(ns->freed, cap * sizeof(*p));
		if (!p)
			return; /* left for the mount-time sweep */
		ns->freed = p;
		ns->capfreed = cap;
	}
	ns->freed[ns->nfreed++] = in->ino;
	in->freed = 1;
	if (in->nlookup == 0 && in->nopen == 0) {
		ihash_del(ns, in);
		inode_free_mem(in);
	}
}

void ns_forget(struct kns *ns, uint64_t ino, uint64_t n)
{
	struct kinode *in = ns_inode(ns, ino);
	if (!in)
		return;
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	if (in->freed && in->nlookup == 0 && in->nopen == 0) {
		ihash_del(ns, in);
		inode_free_mem(in);
	}
}

/* --- xattrs --- */

const struct kxattr *ns_xattr_get(struct kinode *in, const char *name)
{
	uint32_t i;
	for (i = 0; i < in->nxattr; i++)
		if (!strcmp(in->xattrs[i].name, name))
			return &in->xattrs[i];
	return NULL;
}

int ns_xattr_set(struct kns *ns, struct kinode *in, const char *name,
		 const void *val, size_t len, int flags)
{
	struct kxattr *x = (struct kxattr *)ns_xattr_get(in, name);
	size_t total = 0;
	uint32_t i;
	uint8_t *copy;
	if (!*name || strlen(name) > KFS_XATTR_NAME)
		return -ERANGE;
	if (len > KFS_XATTR_VAL)
		return -E2BIG;
	if (x && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!x && (flags & XATTR_REPLACE))
		return -ENODATA;
	for (i = 0; i < in->nxattr; i++)
		if (&in->xattrs[i] != x)
			total += strlen(in->xattrs[i].name) + in->xattrs[i].len;
	if (total + strlen(name) + len > KFS_XATTR_TOTAL)
		return -ENOSPC;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, val, len);
	if (!x) {
		struct kxattr *a =
			realloc(in->xattrs, (in->nxattr + 1) * sizeof(*a));
		if (!a)
			goto nomem;
		in->xattrs = a;
		x = &a[in->nxattr];
		x->name = strdup(name);
		if (!x->name)
			goto nomem;
		x->val = NULL;
		in->nxattr++;
	}
	free(x->val);
	x->val = copy;
	x->len = (uint32_t)len;
	ns_touch(ns, in);
	return 0;
nomem:
	free(copy);
	return -ENOMEM;
}

int ns_xattr_remove(struct kns *ns, struct kinode *in, const char *name)
{
	struct kxattr *x = (struct kxattr *)ns_xattr_get(in, name);
	if (!x)
		return -ENODATA;
	free(x->name);
	free(x->val);
	*x = in->xattrs[--in->nxattr];
	ns_touch(ns, in);
	return 0;
}

/* --- chunk bitmaps --- */

int ns_chunk_test(const struct kinode *in, uint64_t idx)
{
	return idx / 8 < in->cmap_bytes && (in->cmap[idx / 8] >> (idx % 8) & 1);
}

static uint64_t chunk_bytes(const struct kns *ns, const struct kinode *in,
			    uint64_t idx)
{
	uint64_t start = idx * ns->chunk_size;
	if (start >= in->size)
		return 0;
	return in->size - start < ns->chunk_size ? in->size - start
						 : ns->chunk_size;
}

int ns_chunk_set(struct kns *ns, struct kinode *in, uint64_t idx)
{
	if (ns_chunk_test(in, idx))
		return 0;
	if (idx / 8 >= in->cmap_bytes) {
		uint64_t nb = in->cmap_bytes ? in->cmap_bytes : 8;
		uint8_t *p;
		while (nb <= idx / 8)
			nb *= 2;
		p = realloc(in->cmap, nb);
		if (!p)
			return -ENOMEM;
		memset(p + in->cmap_bytes, 0, nb - in->cmap_bytes);
		in->cmap = p;
		in->cmap_bytes = nb;
	}
	in->cmap[idx / 8] |= (uint8_t)(1u << (idx % 8));
	in->nchunks++;
	ns_touch(ns, in);
	return 0;
}

void ns_chunk_clear(struct kns *ns, struct kinode *in, uint64_t idx)
{
	if (!ns_chunk_test(in, idx))
		return;
	in->cmap[idx / 8] &= (uint8_t) ~(1u << (idx % 8));
	in->nchunks--;
	ns_touch(ns, in);
}

uint64_t ns_chunk_next(const struct kinode *in, uint64_t idx)
{
	uint64_t byte = idx / 8;
	while (byte < in->cmap_bytes) {
		uint8_t v = in->cmap[byte];
		if (byte == idx / 8)
			v &= (uint8_t)(0xff << (idx % 8));
		if (v)
			return byte * 8 + (uint64_t)__builtin_ctz(v);
		byte++;
	}
	return UINT64_MAX;
}

/* --- delta lists --- */

/* The first entry of in->deltas with idx >= idx (the list is sorted by
 * chunk, then in the order the deltas were stored). */
static uint32_t delta_lower(const struct kinode *in, uint64_t idx)
{
	uint32_t lo = 0, hi = in->ndeltas;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (in->deltas[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t ns_delta_find(const struct kinode *in, uint64_t idx, uint32_t *n)
{
	uint32_t first = delta_lower(in, idx), i = first;
	while (i < in->ndeltas && in->deltas[i].idx == idx)
		i++;
	*n = i - first;
	return first;
}

int ns_delta_add(struct kns *ns, struct kinode *in, uint64_t idx, uint64_t gen,
		 uint32_t units)
{
	uint32_t n, at = ns_delta_find(in, idx, &n) + n;
	if (in->ndeltas == in->capdeltas) {
		uint32_t cap = in->capdeltas ? in->capdeltas * 2 : 8;
		struct kdelta *p = realloc(in->deltas, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		in->deltas = p;
		in->capdeltas = cap;
	}
	memmove(in->deltas + at + 1, in->deltas + at,
		(in->ndeltas - at) * sizeof(*in->deltas));
	in->deltas[at] = (struct kdelta){idx, gen, units};
	in->ndeltas++;
	if (ns)
		ns_touch(ns, in);
	return 0;
}

void ns_delta_clear(struct kns *ns, struct kinode *in, uint64_t idx)
{
	uint32_t n, first = ns_delta_find(in, idx, &n);
	if (!n)
		return;
	memmove(in->deltas + first, in->deltas + first + n,
		(in->ndeltas - first - n) * sizeof(*in->deltas));
	in->ndeltas -= n;
	if (ns)
		ns_touch(ns, in);
}

int ns_put_deltas(struct buf *b, const struct kinode *in, uint64_t idx)
{
	uint8_t t = REC_DELTAS;
	uint32_t n, first = ns_delta_find(in, idx, &n), i;
	int rc = 0;
	rc |= buf_append(b, &t, 1);
	rc |= buf_put_be64(b, in->ino);
	rc |= buf_put_be64(b, idx);
	rc |= buf_put_be32(b, n);
	for (i = first; i < first + n; i++) {
		rc |= buf_put_be64(b, in->deltas[i].gen);
		rc |= buf_put_be32(b, in->deltas[i].units);
	}
	return rc ? -ENOMEM : 0;
}

uint64_t ns_blocks(const struct kns *ns, const struct kinode *in)
{
	uint64_t bytes = in->nchunks * ns->chunk_size, last;
	if (in->size && in->nchunks) {
		last = (in->size - 1) / ns->chunk_size;
		if (ns_chunk_test(in, last))
			bytes -= ns->chunk_size - chunk_bytes(ns, in, last);
	}
	if (in->inl) /* chunk 0 inline */
		bytes += in->ilen;
	return (bytes + 4095) / 4096 * 8;
}

int ns_inline_set(struct kinode *in, const void *data, uint32_t len)
{
	uint8_t *p = NULL;
	if (len && !(p = malloc(len)))
		return -ENOMEM;
	if (len)
		memcpy(p, data, len);
	free(in->idata);
	in->idata = p;
	in->ilen = len;
	return 0;
}

void ns_inline_drop(struct kinode *in)
{
	free(in->idata);
	in->idata = NULL;
	in->ilen = 0;
	in->inl = 0;
}

/* --- records --- */

static int put_ts(struct buf *b, const struct timespec *t)
{
	int rc = buf_put_be64(b, (uint64_t)t->tv_sec);
	return rc ? rc : buf_put_be32(b, (uint32_t)t->tv_nsec);
}

static int put_inode(struct buf *b, const struct kinode *in)
{
	uint8_t t = REC_INODE;
	uint32_t i, nruns = 0;
	uint64_t idx;
	size_t nruns_at;
	int rc = 0;
	rc |= buf_append(b, &t, 1);
	rc |= buf_put_be64(b, in->ino);
	rc |= buf_put_be32(b, in->mode);
	rc |= buf_put_be32(b, in->uid);
	rc |= buf_put_be32(b, in->gid);
	rc |= buf_put_be32(b, in->nlink);
	rc |= buf_put_be32(b, in->rdev);
	rc |= buf_put_be64(b, in->size);
	rc |= put_ts(b, &in->atime);
	rc |= put_ts(b, &in->mtime);
	rc |= put_ts(b, &in->ctime);
	i = in->symlink ? (uint32_t)strlen(in->symlink) : 0;
	rc |= buf_put_be32(b, i);
	if (i)
		rc |= buf_append(b, in->symlink, i);
	rc |= buf_put_be32(b, in->nxattr);
	for (i = 0; i < in->nxattr; i++) {
		rc |= put_name(b, in->xattrs[i].name);
		rc |= buf_put_be32(b, in->xattrs[i].len);
		rc |= buf_append(b, in->xattrs[i].val, in->xattrs[i].len);
	}
	nruns_at = b->len;
	rc |= buf_put_be32(b, 0);
	idx = ns_chunk_next(in, 0);
	while (idx != UINT64_MAX && !rc) {
		uint64_t n = 1;
		while (ns_chunk_test(in, idx + n))
			n++;
		rc |= buf_put_be64(b, idx);
		rc |= buf_put_be64(b, n);
		nruns++;
		idx = ns_chunk_next(in, idx + n);
	}
	if (rc)
		return -ENOMEM;
	b->data[nruns_at] = (uint8_t)(nruns >> 24);
	b->data[nruns_at + 1] = (uint8_t)(nruns >> 16);
	b->data[nruns_at + 2] = (uint8_t)(nruns >> 8);
	b->data[nruns_at + 3] = (uint8_t)nruns;
	if (in->inl) {
		t = REC_DATA;
		rc |= buf_append(b, &t, 1);
		rc |= buf_put_be64(b, in->ino);
		rc |= buf_put_be32(b, in->ilen);
		if (in->ilen)
			rc |= buf_append(b, in->idata, in->ilen);
	}
	for (i = 0; i < in->ndeltas && !rc;) { /* one record per chunk */
		uint32_t n;
		ns_delta_find(in, in->deltas[i].idx, &n);
		rc = ns_put_deltas(b, in, in->deltas[i].idx);
		i += n;
	}
	return rc ? -ENOMEM : 0;
}

static int put_u64rec(struct buf *b, uint8_t type, uint64_t v)
{
	int rc = buf_append(b, &type, 1);
	return rc ? rc : buf_put_be64(b, v);
}

void ns_mark(struct kns *ns, int mark)
{
	ns->mount_mark = mark;
}

int ns_cut(struct kns *ns, uint64_t seq, struct buf *out)
{
	uint64_t i;
	int rc = 0;
	if (!ns->ndirty && !ns->ops.len && !ns->nfreed && !ns->mount_mark)
		return 0;
	rc |= buf_append(out, "KFL1", 4);
	rc |= buf_put_be64(out, seq);
	rc |= put_u64rec(out, REC_NEXTINO, ns->next_ino);
	if (ns->mount_mark == 1) {
		uint8_t t = REC_MOUNT;
		rc |= buf_append(out, &t, 1);
		ns->unclean = 1;
	}
	for (i = 0; i < ns->ndirty && !rc; i++) {
		struct kinode *in = ns_inode(ns, ns->dirty[i]);
		if (in && !in->freed)
			rc = put_inode(out, in);
		if (in)
			in->dirty = 0;
	}
	rc |= buf_append(out, ns->ops.data, ns->ops.len);
	for (i = 0; i < ns->nfreed && !rc; i++)
		rc = put_u64rec(out, REC_FREE, ns->freed[i]);
	if (ns->mount_mark == 2) {
		uint8_t t = REC_CLEAN;
		rc |= buf_append(out, &t, 1);
		ns->unclean = 0;
	}
	if (rc)
		return -ENOMEM;
	ns->ndirty = ns->nfreed = 0;
	ns->ops.len = 0;
	ns->mount_mark = 0;
	return 1;
}

int ns_snapshot(struct kns *ns, uint64_t seq, struct buf *out)
{
	uint64_t i;
	int rc = 0;
	rc |= buf_append(out, "KFS1", 4);
	rc |= buf_put_be64(out, seq);
	rc |= put_u64rec(out, REC_NEXTINO, ns->next_ino);
	if (ns->unclean) {
		/* taken while mounted: a replay of it and the logs after it
		 * (which hold no REC_MOUNT) must still see an unclean stop */
		uint8_t t = REC_MOUNT;
		rc |= buf_append(out, &t, 1);
	}
	for (i = 0; i < ns->inb && !rc; i++) {
		const struct kinode *in;
		for (in = ns->ih[i]; in && !rc; in = in->hnext)
			if (!in->freed)
				rc = put_inode(out, in);
	}
	for (i = 0; i < ns->inb && !rc; i++) {
		const struct kinode *in;
		uint32_t j;
		for (in = ns->ih[i]; in && !rc; in = in->hnext)
			for (j = 0; j < in->nents && !rc && !in->freed; j++)
				if (in->ents[j])
					rc = rec_link_to(out, in->ino,
							 in->ents[j]->name,
							 in->ents[j]->ino);
	}
	return rc ? -ENOMEM : 0;
}

/* --- replay --- */

struct rd {
	const uint8_t *p, *end;
	int bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	return p;
}

static uint64_t rd64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);
	return p ? be64_read(p) : 0;
}

static uint32_t rd32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? be32_read(p) : 0;
}

static uint16_t rd16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	return p ? be16_read(p) : 0;
}

/* A name of n bytes copied into out (KFS_NAME_MAX + 1). */
static int rd_name(struct rd *r, char *out)
{
	uint16_t n = rd16(r);
	const uint8_t *p;
	if (n == 0 || n > KFS_NAME_MAX || !(p = rd_take(r, n)) ||
	    memchr(p, 0, n) || memchr(p, '/', n)) {
		r->bad = 1;
		return -EINVAL;
	}
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

static void rd_ts(struct rd *r, struct timespec *t)
{
	t->tv_sec = (time_t)rd64(r);
	t->tv_nsec = rd32(r) % 1000000000;
}

static int apply_inode(struct kns *ns, struct rd *r)
{
	uint64_t ino = rd64(r);
	struct kinode *in;
	uint32_t i, n, nx, nruns;
	const uint8_t *p;
	if (r->bad || ino == 0)
		return -EINVAL;
	in = ns_inode(ns, ino);
	if (!in && !(in = inode_new(ns, ino)))
		return -ENOMEM;
	in->mode = rd32(r);
	in->uid = rd32(r);
	in->gid = rd32(r);
	in->nlink = rd32(r);
	in->rdev = rd32(r);
	in->size = rd64(r);
	rd_ts(r, &in->atime);
	rd_ts(r, &in->mtime);
	rd_ts(r, &in->ctime);
	n = rd32(r);
	if (n > KFS_SYMLINK_MAX || !(p = rd_take(r, n)))
		return -EINVAL;
	free(in->symlink);
	in->symlink = NULL;
	if (n || S_ISLNK(in->mode)) {
		in->symlink = strndup((const char *)p, n);
		if (!in->symlink)
			return -ENOMEM;
	}
	for (i = 0; i < in->nxattr; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].val);
	}
	in->nxattr = 0;
	nx = rd32(r);
	for (i = 0; i < nx && !r->bad; i++) {
		char name[KFS_NAME_MAX + 1];
		uint32_t vl;
		int rc;
		if (rd_name(r, name))
			return -EINVAL;
		vl = rd32(r);
		if (vl > KFS_XATTR_VAL || !(p = rd_take(r, vl)))
			return -EINVAL;
		if ((rc = ns_xattr_set(ns, in, name, p, vl, 0)))
			return rc;
	}
	ns_inline_drop(in); /* a REC_DATA after this record sets it */
	in->ndeltas = 0;    /* and REC_DELTAS the delta lists */
	if (in->cmap)
		memset(in->cmap, 0, in->cmap_bytes);
	in->nchunks = 0;
	nruns = rd32(r);
	for (i = 0; i < nruns && !r->bad; i++) {
		uint64_t start = rd64(r), cnt = rd64(r), k;
		if (cnt > KFS_MAX_SIZE / ns->chunk_size ||
		    start > KFS_MAX_SIZE / ns->chunk_size)
			return -EINVAL;
		for (k = 0; k < cnt; k++)
			if (ns_chunk_set(ns, in, start + k))
				return -ENOMEM;
	}
	in->dirty = 0;
	return r->bad ? -EINVAL : 0;
}

int ns_apply(struct kns *ns, const uint8_t *p, size_t len, uint64_t *seq)
{
	struct rd r = {p, p + len, 0};
	const uint8_t *magic = rd_take(&r, 4);
	int rc = 0;
	if (!magic || (memcmp(magic, "KFL1", 4) && memcmp(magic, "KFS1", 4)))
		return -EINVAL;
	*seq = rd64(&r);
	while (!rc && !r.bad && r.p < r.end) {
		char name[KFS_NAME_MAX + 1];
		uint8_t t = *rd_take(&r, 1);
		uint64_t a, b;
		struct kinode *in;
		switch (t) {
		case REC_INODE:
			rc = apply_inode(ns, &r);
			break;
		case REC_DATA: {
			const uint8_t *d;
			in = ns_inode(ns, rd64(&r));
			a = rd32(&r);
			if (!in || a > KFS_INLINE_MAX || !(d = rd_take(&r, a)))
				return -EINVAL;
			in->inl = 1;
			rc = ns_inline_set(in, d, (uint32_t)a);
			break;
		}
		case REC_DELTAS: {
			uint32_t n, i;
			in = ns_inode(ns, rd64(&r));
			a = rd64(&r);
			n = rd32(&r);
			if (r.bad || n > KFS_DELTAS_MAX ||
			    a > KFS_MAX_SIZE / ns->chunk_size)
				return -EINVAL;
			if (in)
				ns_delta_clear(NULL, in, a);
			for (i = 0; i < n && !rc && !r.bad; i++) {
				uint64_t gen = rd64(&r);
				uint32_t units = rd32(&r);
				if (in)
					rc = ns_delta_add(NULL, in, a, gen,
							  units);
			}
			break;
		}
		case REC_LINK:
			a = rd64(&r);
			if (rd_name(&r, name))
				return -EINVAL;
			b = rd64(&r);
			if (!r.bad)
				rc = dent_add(ns, a, name, b);
			break;
		case REC_UNLINK:
			a = rd64(&r);
			if (rd_name(&r, name))
				return -EINVAL;
			dent_del(ns, a, name);
			break;
		case REC_FREE:
			a = rd64(&r);
			in = ns_inode(ns, a);
			if (in && a != KFS_ROOT_INO) {
				ihash_del(ns, in);
				inode_free_mem(in);
			}
			break;
		case REC_NEXTINO:
			a = rd64(&r);
			if (a > ns->next_ino)
				ns->next_ino = a;
			break;
		case REC_MOUNT:
			ns->last_clean = 0;
			break;
		case REC_CLEAN:
			ns->last_clean = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	if (r.bad)
		return -EINVAL;
	ns->ndirty = 0;
	ns->ops.len = 0;
	ns->nfreed = 0;
	return rc;
}
