/*
 * objectd/main.c: startup of bin/kumo-objectd, Swift's object server.
 *
 * Startup only: the configuration table, building the shared state, and
 * handing over to daemon_main (common/daemon.c), which loads the config,
 * serves HTTP through objd_route (server.c) and stops on SIGTERM. The
 * updater, expirer, auditor, replicator and reconstructor threads
 * (updater.c, expirer.c, auditor.c, replicator.c, reconstructor.c) start
 * once serving has begun; `--once update|expire|audit|replicate|
 * reconstruct` runs one pass of one of them instead of serving.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/daemon.h"
#include "common/log.h"
#include "objectd/internal.h"

#define OFF(field) offsetof(struct objd_conf, field)

static const struct conf_key objd_conf_keys[] = {
	{"swift-hash", "swift_hash_path_prefix", CONF_STR, 0, 0, "",
	 OFF(hash_prefix), "secret prefix of every hashed path (swift.conf)"},
	{"swift-hash", "swift_hash_path_suffix", CONF_STR, 0, 0, "changeme",
	 OFF(hash_suffix), "secret suffix of every hashed path (swift.conf)"},
	{"object-server", "bind_ip", CONF_STR, 0, 0, "127.0.0.1", OFF(bind_ip),
	 "IPv4 address to listen on"},
	{"object-server", "bind_port", CONF_INT, 0, 65535, "6200",
	 OFF(bind_port), "TCP port to listen on"},
	{"object-server", "devices", CONF_STR, 0, 0, "/srv/node", OFF(devices),
	 "directory holding one directory per device"},
	{"object-server", "log_level", CONF_STR, 0, 0, "info", OFF(log_level),
	 "debug, info, warning or error"},
	{"object-server", "conn_timeout", CONF_DOUBLE, 0.01, 60, "0.5",
	 OFF(conn_timeout),
	 "seconds to connect to a container server for an update"},
	{"object-server", "node_timeout", CONF_DOUBLE, 0.01, 600, "3",
	 OFF(node_timeout),
	 "seconds a container update may take before it is saved for later"},
	{"object-server", "updater_interval", CONF_INT, 1, 86400, "30",
	 OFF(updater_interval),
	 "seconds between passes of the updater over async_pending"},
	{"object-server", "tmp_max_age", CONF_INT, 60, 604800, "86400",
	 OFF(tmp_max_age),
	 "seconds after which a leftover temp upload file is removed"},
	{"object-server", "expirer_interval", CONF_INT, 1, 86400, "300",
	 OFF(expirer_interval),
	 "seconds between passes of the expirer over the expiry index"},
	/* auditor and recon (auditor.c, common/recon.c) */
	{"object-server", "auditor_files_per_second", CONF_DOUBLE, 0, 1e6, "20",
	 OFF(auditor_files_per_second),
	 "object files the auditor reads per second at most (0: no limit)"},
	{"object-server", "auditor_bytes_per_second", CONF_DOUBLE, 0, 1e12,
	 "10000000", OFF(auditor_bytes_per_second),
	 "bytes the auditor reads per second at most (0: no limit)"},
	{"object-server", "auditor_interval", CONF_INT, 1, 604800, "1800",
	 OFF(auditor_interval), "seconds between passes of the auditor"},
	{"object-server", "recon_cache_path", CONF_STR, 0, 0,
	 RECON_DEFAULT_CACHE, OFF(recon_cache_path),
	 "folder of the recon cache (object.recon), read by /recon"},
	/* replicator (replicator.c, hashes.c) */
	{"object-server", "swift_dir", CONF_STR, 0, 0, "/etc/swift",
	 OFF(swift_dir),
	 "folder of object.ring.gz, reloaded by the replicator when it changes"},
	{"object-server", "reclaim_age", CONF_INT, 1, 315360000, "604800",
	 OFF(reclaim_age),
	 "seconds a tombstone is kept before replication reclaims it"},
	{"object-server", "replicator_interval", CONF_INT, 1, 86400, "30",
	 OFF(replicator_interval), "seconds between replicator passes"},
	{"object-server", "replicator_concurrency", CONF_INT, 1, 64, "2",
	 OFF(replicator_concurrency),
	 "partitions the replicator works on at once (threads)"},
	{"object-server", "replicator_node_timeout", CONF_DOUBLE, 0.1, 3600,
	 "60", OFF(replicator_node_timeout),
	 "seconds a peer may stay silent during a replication request"},
	/* reconstructor (reconstructor.c) */
	{"object-server", "reconstructor_interval", CONF_INT, 1, 86400, "30",
	 OFF(reconstructor_interval),
	 "seconds between passes of the erasure-coding reconstructor"},
	{"object-server", "reconstructor_concurrency", CONF_INT, 1, 64, "1",
	 OFF(reconstructor_concurrency),
	 "partitions the reconstructor works on at once (threads)"},
	{NULL},
};

static int objd_start(void *cfg, void **app)
{
	struct objd *od = calloc(1, sizeof(*od));
	const struct objd_conf *c = cfg;
	int i;

	if (!od)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_err("cannot initialise libcurl");
		free(od);
		return -1;
	}
	od->cfg = c;
	od->hash.prefix = c->hash_prefix;
	od->hash.suffix = c->hash_suffix;
	pthread_mutex_init(&od->lock, NULL);
	pthread_mutex_init(&od->pass_lock, NULL);
	pthread_cond_init(&od->wake, NULL);
	pthread_mutex_init(&od->exp_pass_lock, NULL);
	pthread_mutex_init(&od->aud_pass_lock, NULL);
	pthread_mutex_init(&od->rcon_pass_lock, NULL);
	od->recon.server = "object";
	od->recon.devices = c->devices;
	od->recon.cache_dir = c->recon_cache_path;
	od->recon.swift_dir = c->swift_dir;
	for (i = 0; i < EXP_LOCKS; i++)
		pthread_mutex_init(&od->hash_locks[i], NULL);
	log_info("object server on devices %s", c->devices);
	*app = od;
	return 0;
}

/* Serving has begun (not with --once): start the updater and expirer
 * threads. */
static int objd_serving(void *app)
{
	int rc = upd_start(app);

	if (!rc)
		rc = exp_start(app);
	if (!rc)
		rc = aud_start(app);
	if (!rc)
		rc = repl_start(app);	  /* replicator.c */
	return rc ? rc : rcon_start(app); /* reconstructor.c */
}

static void objd_stop(void *app)
{
	struct objd *od = app;
	int i;

	if (!od)
		return;
	rcon_stop(od); /* before repl_stop: it uses the replicator's rings */
	repl_stop(od); /* replicator.c */
	aud_stop(od);
	exp_stop(od);
	upd_stop(od);
	kc_drain();	 /* the container updates' connections */
	rcy_drain_all(); /* the files kept for reuse (recycle.c) */
	for (i = 0; i < EXP_LOCKS; i++)
		pthread_mutex_destroy(&od->hash_locks[i]);
	pthread_mutex_destroy(&od->exp_pass_lock);
	pthread_mutex_destroy(&od->aud_pass_lock);
	pthread_mutex_destroy(&od->rcon_pass_lock);
	pthread_cond_destroy(&od->wake);
	pthread_mutex_destroy(&od->pass_lock);
	pthread_mutex_destroy(&od->lock);
	free(od);
	curl_global_cleanup();
}

static int objd_once(void *app, const char *what)
{
	if (!strcmp(what, "update"))
		return upd_run_once(app) < 0 ? 1 : 0;
	if (!strcmp(what, "expire"))
		return exp_run_once(app, (int64_t)time(NULL)) < 0 ? 1 : 0;
	if (!strcmp(what, "audit"))
		return aud_run_once(app, NULL) < 0 ? 1 : 0;
	if (!strcmp(what, "replicate")) /* replicator.c */
		return repl_once(app) < 0 ? 1 : 0;
	if (!strcmp(what, "reconstruct")) /* reconstructor.c */
		return rcon_once(app) < 0 ? 1 : 0;
	fprintf(stderr,
		"kumo-objectd: unknown --once job '%s' (try update, expire, "
		"audit, replicate, reconstruct)\n",
		what);
	return 2;
}

static const struct daemon_desc objd_desc = {
	.name = "object-server",
	.conf = objd_conf_keys,
	.conf_size = sizeof(struct objd_conf),
	.ip_offset = OFF(bind_ip),
	.port_offset = OFF(bind_port),
	.log_level_offset = OFF(log_level),
	.start = objd_start,
	.route = objd_route,
	.stop = objd_stop,
	.once = objd_once,
	.serving = objd_serving,
	.drain_early = 1, /* objclient's in-memory bodies (oc_put) */
	/* a large body (a volume's 4 MiB chunk) in 128 KiB reads instead
	 * of 32 KiB: a quarter of the selects and recvs (34 000 of each
	 * per GiB received before; test 118). libmicrohttpd zeroes the
	 * 256 KiB at each request: not seen in the CPU of small PUTs */
	.conn_memory = 256 * 1024,
};

int main(int argc, char **argv)
{
	return daemon_main(&objd_desc, argc, argv);
}
