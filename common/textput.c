/*
 * common/textput.c: appending text and decimal numbers to a bounded
 * buffer without printf (textput.h).
 */
#include <string.h>

#include "common/textput.h"

int text_put_mem(char **o, const char *end, const char *s, size_t len)
{
	if (len >= (size_t)(end - *o))
		return -1;
	memcpy(*o, s, len);
	*o += len;
	return 0;
}

int text_put(char **o, const char *end, const char *s)
{
	return text_put_mem(o, end, s, strlen(s));
}

int text_put_uint(char **o, const char *end, unsigned long long v, int width)
{
	char d[24];
	int k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || k < width);
	if (k >= end - *o)
		return -1;
	while (k)
		*(*o)++ = d[--k];
	return 0;
}
