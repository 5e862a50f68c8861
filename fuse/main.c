/*
 * fuse/main.c: kumo-mount, startup only.
 *   kumo-mount [-o opts] FILESYSTEM MOUNTPOINT   mount (-f: foreground)
 *   kumo-mount --mkfs [-o opts] FILESYSTEM       create a filesystem
 * Our options (-o key=val or --key val): auth_url, user, key, conf (a file
 * of key=val lines with the same keys), cache_size, dirty_max,
 * kernel_readahead (bytes, k/m/g suffixes), ro, lease_seconds,
 * commit_seconds, threads, readahead.
 * Other -o options go to FUSE; default_permissions is always on. Steps:
 * options → auth → load the namespace → take the lease (rw) → mount →
 * daemonize → multi-threaded from here: workers, committer, renewer →
 * loop → final commit, release the lease → unmount.
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuse/internal.h"

struct cli {
	char *auth_url, *user, *key, *conf, *cache_size, *dirty_max, *kernel_ra;
	char *fsname, *mountpoint;
	int ro, lease_seconds, commit_seconds, threads, readahead, mkfs;
	int foreground, help;
};

enum { KEY_RO, KEY_MKFS, KEY_HELP, KEY_FG };

#define OPT(t, f)                             \
	{                                     \
		t, offsetof(struct cli, f), 0 \
	}
static const struct fuse_opt cli_opts[] = {
	OPT("auth_url=%s", auth_url),
	OPT("--auth_url %s", auth_url),
	OPT("user=%s", user),
	OPT("--user %s", user),
	OPT("key=%s", key),
	OPT("--key %s", key),
	OPT("conf=%s", conf),
	OPT("--conf %s", conf),
	OPT("cache_size=%s", cache_size),
	OPT("--cache_size %s", cache_size),
	OPT("dirty_max=%s", dirty_max),
	OPT("--dirty_max %s", dirty_max),
	OPT("lease_seconds=%d", lease_seconds),
	OPT("--lease_seconds %d", lease_seconds),
	OPT("commit_seconds=%d", commit_seconds),
	OPT("--commit_seconds %d", commit_seconds),
	OPT("threads=%d", threads),
	OPT("--threads %d", threads),
	OPT("readahead=%d", readahead),
	OPT("--readahead %d", readahead),
	OPT("kernel_readahead=%s", kernel_ra),
	OPT("--kernel_readahead %s", kernel_ra),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("--ro", KEY_RO),
	FUSE_OPT_KEY("--mkfs", KEY_MKFS),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-f", KEY_FG),
	FUSE_OPT_END,
};

static int on_opt(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct cli *c = data;
	(void)out;
	switch (key) {
	case KEY_RO:
		c->ro = 1;
		return 1; /* the kernel mount is read-only too */
	case KEY_MKFS:
		c->mkfs = 1;
		return 0;
	case KEY_HELP:
		c->help = 1;
		return 0;
	case KEY_FG:
		c->foreground = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (!c->fsname) {
			c->fsname = strdup(arg);
			return 0;
		}
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "kumo-mount: too many arguments: %s\n", arg);
		return -1;
	}
	return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

/* key=value lines of a conf file: fill what the command line left unset */
static int load_conf(struct cli *c)
{
	FILE *f = fopen(c->conf, "r");
	char line[1024];
	if (!f) {
		fprintf(stderr, "kumo-mount: %s: %m\n", c->conf);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq, *k = line, *v, *e;
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || *k == ';' || *k == '[' || *k == '\n' || !*k)
			continue;
		if (!(eq = strchr(k, '=')))
			continue;
		*eq = 0;
		v = eq + 1;
		for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = 0;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\r\n")] = 0;
#define SETS(name, field)                    \
	if (!strcmp(k, name) && !c->field) { \
		c->field = strdup(v);        \
		continue;                    \
	}
#define SETI(name, field)                    \
	if (!strcmp(k, name) && !c->field) { \
		c->field = atoi(v);          \
		continue;                    \
	}
		SETS("auth_url", auth_url);
		SETS("user", user);
		SETS("key", key);
		SETS("cache_size", cache_size);
		SETS("dirty_max", dirty_max);
		SETS("kernel_readahead", kernel_ra);
		SETI("lease_seconds", lease_seconds);
		SETI("commit_seconds", commit_seconds);
		SETI("threads", threads);
		SETI("readahead", readahead);
		if (!strcmp(k, "ro") && atoi(v))
			c->ro = 1;
	}
	fclose(f);
	return 0;
}

static int fsname_ok(const char *s)
{
	size_t i, n = strlen(s);
	if (n == 0 || n > 200 || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return 0;
	return 1;
}

static void usage(void)
{
	printf("usage: kumo-mount [-f] [-o opts] FILESYSTEM MOUNTPOINT\n"
	       "       kumo-mount --mkfs [-o opts] FILESYSTEM\n"
	       "options: auth_url=URL user=ACCOUNT:USER key=KEY conf=FILE\n"
	       "  cache_size=BYTES dirty_max=BYTES ro lease_seconds=N\n"
	       "  commit_seconds=N threads=N readahead=CHUNKS\n"
	       "  kernel_readahead=BYTES, and FUSE's\n"
	       "  (allow_other, auto_unmount, ...)\n");
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cli c;
	struct kfs fs;
	struct fuse_session *se = NULL;
	struct fuse_loop_config lc;
	char real[PATH_MAX];
	int rc = 1, mounted = 0;
	memset(&c, 0, sizeof(c));
	memset(&fs, 0, sizeof(fs));
	log_init("kumo-mount", LOG_INFO);
	/* chunk buffers (a chunk: 4 MiB) always come from mmap, so an evicted
	 * chunk's memory goes back to the system instead of staying in one
	 * of the threads' malloc arenas: cache_size bounds what we hold */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (fuse_opt_parse(&args, &c, cli_opts, on_opt) == -1)
		goto out;
	if (c.help) {
		usage();
		rc = 0;
		goto out;
	}
	if (c.conf && load_conf(&c))
		goto out;
	if (!c.fsname || (!c.mkfs && !c.mountpoint)) {
		usage();
		goto out;
	}
	if (!fsname_ok(c.fsname)) {
		fprintf(stderr,
			"kumo-mount: bad filesystem name %s (letters, digits, "
			"._- only)\n",
			c.fsname);
		goto out;
	}
	fs.o.auth_url =
		c.auth_url ? c.auth_url : "http://127.0.0.1:8080/auth/v1.0";
	fs.o.user = c.user ? c.user : "test:tester";
	fs.o.key = c.key ? c.key : "testing";
	fs.o.cache_size = 512ULL << 20;
	fs.o.dirty_max = 128ULL << 20;
	fs.o.kernel_ra = KFS_KERNEL_RA;
	if ((c.cache_size && parse_size(c.cache_size, &fs.o.cache_size)) ||
	    (c.dirty_max && parse_size(c.dirty_max, &fs.o.dirty_max)) ||
	    (c.kernel_ra && parse_size(c.kernel_ra, &fs.o.kernel_ra))) {
		fprintf(stderr, "kumo-mount: bad size in cache_size, "
				"dirty_max or kernel_readahead\n");
		goto out;
	}
	fs.o.ro = c.ro;
	fs.o.lease_seconds = c.lease_seconds > 0 ? c.lease_seconds : 30;
	fs.o.commit_seconds = c.commit_seconds > 0 ? c.commit_seconds : 5;
	fs.o.threads = c.threads > 0 && c.threads <= 64 ? c.threads : 32;
	fs.o.readahead = c.readahead >= 0 && c.readahead <= 64
				 ? (c.readahead ? c.readahead : 8)
				 : 8;
	if (fs.o.dirty_max < (4u << 20))
		fs.o.dirty_max = 4u << 20;
	if (fs.o.cache_size < fs.o.dirty_max * 2)
		fs.o.cache_size = fs.o.dirty_max * 2;
	if (c.mkfs) {
		rc = kj_mkfs(&fs.o, c.fsname) ? 1 : 0;
		if (!rc)
			printf("kumo-mount: filesystem %s created\n", c.fsname);
		goto out;
	}
	fs.name = c.fsname;
	pthread_mutex_init(&fs.lock, NULL);
	pthread_mutex_init(&fs.commit_lock, NULL);
	pthread_cond_init(&fs.cond, NULL);
	pthread_cond_init(&fs.work, NULL);
	if (swc_open(fs.o.auth_url, fs.o.user, fs.o.key, c.fsname, &fs.sw))
		goto out;
	if (kj_load(&fs))
		goto out;
	fs.epoch = 1;
	if (!fs.o.ro && kj_lease_take(&fs))
		goto out;
	fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-osubtype=kumo");
	{
		char o[300];
		snprintf(o, sizeof(o), "-ofsname=kumo:%s", c.fsname);
		fuse_opt_add_arg(&args, o);
	}
	se = fuse_session_new(&args, &kfs_ops, sizeof(kfs_ops), &fs);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se))
		goto out;
	if (!realpath(c.mountpoint, real))
		real[0] = 0;
	if (fuse_session_mount(se, c.mountpoint))
		goto out;
	mounted = 1;
	if (real[0])
		ko_bdi_find(&fs, real);
	if (fuse_daemonize(c.foreground))
		goto out;
	/* multi-threaded from here (threads do not survive the fork) */
	if (kd_start(&fs) || kj_start(&fs))
		goto out;
	memset(&lc, 0, sizeof(lc));
	lc.clone_fd = 0;
	lc.max_idle_threads = 16;
	/* a signal that asked us to stop (libfuse returns its number) is a
	 * clean stop: the exit status then says whether the final commit
	 * put every change in the cluster */
	rc = fuse_session_loop_mt(se, &lc);
	rc = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
out:
	if (se) {
		fuse_remove_signal_handlers(se);
		if (mounted)
			fuse_session_unmount(se);
	}
	if (fs.sw && !c.mkfs) {
		kj_stop(&fs);
		ko_close_all(&fs);
		if (!fs.o.ro && fs.lease_epoch) {
			pthread_mutex_lock(&fs.lock);
			ns_mark(&fs.ns, 2);
			pthread_mutex_unlock(&fs.lock);
			if (kj_commit(&fs, KJ_ALL)) {
				log_err("final commit failed: the last changes "
					"are not in the cluster");
				rc = 1;
			}
			kj_lease_release(&fs);
		}
		kd_stop(&fs);
		ns_free(&fs.ns);
		swc_close(fs.sw);
	}
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(c.fsname);
	free(c.mountpoint);
	free(c.auth_url);
	free(c.user);
	free(c.key);
	free(c.conf);
	free(c.cache_size);
	free(c.dirty_max);
	free(c.kernel_ra);
	return rc;
}
