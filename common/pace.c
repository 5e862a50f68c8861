/*
 * common/pace.c: pacing and stoppable sleeps (see pace.h). The condition
 * variable waits on CLOCK_REALTIME (the default of the mutexes and
 * conditions the daemons make), so each wait recomputes its deadline from
 * the monotonic time left: a wall clock step changes at most one wait.
 */
#include <time.h>

#include "common/pace.h"

double pace_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double pace_next(double *clock, double amount, double rate)
{
	double now = pace_now();

	if (rate <= 0)
		return 0;
	if (*clock < now)
		*clock = now; /* no credit for time spent idle */
	*clock += amount / rate;
	return *clock;
}

int pace_wait(pthread_mutex_t *lock, pthread_cond_t *wake, const int *stopping,
	      double until)
{
	struct timespec real;
	double left;
	int stop;

	pthread_mutex_lock(lock);
	while (!*stopping && (left = until - pace_now()) > 0) {
		clock_gettime(CLOCK_REALTIME, &real);
		real.tv_sec += (time_t)left;
		real.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
		if (real.tv_nsec >= 1000000000L) {
			real.tv_sec++;
			real.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(wake, lock, &real);
	}
	stop = *stopping;
	pthread_mutex_unlock(lock);
	return stop;
}
