/*
 * common/ec.c: the liberasurecode wrapper (see ec.h). liberasurecode
 * allocates its own fragments and decoded buffers; they are copied into
 * the caller's and handed back at once through its cleanup calls, so no
 * liberasurecode memory outlives a call. Its negative error codes (200+)
 * are mapped to -errno here, the one edge.
 *
 * liberasurecode instances are made once per (ec_type, k, m) and kept for
 * the life of the process, shared by every codec of those parameters:
 * liberasurecode_rs_vand keeps its Galois tables in globals that every
 * instance_create allocates again and every instance_destroy frees, so
 * destroying one of two instances (or one in use by another thread)
 * leaves the other on freed tables and the second destroy frees them
 * twice (seen as "double free or corruption" at a proxy's exit with two
 * EC policies).
 */
#include <errno.h>
#include <pthread.h>
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

/* The process's liberasurecode instances (see the top comment). */
static pthread_mutex_t inst_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int type, k, m, desc;
} insts[64];
static int ninsts;

/* The shared instance of type t (an index of ec_types) for k+m, made on
 * first use: > 0, or liberasurecode's error (<= 0). */
static int instance_of(int t, int k, int m)
{
	struct ec_args args = {.k = k, .m = m, .hd = m, .ct = CHKSUM_NONE};
	int i, desc = 0;

	pthread_mutex_lock(&inst_lock);
	for (i = 0; i < ninsts && !desc; i++)
		if (insts[i].type == t && insts[i].k == k && insts[i].m == m)
			desc = insts[i].desc;
	if (!desc && ninsts < (int)(sizeof(insts) / sizeof(insts[0]))) {
		desc = liberasurecode_instance_create(ec_types[t].id, &args);
		if (desc > 0) {
			insts[ninsts].type = t;
			insts[ninsts].k = k;
			insts[ninsts].m = m;
			insts[ninsts++].desc = desc;
		}
	}
	pthread_mutex_unlock(&inst_lock);
	return desc;
}

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
	desc = instance_of(t, k, m);
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
	free(c); /* its instance stays, shared (see the top comment) */
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

int ec_reconstruct(const struct ec_codec *c, char *const *frags, int nfrags,
		   size_t frag_len, int index, char *out)
{
	int rc;

	if (nfrags < c->k || index < 0 || index >= c->k + c->m ||
	    frag_len < EC_FRAGMENT_HEADER)
		return -EINVAL;
	rc = liberasurecode_reconstruct_fragment(c->desc, (char **)frags,
						 nfrags, frag_len, index, out);
	return rc ? map_err(rc) : 0;
}

int ec_fragment_index(const char *frag, size_t frag_len)
{
	fragment_metadata_t md;

	if (frag_len < EC_FRAGMENT_HEADER ||
	    liberasurecode_get_fragment_metadata((char *)frag, &md))
		return -EINVAL;
	return md.idx < EC_MAX_FRAGS ? (int)md.idx : -EINVAL;
}

/* --- fragment archives --------------------------------------------------- */

struct ec_stream {
	const struct ec_codec *c;
	size_t seg;	/* segment size */
	char *segbuf;	/* a segment being gathered */
	size_t used;	/* bytes in segbuf */
	uint64_t total; /* object bytes taken */
	int finished;
	char *arch[EC_MAX_FRAGS]; /* encoded archive bytes not drained */
	size_t ready, cap;
};

int ec_stream_new(const struct ec_codec *c, size_t segment_size,
		  struct ec_stream **out)
{
	struct ec_stream *s;

	*out = NULL;
	if (!segment_size || segment_size > (1u << 30))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->c = c;
	s->seg = segment_size;
	*out = s;
	return 0;
}

void ec_stream_free(struct ec_stream *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < EC_MAX_FRAGS; i++)
		free(s->arch[i]);
	free(s->segbuf);
	free(s);
}

/* Encode one segment of len bytes onto the end of every archive. */
static int encode_segment(struct ec_stream *s, const void *data, size_t len)
{
	int i, n = s->c->k + s->c->m;
	ssize_t fsz = ec_fragment_size(s->c, len);
	char *frags[EC_MAX_FRAGS], *grown;

	if (fsz < 0)
		return (int)fsz;
	if (s->ready + (size_t)fsz > s->cap) {
		size_t cap = s->ready + (size_t)fsz;

		for (i = 0; i < n; i++) {
			grown = realloc(s->arch[i], cap);
			if (!grown)
				return -ENOMEM;
			s->arch[i] = grown;
		}
		s->cap = cap;
	}
	for (i = 0; i < n; i++)
		frags[i] = s->arch[i] + s->ready;
	i = ec_encode(s->c, data, len, frags);
	if (!i)
		s->ready += (size_t)fsz;
	return i;
}

int ec_stream_write(struct ec_stream *s, const void *data, size_t len)
{
	const char *p = data;
	size_t n;
	int rc = 0;

	if (s->finished)
		return -EINVAL;
	while (!rc && len) {
		if (!s->used && len >= s->seg) {
			/* a whole segment in the caller's buffer: no copy */
			rc = encode_segment(s, p, s->seg);
			n = s->seg;
		} else {
			if (!s->segbuf && !(s->segbuf = malloc(s->seg)))
				return -ENOMEM;
			n = s->seg - s->used < len ? s->seg - s->used : len;
			memcpy(s->segbuf + s->used, p, n);
			s->used += n;
			if (s->used == s->seg) {
				rc = encode_segment(s, s->segbuf, s->seg);
				s->used = 0;
			}
		}
		p += n;
		len -= n;
		s->total += n;
	}
	return rc;
}

int ec_stream_finish(struct ec_stream *s)
{
	int rc = 0;

	if (s->finished)
		return -EINVAL;
	s->finished = 1;
	if (s->used || !s->total)
		rc = encode_segment(s, s->segbuf ? s->segbuf : "", s->used);
	s->used = 0;
	return rc;
}

size_t ec_stream_ready(const struct ec_stream *s)
{
	return s->ready;
}

const char *ec_stream_archive(const struct ec_stream *s, int i)
{
	return i >= 0 && i < s->c->k + s->c->m ? s->arch[i] : NULL;
}

void ec_stream_drain(struct ec_stream *s)
{
	s->ready = 0;
}

int64_t ec_archive_size(const struct ec_codec *c, size_t segment_size,
			uint64_t len)
{
	ssize_t full, last = 0;
	uint64_t rem;

	if (!segment_size)
		return -EINVAL;
	rem = len % segment_size;
	full = ec_fragment_size(c, segment_size);
	if (rem || !len)
		last = ec_fragment_size(c, (size_t)rem);
	if (full < 0 || last < 0)
		return -EINVAL;
	return (int64_t)(len / segment_size) * full + last;
}

int ec_range(const struct ec_codec *c, size_t segment_size, uint64_t len,
	     uint64_t start, uint64_t end, uint64_t *seg_start,
	     uint64_t *seg_end, uint64_t *frag_start, uint64_t *frag_end)
{
	ssize_t fsz = ec_fragment_size(c, segment_size);
	int64_t asize = ec_archive_size(c, segment_size, len);
	uint64_t fe;

	if (fsz < 0 || asize < 0 || start > end || start >= len)
		return -EINVAL;
	*seg_start = start / segment_size * segment_size;
	*seg_end = (end / segment_size + 1) * segment_size - 1;
	*frag_start = *seg_start / segment_size * (uint64_t)fsz;
	fe = (*seg_end + 1) / segment_size * (uint64_t)fsz - 1;
	if (*seg_end > len - 1)
		*seg_end = len - 1;
	*frag_end = fe < (uint64_t)asize - 1 ? fe : (uint64_t)asize - 1;
	return 0;
}
