/*
 * volume/internal.h: private declarations of bin/kumo-volumed's service
 * layer: a subset of the OpenStack Block Storage (Cinder) v3 API over
 * HTTP, and the NBD export of attached volumes. Reading order: main.c
 * (config, startup), api.c (routes, replies, version documents), auth.c
 * (tokens checked by the proxy), records.c (records in the cluster, ids,
 * locks), quotas.c, volumes.c, snapshots.c, metadata.c, actions.c (the
 * attach state machine), exports.c (what the NBD server may open). The
 * volume core (volume.h, its private vcore.h) and the NBD server (nbd.h)
 * know nothing of these.
 */
#ifndef KUMO_VOLUME_INTERNAL_H
#define KUMO_VOLUME_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/cluster.h"
#include "common/config.h"
#include "common/http.h"
#include "volume/export.h"

#define GIB		(1024ULL * 1024 * 1024)
#define VD_MAX_BODY	(64 * 1024) /* largest request body accepted */
#define VD_MAX_PROJECT	256	    /* longest project (account) name */
#define VD_MAX_META_LEN 255	    /* Cinder's metadata key/value limit */
#define VD_MAX_SIZE_GB	(64 * 1024) /* largest volume, GiB */

struct volumed_conf {
	char bind_ip[CONF_STR_MAX];
	long long bind_port;
	char log_level[CONF_STR_MAX];
	char swift_dir[CONF_STR_MAX];
	double conn_timeout;
	double node_timeout;
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
	char proxy_url[CONF_STR_MAX];
	long long auth_cache_time;
	char data_account[CONF_STR_MAX];
	char records_account[CONF_STR_MAX];
	long long chunk_size;
	long long cache_mb;
	long long dirty_mb;
	char nbd_ip[CONF_STR_MAX];
	long long nbd_port;
	char nbd_host[CONF_STR_MAX];
	long long nbd_max_connections;
	char tls_cert[CONF_STR_MAX];
	char tls_key[CONF_STR_MAX];
	char tls_ca[CONF_STR_MAX];
	int tls_required;
	long long quota_volumes;
	long long quota_snapshots;
	long long quota_gigabytes;
	char availability_zone[CONF_STR_MAX];
};

struct import_job;
struct vd_auth;
struct vd_lockset;
struct vd_exports;

/* The daemon's shared state (one, built by main.c's start). */
struct volumed {
	const struct volumed_conf *conf;
	struct cluster *cluster;
	struct vol_store *store;
	struct nbd_server *nbd;
	struct vd_auth *auth;
	struct vd_lockset *locks;
	struct vd_exports *exports;
	/* background jobs (image imports), listed so that stop can wait for
	 * them and a "creating" volume without one is known orphaned */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_done;
	struct import_job *jobs;
};

struct vd_route;

/* One API request, from its headers to its reply (api.c). */
struct vd_req {
	struct volumed *vd;
	const struct vd_route *route;
	char project[VD_MAX_PROJECT + 1];
	char phash[33];	    /* names the project's records (records.c) */
	const char *arg[3]; /* the '*' segments of the route, decoded */
	char base_url[512]; /* http://host:port of this service */
	struct buf body;
	int too_big;
	char segbuf[4096];
};

typedef void (*vd_handler_fn)(struct http_request *req, struct vd_req *r,
			      json_t *body);

struct vd_route {
	const char *method;
	const char
		*shape; /* e.g. "volumes/<star>/action": a star = one segment */
	vd_handler_fn fn;
	int body; /* 1: a JSON body is required */
};

/* --- api.c --- */
const struct http_handler *vd_route(struct http_request *req);
/*
 * Reply with Cinder's error body {"<kind>": {"message": ..., "code": N}},
 * the kind named after the status (badRequest, itemNotFound, ...).
 */
void vd_reply_error(struct http_request *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reply with root as JSON (root is consumed; NULL: 500). */
void vd_reply_json(struct http_request *req, int status, json_t *root);
/* Map a -errno of the records or the core to a reply. */
void vd_reply_errno(struct http_request *req, int rc, const char *what);
/* The {"href", "rel"} links of /v3/<project>/<kind>/<id>. */
json_t *vd_links(const struct vd_req *r, const char *kind, const char *id);

/* --- auth.c --- */
int vd_auth_new(const struct volumed_conf *conf, struct vd_auth **out);
void vd_auth_free(struct vd_auth *a);
/*
 * Is token valid for project? Asks the proxy (HEAD /v1/<project>) unless
 * a positive answer for the pair is younger than auth_cache_time. Returns
 * 0 (allowed), 401 or 403 (the proxy's refusal), or 503 (proxy
 * unreachable). Thread-safe.
 */
int vd_auth_check(struct vd_auth *a, const char *project, const char *token);

/* --- records.c --- */
enum rec_kind { REC_VOLUME, REC_SNAPSHOT, REC_QUOTA, REC_NKINDS };

/* Create the record containers (startup). 0 or -errno. */
int rec_init(struct volumed *vd);
/* The 32-hex name of a project's records (md5 of its name). */
void rec_project_hash(const char *project, char out[33]);
/* A random (v4) UUID string. 0 or -EIO. */
int rec_new_id(char out[37]);
/* Is s shaped as our UUIDs are (36 chars of lowercase hex and dashes)? */
int rec_valid_id(const char *s);
/* Now as Cinder prints times: 2018-11-29T06:50:07.770785 */
void rec_now(char out[32]);
/* Read a record (id NULL: the project's own, e.g. its quota usage): 0
 * with *out (caller decrefs), -ENOENT, -EIO. */
int rec_get(struct volumed *vd, enum rec_kind k, const char *phash,
	    const char *id, json_t **out);
/* Write a record (durable on a quorum when 0). */
int rec_put(struct volumed *vd, enum rec_kind k, const char *phash,
	    const char *id, const json_t *rec);
/* Delete a record; 0 also when it was not there. */
int rec_delete(struct volumed *vd, enum rec_kind k, const char *phash,
	       const char *id);
/* Every record of the project, in a new array (caller decrefs). */
int rec_list(struct volumed *vd, enum rec_kind k, const char *phash,
	     json_t **out);
/*
 * Locks by name (a volume or snapshot id, or "q:<phash>" for a project's
 * quota usage), held by one thread at a time, not reentrant. Order, to
 * avoid deadlock: volume, then snapshot, then quota; never two of a kind
 * (a new volume's own id, which nobody else knows yet, excepted).
 */
int rec_locks_new(struct vd_lockset **out);
void rec_locks_free(struct vd_lockset *l);
void rec_lock(struct volumed *vd, const char *name);
void rec_unlock(struct volumed *vd, const char *name);

/* --- quotas.c --- */
/*
 * Change the project's usage by the deltas, refusing (-EDQUOT, with a
 * Cinder message in msg) a growth beyond its limits. Takes the project's
 * quota lock itself. 0, -EDQUOT, -EIO.
 */
int quota_change(struct vd_req *r, long long volumes, long long snapshots,
		 long long gigabytes, char *msg, size_t msglen);
void vd_get_limits(struct http_request *req, struct vd_req *r, json_t *body);
void vd_get_quota_set(struct http_request *req, struct vd_req *r, json_t *body);
void vd_get_quota_defaults(struct http_request *req, struct vd_req *r,
			   json_t *body);

/* --- volumes.c --- */
/* The client's view of a volume record (new reference). */
json_t *vd_render_volume(const struct vd_req *r, const json_t *rec);
void vd_create_volume(struct http_request *req, struct vd_req *r, json_t *body);
void vd_list_volumes(struct http_request *req, struct vd_req *r, json_t *body);
void vd_list_volumes_detail(struct http_request *req, struct vd_req *r,
			    json_t *body);
void vd_show_volume(struct http_request *req, struct vd_req *r, json_t *body);
void vd_update_volume(struct http_request *req, struct vd_req *r, json_t *body);
void vd_delete_volume(struct http_request *req, struct vd_req *r, json_t *body);
/* Read the volume r->arg[0]; on failure reply (404...) and return NULL. */
json_t *vd_get_volume(struct http_request *req, struct vd_req *r);
/*
 * The project's records of kind k as the client asked (?name=, ?status=,
 * ?marker=, ?limit=), newest first, each rendered by render(detail). On
 * error it replies and returns NULL.
 */
json_t *vd_list(struct http_request *req, struct vd_req *r, enum rec_kind k,
		json_t *(*render)(const struct vd_req *, const json_t *, int),
		int detail);
/* Cinder's older display_name and display_description, which clients
 * still send (openstack volume set), taken as name and description. */
void vd_display_aliases(json_t *v);
/* Wait for the running imports (at stop). */
void vd_jobs_wait(struct volumed *vd);
/* Record helpers shared by the handlers. */
const char *rec_str(const json_t *rec, const char *key);
long long rec_int(const json_t *rec, const char *key);
void rec_set_str(json_t *rec, const char *key, const char *v);
void rec_touch(json_t *rec); /* updated_at = now */

/* --- snapshots.c --- */
void vd_create_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body);
void vd_list_snapshots(struct http_request *req, struct vd_req *r,
		       json_t *body);
void vd_show_snapshot(struct http_request *req, struct vd_req *r, json_t *body);
void vd_update_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body);
void vd_delete_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body);

/* --- metadata.c --- */
/* Is v a Cinder metadata object (string keys 1..255, values <= 255)? The
 * problem is written into msg when not. 0 or -EINVAL. */
int meta_valid(const json_t *v, char *msg, size_t msglen);
void vd_meta_get(struct http_request *req, struct vd_req *r, json_t *body);
void vd_meta_merge(struct http_request *req, struct vd_req *r, json_t *body);
void vd_meta_replace(struct http_request *req, struct vd_req *r, json_t *body);
void vd_meta_get_key(struct http_request *req, struct vd_req *r, json_t *body);
void vd_meta_put_key(struct http_request *req, struct vd_req *r, json_t *body);
void vd_meta_delete_key(struct http_request *req, struct vd_req *r,
			json_t *body);

/* --- actions.c --- */
void vd_volume_action(struct http_request *req, struct vd_req *r, json_t *body);

/* --- exports.c --- */
int vd_exports_new(struct volumed *vd, struct vd_exports **out);
void vd_exports_free(struct vd_exports *x);
/* The struct vol_exports the NBD server is given (ctx = vd). */
void vd_exports_ops(struct volumed *vd, struct vol_exports *out);
/* A new export name for a volume of the project: unguessable. 0/-EIO. */
int vd_export_name(const char *phash, const char *vol_id, char *out,
		   size_t len);
/* Close every open NBD handle of the volume (flushing what they wrote);
 * their later requests fail with EIO. Call with the volume's lock held,
 * after the record no longer names the export. */
void vd_exports_revoke(struct volumed *vd, const char *vol_id);
/* The {"connection_info": ...} of an export (new reference). */
json_t *vd_connection_info(struct volumed *vd, const char *vol_id,
			   const char *attachment_id, const char *export);

#endif
