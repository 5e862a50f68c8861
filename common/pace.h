/*
 * common/pace.h: pacing a background worker (auditors) to a rate, and
 * sleeping in a way a stopping server can cut short.
 *
 * A pace is a clock of the next allowed moment on CLOCK_MONOTONIC: each
 * unit of work (a file, a byte, a record) advances it by amount/rate from
 * max(clock, now), so idle time earns no credit and N units never take
 * less than N/rate seconds.
 */
#ifndef KUMO_COMMON_PACE_H
#define KUMO_COMMON_PACE_H

#include <pthread.h>

/* Seconds on CLOCK_MONOTONIC. */
double pace_now(void);

/* Advance *clock by amount/rate (rate <= 0: no limit, *clock unchanged
 * and 0 returned) and return the moment to wait for. */
double pace_next(double *clock, double amount, double rate);

/*
 * Wait on wake (with lock, which the caller does not hold) until the
 * monotonic moment until or until *stopping is set (read under lock;
 * whoever sets it broadcasts wake). Returns *stopping.
 */
int pace_wait(pthread_mutex_t *lock, pthread_cond_t *wake, const int *stopping,
	      double until);

#endif
