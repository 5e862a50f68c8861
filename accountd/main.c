/*
 * accountd/main.c: startup of bin/kumo-accountd, the account server.
 * Everything else is in server.c (protocol) and broker.c (records and
 * container rows).
 *
 *   kumo-accountd CONF [--pidfile F] [--port N]
 *   kumo-accountd CONF --once replicate|reap|audit   one replication,
 *                                      reaper or auditor pass (run by the
 *                                      server when one is running)
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "accountd/internal.h"
#include "common/daemon.h"

#define K(sec, name, type, min, max, dflt, field, help)          \
	{                                                        \
		sec, name, type, min, max, dflt,                 \
			offsetof(struct acctd_conf, field), help \
	}

static const struct conf_key conf_table[] = {
	K("swift-hash", "swift_hash_path_prefix", CONF_STR, 0, 0, "",
	  hash_prefix, "prefix mixed into every path hash (as swift.conf)"),
	K("swift-hash", "swift_hash_path_suffix", CONF_STR, 0, 0, "changeme",
	  hash_suffix, "suffix mixed into every path hash (as swift.conf)"),
	K("account-server", "bind_ip", CONF_STR, 0, 0, "127.0.0.1", bind_ip,
	  "address to listen on"),
	K("account-server", "bind_port", CONF_INT, 0, 65535, "6202", bind_port,
	  "port to listen on"),
	K("account-server", "devices", CONF_STR, 0, 0, "/srv/node", devices,
	  "where the devices are; each holds <dev>/accounts.ldb"),
	K("account-server", "log_level", CONF_STR, 0, 0, "info", log_level,
	  "debug, info, warn or error"),
	/* auditor and recon (h6: auditor.c, common/dbaudit.c, recon.c) */
	K("account-server", "recon_cache_path", CONF_STR, 0, 0,
	  RECON_DEFAULT_CACHE, recon_cache_path,
	  "folder of the recon cache (account.recon), read by /recon"),
	K("account-server", "auditor_interval", CONF_INT, 1, 604800, "1800",
	  auditor_interval, "seconds between passes of the account auditor"),
	K("account-server", "accounts_per_second", CONF_DOUBLE, 0, 1e6, "200",
	  accounts_per_second,
	  "accounts the auditor checks per second at most (0: no limit)"),
	/* replicator and reaper (h7) */
	K("account-server", "swift_dir", CONF_STR, 0, 0, "/etc/swift",
	  swift_dir, "where the rings are (replicator and reaper)"),
	K("account-server", "replicator_interval", CONF_INT, 1, 86400, "30",
	  replicator_interval, "seconds between replication passes"),
	K("account-server", "replicator_concurrency", CONF_INT, 1, 64, "4",
	  replicator_concurrency, "accounts replicated at once"),
	K("account-server", "reclaim_age", CONF_INT, 0, 315360000, "604800",
	  reclaim_age,
	  "seconds after which deleted container rows and emptied deleted "
	  "accounts go"),
	K("account-server", "per_diff", CONF_INT, 1, 100000, "1000", per_diff,
	  "rows per replication request"),
	K("account-server", "conn_timeout", CONF_DOUBLE, 0.01, 60, "0.5",
	  conn_timeout, "seconds to connect to another server"),
	K("account-server", "node_timeout", CONF_DOUBLE, 0.01, 600, "10",
	  node_timeout, "seconds another server may take to answer"),
	K("account-server", "reaper_delay", CONF_INT, 0, 315360000, "0",
	  reaper_delay,
	  "seconds a deleted account keeps its data before the reaper"),
	K("account-server", "reaper_interval", CONF_INT, 1, 86400, "3600",
	  reaper_interval, "seconds between reaper passes"),
	{NULL},
};

static int start(void *cfg, void **app)
{
	struct acctd_conf *conf = cfg;
	struct acctd *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	a->cfg = conf;
	a->hash.prefix = conf->hash_prefix;
	a->hash.suffix = conf->hash_suffix;
	rc = dbstore_new(conf->devices, ACCTD_DB_NAME, &a->store);
	if (rc) {
		free(a);
		return rc;
	}
	/* auditor and recon (h6) */
	a->recon.server = "account";
	a->recon.devices = conf->devices;
	a->recon.cache_dir = conf->recon_cache_path;
	a->recon.swift_dir = conf->swift_dir; /* ringmd5 */
	rc = acctd_auditor_new(a);
	if (rc) {
		dbstore_free(a->store);
		free(a);
		return rc;
	}
	/* replicator and reaper (h7) */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&a->reap_lock, NULL);
	rc = acctd_repl_new(a);
	if (rc) {
		dbaudit_free(a->auditor);
		dbstore_free(a->store);
		free(a);
		return rc;
	}
	*app = a;
	return 0;
}

static void stop(void *app)
{
	struct acctd *a = app;

	if (!a)
		return;
	acctd_reaper_stop(a); /* replicator and reaper (h7) */
	dbrepl_free(a->repl);
	dbaudit_free(a->auditor); /* auditor (h6) */
	dbstore_free(a->store);
	pthread_mutex_destroy(&a->reap_lock);
	free(a);
	curl_global_cleanup();
}

/* auditor (h6) */
static int serving(void *app)
{
	struct acctd *a = app;

	int rc = dbaudit_start(a->auditor);

	if (!rc) /* replicator and reaper (h7) */
		rc = dbrepl_start(a->repl);
	if (!rc)
		rc = acctd_reaper_start(a);
	return rc;
}

static int once(void *app, const char *what)
{
	struct acctd *a = app;
	int rc;

	if (!strcmp(what, "replicate") || !strcmp(what, "reap") ||
	    !strcmp(what, "audit")) { /* h7; audit: h6 */
		/* a running server owns the databases: it runs the pass */
		rc = dbrepl_once_remote(a->cfg->bind_ip, (int)a->cfg->bind_port,
					what, 3600);
		if (rc == -ECONNREFUSED)
			rc = !strcmp(what, "reap") ? acctd_reap_pass(a)
			     : !strcmp(what, "audit")
				     ? dbaudit_pass(a->auditor, NULL)
				     : dbrepl_pass(a->repl, NULL);
		return rc ? 1 : 0;
	}
	fprintf(stderr,
		"kumo-accountd: unknown job '%s' (audit, replicate, reap)\n",
		what);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct daemon_desc desc = {
		.name = "account-server",
		.conf = conf_table,
		.conf_size = sizeof(struct acctd_conf),
		.ip_offset = offsetof(struct acctd_conf, bind_ip),
		.port_offset = offsetof(struct acctd_conf, bind_port),
		.log_level_offset = offsetof(struct acctd_conf, log_level),
		.start = start,
		.route = acctd_route,
		.stop = stop,
		.once = once,	    /* h6 */
		.serving = serving, /* h6 */
	};

	return daemon_main(&desc, argc, argv);
}
