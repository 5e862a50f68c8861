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
#include "common/textput.h"

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

/* The prefix of a line into out (room: max bytes); its length, or 0 when
 * it does not fit. */
static int prefix(char *out, size_t max, int ms, const char *lvl,
		  const char *file, const char *func, int line)
{
	const char *end = out + max;
	char *o = out;

	if (text_put(&o, end, t_stamp) || text_put(&o, end, ".") ||
	    text_put_uint(&o, end, (unsigned)ms, 3) ||
	    text_put(&o, end, "Z ") || text_put(&o, end, log_progname) ||
	    text_put(&o, end, "[") ||
	    text_put_uint(&o, end, (unsigned)log_pid, 1) ||
	    text_put(&o, end, "] ") || text_put(&o, end, lvl) ||
	    text_put(&o, end, " ") || text_put(&o, end, file) ||
	    text_put(&o, end, ":") || text_put(&o, end, func) ||
	    text_put(&o, end, ":") ||
	    text_put_uint(&o, end, line < 0 ? 0u : (unsigned)line, 1) ||
	    text_put(&o, end, " "))
		return 0;
	return (int)(o - out);
}

/* Write a line: the prefix, then text when not NULL, else fmt with ap. */
static void log_out(enum log_level level, const char *file, const char *func,
		    int line, const char *text, const char *fmt, va_list *ap)
{
	static const char *names[] = {"ERR", "WARN", "INFO", "DEBUG"};
	int saved_errno = errno;
	struct timeval tv;
	struct tm tm;
	char out[2400];
	const char *base = strrchr(file, '/');
	size_t m;
	int n;

	pthread_once(&log_once, log_setup);
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != t_stamp_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		strftime(t_stamp, sizeof(t_stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		t_stamp_sec = tv.tv_sec;
	}
	/* the line is formatted whole, then written at once; its prefix
	 * "%s.%03dZ %s[%d] %s %s:%s:%d " by hand (a snprintf of it was half
	 * the cost of an access log line) */
	n = prefix(out, sizeof(out) - 2048, (int)(tv.tv_usec / 1000),
		   names[level], base ? base + 1 : file, func, line);
	if (text) {
		m = strnlen(text, 2047);
		memcpy(out + n, text, m);
	} else {
		int k;

		errno = saved_errno; /* so that %m names the caller's errno */
		k = vsnprintf(out + n, 2048, fmt, *ap);
		m = k < 0 ? 0 : (size_t)k;
	}
	if (m > 2047)
		m = 2047; /* as the 2048-byte message buffer cut it before */
	out[(size_t)n + m] = '\n';
	/* one write(2), not stdio: no lock for threads to queue on while
	 * the line goes out (a write of a line is whole on its own) */
	if (write(STDERR_FILENO, out, (size_t)n + m + 1) == -1)
		fwrite(out, 1, (size_t)n + m + 1, stderr);
	errno = saved_errno;
}

void log_line(enum log_level level, const char *file, const char *func,
	      int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_out(level, file, func, line, NULL, fmt, &ap);
	va_end(ap);
}

void log_line_text(enum log_level level, const char *file, const char *func,
		   int line, const char *text)
{
	log_out(level, file, func, line, text, NULL, NULL);
}
