/*
 * common/log.h: the one logging API of kumo.
 *
 * log_err/log_warn/log_info/log_debug add the file, function and line of
 * the caller. The level is checked before any argument is evaluated, errno
 * is preserved across the call so that "%m" works, and a line looks like
 *   2025-01-02T03:04:05.678Z kumo-ring[812] ERR ringfile.c:ring_load:212 msg
 * Lines go to stderr; daemons redirect it where they want.
 */
#ifndef KUMO_COMMON_LOG_H
#define KUMO_COMMON_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_current_level;

/* Set the program name printed on every line; the string is not copied. */
void log_init(const char *progname, enum log_level level);

/* Print one line; use the macros below rather than this. Keeps errno. */
void log_line(enum log_level level, const char *file, const char *func,
	      int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Print one line whose message is text, as log_line(..., "%s", text) would,
 * without printf (the access log line of every request). Keeps errno. */
void log_line_text(enum log_level level, const char *file, const char *func,
		   int line, const char *text);

#define LOG_AT(lvl, ...)                                              \
	do {                                                          \
		if ((lvl) <= log_current_level)                       \
			log_line((lvl), __FILE__, __func__, __LINE__, \
				 __VA_ARGS__);                        \
	} while (0)

#define log_err(...)   LOG_AT(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#define log_info_text(text)                                                   \
	do {                                                                  \
		if (LOG_INFO <= log_current_level)                            \
			log_line_text(LOG_INFO, __FILE__, __func__, __LINE__, \
				      (text));                                \
	} while (0)

#endif
