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
	int account_autocreate;
	long long token_life;
	char reseller_prefix[CONF_STR_MAX];
	char require_group[CONF_STR_MAX];
	char auth_require_group[CONF_STR_MAX];
	char service_require_group[CONF_STR_MAX];
	struct conf_list users;
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
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
int proxy_start(void *cfg, void **app);
void proxy_stop(void *app);
const struct http_handler *proxy_route(struct http_request *req);

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

#endif
