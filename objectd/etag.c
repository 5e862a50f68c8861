/*
 * objectd/etag.c: which hash an object's ETag is of, and that hash of a
 * body.
 *
 * Swift's ETag is the MD5 of the body, and so is every ETag the proxy
 * stores. A PUT with X-Backend-Etag-Hash: xxh3-128 stores the body's
 * XXH3-128 (32 hex digits too) as its ETag instead, and the same name and
 * value in its metadata: kumo-volumed's chunks (objclient.h
 * oc_put_opts.xxh_etag), which live in an internal account no client
 * reaches through the proxy, and which the proxy could not mark anyway
 * (it passes no X-Backend-* header of a client). The client then spends
 * no MD5 pass on the body (XXH3-128 costs ~3% of it), and every check of
 * a body against its ETag (server.c's GET, auditor.c, a replicated file:
 * df_verify_body) takes the hash etag_kind_of names. An erasure-coded
 * archive keeps MD5 (server.c refuses the header there): the
 * reconstructor checks archives by it.
 *
 * A replicated object with an MD5 ETag that the proxy PUT keeps, beside
 * it, the XXH3-128 its body was checked by on arrival (BODY_XXH_META;
 * the proxy hashes each body once, both ways, as it streams it). The two
 * hashes are of the same bytes, so the checks after that (etag_check_of)
 * take the XXH3-128: a whole GET of a large object then costs no MD5
 * pass (the MD5 was two thirds of the object server's CPU per GiB
 * served). Objects stored without it keep being checked by their ETag.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/md5.h"
#include "common/xxh.h"
#include "objectd/internal.h"

int etag_kind_parse(const char *v)
{
	if (!v || !strcasecmp(v, "md5"))
		return ETAG_MD5;
	if (!strcasecmp(v, ETAG_XXH128_NAME))
		return ETAG_XXH128;
	return -EINVAL;
}

int etag_kind_of(const struct objmeta *m)
{
	int kind = etag_kind_parse(objmeta_get(m, ETAG_HASH_HEADER));

	return kind < 0 ? -EILSEQ : kind;
}

int etag_is_hex32(const char *s)
{
	return objd_hex_ok(s, 32);
}

int etag_check_of(const struct objmeta *m, const char **want)
{
	const char *v = objmeta_get(m, BODY_XXH_META);

	if (v && etag_is_hex32(v)) {
		*want = v;
		return ETAG_XXH128;
	}
	*want = objmeta_get(m, "ETag");
	return *want ? etag_kind_of(m) : -EILSEQ;
}

int etag_sum_init(struct etag_sum *s, int kind)
{
	s->kind = kind;
	s->st = kind == ETAG_XXH128 ? xxh128_new() : md5_new();
	return s->st ? 0 : -ENOMEM;
}

int etag_sum_update(struct etag_sum *s, const void *data, size_t len)
{
	if (s->kind == ETAG_XXH128) {
		xxh128_update(s->st, data, len);
		return 0;
	}
	return md5_update(s->st, data, len);
}

int etag_sum_final(struct etag_sum *s, char hex[33])
{
	void *st = s->st;

	s->st = NULL;
	if (s->kind == ETAG_XXH128) {
		xxh128_final(st, hex);
		return 0;
	}
	return md5_final(st, hex);
}

void etag_sum_free(struct etag_sum *s)
{
	if (!s->st)
		return;
	if (s->kind == ETAG_XXH128)
		xxh128_free(s->st);
	else
		md5_free(s->st);
	s->st = NULL;
}

int etag_sum_buf(int kind, const void *data, size_t len, char hex[33])
{
	uint8_t digest[MD5_LEN];
	int rc = 0;

	if (kind == ETAG_XXH128) {
		xxh128_hex(data, len, hex);
	} else {
		rc = md5_buf(data, len, digest);
		if (!rc)
			md5_hex(digest, hex);
	}
	return rc;
}
