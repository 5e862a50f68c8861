/*
 * common/md5.c: MD5 with a per-thread EVP context (see md5.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/md5.h"

static EVP_MD *md5_method;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static pthread_key_t md5_ctx_key;

static void md5_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void md5_setup(void)
{
	md5_method = EVP_MD_fetch(NULL, "MD5", NULL);
	pthread_key_create(&md5_ctx_key, md5_ctx_free);
}

int md5_pieces(const struct md5_piece *pieces, int n, uint8_t out[MD5_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int i;

	pthread_once(&md5_once, md5_setup);
	if (!md5_method) {
		log_err("OpenSSL has no MD5 digest");
		return -EIO;
	}
	ctx = pthread_getspecific(md5_ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(md5_ctx_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			log_err("cannot allocate an MD5 context");
			return -ENOMEM;
		}
	}
	if (EVP_DigestInit_ex2(ctx, md5_method, NULL) != 1)
		goto fail;
	for (i = 0; i < n; i++)
		if (pieces[i].len &&
		    EVP_DigestUpdate(ctx, pieces[i].data, pieces[i].len) != 1)
			goto fail;
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != MD5_LEN)
		goto fail;
	return 0;
fail:
	log_err("MD5 digest failed in OpenSSL");
	return -EIO;
}

int md5_buf(const void *data, size_t len, uint8_t out[MD5_LEN])
{
	struct md5_piece p = { data, len };

	return md5_pieces(&p, 1, out);
}

void md5_hex(const uint8_t digest[MD5_LEN], char hex[2 * MD5_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < MD5_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[2 * MD5_LEN] = '\0';
}
