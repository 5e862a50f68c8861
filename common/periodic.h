/*
 * common/periodic.h: a background thread that runs one pass of a job
 * (a replicator, a reaper...) every interval seconds until stopped: the
 * loop every storage server's background workers share.
 *
 *   periodic_start --> pass, wait interval (or a stop) --> pass ... -->
 *   periodic_stop: wakes the wait, joins the thread after the pass in
 *   progress ends.
 */
#ifndef KUMO_COMMON_PERIODIC_H
#define KUMO_COMMON_PERIODIC_H

#include <pthread.h>

struct periodic {
	/* set by the caller before periodic_start */
	const char *name; /* for the log */
	double interval;  /* seconds between the end of a pass and the next */
	void (*pass)(void *arg);
	void *arg;
	/* private */
	pthread_t thread;
	pthread_mutex_t lock; /* guards stopping */
	pthread_cond_t wake;
	int started, stopping;
};

/* Start the thread (the first pass at once). 0 or -errno (logged). */
int periodic_start(struct periodic *p);

/* Stop and join; a no-op when not started. Not from the thread itself. */
void periodic_stop(struct periodic *p);

#endif
