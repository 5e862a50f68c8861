/*
 * common/ec.h: erasure coding of one segment through liberasurecode, as
 * Swift's ECStoragePolicy uses PyECLib: a segment of up to
 * ec_object_segment_size bytes becomes k data + m parity fragments, each
 * a liberasurecode fragment (an 80-byte header, then the payload), and
 * any k of them give the segment back. Fragment i goes to the i-th
 * primary of the policy's ring (Swift's X-Object-Sysmeta-Ec-Frag-Index).
 *
 * ec_types kumo knows: liberasurecode_rs_vand (built into liberasurecode,
 * always there), isa_l_rs_vand and isa_l_rs_cauchy (libisal2),
 * jerasure_rs_vand and jerasure_rs_cauchy (libjerasure2); the last four
 * are loaded by liberasurecode at run time, so ec_type_available says
 * whether this machine has them. Fragments carry no checksum (as Swift's
 * default); the object's ETag covers the whole body.
 *
 * Threads: a struct ec_codec may be used by any number of threads at once
 * (liberasurecode keeps no per-call state in the instance).
 */
#ifndef KUMO_COMMON_EC_H
#define KUMO_COMMON_EC_H

#include <stddef.h>
#include <sys/types.h>

/* Swift's ec_object_segment_size default. */
#define EC_DEFAULT_SEGMENT_SIZE 1048576
/* Most data or parity fragments (liberasurecode's EC_MAX_FRAGS). */
#define EC_MAX_FRAGS 32
/* Bytes of liberasurecode's header at the start of each fragment. */
#define EC_FRAGMENT_HEADER 80
/* The ec_type names, for messages. */
#define EC_TYPES_LIST                                              \
	"liberasurecode_rs_vand, isa_l_rs_vand, isa_l_rs_cauchy, " \
	"jerasure_rs_vand, jerasure_rs_cauchy"

struct ec_codec;

/* Non-zero when ec_type is one of EC_TYPES_LIST. */
int ec_type_known(const char *ec_type);

/* Non-zero when ec_type is known and its backend loads on this machine. */
int ec_type_available(const char *ec_type);

/*
 * A codec of ec_type for k data and m parity fragments (k + m at most
 * EC_MAX_FRAGS) in *out, owned by the caller (ec_close). 0, or
 * -EINVAL (unknown ec_type, bad k or m), -ENOTSUP (backend not loadable),
 * -EIO (liberasurecode refused the parameters).
 */
int ec_open(const char *ec_type, int k, int m, struct ec_codec **out);

/* Free a codec; NULL is fine. No call may be using it. */
void ec_close(struct ec_codec *c);

/* k and m of a codec. */
int ec_ndata(const struct ec_codec *c);
int ec_nparity(const struct ec_codec *c);

/* The size of each fragment (header included) of a segment of len bytes,
 * or -EINVAL (len beyond 4 GiB). */
ssize_t ec_fragment_size(const struct ec_codec *c, size_t len);

/*
 * Encode len bytes of data (len 0 is allowed: fragments of headers only,
 * as Swift stores a zero-byte object) into frags[0 .. k+m-1], caller
 * buffers of ec_fragment_size(c, len) bytes each: k data fragments, then
 * m parity. 0, or -EINVAL, -ENOMEM, -EIO.
 */
int ec_encode(const struct ec_codec *c, const void *data, size_t len,
	      char *const *frags);

/*
 * The segment from nfrags fragments of frag_len bytes each (any k or more
 * distinct ones of one encode, in any order) into out (outmax bytes),
 * its length in *outlen. 0, or -EINVAL (fewer than k fragments, bad or
 * mismatched ones), -ENOSPC (outmax too small), -ENOMEM.
 */
int ec_decode(const struct ec_codec *c, char *const *frags, int nfrags,
	      size_t frag_len, void *out, size_t outmax, size_t *outlen);

/* The index (0 .. k+m-1) a fragment's header names, or -EINVAL. */
int ec_fragment_index(const char *frag, size_t frag_len);

#endif
