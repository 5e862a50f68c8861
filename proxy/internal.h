/*
 * proxy/internal.h: private declarations of the proxy (bin/kumo-proxy), the
 * public Swift v1 API in front of the account, container and object
 * servers. Reading order: server.c (config, routing, shared helpers),
 * tempauth.c, acl.c, constraints.c, account.c, container.c, object.c,
 * copy.c, info.c.
 */
#ifndef KUMO_PROXY_INTERNAL_H
#define KUMO_PROXY_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cluster.h"
#include "common/config.h"
#include "common/http.h"

/* Swift's constraints (swift/common/constraints.py defaults). */
#define MAX_FILE_SIZE		  5368709122LL
#define MAX_META_NAME_LENGTH	  128
#define MAX_META_VALUE_LENGTH	  256
#define MAX_META_COUNT		  90
#define MAX_META_OVERALL_SIZE	  4096
#define MAX_HEADER_SIZE		  8192
#define MAX_OBJECT_NAME_LENGTH	  1024
#define CONTAINER_LISTING_LIMIT	  10000
#define ACCOUNT_LISTING_LIMIT	  10000
#define MAX_ACCOUNT_NAME_LENGTH	  256
#define MAX_CONTAINER_NAME_LENGTH 256

struct proxy_conf {
	char bind_ip[CONF_STR_MAX];
	long long bind_port;
	char log_level[CONF_STR_MAX];
	char swift_dir[CONF_STR_MAX];
	double conn_timeout;
	double node_timeout;
	long long error_suppression_limit;
	double error_suppression_interval;
	double ring_check_interval;
	int account_autocreate;
	long long token_life;
	char reseller_prefix[CONF_STR_MAX];
	char require_group[CONF_STR_MAX];
	char auth_require_group[CONF_STR_MAX];
	char service_require_group[CONF_STR_MAX];
	struct conf_list users;
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
	char s3_storage_domain[CONF_STR_MAX]; /* virtual-host buckets */
	char s3_location[CONF_STR_MAX];	      /* the one region */
	long long s3_min_segment_size;	      /* multipart parts */
};

struct tempauth;

struct proxy_app {
	const struct proxy_conf *conf;
	struct cluster *cluster;
	struct tempauth *auth;
};

struct tempauth_user;

/*
 * A parsed /v1/<account>[/<container>[/<object>]] path, and who asks for
 * it (set by tempauth_request).
 */
struct proxy_path {
	char *account;			     /* never NULL for an API request */
	char *container;		     /* NULL when absent */
	char *object;			     /* NULL when absent */
	const struct tempauth_user *user;    /* NULL: anonymous */
	const struct tempauth_user *service; /* from X-Service-Token */
	int owner;   /* Swift's swift_owner: may see and set ACLs */
	int tempurl; /* TEMPURL_SCOPE_*: let in by a temp URL (tempurl.c) */
	char buf[8192 + 16];
};

/* --- server.c --- */
extern const struct conf_key proxy_conf_table[];
/* A path for on_headers (uninitialised: proxy_parse_path fills it), the
 * thread's spare when it has one; NULL when out of memory. The caller
 * owns it and gives it back with proxy_path_free (free() is also right). */
struct proxy_path *proxy_path_new(void);
/* Free p, or keep it as the calling thread's spare. NULL is a no-op. */
void proxy_path_free(struct proxy_path *p);
int proxy_start(void *cfg, void **app);
void proxy_stop(void *app);
const struct http_handler *proxy_route(struct http_request *req);
/* http_reply_stream's read and done for a struct cluster_get body: read
 * passes cluster_get_read on (-1 on error), done closes the GET. */
ssize_t proxy_get_read(void *get, uint64_t pos, char *buf, size_t max);
void proxy_get_done(void *get);

/* Copy the client's headers that a backend should see into h. 0/-ENOMEM */
int proxy_client_headers(struct http_request *req, struct cluster_hdrs *h);
/*
 * Give the client a backend's headers (hop-by-hop, X-Backend-* and
 * sysmeta left out; Swift's owner headers, the ACLs, only when p->owner,
 * the account ACL then shown as X-Account-Access-Control). p may be NULL
 * (no owner).
 */
/* Is name one of Swift's swift_owner_headers (the ACLs, sync keys...)? */
int proxy_owner_header(const char *name);
void proxy_relay_headers(struct http_request *req, const struct cluster_resp *r,
			 const struct proxy_path *p);
/* cluster_hdrs_add, but an empty value is sent empty (libcurl would drop
 * the header; cluster_hdrs_get does not see such a line). 0/-ENOMEM. */
int proxy_hdrs_add(struct cluster_hdrs *h, const char *name, const char *value);
/* Remove every name header of h. */
void proxy_hdrs_del(struct cluster_hdrs *h, const char *name);
/*
 * Swift's rule for the owner headers of a write (ACLs, sync and temp URL
 * keys) in backend headers h: a non-owner's are dropped; an owner's
 * X-Account-Access-Control becomes the sysmeta
 * X-Account-Sysmeta-Core-Access-Control (checked by tempauth_request).
 * 0 or -ENOMEM.
 */
int proxy_owner_headers(struct cluster_hdrs *h, const struct proxy_path *p);
/* A fresh X-Timestamp in normal form. */
void proxy_timestamp(char out[32]);
/* Reply with status and a short body naming it (Swift's texts). */
void proxy_reply_status(struct http_request *req, int status);
/*
 * Send method to every primary of kind's nodes with base headers (plus
 * per-slot extras built by the caller in hdrs[]), and reply with the
 * quorum answer (503 without one). 404s count as override404 when no
 * quorum forms (0: no override). Returns the status replied.
 */
int proxy_quorum_request(struct http_request *req, struct proxy_app *app,
			 const struct cluster_nodes *nodes, const char *method,
			 const struct proxy_path *p, struct cluster_hdrs *hdrs,
			 int nslots, int override404, int reply);
/* proxy_quorum_request with a quorum of its own (<= 0: the majority). */
int proxy_quorum_request_n(struct http_request *req, struct proxy_app *app,
			   const struct cluster_nodes *nodes,
			   const char *method, const struct proxy_path *p,
			   struct cluster_hdrs *hdrs, int nslots, int quorum,
			   int override404, int reply);
/*
 * Reply with an opened GET/HEAD (cluster_get_open's *r and g; g is taken,
 * r stays the caller's): the headers relayed, the body streamed.
 */
void proxy_get_reply(struct http_request *req, const struct proxy_path *p,
		     const struct cluster_resp *r, struct cluster_get *g);
/* Stream a GET/HEAD from the first good node to the client; when no node
 * has it (404) and on404 is not NULL, on404 replies instead. */
void proxy_get_stream(struct http_request *req, struct proxy_app *app,
		      const struct cluster_nodes *nodes,
		      const struct proxy_path *p, const char *query,
		      void (*on404)(struct http_request *req,
				    const struct proxy_path *p));
/*
 * Start nslots header lists (zeroed by the caller) from the client's
 * headers plus X-Timestamp ts, and spread the primaries of upd (the
 * account nodes for a container request, the container nodes for an
 * object request) over them as X-<what>-Host/-Device/-Partition, as
 * Swift's _backend_requests; with at least `needed` updates in all
 * (cycling over upd). 0 or -ENOMEM.
 */
int proxy_backend_headers(struct http_request *req, struct cluster_hdrs *hdrs,
			  int nslots, const char *ts,
			  const struct cluster_nodes *upd, const char *what,
			  int needed);
/*
 * HEAD the account or container of p (X-Newest off) into *r (status and
 * headers; the caller frees it). Returns the status: 2xx, 404, 503...
 */
int proxy_head_info(struct http_request *req, struct proxy_app *app,
		    enum cluster_kind kind, const struct proxy_path *p,
		    struct cluster_resp *r);
/* The status of the account or container (HEAD, X-Newest off): 2xx, 404,
 * or 503. */
int proxy_head_status(struct http_request *req, struct proxy_app *app,
		      enum cluster_kind kind, const struct proxy_path *p);
/* Create the account on its servers (account_autocreate). 0/-EIO. */
/* The storage policy index of a container HEAD's answer r
 * (X-Backend-Storage-Policy-Index), 0 when r is no success or names no
 * policy (Swift's container_info default). */
int proxy_container_policy(const struct cluster_resp *r);
/*
 * Does p's container exist, and with which storage policy (*policy, 0 when
 * it does not)? A HEAD as proxy_head_info, whose success is remembered for
 * a few seconds (Swift's container info cache; see server.c). Returns the
 * status: 2xx, 404, 503...
 */
int proxy_container_exists(struct http_request *req, struct proxy_app *app,
			   const struct proxy_path *p, int *policy);
/* Forget every remembered container (one was or may be changed). */
void proxy_container_cache_clear(void);
/*
 * The nodes of an object in the object ring of its container's storage
 * policy into *out (see cluster_lookup_policy: every request to them
 * carries that policy's index). With one policy no container is asked;
 * else the container is asked first (proxy_container_exists: its policy,
 * 0 when it is missing).
 * 0 or -errno (the caller answers 503).
 */
int proxy_object_lookup(struct http_request *req, struct proxy_app *app,
			const char *account, const char *container,
			const char *object, struct cluster_nodes *out);
int proxy_autocreate_account(struct http_request *req, struct proxy_app *app,
			     const char *account);
/* Listing query parameters re-encoded for a backend; "" when none. */
int proxy_listing_query(struct http_request *req, char *out, size_t len);

/* --- tempauth.c --- */
struct tempauth_user {
	char *account; /* "test" */
	char *user;    /* "tester" */
	char *key;
	char **groups; /* ".admin", ".reseller_admin", others */
	int ngroups;
	char *url; /* explicit storage URL, or NULL */
};

/*
 * Parse the users (user_<account>_<user> = key [groups] [url]) into *out,
 * with the reseller prefixes reseller_prefix ("AUTH", or Swift's list
 * "AUTH, SERVICE"; a trailing '_' is optional). 0, or -EINVAL with a
 * message in err naming the line.
 */
int tempauth_new(const struct conf_list *users, const char *reseller_prefix,
		 long long token_life, struct tempauth **out, char *err,
		 size_t errlen);
void tempauth_free(struct tempauth *ta);
const struct tempauth_user *
tempauth_find(const struct tempauth *ta, const char *account, const char *user);
/* A token for u (an unexpired one is reused). 0 or -ENOMEM. *expires_in
 * gets the seconds left. */
int tempauth_issue(struct tempauth *ta, const struct tempauth_user *u,
		   char token[64], long long *expires_in);
/* The user a token stands for, or NULL when unknown or expired. */
const struct tempauth_user *tempauth_check_token(struct tempauth *ta,
						 const char *token);
/*
 * Swift's <prefix>_require_group: a group the requester (the user or its
 * service token) must be in to own accounts of prefix (without '_'; NULL:
 * every prefix). 0, -ENOENT (no such prefix), -ENOMEM.
 */
int tempauth_set_require_group(struct tempauth *ta, const char *prefix,
			       const char *group);
/*
 * Is the request of u (plus service, the user of X-Service-Token, or
 * NULL) an owner's request (Swift's swift_owner) for method on account
 * [/container]: a reseller admin, or the account's admin with the
 * prefix's required group? 0 when it is; else 403.
 */
int tempauth_owner(const struct tempauth *ta, const struct tempauth_user *u,
		   const struct tempauth_user *service, const char *method,
		   const char *account, const char *container);
/* tempauth_owner without a service token. */
int tempauth_authorize(const struct tempauth *ta, const struct tempauth_user *u,
		       const char *method, const char *account,
		       const char *container);
/* The first reseller prefix, without '_' ("AUTH"). */
const char *tempauth_prefix(const struct tempauth *ta);
/*
 * Swift's groups of u (and of service after them): "<account>",
 * "<account>:<user>", its config groups, and for .admin users the account
 * ids under every prefix. Up to max strings into out, each of size
 * TEMPAUTH_GROUP_MAX. Returns the count.
 */
#define TEMPAUTH_GROUP_MAX 300
int tempauth_groups(const struct tempauth *ta, const struct tempauth_user *u,
		    const struct tempauth_user *service,
		    char (*out)[TEMPAUTH_GROUP_MAX], int max);
/* Handle GET /auth/... (replies). */
void tempauth_handle_get_token(struct http_request *req, struct proxy_app *app);
/*
 * Authenticate an API request (X-Auth-Token, X-Service-Token; none:
 * anonymous) into p->user/p->service, check X-Account-Access-Control
 * when sent, and authorize the request's method on p (COPY as a GET of
 * its source) with tempauth_check. 0 when allowed; else replies (400,
 * 401, 403) and returns the status.
 */
int tempauth_request(struct http_request *req, struct proxy_app *app,
		     struct proxy_path *p);
/*
 * Swift's tempauth authorize of method on p for p->user/p->service:
 * owners (p->owner set), then the container's ACL (read for GET/HEAD,
 * write else; HEADed from the container servers) for container reads and
 * object requests, then the account's ACLs. 0 when allowed; else replies
 * 401 (anonymous) or 403 and returns it.
 */
int tempauth_check(struct http_request *req, struct proxy_app *app,
		   const char *method, struct proxy_path *p);
/* tempauth_check that never replies: 0, 401 or 403 (p->owner set). */
int tempauth_allowed(struct http_request *req, struct proxy_app *app,
		     const char *method, struct proxy_path *p);

/* --- acl.c --- */
/*
 * Swift's clean_acl for header name (X-Container-Read/-Write): value
 * normalized into out. 0, or -EINVAL with Swift's message in msg.
 */
int acl_clean(const char *name, const char *value, char *out, size_t outlen,
	      char *msg, size_t msglen);
/*
 * Does the container ACL acl let a request in: a Referer allowed by its
 * .r: rules (for an object, or a listing with .rlistings), or one of the
 * requester's groups named? 1 or 0.
 */
int acl_allows(const char *acl, const char *referer, int is_object,
	       const char *const *groups, int ngroups);
/* Check an X-Account-Access-Control value as tempauth: 0, or -EINVAL with
 * Swift's reason in msg. */
int acl_account_validate(const char *value, char *msg, size_t msglen);
enum acl_level { ACL_NONE, ACL_READ_ONLY, ACL_READ_WRITE, ACL_ADMIN };
/* The highest account ACL level that groups have in the stored JSON. */
enum acl_level acl_account_level(const char *stored, const char *const *groups,
				 int ngroups);
/* The stored account ACL as Swift shows it (sorted, compact JSON), or
 * NULL when empty or invalid; the caller frees it. */
char *acl_account_format(const char *stored);

/* --- constraints.c --- */
/* 1 when s (len bytes) is valid UTF-8 without NUL, as Swift's check_utf8 */
int valid_utf8(const char *s, size_t len);
/*
 * Split and check an API path. 0 with *p filled; else the status to
 * answer (400, 404, 412) with msg set to its body text.
 */
int proxy_parse_path(const char *raw, struct proxy_path *p, const char **msg);
/* Swift's check_metadata for target "object", "container", "account":
 * 0, or 400 with msg (in buf of buflen) set. */
int check_metadata(struct http_request *req, const char *target, char *msg,
		   size_t msglen);
/* The Content-Type for an object name from its extension. */
const char *guess_content_type(const char *name);

/* --- account.c --- */
void proxy_account(struct http_request *req, struct proxy_app *app,
		   struct proxy_path *p);

/* --- container.c --- */
void proxy_container(struct http_request *req, struct proxy_app *app,
		     struct proxy_path *p);

/* --- object.c --- */
void proxy_object(struct http_request *req, struct proxy_app *app,
		  struct proxy_path *p);
void proxy_object_body(struct http_request *req, const char *data, size_t len);
void proxy_object_end(struct http_request *req);
void proxy_object_close(struct http_request *req, int completed);

struct obj_put;
/*
 * Check and open an object PUT of p (the caller's p stays the caller's)
 * of length bytes (-1: chunked) whose backend headers are the client's
 * plus, when src is not NULL, the metadata of the copy source src (under
 * the client's; only its sysmeta with fresh). Replies and returns NULL
 * when refused; else the open upload.
 */
struct obj_put *
proxy_object_put_open(struct http_request *req, struct proxy_app *app,
		      const struct proxy_path *p, int64_t length,
		      const struct cluster_resp *src, int fresh);
/* proxy_object_put_open without a source, with the headers of set put
 * over every backend's (slo.c: the manifest's ETag, sysmeta...). */
struct obj_put *proxy_object_put_open_set(struct http_request *req,
					  struct proxy_app *app,
					  const struct proxy_path *p,
					  int64_t length,
					  const struct cluster_hdrs *set);
/* Hand len bytes to the backends: 0, or -EIO (too few left). */
int proxy_object_put_write(struct obj_put *o, const void *data, size_t len);
/* End the upload and reply (extra headers added on success). */
void proxy_object_put_end(struct http_request *req, struct obj_put *o,
			  const struct cluster_hdrs *extra);
void proxy_object_put_free(struct obj_put *o);
/*
 * For another API over this upload (S3): proxy_object_put_open with set
 * put over every backend's headers (NULL: none), and the client's
 * headers that drop names left out (NULL-terminated; a name ending in
 * '*' is a prefix), that never replies: NULL with *status the HTTP status
 * it refused with (400, 404 no container, 412 or 202 from a backend, 413,
 * 503...).
 */
struct obj_put *
proxy_object_put_open_quiet(struct http_request *req, struct proxy_app *app,
			    const struct proxy_path *p, int64_t length,
			    const struct cluster_resp *src, int fresh,
			    const struct cluster_hdrs *set,
			    const char *const *drop, int *status);
/* End the upload without replying: the quorum status (201; 422 when the
 * body differs from the Etag sent; 503...), etag the backends' (hex, ""
 * when none). */
int proxy_object_put_finish(struct obj_put *o, char etag[33]);
/* The upload's X-Timestamp (normal form). */
const char *proxy_object_put_ts(const struct obj_put *o);
/* DELETE p on every object primary without replying: the quorum status
 * (204, 404, 503...). */
int proxy_object_delete_quiet(struct http_request *req, struct proxy_app *app,
			      const struct proxy_path *p);

/* --- ec_put.c --- */
struct ec_put;
/*
 * Open the upload of p (length bytes, -1: chunked) into an erasure-coded
 * policy on nodes (its k + m primaries and handoffs) with the backend
 * headers hdrs[0 .. k+m) object.c made (the EC sysmeta of each slot is
 * added, the client's Etag taken out: checked here at the end). 0 with
 * *out set; -EIO (fewer than k + 1 slots ready: 503), -EEXIST (a backend
 * refused at once: *early says with what), -ENOMEM, -EINVAL.
 */
int ec_put_open(struct proxy_app *app, const struct cluster_nodes *nodes,
		const struct proxy_path *p, struct cluster_hdrs *hdrs,
		int64_t length, const char *txn, int *early,
		struct ec_put **out);
/* The next len bytes of the object. 0, or -EIO (too few slots left). */
int ec_put_write(struct ec_put *e, const void *data, size_t len);
/* End the body, COMMIT where it was stored: 201 (etag: the body's MD5
 * hex), 422 (the client's ETag differs), 503 (fewer than k + 1 stored or
 * made durable), or a quorum's 4xx. The upload is over either way. */
int ec_put_finish(struct ec_put *e, char etag[33]);
/* Abort (when not finished) and free; NULL is fine. */
void ec_put_free(struct ec_put *e);

/* --- copy.c --- */
/* COPY (p: the source), or PUT with X-Copy-From (p: the destination).
 * Replies; p stays the caller's. */
void proxy_copy(struct http_request *req, struct proxy_app *app,
		struct proxy_path *p);

/* --- large objects and temp URLs (segment.c, slo.c, dlo.c, tempurl.c) --- */
#include "common/range.h"

/* One byte window [first, last] of a segment object, or of inline data. */
struct lo_piece {
	char *container, *object; /* the segment (NULL for data) */
	char etag[33];		  /* "" : not checked (DLO) */
	int64_t size;		  /* the segment's length; -1: not checked */
	uint64_t first, last;	  /* inclusive, within the segment */
	char *data;		  /* inline data (SLO data segments) */
};
/* Free what pc holds and zero it. */
void lo_piece_clear(struct lo_piece *pc);

/*
 * A walk over the pieces of a large object: start(ctx, first, last)
 * (re)starts it for the object's bytes [first, last]; next(ctx, pc)
 * fills *pc (the reader then owns its strings): 1, or 0 at the end of
 * the window, or -errno (logged). free(ctx) ends it.
 */
struct lo_source {
	int (*start)(void *ctx, uint64_t first, uint64_t last);
	int (*next)(void *ctx, struct lo_piece *pc);
	void (*free)(void *ctx);
	void *ctx;
	int single_range; /* several ranges asked: the whole (DLO) */
};

/* --- segment.c --- */
/*
 * Reply to a GET/HEAD of a large object of size bytes and Content-Type
 * ctype whose other headers (ETag, metadata) the caller added: the whole
 * (200), the client's Range (206, one part or multipart/byteranges), 416;
 * the segments streamed from src as the requester who (copied). src is
 * taken (freed on every path); ctype must outlive the reply (a static or
 * a string owned by src).
 */
void lo_reply(struct http_request *req, struct proxy_app *app,
	      const struct proxy_path *who, uint64_t size, const char *ctype,
	      struct lo_source *src);
/*
 * A reader of the whole large object (for a copy): src taken, its first
 * piece opened. NULL with errno (EIO: the first segment cannot be read;
 * ENOMEM), src then freed. lo_reader_read: >0 bytes, 0 at the end, -EIO
 * (a segment failed or differs from its manifest entry).
 */
struct lo_reader;
struct lo_reader *lo_reader_open(struct http_request *req,
				 struct proxy_app *app,
				 const struct proxy_path *who, uint64_t size,
				 struct lo_source *src);
ssize_t lo_reader_read(struct lo_reader *lr, char *buf, size_t max);
void lo_reader_close(struct lo_reader *lr);
/*
 * For a COPY or X-Copy-From whose source answered r (body in *g): when
 * the source is a large object (and the request has no
 * ?multipart-manifest=get), *out reads its assembled bytes (*g is then
 * consumed and closed) and *size is their length; r loses the headers a
 * plain copy must not keep (ETag, X-Static-Large-Object, its sysmeta,
 * X-Object-Manifest, swift_bytes). 0 (*out NULL: not a large object), or
 * an HTTP status (not replied; 409 when the first segment fails).
 */
int lo_copy_source(struct http_request *req, struct proxy_app *app,
		   const struct proxy_path *src, struct cluster_resp *r,
		   struct cluster_get **g, struct lo_reader **out,
		   int64_t *size);
/*
 * May the requester who (user, service or temp URL scope; account) do
 * method on /container/object? 0, or 401/403/500. Never replies.
 */
int lo_allowed(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, const char *method,
	       const char *container, const char *object);
/*
 * Open a backend GET/HEAD of an object (no auth check) with an optional
 * Range and query: cluster_get_open's contract (*r and *g the caller's).
 * 0 or -errno.
 */
int lo_segment_open(struct http_request *req, struct proxy_app *app,
		    const char *method, const char *account,
		    const char *container, const char *object,
		    const char *range, const char *query,
		    struct cluster_resp *r, struct cluster_get **g);
/* *dst = *src, its names (when in src->buf) pointing into dst->buf. */
void lo_path_copy(struct proxy_path *dst, const struct proxy_path *src);
/*
 * The large object's ETag (etag: hex, sent quoted), a temp URL's
 * headers, then the client's conditionals against etag and mtime (unix
 * seconds, -1: unknown): 0 to go on, else replied 304 or 412 and
 * returns it.
 */
int lo_conditional(struct http_request *req, const struct proxy_path *p,
		   const char *etag, int64_t mtime, const char *disposition);
/* Remove every name header of r (before relaying it). */
void lo_resp_del(struct cluster_resp *r, const char *name);
/* Strip the quotes of an ETag in place. */
void lo_unquote(char *etag);

/* --- slo.c --- */
/* Swift's slo defaults (swift/common/middleware/slo.py). */
#define SLO_MAX_MANIFEST_SEGMENTS 1000
#define SLO_MAX_MANIFEST_SIZE	  (8 * 1024 * 1024)
#define SLO_MAX_RECURSION_DEPTH	  10
#define SLO_YIELD_FREQUENCY	  10

/*
 * The large-object hook for an object request (before object.c): SLO
 * manifest PUT (?multipart-manifest=put: takes the body), GET/HEAD of
 * every object (large ones assembled from segments, others relayed),
 * ?multipart-manifest=delete, and the checks of X-Static-Large-Object and
 * X-Object-Manifest on writes. Returns 1 when it handled the request (p
 * is then taken), 0 to let object.c go on (p still the caller's).
 */
int lo_object(struct http_request *req, struct proxy_app *app,
	      struct proxy_path *p);
/* Is req a manifest PUT whose body slo.c reads (on_body/on_end/on_close
 * go to slo_put_*)? */
int slo_put_request(struct http_request *req);
void slo_put_body(struct http_request *req, const char *data, size_t len);
void slo_put_end(struct http_request *req);
void slo_put_close(struct http_request *req, int completed);

/* One segment of a manifest to store (S3's CompleteMultipartUpload uses
 * slo_store too): Swift's put form. */
struct slo_seg_in {
	char *path;	    /* "/container/object"; NULL for a data segment */
	char *etag;	    /* NULL: not checked */
	int64_t size_bytes; /* -1: not checked */
	char *range;	    /* "M-N", "M-", "-N", or NULL */
	char *data;	    /* base64, for a data segment */
};
/*
 * Validate segs[0..n) against HEADs of each segment as p's requester and
 * store the manifest at p (X-Static-Large-Object, Swift's stored form
 * and sysmeta, plus the backend headers of more when not NULL: an S3
 * upload's own sysmeta), then reply: 201 with the SLO's ETag (quoted),
 * or 400 with Swift's per-segment reasons (Accept: text/plain, json or
 * xml), 422 when the client's ETag differs, 413 for too many segments.
 * segs and more stay the caller's.
 */
void slo_store(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *p, const struct slo_seg_in *segs, int n,
	       const struct cluster_hdrs *more);

/*
 * slo_store that never replies, for S3's CompleteMultipartUpload: the
 * client's headers that drop names left out (as
 * proxy_object_put_open_quiet). Returns the status: 201 (etag: the SLO's
 * ETag, hex), 400 (a segment missing, or its ETag or size differs), 413,
 * 503...
 */
int slo_store_quiet(struct http_request *req, struct proxy_app *app,
		    const struct proxy_path *p, const struct slo_seg_in *segs,
		    int n, const struct cluster_hdrs *more,
		    const char *const *drop, char etag[33]);
/*
 * The walk over the SLO whose manifest body is in g (read whole here; g
 * stays the caller's), segments read as who, into *src, and the SLO's
 * length into *size. 0, -EIO (not a manifest), -ENOMEM.
 */
int slo_source(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, struct cluster_get *g,
	       struct lo_source *src, int64_t *size);

/*
 * Swift's parse_and_validate_input of a put body (len bytes) for the
 * manifest at p: 0 with *out (n segments; free with slo_segs_free), or
 * 400 with Swift's message lines in msg (*out may still need freeing),
 * 500.
 */
struct buf;
int slo_parse_put(const char *body, size_t len, const struct proxy_path *p,
		  struct slo_seg_in **out, int *nout, struct buf *msg);
void slo_segs_free(struct slo_seg_in *segs, int n);
/* The SLO ETag (hex) and size of a stored manifest (JSON). 0, -EINVAL. */
int slo_manifest_totals(const char *json, size_t len, char etag[33],
			int64_t *size);

/* --- dlo.c --- */
/*
 * A GET/HEAD whose object answered with X-Object-Manifest (value as
 * stored, r the manifest object's answer): list the segments and reply.
 */
void dlo_get(struct http_request *req, struct proxy_app *app,
	     const struct proxy_path *p, struct cluster_resp *r,
	     const char *manifest);
/* The walk over the DLO whose X-Object-Manifest is manifest, listed as
 * who, into *src, and its length: 0, or an HTTP status (not replied). */
int dlo_source(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, const char *manifest,
	       struct lo_source *src, int64_t *size);
/* Check X-Object-Manifest on a PUT: 0, or replies 400 and returns it. */
int dlo_check_put(struct http_request *req);

/* --- tempurl.c --- */
#define TEMPURL_SCOPE_ACCOUNT	1
#define TEMPURL_SCOPE_CONTAINER 2
/*
 * Swift's tempurl for a /v1 request: -1 when it carries no temp URL
 * (tempauth decides); 0 when its signature lets it in (p->tempurl set,
 * p->user NULL); else it replied (401, 400) and returns the status.
 */
int tempurl_request(struct http_request *req, struct proxy_app *app,
		    struct proxy_path *p);
/* A response header a temp URL's client does not see (Swift's
 * outgoing_remove_headers: X-Object-Meta-* but X-Object-Meta-Public-*). */
int tempurl_hidden_header(const struct proxy_path *p, const char *name);
/* For a temp URL GET/HEAD answered 2xx: Content-Disposition (inline,
 * filename, the object's own, or attachment with the object's name) and
 * Expires. disposition: the object's Content-Disposition or NULL. */
void tempurl_response_headers(struct http_request *req,
			      const struct proxy_path *p,
			      const char *disposition);
/*
 * HMAC of "method\nexpires\npath" with key, as Swift's get_hmac, in hex
 * into out (2 * digest size + 1 bytes). digest: "sha1", "sha256",
 * "sha512". 0 or -EINVAL.
 */
int tempurl_hmac(const char *digest, const char *method, long long expires,
		 const char *path, const char *key, char *out, size_t outlen);
/* Fill info objects "slo" and "tempurl" (Swift's register_swift_info). */
struct json_t;
int lo_info(struct json_t *root);

/* --- info.c --- */
void proxy_info(struct http_request *req, struct proxy_app *app);

/* === S3 ================================================================
 * Amazon S3 on the same proxy, as Swift's s3api with tempauth:
 * s3.c (detection, routing table, request context, XML errors and
 * helpers, the body pipe), s3auth.c (Signature V2/V4, aws-chunked),
 * s3bucket.c (buckets: containers of the user's account), s3object.c
 * (objects), s3multipart.c (multipart uploads, stored as SLOs).
 * The XML parser is expat (libexpat1-dev's header; s3.c dlopens
 * libexpat.so.1 until the Makefile links `pkg-config --libs expat`).
 *
 * Life of an S3 request (struct s3_req is the http state):
 *   proxy_route: s3_detect → s3_http_handler
 *   on_headers: addressing (path or virtual host) → s3_auth_request
 *     (signature checked; user, account) → route table (method, bucket?,
 *     key?, subresource) → authorization (route->authz, tempauth's
 *     rules on s->p) → h->on_headers(s)
 *   on_body: the body decoded (aws-chunked) and checked (chunk
 *     signatures; x-amz-content-sha256 and Content-MD5 as it streams) →
 *     h->on_body(s, data, len), or collected into s->body when
 *     h->on_body is NULL (at most S3_MAX_BODY bytes)
 *   on_end: payload hash, Content-MD5 and decoded length checked →
 *     h->on_end(s) | the S3 error (h->on_end never runs)
 *   on_close: h->on_close(s, completed), then s freed.
 *
 * Invariants for handlers:
 *  1. h->on_body sees only bytes whose chunk signature checked; when the
 *     payload has one hash (hex x-amz-content-sha256, Content-MD5), the
 *     last bytes of the body are held back until it is checked: on a
 *     mismatch h->on_body never gets them and h->on_end never runs, so an
 *     upload streamed to the backends stays short and nothing is stored.
 *     h->on_close(s, 0) then says "abort": free without finishing.
 *  2. h->on_end runs only when the whole body checked.
 *  3. Every reply goes through http_reply* on s->req (s3_error,
 *     s3_reply_xml); after a reply the framework stops calling on_body.
 */
struct s3_req;

struct s3_handler {
	/* Auth and authz done. Reply to finish, or return to get the body
	 * (s->length: its decoded length, -1 unknown). */
	void (*on_headers)(struct s3_req *s);
	/* Decoded, checked body bytes; NULL: collect into s->body. */
	void (*on_body)(struct s3_req *s, const char *data, size_t len);
	/* The whole body checked: must reply. NULL: 500. */
	void (*on_end)(struct s3_req *s);
	/* Last call; free s->state. completed 0: client gone or body
	 * refused (abort any upload). May be NULL. */
	void (*on_close)(struct s3_req *s, int completed);
};

/* Who may use a route (checked before h->on_headers, with tempauth's
 * rules as Swift: owner, container ACL, account ACL). */
enum s3_authz {
	S3_AUTHZ_NONE,	/* the handler checks (e.g. a copy's source too) */
	S3_AUTHZ_READ,	/* GET on s->p (bucket or object) */
	S3_AUTHZ_WRITE, /* PUT on s->p (an object write: container ACL) */
	S3_AUTHZ_OWNER, /* the account's owner only (bucket PUT/DELETE, ACLs) */
};

#define S3_NO  0 /* the route wants no bucket (no key) */
#define S3_YES 1

/*
 * One row of the dispatch table (s3.c s3_routes, first match wins):
 * method, whether a bucket and a key are named, and the subresource the
 * query must carry (NULL: none of s3_subresources). A request whose
 * method matches no row for its shape → 405 MethodNotAllowed; an unknown
 * subresource → 501 NotImplemented.
 */
struct s3_route {
	const char *method; /* "HEAD" falls back to the "GET" row */
	int bucket, key;
	const char *sub;
	enum s3_authz authz;
	const struct s3_handler *h;
	const char *op; /* S3's operation name, for logs */
};

/* The most a collected body (XML) may be; more → 400 MaxMessageLength-
 * Exceeded. */
#define S3_MAX_BODY (4 * 1024 * 1024)

struct s3_body; /* s3auth.c: the body decoder and checker */

/* The request context: the http state of every S3 request. */
struct s3_req {
	struct http_request *req;
	struct proxy_app *app;
	/* account "<prefix>_<account>" of the requester (or of the bucket's
	 * owner for an anonymous request), container = bucket, object = key
	 * (decoded), user (NULL: anonymous); give it to tempauth_allowed,
	 * cluster_*, proxy_object_put_open, slo_store... */
	struct proxy_path p;
	const char *bucket; /* p.container or NULL */
	const char *key;    /* p.object or NULL */
	const struct s3_route *route;
	const char *sub; /* route->sub */
	int64_t length;	 /* decoded body length, -1: unknown */
	struct buf body; /* the collected body (h->on_body NULL) */
	void *state;	 /* the handler's; freed by its on_close */
	/* authentication (s3auth.c) */
	int sigv;	      /* 0 anonymous, 2, 4 */
	char access_key[256]; /* "account:user" */
	char account[512];    /* p.account points here */
	struct s3_body *dec;  /* the body pipe, NULL without body */
	int aborted; /* the framework refused the body: on_close(s, 0) */
	char resource[1024 + 300]; /* "/bucket/key" for errors */
};

/* --- s3.c --- */
/* Is req an S3 request (see s3.c)? 1 or 0. Called from proxy_route. */
int s3_detect(struct http_request *req);
extern const struct http_handler s3_http_handler;
extern const struct s3_route s3_routes[];
/* Sub-resources S3 signs and routes on (sorted, as s3api's list). */
extern const char *const s3_subresources[];
extern const int s3_nsubresources;
/* A decoded query argument (http_query), or NULL. */
const char *s3_query(const struct s3_req *s, const char *name);

/*
 * Reply with S3's error document:
 *   <Error><Code>code</Code><Message>message</Message>
 *   <Resource>resource</Resource><RequestId>txn</RequestId></Error>
 * message NULL: S3's text for code; resource NULL: none. HEAD gets no
 * body. Content-Type application/xml, x-amz-request-id = txn.
 */
void s3_error(struct http_request *req, int status, const char *code,
	      const char *message, const char *resource);
/* s3_error for what a backend answered (a Swift status) on s's
 * bucket/key: 404 → NoSuchBucket or NoSuchKey (notfound_code when not
 * NULL), 401/403 → AccessDenied, 409 → BucketNotEmpty for a bucket
 * DELETE, 412 → PreconditionFailed, 416 → InvalidRange, 503/else →
 * ServiceUnavailable / InternalError. */
void s3_error_status(struct s3_req *s, int status, const char *notfound_code);
/* Reply status with an XML document body (the buf stays the caller's;
 * "" allowed). Adds Content-Type: application/xml. */
void s3_reply_xml(struct http_request *req, int status, const struct buf *b);
/* A handler's built answer: 200 with b, or 500 InternalError when rc
 * (building b failed). b stays the caller's. */
void s3_reply_built(struct s3_req *s, int rc, const struct buf *b);
/* The 501 of a route not written yet. */
void s3_not_implemented(struct s3_req *s);

/* XML building: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" */
int s3_xml_start(struct buf *b);
/* Append s with &, <, >, ", ' and control characters escaped. 0/-ENOMEM */
int s3_xml_escape(struct buf *b, const char *s);
/* <name>escaped value</name>. 0/-ENOMEM */
int s3_xml_elem(struct buf *b, const char *name, const char *value);
int s3_xml_elemf(struct buf *b, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* S3's time form 2009-10-12T17:50:30.000Z of unix seconds t. */
void s3_iso8601(double t, char out[32]);
/* The same from a Swift listing's "last_modified" (2009-10-12T17:50:30.
 * 123456, UTC): milliseconds kept, Z added. */
void s3_iso8601_listing(const char *last_modified, char out[32]);
/* S3's RFC 1123 form for Last-Modified. */
void s3_http_date(double t, char out[64]);

/* XML parsing of request bodies (expat): a small tree. */
struct s3_xml {
	char *name; /* local name, namespace prefix dropped */
	char *text; /* the text directly inside ("" when none) */
	struct s3_xml *child, *next;
};
/* Parse len bytes: 0 with *out (free with s3_xml_free), or -EINVAL
 * (malformed: answer MalformedXML), -ENOMEM, -ENOSYS (no libexpat).
 * Depth and size bounded. Any thread. */
int s3_xml_parse(const char *data, size_t len, struct s3_xml **out);
void s3_xml_free(struct s3_xml *x);
/* The first child of x named name, or NULL; the next sibling so named. */
const struct s3_xml *s3_xml_child(const struct s3_xml *x, const char *name);
const struct s3_xml *s3_xml_next(const struct s3_xml *x, const char *name);

/* --- s3auth.c --- */
/*
 * Authenticate s (V4 header or query, V2 header or query, or none:
 * anonymous): s->sigv, s->access_key, s->p.user, s->p.account, s->dec
 * (the body pipe) set. 0; else replied the S3 error (InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied for an
 * expired presigned URL, AuthorizationHeaderMalformed, InvalidArgument,
 * MissingContentLength...) and returns its status.
 */
int s3_auth_request(struct s3_req *s);
/* Feed len body bytes through the pipe; bytes ready for the handler go
 * to emit(s, data, n). 0, or replied an S3 error and returns its status
 * (IncompleteBody, SignatureDoesNotMatch, XAmzContentSHA256Mismatch...). */
int s3_body_feed(struct s3_req *s, const char *data, size_t len,
		 void (*emit)(struct s3_req *s, const char *data, size_t n));
/* The end of the body: the held bytes emitted when the whole checks. 0, or
 * replied and returns the status. */
int s3_body_end(struct s3_req *s,
		void (*emit)(struct s3_req *s, const char *data, size_t n));
void s3_body_free(struct s3_body *b);

/* Pure signing functions (tested against AWS's and botocore's vectors). */
/* hex SHA-256 of data: out 65 bytes. 0/-EIO */
int s3_sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA256 (EVP_MAC). 0/-EIO */
int s3_hmac_sha256(const void *key, size_t keylen, const void *msg,
		   size_t msglen, unsigned char out[32]);
/* SigV4 signing key from secret, date (YYYYMMDD), region, service. */
int s3_sigv4_key(const char *secret, const char *date, const char *region,
		 const char *service, unsigned char out[32]);
struct s3_kv {
	const char *name, *value; /* value NULL: "name" with no '=' */
};
/*
 * SigV4's canonical request: method, the raw (client-encoded) path
 * (decoded and re-encoded as AWS: unreserved kept, '/' kept), the query
 * args (decoded, unsorted; X-Amz-Signature left out by the caller),
 * the signed headers' values looked up in hdrs (name lowercase; values
 * trimmed and inner spaces squeezed), signed (";"-joined lowercase
 * names), payload hash. Appended to out. 0, -ENOMEM, -EINVAL (a signed
 * header missing).
 */
int s3_sigv4_canonical(const char *method, const char *raw_path,
		       const struct s3_kv *query, int nq,
		       const struct s3_kv *hdrs, int nh, const char *signed_,
		       const char *payload_hash, struct buf *out);
/* "AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256(canonical)>" */
int s3_sigv4_string_to_sign(const char *amzdate, const char *scope,
			    const char *canonical, size_t len, struct buf *out);
/* hex HMAC(key, sts): out 65 bytes. */
int s3_sigv4_sign(const unsigned char key[32], const char *sts, size_t len,
		  char out[65]);
/* A chunk's string to sign (aws-chunked): "AWS4-HMAC-SHA256-PAYLOAD\n
 * amzdate\nscope\nprev\n<sha256 of "">\n<sha256 of data>". */
int s3_chunk_string_to_sign(const char *amzdate, const char *scope,
			    const char *prev_sig, const void *data, size_t len,
			    struct buf *out);
/*
 * SigV2's string to sign: method, Content-MD5, Content-Type, Date (""
 * when x-amz-date is among the headers; the Expires value for a query
 * signature), the x-amz-* headers (lowercased, sorted, values joined by
 * ','), the raw path, and the sub-resources of the query (s3_subresources
 * and response-* overrides, sorted, decoded values). 0/-ENOMEM.
 */
int s3_sigv2_string_to_sign(const char *method, const char *md5,
			    const char *ctype, const char *date,
			    const struct s3_kv *hdrs, int nh,
			    const char *raw_path, const struct s3_kv *query,
			    int nq, struct buf *out);
/* base64 HMAC-SHA1(secret, sts): out at least 29 bytes. */
int s3_sigv2_sign(const char *secret, const char *sts, size_t len,
		  char out[64]);

/* --- s3bucket.c --- */
extern const struct s3_handler s3_list_buckets, s3_bucket_put, s3_bucket_delete,
	s3_bucket_get, s3_bucket_location, s3_bucket_acl_get, s3_bucket_acl_put;
/* Is name a valid S3 bucket name (s3api's validate_bucket_name, DNS
 * compliant)? 1 or 0. */
int s3_valid_bucket_name(const char *name);
/*
 * GET the listing of container (in s->p.account) with the encoded query
 * (format=json added) into *out (a JSON array; the caller json_decrefs).
 * Returns the Swift status: 200, 204 (empty), 404, 503 ...; *out set only
 * for 2xx.
 */
int s3_container_listing(struct s3_req *s, const char *container,
			 const char *query, struct json_t **out);
/* The canned ACL of x-amz-acl on a PUT: 0 with *read set to the
 * container's X-Container-Read value ("" for private, ".r:*,.rlistings"
 * for public-read), or replied 400 InvalidArgument / 501 and returns it. */
int s3_canned_acl(struct s3_req *s, const char **read);
/* <Owner><ID>account:user</ID><DisplayName>…</DisplayName></Owner> of the
 * account's owner. */
int s3_xml_owner(struct buf *b, const struct s3_req *s);

/* --- s3object.c (helper s2) --- */
extern const struct s3_handler s3_object_put, /* PutObject, CopyObject */
	s3_object_get,			      /* GetObject, HeadObject */
	s3_object_delete,		      /* DeleteObject */
	s3_objects_delete,		      /* POST /b?delete */
	s3_object_acl_get, s3_object_acl_put;

/* s3api's sysmeta on objects and upload markers. */
#define S3_SYSMETA_ETAG	     "X-Object-Sysmeta-S3api-Etag"
#define S3_SYSMETA_UPLOAD_ID "X-Object-Sysmeta-S3api-Upload-Id"
/* Client headers an S3 request never hands to a backend (for the drop
 * list of proxy_object_put_open_quiet); NULL-terminated. */
extern const char *const s3_drop_headers[];
/* The object metadata of s's request into h: x-amz-meta-* as
 * X-Object-Meta-*, Content-Disposition/-Language, Cache-Control,
 * Expires, Content-Encoding without aws-chunked, and with ctype the
 * Content-Type (binary/octet-stream when none). 0, or replied
 * (MetadataTooLarge, InternalError) and returns the status. */
int s3_request_meta(struct s3_req *s, struct cluster_hdrs *h, int ctype);
/* Open the upload of s's body to dst (set over the backend headers):
 * 0 with s->state the upload (then s3_upload_body/end/close are the
 * handler's), or replied and returns the status. */
int s3_upload_open(struct s3_req *s, const struct proxy_path *dst,
		   const struct cluster_hdrs *set);
void s3_upload_body(struct s3_req *s, const char *data, size_t len);
/* Finish and reply 200 with the quoted ETag. */
void s3_upload_end(struct s3_req *s);
void s3_upload_close(struct s3_req *s, int completed);
/* Copy x-amz-copy-source (checked: the requester may read it;
 * x-amz-copy-source-if-*; for a part, x-amz-copy-source-range) into dst
 * and reply CopyObjectResult, or CopyPartResult when part. */
void s3_copy_to(struct s3_req *s, const struct proxy_path *dst, int part);
/* HEAD p: the status, r (the caller frees), the S3 ETag (unquoted), the
 * size and mtime (unix seconds, -1 unknown). */
int s3_head_object(struct s3_req *s, const struct proxy_path *p,
		   struct cluster_resp *r, char etag[80], int64_t *size,
		   int64_t *mtime);
/* Delete key p (an SLO's segments too): the status (2xx, 404...). */
int s3_delete_key(struct s3_req *s, const struct proxy_path *p);

/* --- s3multipart.c (helper s2) --- */
extern const struct s3_handler s3_mpu_create, /* POST /b/k?uploads */
	s3_mpu_part,	 /* PUT /b/k?uploadId&partNumber (+ copy) */
	s3_mpu_complete, /* POST /b/k?uploadId */
	s3_mpu_abort,	 /* DELETE /b/k?uploadId */
	s3_mpu_parts,	 /* GET /b/k?uploadId */
	s3_mpu_list;	 /* GET /b?uploads */
/* === end of S3 ========================================================= */

#endif
