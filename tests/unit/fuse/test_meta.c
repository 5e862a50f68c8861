/*
 * tests/unit/fuse/test_meta.c: the namespace of fuse/meta.c without a
 * mount: POSIX namespace rules (rename over files and directories,
 * NOREPLACE/EXCHANGE, rmdir of non-empty dirs, links, xattr flags), chunk
 * bitmaps and st_blocks, and the journal: a cut replayed onto the state
 * before it, or a snapshot loaded fresh, gives the same namespace,
 * inline chunk 0 data included, and a snapshot taken while mounted keeps
 * the unclean-stop mark.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <criterion/criterion.h>

#include "fuse/internal.h"

static struct timespec T = {1000, 5};

static uint64_t mk(struct kns *ns, uint64_t parent, const char *name,
		   uint32_t mode)
{
	struct kinode *in;
	cr_assert_eq(ns_mknod(ns, parent, name, mode, 0, 0, 0, NULL, &T, &in),
		     0, "mknod %s", name);
	return in->ino;
}

static void fresh(struct kns *ns)
{
	cr_assert_eq(ns_init(ns, 1 << 20), 0);
	cr_assert_eq(ns_mkroot(ns, 0, 0, &T), 0);
}

/* Serialize ns as a snapshot and load it into a fresh namespace. */
static void reload(struct kns *ns, struct kns *out)
{
	struct buf b = BUF_INIT;
	uint64_t seq;
	cr_assert_eq(ns_snapshot(ns, 7, &b), 0);
	cr_assert_eq(ns_init(out, 1 << 20), 0);
	cr_assert_eq(ns_apply(out, b.data, b.len, &seq), 0);
	cr_assert_eq(seq, 7);
	buf_free(&b);
}

static uint64_t ino_of(struct kns *ns, uint64_t parent, const char *name)
{
	struct kdent *d = ns_lookup(ns, parent, name);
	return d ? d->ino : 0;
}

Test(meta, create_lookup_and_names)
{
	struct kns ns;
	struct kinode *in;
	fresh(&ns);
	uint64_t f = mk(&ns, 1, "f", S_IFREG | 0644);
	cr_assert_eq(ino_of(&ns, 1, "f"), f);
	cr_assert_eq(ns_mknod(&ns, 1, "f", S_IFREG, 0, 0, 0, NULL, &T, &in),
		     -EEXIST);
	cr_assert_eq(ns_mknod(&ns, 1, "a/b", S_IFREG, 0, 0, 0, NULL, &T, &in),
		     -EINVAL);
	cr_assert_eq(ns_mknod(&ns, 1, "..", S_IFREG, 0, 0, 0, NULL, &T, &in),
		     -EINVAL);
	char longname[300];
	memset(longname, 'x', 299);
	longname[299] = 0;
	cr_assert_eq(
		ns_mknod(&ns, 1, longname, S_IFREG, 0, 0, 0, NULL, &T, &in),
		-ENAMETOOLONG);
	cr_assert_eq(ns_mknod(&ns, f, "x", S_IFREG, 0, 0, 0, NULL, &T, &in),
		     -ENOTDIR);
	ns_free(&ns);
}

Test(meta, rename_rules)
{
	struct kns ns;
	struct kinode *victim;
	fresh(&ns);
	uint64_t a = mk(&ns, 1, "a", S_IFREG | 0644);
	uint64_t b = mk(&ns, 1, "b", S_IFREG | 0644);
	uint64_t d = mk(&ns, 1, "d", S_IFDIR | 0755);
	uint64_t e = mk(&ns, d, "e", S_IFDIR | 0755);
	mk(&ns, e, "x", S_IFREG | 0644);
	/* over an existing file: b loses its last link */
	cr_assert_eq(ns_rename(&ns, 1, "a", 1, "b", 0, &T, &victim), 0);
	cr_assert_eq(victim->ino, b);
	cr_assert_eq(victim->nlink, 0);
	cr_assert_eq(ino_of(&ns, 1, "b"), a);
	cr_assert_eq(ino_of(&ns, 1, "a"), 0);
	/* a directory into itself */
	cr_assert_eq(ns_rename(&ns, 1, "d", e, "z", 0, &T, &victim), -EINVAL);
	/* file over dir, dir over file, over a non-empty dir */
	cr_assert_eq(ns_rename(&ns, 1, "b", 1, "d", 0, &T, &victim), -EISDIR);
	cr_assert_eq(ns_rename(&ns, d, "e", 1, "b", 0, &T, &victim), -ENOTDIR);
	mk(&ns, 1, "full", S_IFDIR | 0755);
	cr_assert_eq(ns_rename(&ns, 1, "full", 1, "d", 0, &T, &victim),
		     -ENOTEMPTY);
	/* NOREPLACE and EXCHANGE */
	cr_assert_eq(ns_rename(&ns, 1, "b", 1, "full", RENAME_NOREPLACE, &T,
			       &victim),
		     -EEXIST);
	cr_assert_eq(
		ns_rename(&ns, 1, "b", 1, "nope", RENAME_EXCHANGE, &T, &victim),
		-ENOENT);
	uint32_t root_links = ns_inode(&ns, 1)->nlink;
	cr_assert_eq(
		ns_rename(&ns, 1, "b", d, "e", RENAME_EXCHANGE, &T, &victim),
		0);
	cr_assert_eq(ino_of(&ns, 1, "b"), e);
	cr_assert_eq(ino_of(&ns, d, "e"), a);
	cr_assert_eq(ns_inode(&ns, e)->parent, 1);
	cr_assert_eq(ns_inode(&ns, 1)->nlink, root_links + 1);
	/* a dir moved between parents fixes both link counts */
	cr_assert_eq(ns_rename(&ns, 1, "b", d, "back", 0, &T, &victim), 0);
	cr_assert_eq(ns_inode(&ns, 1)->nlink, root_links);
	cr_assert_eq(ns_inode(&ns, d)->nlink, 3);
	ns_free(&ns);
}

Test(meta, remove_and_links)
{
	struct kns ns;
	struct kinode *victim;
	fresh(&ns);
	uint64_t d = mk(&ns, 1, "d", S_IFDIR | 0755);
	uint64_t f = mk(&ns, d, "f", S_IFREG | 0644);
	cr_assert_eq(ns_link(&ns, f, 1, "hard", &T), 0);
	cr_assert_eq(ns_inode(&ns, f)->nlink, 2);
	cr_assert_eq(ns_link(&ns, d, 1, "dirlink", &T), -EPERM);
	cr_assert_eq(ns_remove(&ns, 1, "d", 1, &T, &victim), -ENOTEMPTY);
	cr_assert_eq(ns_remove(&ns, 1, "d", 0, &T, &victim), -EISDIR);
	cr_assert_eq(ns_remove(&ns, d, "f", 1, &T, &victim), -ENOTDIR);
	cr_assert_eq(ns_remove(&ns, d, "f", 0, &T, &victim), 0);
	cr_assert_eq(victim->nlink, 1);
	cr_assert_eq(ns_remove(&ns, 1, "d", 1, &T, &victim), 0);
	cr_assert_eq(victim->nlink, 0);
	cr_assert_eq(ns_inode(&ns, 1)->nlink, 2);
	ns_free(&ns);
}

Test(meta, xattr_flags)
{
	struct kns ns;
	fresh(&ns);
	struct kinode *in = ns_inode(&ns, mk(&ns, 1, "f", S_IFREG | 0644));
	cr_assert_eq(ns_xattr_set(&ns, in, "user.a", "1", 1, XATTR_REPLACE),
		     -ENODATA);
	cr_assert_eq(ns_xattr_set(&ns, in, "user.a", "1", 1, XATTR_CREATE), 0);
	cr_assert_eq(ns_xattr_set(&ns, in, "user.a", "2", 1, XATTR_CREATE),
		     -EEXIST);
	cr_assert_eq(ns_xattr_set(&ns, in, "user.a", "22", 2, XATTR_REPLACE),
		     0);
	cr_assert_eq(ns_xattr_get(in, "user.a")->len, 2);
	cr_assert_eq(ns_xattr_remove(&ns, in, "user.a"), 0);
	cr_assert_eq(ns_xattr_remove(&ns, in, "user.a"), -ENODATA);
	ns_free(&ns);
}

Test(meta, chunks_and_blocks)
{
	struct kns ns;
	fresh(&ns);
	struct kinode *in = ns_inode(&ns, mk(&ns, 1, "f", S_IFREG | 0644));
	in->size = 100ULL << 30; /* 100 GiB, one chunk in the middle */
	cr_assert_eq(ns_chunk_set(&ns, in, 50000), 0);
	cr_assert_eq(ns_blocks(&ns, in), (1 << 20) / 512);
	cr_assert_eq(ns_chunk_next(in, 0), 50000);
	cr_assert_eq(ns_chunk_next(in, 50001), UINT64_MAX);
	in->size = (50000ULL << 20) + 100; /* a partial last chunk */
	cr_assert_eq(ns_blocks(&ns, in), 8);
	ns_chunk_clear(&ns, in, 50000);
	cr_assert_eq(ns_blocks(&ns, in), 0);
	ns_free(&ns);
}

Test(meta, snapshot_round_trip)
{
	struct kns ns, back;
	fresh(&ns);
	uint64_t d = mk(&ns, 1, "dir", S_IFDIR | 02775);
	uint64_t f = mk(&ns, d, "file", S_IFREG | 0600);
	struct kinode *in, *sl;
	cr_assert_eq(ns_mknod(&ns, 1, "sym", S_IFLNK | 0777, 0, 0, 0,
			      "dir/file", &T, &sl),
		     0);
	in = ns_inode(&ns, f);
	in->size = 5 << 20;
	ns_chunk_set(&ns, in, 0);
	ns_chunk_set(&ns, in, 3);
	ns_xattr_set(&ns, in, "user.k", "v\0v", 3, 0);
	reload(&ns, &back);
	struct kinode *b = ns_inode(&back, f);
	cr_assert_not_null(b);
	cr_assert_eq(b->size, 5 << 20);
	cr_assert_eq(b->mode, S_IFREG | 0600);
	cr_assert(ns_chunk_test(b, 0) && ns_chunk_test(b, 3));
	cr_assert(!ns_chunk_test(b, 1));
	cr_assert_eq(memcmp(ns_xattr_get(b, "user.k")->val, "v\0v", 3), 0);
	cr_assert_eq(ino_of(&back, d, "file"), f);
	cr_assert_str_eq(ns_inode(&back, sl->ino)->symlink, "dir/file");
	cr_assert_eq(ns_inode(&back, d)->parent, 1);
	cr_assert_eq(back.next_ino, ns.next_ino);
	ns_free(&ns);
	ns_free(&back);
}

/* Inline chunk 0 (new regular files): its bytes travel in logs and
 * snapshots; leaving inline mode is replayed too; st_blocks counts it. */
Test(meta, inline_data_round_trip)
{
	struct kns ns, replica, back;
	struct buf snap = BUF_INIT, log = BUF_INIT;
	uint64_t seq;
	fresh(&ns);
	struct kinode *a = ns_inode(&ns, mk(&ns, 1, "a", S_IFREG | 0644));
	struct kinode *b = ns_inode(&ns, mk(&ns, 1, "b", S_IFREG | 0644));
	cr_assert(a->inl && b->inl, "new files start inline");
	cr_assert(!ns_inode(&ns, 1)->inl, "directories are not inline");
	cr_assert_eq(ns_snapshot(&ns, 1, &snap), 0);
	struct buf dummy = BUF_INIT;
	ns_cut(&ns, 1, &dummy);
	buf_free(&dummy);
	a->size = 5;
	cr_assert_eq(ns_inline_set(a, "hello", 5), 0);
	ns_touch(&ns, a);
	cr_assert_eq(ns_blocks(&ns, a), 8);
	b->size = 2 << 20;
	ns_inline_drop(b);
	ns_chunk_set(&ns, b, 0);
	ns_touch(&ns, b);
	cr_assert_eq(ns_cut(&ns, 2, &log), 1);
	cr_assert_eq(ns_init(&replica, 1 << 20), 0);
	cr_assert_eq(ns_apply(&replica, snap.data, snap.len, &seq), 0);
	cr_assert(ns_inode(&replica, b->ino)->inl);
	cr_assert_eq(ns_apply(&replica, log.data, log.len, &seq), 0);
	struct kinode *ra = ns_inode(&replica, a->ino);
	struct kinode *rb = ns_inode(&replica, b->ino);
	cr_assert(ra->inl && ra->ilen == 5);
	cr_assert_eq(memcmp(ra->idata, "hello", 5), 0);
	cr_assert(!rb->inl && ns_chunk_test(rb, 0), "b left inline mode");
	reload(&replica, &back);
	cr_assert_eq(ns_inode(&back, a->ino)->ilen, 5);
	cr_assert_eq(memcmp(ns_inode(&back, a->ino)->idata, "hello", 5), 0);
	cr_assert(!ns_inode(&back, b->ino)->inl);
	ns_free(&ns);
	ns_free(&replica);
	ns_free(&back);
	buf_free(&snap);
	buf_free(&log);
}

/* The state after a log replayed on the state before it equals the state
 * at the cut, including a batch that creates and removes a directory. */
Test(meta, log_replay_matches)
{
	struct kns ns, replica;
	struct buf snap = BUF_INIT, log = BUF_INIT;
	struct kinode *victim;
	uint64_t seq;
	fresh(&ns);
	mk(&ns, 1, "keep", S_IFREG | 0644);
	cr_assert_eq(ns_snapshot(&ns, 1, &snap), 0);
	struct buf dummy = BUF_INIT;
	ns_cut(&ns, 1, &dummy); /* the snapshot covers the first batch */
	buf_free(&dummy);
	uint64_t t = mk(&ns, 1, "tmp", S_IFDIR | 0755);
	mk(&ns, t, "inner", S_IFREG | 0644);
	cr_assert_eq(ns_remove(&ns, t, "inner", 0, &T, &victim), 0);
	ns_release(&ns, victim);
	cr_assert_eq(ns_remove(&ns, 1, "tmp", 1, &T, &victim), 0);
	ns_release(&ns, victim);
	uint64_t n = mk(&ns, 1, "new", S_IFREG | 0644);
	cr_assert_eq(ns_rename(&ns, 1, "new", 1, "keep", 0, &T, &victim), 0);
	ns_release(&ns, victim);
	cr_assert_eq(ns_cut(&ns, 2, &log), 1);
	cr_assert_eq(ns_cut(&ns, 3, &log), 0, "nothing left pending");
	cr_assert_eq(ns_init(&replica, 1 << 20), 0);
	cr_assert_eq(ns_apply(&replica, snap.data, snap.len, &seq), 0);
	cr_assert_eq(ns_apply(&replica, log.data, log.len, &seq), 0);
	cr_assert_eq(seq, 2);
	cr_assert_eq(ino_of(&replica, 1, "keep"), n);
	cr_assert_eq(ino_of(&replica, 1, "tmp"), 0);
	cr_assert_eq(ino_of(&replica, 1, "new"), 0);
	cr_assert_eq(replica.icount, ns.icount);
	cr_assert_eq(ns_inode(&replica, 1)->nlink, 2);
	ns_free(&ns);
	ns_free(&replica);
	buf_free(&snap);
	buf_free(&log);
}

/* Replay a snapshot of ns, then the logs in logs (may be empty), into a
 * fresh namespace the way kj_load does; the stop it sees was clean? */
static int replays_clean(struct kns *ns, const struct buf *logs)
{
	struct kns back;
	struct buf snap = BUF_INIT;
	uint64_t seq;
	int clean;
	cr_assert_eq(ns_snapshot(ns, 9, &snap), 0);
	cr_assert_eq(ns_init(&back, 1 << 20), 0);
	back.last_clean = 1;
	cr_assert_eq(ns_apply(&back, snap.data, snap.len, &seq), 0);
	if (logs->len)
		cr_assert_eq(ns_apply(&back, logs->data, logs->len, &seq), 0);
	clean = back.last_clean;
	ns_free(&back);
	buf_free(&snap);
	return clean;
}

/* A snapshot taken while mounted (after the MOUNT mark's cut, before the
 * CLEAN one) replays as an unclean stop, with the logs after it holding
 * no mark: a mount killed after its 64th log is still swept by the next
 * one. A snapshot of the final cut (CLEAN) replays as clean. */
Test(meta, snapshot_keeps_the_mount_mark)
{
	struct kns ns;
	struct buf log = BUF_INIT, later = BUF_INIT;
	fresh(&ns);
	ns_mark(&ns, 1);
	mk(&ns, 1, "a", S_IFREG | 0644);
	cr_assert_eq(ns_cut(&ns, 1, &log), 1);
	mk(&ns, 1, "b", S_IFREG | 0644);
	cr_assert_eq(ns_cut(&ns, 2, &later), 1);
	cr_assert_not(replays_clean(&ns, &later),
		      "a snapshot taken while mounted replayed as clean");
	ns_mark(&ns, 2);
	later.len = 0;
	cr_assert_eq(ns_cut(&ns, 3, &later), 1);
	cr_assert(replays_clean(&ns, &later));
	later.len = 0;
	cr_assert(replays_clean(&ns, &later));
	ns_free(&ns);
	buf_free(&log);
	buf_free(&later);
}

Test(meta, bad_records_refused)
{
	struct kns ns;
	uint64_t seq;
	uint8_t junk[] = "KFL1\0\0\0\0\0\0\0\1\x09";
	uint8_t cut[] = "KFL1\0\0\0\0\0\0\0\1\x01\0\0";
	fresh(&ns);
	cr_assert_eq(ns_apply(&ns, junk, sizeof(junk) - 1, &seq), -EINVAL);
	cr_assert_eq(ns_apply(&ns, cut, sizeof(cut) - 1, &seq), -EINVAL);
	cr_assert_eq(ns_apply(&ns, (const uint8_t *)"XX", 2, &seq), -EINVAL);
	ns_free(&ns);
}
