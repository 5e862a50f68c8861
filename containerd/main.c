/*
 * containerd/main.c: startup of bin/kumo-containerd, the container
 * server. Everything else is in server.c (protocol), broker.c (records
 * and rows) and updater.c (account updates).
 *
 *   kumo-containerd CONF [--pidfile F] [--port N]
 *   kumo-containerd CONF --once update   one pass of owed account updates
 *                                       (the server must be stopped: it
 *                                       owns its databases)
 *   kumo-containerd CONF --once replicate  one replication pass (run by
 *                                       the server when one is running)
 *   kumo-containerd CONF --once audit    one auditor pass (run by the
 *                                       server when one is running)
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/daemon.h"
#include "common/log.h"
#include "containerd/internal.h"

#define K(sec, name, type, min, max, dflt, field, help)          \
	{                                                        \
		sec, name, type, min, max, dflt,                 \
			offsetof(struct contd_conf, field), help \
	}

static const struct conf_key conf_table[] = {
	K("swift-hash", "swift_hash_path_prefix", CONF_STR, 0, 0, "",
	  hash_prefix, "prefix mixed into every path hash (as swift.conf)"),
	K("swift-hash", "swift_hash_path_suffix", CONF_STR, 0, 0, "changeme",
	  hash_suffix, "suffix mixed into every path hash (as swift.conf)"),
	K("container-server", "bind_ip", CONF_STR, 0, 0, "127.0.0.1", bind_ip,
	  "address to listen on"),
	K("container-server", "bind_port", CONF_INT, 0, 65535, "6201",
	  bind_port, "port to listen on"),
	K("container-server", "devices", CONF_STR, 0, 0, "/srv/node", devices,
	  "where the devices are; each holds <dev>/containers.ldb"),
	K("container-server", "log_level", CONF_STR, 0, 0, "info", log_level,
	  "debug, info, warn or error"),
	K("container-server", "conn_timeout", CONF_DOUBLE, 0.01, 60, "0.5",
	  conn_timeout, "seconds to connect to an account server"),
	K("container-server", "node_timeout", CONF_DOUBLE, 0.01, 600, "3",
	  node_timeout, "seconds for a whole account update"),
	K("container-server", "updater_interval", CONF_INT, 1, 86400, "5",
	  updater_interval, "seconds between retries of owed account updates"),
	/* auditor and recon (h6: auditor.c, common/dbaudit.c, recon.c) */
	K("container-server", "recon_cache_path", CONF_STR, 0, 0,
	  RECON_DEFAULT_CACHE, recon_cache_path,
	  "folder of the recon cache (container.recon), read by /recon"),
	K("container-server", "auditor_interval", CONF_INT, 1, 604800, "1800",
	  auditor_interval, "seconds between passes of the container auditor"),
	K("container-server", "containers_per_second", CONF_DOUBLE, 0, 1e6,
	  "200", containers_per_second,
	  "containers the auditor checks per second at most (0: no limit)"),
	/* replicator (h7) */
	K("container-server", "swift_dir", CONF_STR, 0, 0, "/etc/swift",
	  swift_dir, "where container.ring.gz is (for the replicator)"),
	K("container-server", "replicator_interval", CONF_INT, 1, 86400, "30",
	  replicator_interval, "seconds between replication passes"),
	K("container-server", "replicator_concurrency", CONF_INT, 1, 64, "4",
	  replicator_concurrency, "containers replicated at once"),
	K("container-server", "reclaim_age", CONF_INT, 0, 315360000, "604800",
	  reclaim_age,
	  "seconds after which tombstone rows and deleted containers go"),
	K("container-server", "per_diff", CONF_INT, 1, 100000, "1000", per_diff,
	  "rows per replication request"),
	{NULL},
};

static int start(void *cfg, void **app)
{
	struct contd_conf *conf = cfg;
	struct contd *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->cfg = conf;
	c->hash.prefix = conf->hash_prefix;
	c->hash.suffix = conf->hash_suffix;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = dbstore_new(conf->devices, CONTD_DB_NAME, &c->store);
	if (rc) {
		free(c);
		return rc;
	}
	rc = contd_repl_new(c); /* replicator (h7) */
	if (rc) {
		dbstore_free(c->store);
		free(c);
		return rc;
	}
	/* auditor and recon (h6) */
	c->recon.server = "container";
	c->recon.devices = conf->devices;
	c->recon.cache_dir = conf->recon_cache_path;
	c->recon.swift_dir = conf->swift_dir; /* ringmd5 */
	rc = contd_auditor_new(c);
	if (rc) {
		dbrepl_free(c->repl);
		dbstore_free(c->store);
		free(c);
		return rc;
	}
	*app = c;
	return 0;
}

static int serving(void *app)
{
	struct contd *c = app;
	int rc = contd_updater_start(c);

	if (!rc) /* replicator (h7) */
		rc = dbrepl_start(c->repl);
	if (!rc) /* auditor (h6) */
		rc = dbaudit_start(c->auditor);
	return rc;
}

static void stop(void *app)
{
	struct contd *c = app;

	if (!c)
		return;
	contd_updater_stop(c);
	dbaudit_free(c->auditor); /* auditor (h6) */
	dbrepl_free(c->repl);	  /* replicator (h7) */
	dbstore_free(c->store);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
	curl_global_cleanup();
}

static int once(void *app, const char *what)
{
	struct contd *c = app;
	int rc;

	if (!strcmp(what, "replicate")) { /* replicator (h7) */
		/* a running server owns the databases: it runs the pass */
		rc = dbrepl_once_remote(c->cfg->bind_ip, (int)c->cfg->bind_port,
					"replicate", 3600);
		if (rc == -ECONNREFUSED)
			rc = dbrepl_pass(c->repl, NULL);
		return rc ? 1 : 0;
	}
	if (!strcmp(what, "audit")) { /* auditor (h6) */
		/* a running server owns the databases: it runs the pass */
		rc = dbrepl_once_remote(c->cfg->bind_ip, (int)c->cfg->bind_port,
					"audit", 3600);
		if (rc == -ECONNREFUSED)
			rc = dbaudit_pass(c->auditor, NULL);
		return rc ? 1 : 0;
	}
	if (strcmp(what, "update")) {
		fprintf(stderr,
			"kumo-containerd: unknown job '%s' (update, "
			"replicate, audit)\n",
			what);
		return 2;
	}
	rc = contd_updater_pass(app);
	if (rc == -EBUSY)
		fprintf(stderr,
			"kumo-containerd: a database is held by a running "
			"container server (its own updater retries)\n");
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct daemon_desc desc = {
		.name = "container-server",
		.conf = conf_table,
		.conf_size = sizeof(struct contd_conf),
		.ip_offset = offsetof(struct contd_conf, bind_ip),
		.port_offset = offsetof(struct contd_conf, bind_port),
		.log_level_offset = offsetof(struct contd_conf, log_level),
		.start = start,
		.route = contd_route,
		.stop = stop,
		.once = once,
		.serving = serving,
	};

	return daemon_main(&desc, argc, argv);
}
