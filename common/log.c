/*
 * common/log.c: formatting of log lines (see log.h for the format).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

enum log_level log_current_level = LOG_INFO;
static const char *log_progname = "kumo";

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
	char stamp[32];
	char msg[2048];
	const char *base = strrchr(file, '/');
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	va_start(ap, fmt);
	errno = saved_errno; /* so that %m names the caller's errno */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	fprintf(stderr, "%s.%03dZ %s[%d] %s %s:%s:%d %s\n", stamp,
		(int)(tv.tv_usec / 1000), log_progname, (int)getpid(),
		names[level], base ? base + 1 : file, func, line, msg);
	errno = saved_errno;
}
