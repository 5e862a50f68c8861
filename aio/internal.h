/*
 * aio/internal.h: the pieces of bin/kumo-aio, the all-in-one cluster.
 */
#ifndef KUMO_AIO_INTERNAL_H
#define KUMO_AIO_INTERNAL_H

#include <sys/types.h>

#define AIO_DEVICES    4
#define AIO_REPLICAS   3
#define AIO_PART_POWER 10

struct aio {
	char dir[4096];	 /* everything lives under it */
	char bin[4096];	 /* where the kumo-* programs are */
	int proxy_port;	 /* storage servers take the next three */
	int volume_port; /* kumo-volumed's API (8776) */
	int nbd_port;	 /* kumo-volumed's NBD exports (10809) */
	char conf[4200]; /* the one config file all daemons read */
};

/* layout.c */

/* mkdir -p. 0 or -errno. */
int aio_mkdir_p(const char *path);

/*
 * Make dir's folders, the config file (kept, except the ports, across
 * starts; the hash path suffix is chosen once) and the three rings (built
 * when missing or when the ports changed). 0 or -errno, logged.
 */
int aio_prepare(struct aio *aio);

/* supervise.c */

struct aio_child {
	const char *name; /* "proxy", "object", ... */
	const char *prog; /* "kumo-proxy", ... */
	int port;
	pid_t pid;
};

/*
 * Start the children in order, each waited for until its /healthcheck
 * answers. On failure, stops those started and returns -errno.
 */
int aio_start(const struct aio *aio, struct aio_child *kids, int n);

/*
 * Wait for SIGTERM/SIGINT (returns 0 after stopping every child cleanly)
 * or for a child to die (stops the others, returns -ECHILD).
 */
int aio_supervise(struct aio_child *kids, int n);

#endif
