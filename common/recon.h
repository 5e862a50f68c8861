/*
 * common/recon.h: what the storage servers tell about themselves, as
 * OpenStack Swift's recon middleware (swift/common/middleware/recon.py).
 *
 * Two halves:
 *   - the recon cache: each background worker (replicators, auditors,
 *     updaters, expirer) merges the figures of its last pass into
 *     <recon_cache_path>/<name>.recon ("object", "container", "account"),
 *     a one-line JSON object, with recon_update;
 *   - the /recon/<what>[/<type>] endpoints every storage server answers,
 *     with Swift's paths and JSON keys, so that swift-recon and
 *     bin/kumo-status read them: figures from the cache files, plus what
 *     is measured on the spot (disk usage, quarantined and async_pending
 *     counts, unmounted devices, time, version).
 *
 * Names and keys (those the workers write):
 *   object.recon     object_replication_last, object_replication_time,
 *                    replication_stats, object_auditor_stats_ALL,
 *                    object_updater_sweep, object_expiration_pass,
 *                    expired_last_pass, async_pending
 *   container.recon  replication_last, replication_time, replication_stats,
 *                    container_audits_passed, container_audits_failed,
 *                    container_audits_since,
 *                    container_auditor_pass_completed, container_updater_sweep
 *   account.recon    replication_last, replication_time, replication_stats,
 *                    account_audits_* (as containers)
 */
#ifndef KUMO_COMMON_RECON_H
#define KUMO_COMMON_RECON_H

#include <jansson.h>

#include "common/http.h"

/* Swift's default recon_cache_path. */
#define RECON_DEFAULT_CACHE "/var/cache/kumo"
/* The version /recon/version answers: the Swift release we follow. */
#define RECON_SWIFT_VERSION "2.30.0"

/*
 * Merge the members of the JSON object fields (borrowed) into
 * <cache_dir>/<name>.recon, as Swift's dump_recon_cache: a member whose
 * value is an object is merged one level down (an empty object removes
 * the key, a member of it that is an empty object removes that member);
 * other values replace. cache_dir is made when missing. The file is
 * replaced atomically and durably (fs_write_atomic) under an exclusive
 * flock on <cache_dir>/.<name>.recon.lock, so concurrent workers of one
 * or several processes never lose each other's keys. Any thread. 0 or
 * -errno (logged). name must be a plain file name (no '/').
 */
int recon_update(const char *cache_dir, const char *name, json_t *fields);

/*
 * The content of <cache_dir>/<name>.recon: a new reference the caller
 * owns, an empty object when the file is missing or unparsable, NULL
 * only on allocation failure.
 */
json_t *recon_load(const char *cache_dir, const char *name);

/* What a server's recon answers are made from (strings borrowed; they
 * must outlive the server). */
struct recon_conf {
	const char *server;    /* "object", "container" or "account" */
	const char *devices;   /* the server's devices folder */
	const char *cache_dir; /* its recon_cache_path */
	const char *swift_dir; /* its rings' folder, for ringmd5; may be NULL */
};

/* 1 when a request path is a recon one ("/recon/..."). */
int recon_is_path(const char *raw_path);

/*
 * The answer to GET /recon/<what>[/<type>]: a new JSON value (owned by
 * the caller) with *status 200, or NULL with *status 404 (unknown path)
 * or 500. Reads the devices and cache files; any thread.
 */
json_t *recon_answer(const struct recon_conf *rc, const char *what,
		     const char *type, int *status);

/*
 * Reply to a recon request (recon_is_path was true) from a handler's
 * on_headers: GET or HEAD, JSON body; 405 for other methods, 404 for an
 * unknown check. Blocks on disk reads; runs in the request's thread.
 */
void recon_serve(struct http_request *req, const struct recon_conf *rc);

/* Count the entries of <devices>/<dev>/quarantined/<kind> over every
 * device (kind "objects", "containers" or "accounts"). */
long long recon_quarantined(const char *devices, const char *kind);

#endif
