/*
 * status/internal.h: the pieces of bin/kumo-status, the cluster summary:
 *
 *   main.c        options, config (the rings' folder, the hash secret),
 *                 the order of the phases, the exit status
 *   fetch.c       many HTTP requests at once (libcurl multi) with
 *                 timeouts and a progress callback
 *   nodes.c       every storage server of the rings asked for its /recon
 *                 figures; the summary of servers, devices, passes
 *   dispersion.c  objects and containers sampled through their rings
 *                 (one per partition), populated once through the
 *                 proxy, then looked for on every primary directly
 *   progress.c    the progress display (a line redrawn in place on a tty,
 *                 periodic lines otherwise)
 */
#ifndef KUMO_STATUS_INTERNAL_H
#define KUMO_STATUS_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "ring/ring.h"

/* --- fetch.c ------------------------------------------------------------- */

struct fetch {
	/* in (strings owned by the caller) */
	const char *method; /* "GET", "HEAD", "PUT" */
	char *url;
	const char *const
		*headers; /* NULL-ended "Name: value" lines, or NULL */
	const char *body; /* for PUT, or NULL */
	size_t body_len;
	/* out */
	int status;	 /* HTTP status, 0 when no answer */
	char error[256]; /* why there was no answer */
	char *resp;	 /* the body (malloc'd, NUL-terminated), or NULL */
	size_t resp_len;
	char *token;	   /* X-Auth-Token answered, malloc'd, or NULL */
	char *storage_url; /* X-Storage-Url answered, malloc'd, or NULL */
};

/*
 * Run the n requests, at most parallel at once, each bounded by
 * conn_timeout (connecting) and timeout (whole) seconds; progress(arg,
 * done, n) is called after each one finishes (may be NULL). Fills the
 * out fields. 0 or -ENOMEM (requests failing are reported in theirs).
 * The caller's thread; curl_global_init done by the caller.
 */
int fetch_all(struct fetch *f, size_t n, int parallel, double conn_timeout,
	      double timeout,
	      void (*progress)(void *arg, size_t done, size_t total),
	      void *arg);

/* Free what fetch_all put in the out fields of f[0..n). */
void fetch_free(struct fetch *f, size_t n);

/* --- progress.c ---------------------------------------------------------- */

/* Start a phase named what of total steps (on stderr). quiet: nothing. */
void progress_begin(const char *what, size_t total, int quiet);
/* Steps done so far (redraws at most ~10 times a second on a tty, a line
 * every 2 s otherwise). */
void progress_step(size_t done);
/* Finish the phase (the line is cleared on a tty). */
void progress_end(void);
/* A progress callback for fetch_all. */
void progress_cb(void *arg, size_t done, size_t total);

/* --- nodes.c ------------------------------------------------------------- */

struct status_opts {
	const char *swift_dir;
	double conn_timeout, timeout;
	int quiet; /* no progress display */
};

/*
 * Ask every storage server of the rings (rings[0..2]: account, container,
 * object; NULL for a missing one) for its recon figures. Returns a JSON
 * object (owned by the caller) {"servers": [...], "summary": {...}} and
 * sets *down to the number of servers that did not answer. NULL on
 * allocation failure.
 */
json_t *nodes_report(struct ring *const rings[3], const struct status_opts *o,
		     int *down);

/* Print the servers part of the report for people. */
void nodes_print(json_t *report, FILE *out);

/* --- dispersion.c -------------------------------------------------------- */

struct disp_opts {
	const char *account;	     /* e.g. AUTH_test */
	const char *container;	     /* the dispersion container */
	int sample;		     /* objects (partitions) to sample */
	const char *prefix, *suffix; /* the hash path secret */
	/* for --populate: */
	const char *auth_url, *user, *key;
};

/* What a sample is made of: objects of o->container, or containers. */
enum disp_kind { DISP_OBJECTS, DISP_CONTAINERS };

/*
 * The sample's names: the first names "kumo-dispersion-<i>" that fall in
 * distinct partitions of ring (as objects of o->container, or as
 * containers of o->account), o->sample of them (fewer when the ring has
 * fewer partitions). *names is a malloc'd array of malloc'd strings
 * (disp_free_names). 0 or -errno.
 */
int disp_names(struct ring *ring, const struct disp_opts *o,
	       enum disp_kind kind, char ***names, int *n);
void disp_free_names(char **names, int n);

/*
 * PUT the samples through the proxy (tempauth at o->auth_url with
 * o->user/o->key; the account is the one of the storage URL answered,
 * written to *account, malloc'd): the containers of cring's sample, then
 * o->container and the objects of oring's sample (a NULL ring: none).
 * 0 or -errno with a message on stderr.
 */
int disp_populate(struct ring *oring, struct ring *cring,
		  const struct disp_opts *o, const struct status_opts *so,
		  char **account);

/*
 * HEAD every primary of every sampled object (or container) directly.
 * Returns a JSON object {"kind", "account", "container", "sampled",
 * "replicas", "partitions_lacking", "missing", "found": {"3": n, ...},
 * "errors", "populated"} (owned by the caller), NULL on allocation
 * failure; *lacking gets partitions_lacking.
 */
json_t *disp_check(struct ring *ring, const struct disp_opts *o,
		   const struct status_opts *so, enum disp_kind kind,
		   int *lacking);

/* Print the dispersion part for people. */
void disp_print(json_t *d, FILE *out);

#endif
