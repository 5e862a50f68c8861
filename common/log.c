/*
 * common/log.c: formatting of log lines (see log.h for the format).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

enum log_level log_current_level = LOG_INFO;
static const char *log_progname = "kumo";
/* getpid() once per process (a forked child learns its own: log_forked);
 * the date and time of the second each thread last logged in */
static int log_pid;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static __thread time_t t_stamp_sec = -1;
static __thread char t_stamp[32];

static void log_forked(void)
{
	log_pid = (int)getpid();
}

static void log_setup(void)
{
	log_pid = (int)getpid();
	pthread_atfork(NULL, NULL, log_forked);
}

void log_init(const char *progname, enum log_level level)
{
	if (progname) {
		const char *slash = strrchr(progname, '/');
		log_progname = slash ? slash + 1 : progname;
	}
	log_current_level = level;
}

void log_line(enum log_level level, const char *file, const char *func,
	      int line, const char *fmt, ...)
{
	static const char *names[] = {"ERR", "WARN", "INFO", "DEBUG"};
	int saved_errno = errno;
	struct timeval tv;
	struct tm tm;
	char out[2400];
	const char *base = strrchr(file, '/');
	va_list ap;
	int n, m;

	pthread_once(&log_once, log_setup);
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != t_stamp_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		strftime(t_stamp, sizeof(t_stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		t_stamp_sec = tv.tv_sec;
	}
	/* the line is formatted whole, then written at once */
	n = snprintf(out, sizeof(out), "%s.%03dZ %s[%d] %s %s:%s:%d ", t_stamp,
		     (int)(tv.tv_usec / 1000), log_progname, log_pid,
		     names[level], base ? base + 1 : file, func, line);
	if (n < 0 || (size_t)n >= sizeof(out) - 2048)
		n = 0;
	va_start(ap, fmt);
	errno = saved_errno; /* so that %m names the caller's errno */
	m = vsnprintf(out + n, 2048, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if (m > 2047)
		m = 2047; /* as the 2048-byte message buffer cut it before */
	out[n + m] = '\n';
	/* one write(2), not stdio: no lock for threads to queue on while
	 * the line goes out (a write of a line is whole on its own) */
	if (write(STDERR_FILENO, out, (size_t)(n + m + 1)) == -1)
		fwrite(out, 1, (size_t)(n + m + 1), stderr);
	errno = saved_errno;
}
