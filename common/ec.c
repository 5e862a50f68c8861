/*
 * common/ec.c: the liberasurecode wrapper (see ec.h). liberasurecode
 * allocates its own fragments and decoded buffers; they are copied into
 * the caller's and handed back at once through its cleanup calls, so no
 * liberasurecode memory outlives a call. Its negative error codes (200+)
 * are mapped to -errno here, the one edge.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <liberasurecode/erasurecode.h>

/* erasurecode.h pulls in syslog.h, whose LOG_* macros log.h's levels reuse */
#undef LOG_ERR
#undef LOG_INFO
#undef LOG_DEBUG
#include "common/ec.h"
#include "common/log.h"

struct ec_codec {
	int desc; /* liberasurecode instance */
	int k, m;
};

static const struct {
	const char *name;
	ec_backend_id_t id;
} ec_types[] = {
	{"liberasurecode_rs_vand", EC_BACKEND_LIBERASURECODE_RS_VAND},
	{"isa_l_rs_vand", EC_BACKEND_ISA_L_RS_VAND},
	{"isa_l_rs_cauchy", EC_BACKEND_ISA_L_RS_CAUCHY},
	{"jerasure_rs_vand", EC_BACKEND_JERASURE_RS_VAND},
	{"jerasure_rs_cauchy", EC_BACKEND_JERASURE_RS_CAUCHY},
};

#define NTYPES ((int)(sizeof(ec_types) / sizeof(ec_types[0])))

/* The index of a known ec_type in ec_types, else -1. */
static int type_of(const char *name)
{
	int i;

	for (i = 0; name && i < NTYPES; i++)
		if (!strcmp(ec_types[i].name, name))
			return i;
	return -1;
}

/* liberasurecode's error codes (negative, some 200+) as -errno. */
static int map_err(int rc)
{
	switch (-rc) {
	case ENOMEM:
		return -ENOMEM;
	case EBACKENDNOTAVAIL:
	case EBACKENDNOTSUPP:
		return -ENOTSUP;
	case EINVALIDPARAMS:
	case EBADHEADER:
	case EINSUFFFRAGS:
	case EBADCHKSUM:
	case EINVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int ec_type_known(const char *ec_type)
{
	return type_of(ec_type) >= 0;
}

int ec_type_available(const char *ec_type)
{
	int t = type_of(ec_type);

	return t >= 0 && liberasurecode_backend_available(ec_types[t].id) > 0;
}

int ec_open(const char *ec_type, int k, int m, struct ec_codec **out)
{
	struct ec_args args = {.k = k, .m = m, .hd = m, .ct = CHKSUM_NONE};
	struct ec_codec *c;
	int t = type_of(ec_type), desc;

	*out = NULL;
	if (t < 0 || k < 1 || m < 1 || k + m > EC_MAX_FRAGS)
		return -EINVAL;
	if (!ec_type_available(ec_type))
		return -ENOTSUP;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	desc = liberasurecode_instance_create(ec_types[t].id, &args);
	if (desc <= 0) {
		log_err("liberasurecode refused %s %d+%d: %d", ec_type, k, m,
			desc);
		free(c);
		return desc < 0 ? map_err(desc) : -EIO;
	}
	c->desc = desc;
	c->k = k;
	c->m = m;
	*out = c;
	return 0;
}

void ec_close(struct ec_codec *c)
{
	if (!c)
		return;
	liberasurecode_instance_destroy(c->desc);
	free(c);
}

int ec_ndata(const struct ec_codec *c)
{
	return c->k;
}

int ec_nparity(const struct ec_codec *c)
{
	return c->m;
}

ssize_t ec_fragment_size(const struct ec_codec *c, size_t len)
{
	int payload;

	if (len > UINT32_MAX / 2)
		return -EINVAL;
	payload = liberasurecode_get_fragment_size(c->desc, (int)len);
	if (payload < 0)
		return map_err(payload);
	return (ssize_t)payload + EC_FRAGMENT_HEADER;
}

int ec_encode(const struct ec_codec *c, const void *data, size_t len,
	      char *const *frags)
{
	char **dfr = NULL, **pfr = NULL;
	uint64_t flen = 0;
	ssize_t want = ec_fragment_size(c, len);
	int i, rc;

	if (want < 0)
		return (int)want;
	rc = liberasurecode_encode(c->desc, len ? data : "", len, &dfr, &pfr,
				   &flen);
	if (rc) {
		log_err("liberasurecode_encode of %zu bytes: %d", len, rc);
		return map_err(rc);
	}
	if (flen != (uint64_t)want) {
		log_err("liberasurecode made %llu-byte fragments, not %zd",
			(unsigned long long)flen, want);
		rc = -EIO;
		goto out;
	}
	for (i = 0; i < c->k; i++)
		memcpy(frags[i], dfr[i], flen);
	for (i = 0; i < c->m; i++)
		memcpy(frags[c->k + i], pfr[i], flen);
out:
	liberasurecode_encode_cleanup(c->desc, dfr, pfr);
	return rc;
}

int ec_decode(const struct ec_codec *c, char *const *frags, int nfrags,
	      size_t frag_len, void *out, size_t outmax, size_t *outlen)
{
	char *data = NULL;
	uint64_t dlen = 0;
	int rc;

	*outlen = 0;
	if (nfrags < c->k || frag_len < EC_FRAGMENT_HEADER)
		return -EINVAL;
	rc = liberasurecode_decode(c->desc, (char **)frags, nfrags, frag_len, 1,
				   &data, &dlen);
	if (rc)
		return map_err(rc);
	if (dlen > outmax) {
		rc = -ENOSPC;
	} else {
		memcpy(out, data, dlen);
		*outlen = dlen;
	}
	liberasurecode_decode_cleanup(c->desc, data);
	return rc;
}

int ec_fragment_index(const char *frag, size_t frag_len)
{
	fragment_metadata_t md;

	if (frag_len < EC_FRAGMENT_HEADER ||
	    liberasurecode_get_fragment_metadata((char *)frag, &md))
		return -EINVAL;
	return md.idx < EC_MAX_FRAGS ? (int)md.idx : -EINVAL;
}
