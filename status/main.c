/*
 * status/main.c: bin/kumo-status, the cluster summary an operator reads:
 * which storage servers of the rings answer, how full their devices are,
 * when each last finished a replication pass and how it went, async
 * pendings, quarantined counts, and a dispersion check (how many sampled
 * partitions lack a full set of container and object replicas). Startup and the order
 * of the phases only; nodes.c and dispersion.c do the work.
 *
 *   kumo-status [--conf FILE] [--swift-dir DIR] [--json] [--quiet]
 *               [--timeout S] [--conn-timeout S]
 *               [--no-dispersion] [--sample N] [--account A]
 *               [--container C] [--populate [--auth-url URL]
 *               [--user U] [--key K]]
 *
 * The config file gives the hash secret ([swift-hash]) and, unless
 * --swift-dir says otherwise, where the rings are ([proxy-server]
 * swift_dir); without --conf, /etc/kumo/kumo.conf or the all-in-one
 * cluster's var/aio/kumo.conf is read, whichever exists.
 *
 * Exit status: 0 when every server answers and no sampled partition lacks
 * a replica; 1 when a server is down or replicas are missing; 2 for a
 * usage error or rings that cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>
#include <jansson.h>

#include "common/log.h"
#include "status/internal.h"

struct conf {
	char prefix[256], suffix[256], swift_dir[4096], proxy_ip[64];
	int proxy_port;
};

static int on_ini(void *arg, const char *sec, const char *key, const char *val)
{
	struct conf *c = arg;

	if (!strcmp(sec, "swift-hash") &&
	    !strcmp(key, "swift_hash_path_prefix"))
		snprintf(c->prefix, sizeof(c->prefix), "%s", val);
	else if (!strcmp(sec, "swift-hash") &&
		 !strcmp(key, "swift_hash_path_suffix"))
		snprintf(c->suffix, sizeof(c->suffix), "%s", val);
	else if (!strcmp(sec, "proxy-server") && !strcmp(key, "swift_dir"))
		snprintf(c->swift_dir, sizeof(c->swift_dir), "%s", val);
	else if (!strcmp(sec, "proxy-server") && !strcmp(key, "bind_ip"))
		snprintf(c->proxy_ip, sizeof(c->proxy_ip), "%s", val);
	else if (!strcmp(sec, "proxy-server") && !strcmp(key, "bind_port"))
		c->proxy_port = atoi(val);
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kumo-status [--conf FILE] [--swift-dir DIR] [--json] "
		"[--quiet]\n"
		"                   [--timeout S] [--conn-timeout S] "
		"[--no-dispersion]\n"
		"                   [--sample N] [--account A] [--container C]\n"
		"                   [--populate [--auth-url URL] [--user U] "
		"[--key K]]\n");
}

int main(int argc, char **argv)
{
	static const char *const names[3] = {"account", "container", "object"};
	struct conf cf = {"", "", "", "127.0.0.1", 8080};
	struct status_opts so = {NULL, 2.0, 10.0, 0};
	struct disp_opts dp = {
		"AUTH_test", "kumo_dispersion", 128,	  NULL, NULL,
		NULL,	     "test:tester",	"testing"};
	struct ring *rings[3] = {NULL, NULL, NULL};
	const char *conf = NULL, *swift_dir = NULL;
	char auth_url[256], path[4200], *populated_account = NULL;
	json_t *report = NULL, *disp = NULL, *cdisp = NULL;
	int json = 0, dispersion = 1, populate = 0, down = 0, lacking = 0;
	int i, t, rc = 2, loaded = 0;

	log_init("kumo-status", LOG_WARN);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--quiet"))
			so.quiet = 1;
		else if (!strcmp(a, "--no-dispersion"))
			dispersion = 0;
		else if (!strcmp(a, "--populate"))
			populate = 1;
		else if (!v)
			goto bad_usage;
		else if (!strcmp(a, "--conf"))
			conf = argv[++i];
		else if (!strcmp(a, "--swift-dir"))
			swift_dir = argv[++i];
		else if (!strcmp(a, "--timeout"))
			so.timeout = atof(argv[++i]);
		else if (!strcmp(a, "--conn-timeout"))
			so.conn_timeout = atof(argv[++i]);
		else if (!strcmp(a, "--sample"))
			dp.sample = atoi(argv[++i]);
		else if (!strcmp(a, "--account"))
			dp.account = argv[++i];
		else if (!strcmp(a, "--container"))
			dp.container = argv[++i];
		else if (!strcmp(a, "--auth-url"))
			dp.auth_url = argv[++i];
		else if (!strcmp(a, "--user"))
			dp.user = argv[++i];
		else if (!strcmp(a, "--key"))
			dp.key = argv[++i];
		else
			goto bad_usage;
	}
	if (so.timeout <= 0 || so.conn_timeout <= 0 || dp.sample < 1 ||
	    dp.sample > 1000000)
		goto bad_usage;
	if (!conf) {
		if (access("/etc/kumo/kumo.conf", R_OK) == 0)
			conf = "/etc/kumo/kumo.conf";
		else if (access("var/aio/kumo.conf", R_OK) == 0)
			conf = "var/aio/kumo.conf";
	}
	if (conf && ini_parse(conf, on_ini, &cf) != 0) {
		fprintf(stderr, "kumo-status: cannot read %s\n", conf);
		return 2;
	}
	if (!swift_dir)
		swift_dir = cf.swift_dir[0] ? cf.swift_dir : "/etc/kumo";
	so.swift_dir = swift_dir;
	dp.prefix = cf.prefix;
	dp.suffix = cf.suffix[0] ? cf.suffix : "changeme";
	if (!dp.auth_url) {
		snprintf(auth_url, sizeof(auth_url), "http://%s:%d/auth/v1.0",
			 cf.proxy_ip, cf.proxy_port);
		dp.auth_url = auth_url;
	}
	for (t = 0; t < 3; t++) {
		snprintf(path, sizeof(path), "%s/%s.ring.gz", swift_dir,
			 names[t]);
		if (access(path, R_OK) == -1)
			continue;
		if (ring_load(path, &rings[t])) {
			fprintf(stderr, "kumo-status: cannot load %s\n", path);
			goto out;
		}
		loaded++;
	}
	if (!loaded) {
		fprintf(stderr, "kumo-status: no ring in %s (--swift-dir)\n",
			swift_dir);
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (populate) {
		if (disp_populate(rings[2], rings[1], &dp, &so,
				  &populated_account)) {
			rc = 1;
			goto out_curl;
		}
		dp.account = populated_account;
	}
	report = nodes_report(rings, &so, &down);
	if (!report) {
		fprintf(stderr, "kumo-status: out of memory\n");
		goto out_curl;
	}
	if (dispersion && rings[1]) {
		int clacking = 0;

		cdisp = disp_check(rings[1], &dp, &so, DISP_CONTAINERS,
				   &clacking);
		if (cdisp)
			json_object_set(report, "container_dispersion", cdisp);
		lacking += clacking;
	}
	if (dispersion && rings[2]) {
		int olacking = 0;

		disp = disp_check(rings[2], &dp, &so, DISP_OBJECTS, &olacking);
		if (disp)
			json_object_set(report, "dispersion", disp);
		lacking += olacking;
	}
	json_object_set_new(report, "swift_dir", json_string(swift_dir));
	json_object_set_new(report, "healthy", json_boolean(!down && !lacking));
	if (json) {
		json_dumpf(report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		printf("kumo cluster (rings in %s): %s\n", swift_dir,
		       !down && !lacking ? "healthy" : "NOT healthy");
		nodes_print(report, stdout);
		if (cdisp)
			disp_print(cdisp, stdout);
		if (disp)
			disp_print(disp, stdout);
	}
	rc = down || lacking ? 1 : 0;
out_curl:
	curl_global_cleanup();
out:
	json_decref(disp);
	json_decref(cdisp);
	json_decref(report);
	free(populated_account);
	for (t = 0; t < 3; t++)
		ring_put(rings[t]);
	return rc;
bad_usage:
	usage();
	return 2;
}
