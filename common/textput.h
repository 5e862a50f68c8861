/*
 * common/textput.h: appending text and decimal numbers to a bounded
 * buffer without printf, for lines built on every request (the access
 * log, backend URLs and header lines). One formatter for all of them.
 */
#ifndef KUMO_COMMON_TEXTPUT_H
#define KUMO_COMMON_TEXTPUT_H

#include <stddef.h>

/* Append the len bytes at s at *o (which stays before end, room for a NUL
 * left): 0, or -1 when they do not fit (*o unchanged). */
int text_put_mem(char **o, const char *end, const char *s, size_t len);
/* text_put_mem of the string s. */
int text_put(char **o, const char *end, const char *s);
/* Append v in decimal, zero-padded to width digits. 0 or -1 as above. */
int text_put_uint(char **o, const char *end, unsigned long long v, int width);

#endif
