/*
 * common/cluster.h: the one client of the storage cluster, shared by the
 * proxy and (later) the volume service and the FUSE filesystem.
 *
 * It knows the rings (account, container, and one object ring per
 * storage policy of common/policy.h: object.ring.gz, object-N.ring.gz),
 * which nodes hold a path (primaries, then handoffs in Swift's
 * get_more_nodes order), which nodes keep failing (error limiting, as
 * Swift's proxy: a node with more than error_suppression_limit errors
 * within error_suppression_interval is skipped until the interval passes;
 * a 507 limits it at once), and speaks
 * Swift's backend protocol to them over libcurl (the multi interface, in
 * the caller's thread: no threads of its own):
 *
 *   cluster_make_requests  one request per slot, all at once, each slot
 *                          falling over to the next node on a connection
 *                          error, a 5xx or a 507 (Swift's make_requests);
 *                          cluster_best_response picks the answer by quorum
 *   cluster_get_open/read  a GET or HEAD from the first node that gives a
 *                          good answer (2xx, 3xx, 416), the body streamed
 *                          through a bounded buffer; X-Newest asks all; an
 *                          object body that fails mid-way resumes on the
 *                          next node
 *   cluster_put_open/      an upload streamed to every slot at once (one
 *   write/finish           per primary, handoffs standing in for nodes that
 *                          refuse), never buffered whole: each chunk is
 *                          handed to every live backend before the next is
 *                          taken; Expect: 100-continue lets a 507 be seen
 *                          before any body is sent; slot i is primary
 *                          i's, or a handoff's standing in for it
 *   cluster_fetch_*        several GETs at once, each to a chosen node
 *   cluster_put_whole      a small PUT whose body is in memory: one request
 *                          per slot, headers and body in one send, no
 *                          Expect, over common/keepconn.c's kept
 *                          connections instead of libcurl; a slot whose
 *                          node refuses takes the next node with the body
 *
 * An object of an erasure-coded policy is read through the same
 * cluster_get_open/read (common/ecget.c): its fragment archives fetched
 * from k nodes at once and decoded segment by segment as the body is
 * read; the caller sees the whole object's status, headers and bytes.
 *
 * Quorum is Swift's quorum_size: replicas / 2 + 1.
 *
 * Rings are reloaded as Swift's proxy does: a lookup at least
 * ring_check_interval seconds after the last look stats the ring files and
 * loads those whose mtime, size or inode changed; a file that fails to
 * load leaves the old ring in place. A lookup keeps the ring it was
 * answered from (struct cluster_nodes holds a reference), so requests in
 * flight finish on it.
 *
 * Threads: a struct cluster is shared by all threads (its error table and
 * its ring pointers have locks; a loaded ring is immutable). A struct cluster_get or cluster_put belongs
 * to the thread that opened it.
 */
#ifndef KUMO_COMMON_CLUSTER_H
#define KUMO_COMMON_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "ring/ring.h"

enum cluster_kind {
	CLUSTER_ACCOUNT = 0,
	CLUSTER_CONTAINER,
	CLUSTER_OBJECT,
	CLUSTER_NKINDS
};

struct cluster_conf {
	/* holds {account,container,object}.ring.gz and object-N.ring.gz for
	 * each storage policy N > 0 of common/policy.h */
	const char *swift_dir;
	const char *hash_prefix; /* swift_hash_path_prefix */
	const char *hash_suffix; /* swift_hash_path_suffix */
	double conn_timeout;	 /* seconds to connect to a backend */
	double node_timeout;	 /* seconds a backend may stay silent */
	int error_suppression_limit;
	double error_suppression_interval; /* seconds */
	/* seconds between looks at the ring files' mtimes; <= 0: the
	 * default (Swift's proxy reload_time) */
	double ring_check_interval;
};

#define CLUSTER_RING_CHECK_DEFAULT 15.0

struct cluster;

/* Most nodes a lookup returns: primaries and as many handoffs (Swift's
 * request_node_count = 2 * replicas), capped. */
#define CLUSTER_MAX_NODES 16

/* The nodes of one path. Holds a reference on the ring it came from. */
struct cluster_nodes {
	struct ring *ring;
	enum cluster_kind kind;
	int policy; /* the storage policy index of an object lookup */
	uint32_t part;
	int nprimary; /* primaries come first in dev[] */
	int n;	      /* primaries + handoffs */
	const struct ring_dev *dev[CLUSTER_MAX_NODES];
};

/* A header list for backend requests: "Name: value" lines. */
struct cluster_hdrs {
	char **lines;
	int n;
};

/* Its headers are added by cluster_resp_add and taken out by
 * cluster_resp_del only: a name and its value share one allocation
 * (hdr_values[i] points into hdr_names[i]'s). */
struct cluster_resp {
	int status;		    /* 0: no answer (connect error, timeout) */
	const struct ring_dev *dev; /* the node that answered, or last tried */
	char **hdr_names;
	char **hdr_values;
	int nhdrs;
	struct buf body;
};

/* Swift's quorum_size: the majority of n. */
static inline int cluster_quorum(int n)
{
	return n / 2 + 1;
}

/*
 * Load the rings from conf->swift_dir (the object ring of every storage
 * policy of policy.h's table, which must be loaded already) and set up
 * libcurl (call once, before threads start). Strings in conf are copied.
 * On success *out owns the cluster. 0, or -errno (a ring that cannot be
 * loaded, or an erasure-coded policy's ring without exactly k + m
 * replicas: logged, naming it).
 */
int cluster_open(const struct cluster_conf *conf, struct cluster **out);

/* Free the cluster; no request may still use it. NULL is fine. */
void cluster_close(struct cluster *c);

/*
 * The primaries and up to as many handoffs of /account[/container[/object]]
 * in kind's ring, into *out (which then holds a ring reference: release it
 * with cluster_nodes_release). 0, or -EINVAL (bad names), -EIO.
 */
int cluster_lookup(struct cluster *c, enum cluster_kind kind,
		   const char *account, const char *container,
		   const char *object, struct cluster_nodes *out);
void cluster_nodes_release(struct cluster_nodes *nodes);

/* cluster_lookup in the object ring of storage policy index policy
 * (CLUSTER_OBJECT's ring is policy 0's). Every request to the nodes of an
 * object ring carries its policy's X-Backend-Storage-Policy-Index (one
 * the caller's headers hold is replaced). 0, or -EINVAL (no such policy,
 * bad names), -EIO. */
int cluster_lookup_policy(struct cluster *c, int policy, const char *account,
			  const char *container, const char *object,
			  struct cluster_nodes *out);

struct ec_codec;
/* The erasure code of a policy (k + m fragments, common/ec.h), opened by
 * cluster_open for every erasure-coded policy and shared by all threads;
 * NULL for a replicated policy or no such policy. */
const struct ec_codec *cluster_ec_codec(struct cluster *c, int policy);

/* Replicas (rows) of kind's ring. */
int cluster_replicas(struct cluster *c, enum cluster_kind kind);
/* Replicas of a policy's object ring, or -EINVAL (no such policy). */
int cluster_replicas_policy(struct cluster *c, int policy);

/* --- error limiting (thread-safe) ------------------------------------ */

/* Non-zero when dev is error-limited now. */
int cluster_node_limited(struct cluster *c, const struct ring_dev *dev);
/* Count one error (a timeout, a refused connection, a 5xx). */
void cluster_node_error(struct cluster *c, const struct ring_dev *dev);
/* Limit dev at once (a 507: its device is gone). */
void cluster_node_error_limit(struct cluster *c, const struct ring_dev *dev);

/* --- header lists ----------------------------------------------------- */

/* Add "name: value" (value NULL or "": removes curl's default). 0/-ENOMEM */
int cluster_hdrs_add(struct cluster_hdrs *h, const char *name,
		     const char *value);
int cluster_hdrs_addf(struct cluster_hdrs *h, const char *name, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));
/* Copy every line of src into dst. 0 or -ENOMEM. */
int cluster_hdrs_copy(struct cluster_hdrs *dst, const struct cluster_hdrs *src);
/* The value of name in h (case-insensitive), or NULL. */
const char *cluster_hdrs_get(const struct cluster_hdrs *h, const char *name);
/* Replace name's value if present, else add. 0 or -ENOMEM. */
int cluster_hdrs_set(struct cluster_hdrs *h, const char *name,
		     const char *value);
void cluster_hdrs_free(struct cluster_hdrs *h);

/*
 * Spread the primaries of upd (the account nodes of a container write,
 * the container nodes of an object write) over the nslots header lists
 * hdrs as X-<what>-Host, -Device (comma-separated when a slot gets more
 * than one) and -Partition, as Swift's _backend_requests, so each backend
 * tells its share of them about the write; at least `needed` updates in
 * all (cycling over upd's primaries). upd NULL: nothing. 0 or -ENOMEM.
 */
int cluster_update_headers(struct cluster_hdrs *hdrs, int nslots,
			   const struct cluster_nodes *upd, const char *what,
			   int needed);

/* --- responses -------------------------------------------------------- */

/* A response header (case-insensitive), or NULL. */
const char *cluster_resp_header(const struct cluster_resp *r, const char *name);
/* Is a "Name: value" line one a GET decides by itself (Range, If-Match,
 * If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range,
 * X-Newest), that requests made on its behalf leave out? 1 or 0. */
int cluster_cond_header(const char *line);
/* Add a copy of name: value to r's headers. 0 or -ENOMEM (r unchanged). */
int cluster_resp_add(struct cluster_resp *r, const char *name,
		     const char *value);
/* Take header i out of r (the last one moves to i). */
void cluster_resp_del(struct cluster_resp *r, int i);
/* Free what r holds and zero it. */
void cluster_resp_free(struct cluster_resp *r);

/*
 * Swift's best_response: the highest status of the first class (2xx, 3xx,
 * 4xx) that a quorum of statuses falls in. Returns its index in statuses,
 * or -1 when no class has a quorum (the caller answers 503). quorum <= 0
 * means cluster_quorum(n).
 */
int cluster_best_status(const int *statuses, int n, int quorum);

/*
 * Percent-encode a name for a backend path (as Swift's quote, '/' kept)
 * into out of outlen bytes. Returns the length, or -ENAMETOOLONG.
 */
int cluster_quote(const char *s, char *out, size_t outlen);

/* --- requests --------------------------------------------------------- */

/*
 * Swift's make_requests: nslots requests of method to
 * /<dev>/<part>/<account>[/<container>[/<object>]] at once, slot i with
 * headers hdrs[i] (and X-Trans-Id txn when not NULL), query (encoded,
 * without '?', or NULL) and body (NULL for none). The slots share one walk
 * over nodes (primaries, then handoffs), skipping error-limited nodes; a
 * slot whose node fails (no answer, 5xx, 507) takes the next one. resps
 * (nslots of them, zeroed by the caller) get each slot's last answer; the
 * caller frees them. Returns 0 (look at the statuses), or -ENOMEM.
 */
int cluster_make_requests(struct cluster *c, const struct cluster_nodes *nodes,
			  const char *method, const char *account,
			  const char *container, const char *object,
			  const char *query, struct cluster_hdrs *hdrs,
			  int nslots, const void *body, size_t body_len,
			  const char *txn, struct cluster_resp *resps);

/*
 * The same as cluster_make_requests with slot i sent to devs[i] (nodes of
 * nodes' ring: its partition and policy) and nowhere else: no walk, no
 * failover (an erasure-coded write's second phase, which names the nodes
 * that stored each fragment). resps[i].dev is devs[i]. 0 or -ENOMEM.
 */
int cluster_requests_at(struct cluster *c, const struct cluster_nodes *nodes,
			const struct ring_dev *const *devs, int n,
			const char *method, const char *account,
			const char *container, const char *object,
			struct cluster_hdrs *hdrs, const char *txn,
			struct cluster_resp *resps);

/*
 * Several streamed GETs or HEADs at once, each to one node of one
 * caller's choice (the fragment archives of an erasure-coded object):
 * they all run while the caller waits on any one of them. The caller's
 * thread only.
 *
 *   cluster_fetch_start        one request; returns its id (>= 0)
 *   cluster_fetch_wait_headers until every started one has its status
 *   cluster_fetch_resp         status (0: no answer) and headers of one
 *   cluster_fetch_failed       1 when it failed as a node (no answer, 5xx,
 *                              507: counted for error limiting), else 0
 *   cluster_fetch_read         its body: >0 bytes, 0 at the end, -EIO (cut,
 *                              timeout: counted)
 *   cluster_fetch_stop         abandon one
 */
struct cluster_fetch;
int cluster_fetch_new(struct cluster *c, struct cluster_fetch **out);
void cluster_fetch_free(struct cluster_fetch *f);
/* hdrs as cluster_make_requests's (the policy index is nodes'). An id, or
 * -ENOSPC (too many ids), -EIO (could not start). */
int cluster_fetch_start(struct cluster_fetch *f,
			const struct cluster_nodes *nodes,
			const struct ring_dev *dev, const char *method,
			const char *account, const char *container,
			const char *object, const struct cluster_hdrs *hdrs,
			const char *txn);
void cluster_fetch_wait_headers(struct cluster_fetch *f);
/* Valid until the next call on f; an empty answer (status 0) for an id
 * without headers. */
const struct cluster_resp *cluster_fetch_resp(struct cluster_fetch *f, int id);
int cluster_fetch_failed(struct cluster_fetch *f, int id);
ssize_t cluster_fetch_read(struct cluster_fetch *f, int id, char *buf,
			   size_t max);
void cluster_fetch_stop(struct cluster_fetch *f, int id);

struct cluster_get;

/*
 * Open a GET or HEAD of a path on the nodes (first good source in order,
 * or with newest the source with the newest X-Backend-Timestamp /
 * X-Timestamp among all nodes). *resp gets the status and headers of the
 * answer to give (status 503 and no headers when no node answered with a
 * quorum of statuses); its body is read with cluster_get_read when *out is
 * not NULL (a good source), else the error body is in resp->body. Returns
 * 0 or -ENOMEM. The caller frees *resp and closes *out.
 */
int cluster_get_open(struct cluster *c, const struct cluster_nodes *nodes,
		     const char *method, const char *account,
		     const char *container, const char *object,
		     const char *query, const struct cluster_hdrs *hdrs,
		     int newest, const char *txn, struct cluster_resp *resp,
		     struct cluster_get **out);

/*
 * Up to max bytes of the body into buf: >0 bytes, 0 at the end, -EIO when
 * the body cannot be finished (it is then incomplete). An object GET whose
 * source fails mid-body (cut, timeout) resumes on the next untried node
 * (Range from the next byte, If-Match on the source's ETag; the answer
 * must be 206 from that byte with the same ETag and X-Timestamp), as
 * Swift's proxy does. A whole object (200) is checked against its ETag:
 * its last bytes are handed out only when the MD5 matches, else -EIO.
 */
ssize_t cluster_get_read(struct cluster_get *g, char *buf, size_t max);

/* Close and free; NULL is fine. */
void cluster_get_close(struct cluster_get *g);

/*
 * A PUT of a body held whole in memory (body, len bytes; a small one: it
 * is sent at once) to nslots slots at once, slot i with headers hdrs[i]
 * (X-Trans-Id, the policy index and Content-Length added; no Expect), each
 * request in one send over connections kept between requests
 * (common/keepconn.c, not libcurl). A slot whose node fails (no answer,
 * 5xx, 507: counted against it as cluster_make_requests does) takes the
 * next node of the walk, with the whole body again. statuses[i] and
 * etags[i] (unquoted, "" unless 2xx) are slot i's last answer, 503 when
 * no node answered. Returns 0, or -ENOMEM / -ENAMETOOLONG (logged). Any
 * thread; blocks up to the connect and node timeouts per round.
 */
int cluster_put_whole(struct cluster *c, const struct cluster_nodes *nodes,
		      const char *account, const char *container,
		      const char *object, const struct cluster_hdrs *hdrs,
		      int nslots, const void *body, size_t len, const char *txn,
		      int *statuses, char etags[][33]);

struct cluster_put;

/*
 * Start a PUT of an object body to nodes->nprimary slots at once, slot i
 * with headers hdrs[i] (each gets X-Trans-Id, and Expect: 100-continue
 * unless hdrs[i] names Expect: "Expect:" sends the body at once, and a
 * node that refuses then answers after it, too late for a handoff).
 * content_length -1 (or 0) sends the body chunked. A slot whose node
 * refuses (no answer, 5xx, 507) takes the next node of the walk.
 *
 * Returns 0 with *out set when at least quorum slots are ready for the
 * body; -EIO when fewer are (the caller answers 503, *out is NULL);
 * -EEXIST when a backend answered at once with a final 4xx (412 for
 * If-None-Match, 409 for an older timestamp): *early_status says which,
 * *out is NULL; -ENOMEM.
 */
int cluster_put_open(struct cluster *c, const struct cluster_nodes *nodes,
		     const char *account, const char *container,
		     const char *object, struct cluster_hdrs *hdrs,
		     int64_t content_length, int quorum, const char *txn,
		     int *early_status, struct cluster_put **out);

/*
 * Hand len bytes to every live backend; returns once each has taken them
 * (or failed). 0, or -EIO when fewer than quorum backends are left.
 */
int cluster_put_write(struct cluster_put *p, const void *data, size_t len);

/*
 * The same with a different body per slot: each[i] (len bytes) goes to
 * slot i, whichever node stands in it (the fragment archives of an
 * erasure-coded object: slot i, primary i, gets fragment index i). 0, or
 * -EIO when fewer than quorum backends are left.
 */
int cluster_put_write_each(struct cluster_put *p, const void *const *each,
			   size_t len);

/*
 * Send "name: value" as a trailer after the body of a chunked upload that
 * announced trailers (content_length -1 and a Trailer header in hdrs at
 * cluster_put_open; other uploads send none), to every slot: a hash of
 * the body known once it was all written. Call before
 * cluster_put_finish*. 0 or -ENOMEM.
 */
int cluster_put_trailer(struct cluster_put *p, const char *name,
			const char *value);

/*
 * End the body and collect the answers: statuses[] and etags (the ETag of
 * each 2xx) of the backends still live, *n of them (at most
 * CLUSTER_MAX_NODES), in slot order (slots left without a backend
 * skipped). 0, or -EIO when fewer than quorum answered at all.
 */
int cluster_put_finish(struct cluster_put *p, int *statuses, char etags[][33],
		       int *n);
/* cluster_put_finish that also says, for each answer, its slot (slots[],
 * may be NULL) and the node that gave it (devs[], may be NULL). */
int cluster_put_finish_nodes(struct cluster_put *p, int *statuses,
			     char etags[][33], int *slots,
			     const struct ring_dev **devs, int *n);

/*
 * cluster_put_finish that returns as soon as quorum backends answered
 * 2xx (or, failing that, once every backend answered), as Swift's proxy
 * answers its client at quorum: the answers so far, as cluster_put_finish.
 * The backends still running keep reading the body's buffers, which must
 * stay unchanged until cluster_put_rest returns.
 */
int cluster_put_finish_quorum(struct cluster_put *p, int *statuses,
			      char etags[][33], int *n);

/*
 * After cluster_put_finish_quorum: let the backends it left running end
 * (each bounded by the node timeout) and give their answers the same way,
 * *n of them (0 when none was left). Returns 0.
 */
int cluster_put_rest(struct cluster_put *p, int *statuses, char etags[][33],
		     int *n);

/* Abort what is in flight (backends see a truncated body) and free. */
void cluster_put_free(struct cluster_put *p);

#endif
