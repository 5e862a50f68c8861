/*
 * common/recon.c: the recon cache files and the /recon endpoints (see
 * recon.h). The answers follow Swift 2.30's recon middleware key for key;
 * what kumo does not keep (ring MD5s, drive audits, sharding) is answered
 * in the same shape with nulls, so swift-recon reads every check.
 *
 * The cache file update is one state machine, run under the lock file:
 *
 *   flock(.<name>.recon.lock) --read <name>.recon (missing/bad: {})-->
 *   merged in memory --fs_write_atomic (tmp, fsync, rename, fsync dir)-->
 *   new file in place --unlock
 *
 * Invariants: 1. a reader sees the old or the new file, whole; 2. two
 * writers never interleave (the flock serialises threads too, as each
 * call opens its own file description), so no key is lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/recon.h"

#define RECON_FILE_MAX (4 << 20)

static int valid_name(const char *name)
{
	return name && *name && !strchr(name, '/') && name[0] != '.';
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

json_t *recon_load(const char *cache_dir, const char *name)
{
	char path[4200];
	uint8_t *data = NULL;
	size_t len = 0;
	json_t *j = NULL;

	snprintf(path, sizeof(path), "%s/%s.recon", cache_dir, name);
	if (fs_read_file(path, RECON_FILE_MAX, &data, &len) == 0)
		j = json_loadb((const char *)data, len, 0, NULL);
	free(data);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j ? j : json_object();
}

/* Swift's put_recon_cache_entry. */
static int merge_entry(json_t *entry, const char *key, json_t *item)
{
	json_t *cur, *v;
	const char *k;

	if (!json_is_object(item))
		return json_object_set(entry, key, item) ? -ENOMEM : 0;
	if (!json_object_size(item)) {
		json_object_del(entry, key);
		return 0;
	}
	cur = json_object_get(entry, key);
	if (!json_is_object(cur)) {
		cur = json_object();
		if (!cur || json_object_set_new(entry, key, cur))
			return -ENOMEM;
	}
	json_object_foreach(item, k, v)
	{
		if (json_is_object(v) && !json_object_size(v))
			json_object_del(cur, k);
		else if (json_object_set(cur, k, v))
			return -ENOMEM;
	}
	return 0;
}

int recon_update(const char *cache_dir, const char *name, json_t *fields)
{
	char lock_path[4200], path[4200];
	json_t *entry = NULL, *v;
	char *text = NULL;
	const char *k;
	int fd = -1, rc;

	if (!valid_name(name) || !json_is_object(fields))
		return -EINVAL;
	rc = mkdir_p(cache_dir);
	if (rc) {
		log_err("cannot make the recon cache %s: %s", cache_dir,
			strerror(-rc));
		return rc;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/.%s.recon.lock", cache_dir,
		 name);
	snprintf(path, sizeof(path), "%s/%s.recon", cache_dir, name);
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		rc = -errno;
		log_err("cannot open %s: %m", lock_path);
		goto out;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			rc = -errno;
			log_err("cannot lock %s: %m", lock_path);
			goto out;
		}
	}
	entry = recon_load(cache_dir, name);
	if (!entry) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_foreach(fields, k, v)
	{
		rc = merge_entry(entry, k, v);
		if (rc)
			goto out;
	}
	text = json_dumps(entry, JSON_SORT_KEYS | JSON_COMPACT);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fs_write_atomic(path, text, strlen(text), 0644);
out:
	if (fd != -1)
		close(fd); /* drops the flock */
	free(text);
	json_decref(entry);
	return rc;
}

/* --- what the endpoints measure ------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the device directories under devices; NULL-ended
 * array the caller frees with free_names. */
static char **device_names(const char *devices, int *count)
{
	struct dirent *de;
	char **names = NULL, **grown, path[4200];
	struct stat st;
	int n = 0;
	DIR *d = opendir(devices);

	*count = 0;
	if (!d)
		return calloc(1, sizeof(char *));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", devices, de->d_name);
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		grown = realloc(names, sizeof(*names) * (size_t)(n + 2));
		if (!grown)
			break;
		names = grown;
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
		names[n] = NULL;
	}
	closedir(d);
	if (!names)
		names = calloc(1, sizeof(char *));
	if (names && n > 1)
		qsort(names, (size_t)n, sizeof(*names), cmp_names);
	*count = n;
	return names;
}

static void free_names(char **names)
{
	char **p;

	for (p = names; p && *p; p++)
		free(*p);
	free(names);
}

long long recon_quarantined(const char *devices, const char *kind)
{
	char **names, **p, path[4300];
	struct dirent *de;
	long long total = 0;
	int n;

	names = device_names(devices, &n);
	for (p = names; p && *p; p++) {
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s/quarantined/%s", devices,
			 *p, kind);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				total++;
		closedir(d);
	}
	free_names(names);
	return total;
}

/* Files in the tree under dir (async_pending/<sfx>/<record>). */
static long long count_files(const char *dir, int depth)
{
	char path[4300];
	struct dirent *de;
	long long total = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0)
			total += count_files(path, depth - 1);
		else if (S_ISREG(st.st_mode))
			total++;
	}
	closedir(d);
	return total;
}

/* {key: cache value or null} for each key. */
static json_t *from_cache(const struct recon_conf *rc, const char *name,
			  const char *const *keys)
{
	json_t *cache = recon_load(rc->cache_dir, name), *out = json_object();
	const char *const *k;

	for (k = keys; out && cache && *k; k++) {
		json_t *v = json_object_get(cache, *k);

		json_object_set(out, *k, v ? v : json_null());
	}
	json_decref(cache);
	return out;
}

/* The object replicator's figures; replication_time and _last fall back on
 * object_replication_time and _last (Swift's object replicator writes
 * both pairs; swift-recon reads the first when it is not null). */
static json_t *object_replication(const struct recon_conf *rc,
				  const char *const *keys)
{
	json_t *out = from_cache(rc, "object", keys);
	static const char *const pairs[2][2] = {
		{"replication_time", "object_replication_time"},
		{"replication_last", "object_replication_last"}};
	int i;

	for (i = 0; out && i < 2; i++)
		if (json_is_null(json_object_get(out, pairs[i][0])))
			json_object_set(out, pairs[i][0],
					json_object_get(out, pairs[i][1]));
	return out;
}

static json_t *get_diskusage(const struct recon_conf *rc)
{
	json_t *arr = json_array();
	char **names, **p, path[4200];
	int n;

	names = device_names(rc->devices, &n);
	for (p = names; arr && p && *p; p++) {
		struct statvfs vfs;
		json_t *o;

		snprintf(path, sizeof(path), "%s/%s", rc->devices, *p);
		if (statvfs(path, &vfs) == -1) {
			o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "device", *p,
				      "mounted", strerror(errno), "size", "",
				      "used", "", "avail", "");
		} else {
			json_int_t bs = (json_int_t)vfs.f_frsize;

			o = json_pack(
				"{s:s,s:b,s:I,s:I,s:I}", "device", *p,
				"mounted", 1, "size",
				bs * (json_int_t)vfs.f_blocks, "used",
				bs * (json_int_t)(vfs.f_blocks - vfs.f_bavail),
				"avail", bs * (json_int_t)vfs.f_bavail);
		}
		json_array_append_new(arr, o);
	}
	free_names(names);
	return arr;
}

/* A device the server cannot use (kumo has no mount_check: a device
 * directory we cannot read, write and enter is "unmounted"). */
static json_t *get_unmounted(const struct recon_conf *rc)
{
	json_t *arr = json_array();
	char **names, **p, path[4200];
	int n;

	names = device_names(rc->devices, &n);
	for (p = names; arr && p && *p; p++) {
		snprintf(path, sizeof(path), "%s/%s", rc->devices, *p);
		if (access(path, R_OK | W_OK | X_OK) == 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:b}", "device", *p,
						     "mounted", 0));
	}
	free_names(names);
	return arr;
}

static json_t *get_async(const struct recon_conf *rc)
{
	static const char *const keys[] = {"async_pending_last", NULL};
	char **names, **p, path[4200];
	long long total = 0;
	json_t *out;
	int n;

	names = device_names(rc->devices, &n);
	for (p = names; p && *p; p++) {
		snprintf(path, sizeof(path), "%s/%s/async_pending", rc->devices,
			 *p);
		total += count_files(path, 1);
	}
	free_names(names);
	out = from_cache(rc, "object", keys);
	if (out)
		json_object_set_new(out, "async_pending",
				    json_integer((json_int_t)total));
	return out;
}

static json_t *get_quarantined(const struct recon_conf *rc)
{
	long long objs = recon_quarantined(rc->devices, "objects");

	return json_pack(
		"{s:I,s:I,s:I,s:{s:{s:I}}}", "objects", (json_int_t)objs,
		"containers",
		(json_int_t)recon_quarantined(rc->devices, "containers"),
		"accounts",
		(json_int_t)recon_quarantined(rc->devices, "accounts"),
		"policies", "0", "objects", (json_int_t)objs);
}

static json_t *get_devices(const struct recon_conf *rc)
{
	json_t *arr = json_array(), *out;
	char **names, **p;
	int n;

	names = device_names(rc->devices, &n);
	for (p = names; arr && p && *p; p++)
		json_array_append_new(arr, json_string(*p));
	free_names(names);
	out = json_object();
	if (out && arr)
		json_object_set(out, rc->devices, arr);
	json_decref(arr);
	return out;
}

/* {path: md5 hex} of every *.ring.gz of swift_dir (Swift's ringmd5,
 * which swift-recon --md5 compares with its own copies by file name). */
static json_t *get_ringmd5(const struct recon_conf *rc)
{
	json_t *out = json_object();
	struct dirent *de;
	char path[4200], hex[33];
	uint8_t *data, digest[MD5_LEN];
	size_t len, n;
	DIR *d = rc->swift_dir ? opendir(rc->swift_dir) : NULL;

	while (out && d && (de = readdir(d))) {
		n = strlen(de->d_name);
		if (n <= 8 || strcmp(de->d_name + n - 8, ".ring.gz"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", rc->swift_dir,
			 de->d_name);
		data = NULL;
		if (fs_read_file(path, 1 << 30, &data, &len) == 0 &&
		    md5_buf(data, len, digest) == 0) {
			md5_hex(digest, hex);
			json_object_set_new(out, path, json_string(hex));
		}
		free(data);
	}
	if (d)
		closedir(d);
	return out;
}

static json_t *get_load(void)
{
	double m1, m5, m15;
	char tasks[64];
	int procs;
	FILE *f = fopen("/proc/loadavg", "re");
	int got;

	if (!f)
		return NULL;
	got = fscanf(f, "%lf %lf %lf %63s %d", &m1, &m5, &m15, tasks, &procs);
	fclose(f);
	if (got != 5)
		return NULL;
	return json_pack("{s:f,s:f,s:f,s:s,s:i}", "1m", m1, "5m", m5, "15m",
			 m15, "tasks", tasks, "processes", procs);
}

static json_t *get_mem(void)
{
	char line[512];
	json_t *out = json_object();
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f) {
		json_decref(out);
		return NULL;
	}
	while (out && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *v;
		size_t len;

		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		len = strcspn(v, "\n");
		v[len] = '\0';
		json_object_set_new(out, line, json_string(v));
	}
	fclose(f);
	return out;
}

static json_t *get_mounted(void)
{
	char dev[1024], path[1024];
	json_t *arr = json_array();
	FILE *f = fopen("/proc/mounts", "re");

	if (!f) {
		json_decref(arr);
		return NULL;
	}
	while (arr && fscanf(f, "%1023s %1023s %*[^\n]", dev, path) == 2)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "device", dev,
						     "path", path));
	fclose(f);
	return arr;
}

static json_t *get_sockstat(void)
{
	char line[512];
	json_t *out = json_object();
	long long inuse, orphan, tw, alloc, mem, in6;
	FILE *f = fopen("/proc/net/sockstat", "re");

	if (f) {
		while (out && fgets(line, sizeof(line), f))
			if (sscanf(line,
				   "TCP: inuse %lld orphan %lld tw %lld alloc "
				   "%lld mem %lld",
				   &inuse, &orphan, &tw, &alloc, &mem) == 5) {
				json_object_set_new(out, "tcp_in_use",
						    json_integer(inuse));
				json_object_set_new(out, "orphan",
						    json_integer(orphan));
				json_object_set_new(out, "time_wait",
						    json_integer(tw));
				json_object_set_new(
					out, "tcp_mem_allocated_bytes",
					json_integer(mem * getpagesize()));
			}
		fclose(f);
	}
	f = fopen("/proc/net/sockstat6", "re");
	if (f) {
		while (out && fgets(line, sizeof(line), f))
			if (sscanf(line, "TCP6: inuse %lld", &in6) == 1)
				json_object_set_new(out, "tcp6_in_use",
						    json_integer(in6));
		fclose(f);
	}
	return out;
}

static json_t *get_time(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return json_real((double)tv.tv_sec + (double)tv.tv_usec / 1e6);
}

json_t *recon_answer(const struct recon_conf *rc, const char *what,
		     const char *type, int *status)
{
	static const char *const repl[] = {"replication_time",
					   "replication_stats",
					   "replication_last", NULL};
	static const char *const repl_obj[] = {
		"replication_time",	   "replication_stats",
		"replication_last",	   "object_replication_time",
		"object_replication_last", NULL};
	static const char *const aud_obj[] = {"object_auditor_stats_ALL",
					      "object_auditor_stats_ZBF", NULL};
	static const char *const aud_cont[] = {
		"container_audits_passed", "container_auditor_pass_completed",
		"container_audits_since", "container_audits_failed", NULL};
	static const char *const aud_acct[] = {
		"account_audits_passed", "account_auditor_pass_completed",
		"account_audits_since", "account_audits_failed", NULL};
	static const char *const upd_cont[] = {"container_updater_sweep", NULL};
	static const char *const upd_obj[] = {"object_updater_sweep", NULL};
	static const char *const exp_obj[] = {"object_expiration_pass",
					      "expired_last_pass", NULL};
	static const char *const recon_obj[] = {"object_reconstruction_last",
						"object_reconstruction_time",
						NULL};
	static const char *const shard[] = {"sharding_stats", "sharding_time",
					    "sharding_last", NULL};
	static const char *const drive[] = {"drive_audit_errors", NULL};
	static const char *const relink[] = {"devices", "workers", NULL};
	int is_a, is_c, is_o;
	json_t *out = NULL;

	*status = 200;
	type = type && *type ? type : NULL;
	is_a = type && !strcmp(type, "account");
	is_c = type && !strcmp(type, "container");
	is_o = type && !strcmp(type, "object");
	if (!strcmp(what, "mem"))
		out = get_mem();
	else if (!strcmp(what, "load"))
		out = get_load();
	else if (!strcmp(what, "async"))
		out = get_async(rc);
	else if (!strcmp(what, "replication") && (is_a || is_c))
		out = from_cache(rc, type, repl);
	else if (!strcmp(what, "replication") && (is_o || !type))
		out = object_replication(rc, repl_obj);
	else if (!strcmp(what, "devices"))
		out = get_devices(rc);
	else if (!strcmp(what, "updater") && is_c)
		out = from_cache(rc, "container", upd_cont);
	else if (!strcmp(what, "updater") && is_o)
		out = from_cache(rc, "object", upd_obj);
	else if (!strcmp(what, "auditor") && is_a)
		out = from_cache(rc, "account", aud_acct);
	else if (!strcmp(what, "auditor") && is_c)
		out = from_cache(rc, "container", aud_cont);
	else if (!strcmp(what, "auditor") && is_o)
		out = from_cache(rc, "object", aud_obj);
	else if (!strcmp(what, "expirer") && is_o)
		out = from_cache(rc, "object", exp_obj);
	else if (!strcmp(what, "mounted"))
		out = get_mounted();
	else if (!strcmp(what, "unmounted"))
		out = get_unmounted(rc);
	else if (!strcmp(what, "diskusage"))
		out = get_diskusage(rc);
	else if (!strcmp(what, "ringmd5"))
		out = get_ringmd5(rc);
	else if (!strcmp(what, "swiftconfmd5"))
		out = json_pack("{s:n}", "/etc/swift/swift.conf");
	else if (!strcmp(what, "quarantined"))
		out = get_quarantined(rc);
	else if (!strcmp(what, "sockstat"))
		out = get_sockstat();
	else if (!strcmp(what, "version"))
		out = json_pack("{s:s}", "version", RECON_SWIFT_VERSION);
	else if (!strcmp(what, "driveaudit"))
		out = from_cache(rc, "drive", drive);
	else if (!strcmp(what, "time"))
		out = get_time();
	else if (!strcmp(what, "sharding"))
		out = from_cache(rc, "container", shard);
	else if (!strcmp(what, "relinker"))
		out = from_cache(rc, "relinker", relink);
	else if (!strcmp(what, "reconstruction") && is_o)
		out = from_cache(rc, "object", recon_obj);
	else {
		*status = 404;
		return NULL;
	}
	if (!out)
		*status = 500;
	return out;
}

int recon_is_path(const char *raw_path)
{
	return raw_path && !strncmp(raw_path, "/recon/", 7);
}

void recon_serve(struct http_request *req, const struct recon_conf *rc)
{
	const char *m = http_method(req), *path = http_raw_path(req);
	char buf[256], *segs[3];
	json_t *out;
	char *body;
	int n, status;

	if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
		http_reply_error(req, 405, "Method Not Allowed");
		return;
	}
	n = http_split_path(path, buf, sizeof(buf), segs, 3);
	if (n < 2 || strchr(n == 3 ? segs[2] : "", '/')) {
		http_reply_error(req, 404, "Invalid path: %s", path);
		return;
	}
	out = recon_answer(rc, segs[1], n == 3 ? segs[2] : NULL, &status);
	if (!out) {
		if (status == 404)
			http_reply_error(req, 404, "Invalid path: %s", path);
		else
			http_reply_error(req, 500, "Internal server error.");
		return;
	}
	body = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(out);
	if (!body) {
		http_reply_error(req, 500, "Internal server error.");
		return;
	}
	http_add_header(req, "Content-Type", "application/json");
	http_reply(req, 200, body, strlen(body));
	free(body);
}
