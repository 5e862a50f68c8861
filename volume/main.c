/*
 * volume/main.c: startup of bin/kumo-volumed, the block volume service.
 *
 * Startup only: the configuration table, building the shared state (the
 * cluster client, the volume store, the record containers, the token
 * checker) and handing over to daemon_main (common/daemon.c), which serves
 * the Cinder-style API through vd_route (api.c) and stops on SIGTERM. The
 * NBD server starts once serving has begun (its threads then inherit the
 * blocked signals) and stops first.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/daemon.h"
#include "common/log.h"
#include "volume/internal.h"
#include "volume/nbd.h"
#include "volume/volume.h"

#define OFF(field) offsetof(struct volumed_conf, field)
#define SEC	   "volume-server"

static const struct conf_key vd_conf_keys[] = {
	{"swift-hash", "swift_hash_path_prefix", CONF_STR, 0, 0, "",
	 OFF(hash_prefix), "secret prefix of every hashed path (swift.conf)"},
	{"swift-hash", "swift_hash_path_suffix", CONF_STR, 0, 0, "changeme",
	 OFF(hash_suffix), "secret suffix of every hashed path (swift.conf)"},
	{SEC, "bind_ip", CONF_STR, 0, 0, "127.0.0.1", OFF(bind_ip),
	 "address the API listens on"},
	{SEC, "bind_port", CONF_INT, 0, 65535, "8776", OFF(bind_port),
	 "port of the API (Cinder's)"},
	{SEC, "log_level", CONF_STR, 0, 0, "info", OFF(log_level),
	 "error, warn, info or debug"},
	{SEC, "swift_dir", CONF_STR, 0, 0, "/etc/swift", OFF(swift_dir),
	 "where account.ring.gz, container.ring.gz and object.ring.gz live"},
	{SEC, "conn_timeout", CONF_DOUBLE, 0.01, 60, "0.5", OFF(conn_timeout),
	 "seconds to connect to a storage server"},
	{SEC, "node_timeout", CONF_DOUBLE, 0.1, 3600, "10", OFF(node_timeout),
	 "seconds a storage server may stay silent"},
	{SEC, "proxy_url", CONF_STR, 0, 0, "http://127.0.0.1:8080",
	 OFF(proxy_url),
	 "the proxy that checks tokens (HEAD /v1/<project> with the token)"},
	{SEC, "auth_cache_time", CONF_INT, 0, 3600, "5", OFF(auth_cache_time),
	 "seconds a token the proxy accepted is trusted without asking again"},
	{SEC, "data_account", CONF_STR, 0, 0, ".kumo_volumes",
	 OFF(data_account), "internal account holding the volumes' chunks"},
	{SEC, "records_account", CONF_STR, 0, 0, ".kumo_volumed",
	 OFF(records_account),
	 "internal account holding volume, snapshot and quota records"},
	{SEC, "chunk_size", CONF_INT, 65536, 67108864, "4194304",
	 OFF(chunk_size), "bytes per chunk object (a power of two)"},
	{SEC, "cache_mb", CONF_INT, 1, 1048576, "1024", OFF(cache_mb),
	 "MiB of clean chunks kept in memory (with freed chunk buffers kept "
	 "for reuse)"},
	{SEC, "dirty_mb", CONF_INT, 1, 1048576, "256", OFF(dirty_mb),
	 "MiB of written data held before it is forced to the cluster"},
	{SEC, "nbd_ip", CONF_STR, 0, 0, "127.0.0.1", OFF(nbd_ip),
	 "address the NBD server listens on"},
	{SEC, "nbd_port", CONF_INT, 0, 65535, "10809", OFF(nbd_port),
	 "port of the NBD server"},
	{SEC, "nbd_host", CONF_STR, 0, 0, "", OFF(nbd_host),
	 "host named in connection_info (empty: nbd_ip)"},
	{SEC, "nbd_max_connections", CONF_INT, 1, 100000, "256",
	 OFF(nbd_max_connections), "NBD connections served at once"},
	{SEC, "tls_cert", CONF_STR, 0, 0, "", OFF(tls_cert),
	 "PEM certificate for NBD over TLS (empty: no TLS)"},
	{SEC, "tls_key", CONF_STR, 0, 0, "", OFF(tls_key),
	 "PEM private key of tls_cert"},
	{SEC, "tls_ca", CONF_STR, 0, 0, "", OFF(tls_ca),
	 "PEM CA that client certificates must chain to (empty: none asked)"},
	{SEC, "tls_required", CONF_BOOL, 0, 0, "false", OFF(tls_required),
	 "refuse NBD clients that do not start TLS (needs tls_cert)"},
	{SEC, "quota_volumes", CONF_INT, -1, 1e9, "10", OFF(quota_volumes),
	 "volumes per project (-1: unlimited)"},
	{SEC, "quota_snapshots", CONF_INT, -1, 1e9, "10", OFF(quota_snapshots),
	 "snapshots per project (-1: unlimited)"},
	{SEC, "quota_gigabytes", CONF_INT, -1, 1e12, "1000",
	 OFF(quota_gigabytes),
	 "GiB of volumes and snapshots per project (-1: unlimited)"},
	{SEC, "availability_zone", CONF_STR, 0, 0, "nova",
	 OFF(availability_zone), "the availability zone volumes are shown in"},
	{NULL},
};

static void vd_stop(void *app);

static int vd_start(void *cfg, void **out)
{
	const struct volumed_conf *c = cfg;
	struct volumed *vd = calloc(1, sizeof(*vd));
	struct cluster_conf cc = {
		.swift_dir = c->swift_dir,
		.hash_prefix = c->hash_prefix,
		.hash_suffix = c->hash_suffix,
		.conn_timeout = c->conn_timeout,
		.node_timeout = c->node_timeout,
		.error_suppression_limit = 10,
		.error_suppression_interval = 60,
	};
	struct vol_store_conf sc = {
		.account = c->data_account,
		.chunk_size = (uint32_t)c->chunk_size,
		.cache_bytes = (uint64_t)c->cache_mb << 20,
		.dirty_bytes = (uint64_t)c->dirty_mb << 20,
	};
	int rc = -ENOMEM;

	if (!vd)
		return -ENOMEM;
	vd->conf = c;
	pthread_mutex_init(&vd->jobs_lock, NULL);
	pthread_cond_init(&vd->jobs_done, NULL);
	if (c->chunk_size & (c->chunk_size - 1)) {
		log_err("chunk_size %lld is not a power of two", c->chunk_size);
		rc = -EINVAL;
		goto fail;
	}
	if (c->tls_required && !*c->tls_cert) {
		log_err("tls_required needs tls_cert and tls_key");
		rc = -EINVAL;
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_err("cannot initialise libcurl");
		goto fail;
	}
	rc = cluster_open(&cc, &vd->cluster);
	if (!rc) {
		sc.cluster = vd->cluster;
		rc = vol_store_open(&sc, &vd->store);
	}
	if (!rc)
		rc = vd_auth_new(c, &vd->auth);
	if (!rc)
		rc = rec_locks_new(&vd->locks);
	if (!rc)
		rc = vd_exports_new(vd, &vd->exports);
	if (!rc)
		rc = rec_init(vd);
	if (rc)
		goto fail;
	log_info("volume service: records in %s, chunks in %s, proxy %s",
		 c->records_account, c->data_account, c->proxy_url);
	*out = vd;
	return 0;
fail:
	vd_stop(vd);
	return rc;
}

/* Serving has begun: start the NBD server (its threads inherit the
 * blocked signals from here). */
static int vd_serving(void *app)
{
	struct volumed *vd = app;
	const struct volumed_conf *c = vd->conf;
	struct nbd_server_conf nc = {
		.ip = c->nbd_ip,
		.port = (int)c->nbd_port,
		.tls_cert = *c->tls_cert ? c->tls_cert : NULL,
		.tls_key = *c->tls_key ? c->tls_key : NULL,
		.tls_ca = *c->tls_ca ? c->tls_ca : NULL,
		.tls_required = c->tls_required,
		.max_connections = (int)c->nbd_max_connections,
	};
	struct vol_exports ex;
	int rc;

	vd_exports_ops(vd, &ex);
	rc = nbd_server_start(&nc, &ex, &vd->nbd);
	if (!rc)
		log_info("NBD exports on %s:%d%s", c->nbd_ip,
			 nbd_server_port(vd->nbd), nc.tls_cert ? " (TLS)" : "");
	return rc;
}

static void vd_stop(void *app)
{
	struct volumed *vd = app;

	if (!vd)
		return;
	nbd_server_stop(vd->nbd);
	vd_jobs_wait(vd);
	vd_exports_free(vd->exports);
	if (vd->store)
		vol_store_close(vd->store);
	rec_locks_free(vd->locks);
	vd_auth_free(vd->auth);
	cluster_close(vd->cluster);
	pthread_cond_destroy(&vd->jobs_done);
	pthread_mutex_destroy(&vd->jobs_lock);
	free(vd);
	curl_global_cleanup();
}

static const struct daemon_desc vd_desc = {
	.name = "volume-server",
	.conf = vd_conf_keys,
	.conf_size = sizeof(struct volumed_conf),
	.ip_offset = OFF(bind_ip),
	.port_offset = OFF(bind_port),
	.log_level_offset = OFF(log_level),
	.start = vd_start,
	.route = vd_route,
	.stop = vd_stop,
	.serving = vd_serving,
};

int main(int argc, char **argv)
{
	return daemon_main(&vd_desc, argc, argv);
}
