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
#include <stdint.h>
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

/*
 * Rebuild the fragment of index (0 .. k+m-1) from nfrags others of one
 * segment (at least k, frag_len bytes each) into out (frag_len bytes): the
 * reconstructor's step for a lost fragment archive. 0, or -EINVAL (too
 * few or bad fragments, bad index), -ENOMEM, -EIO.
 */
int ec_reconstruct(const struct ec_codec *c, char *const *frags, int nfrags,
		   size_t frag_len, int index, char *out);

/* The index (0 .. k+m-1) a fragment's header names, or -EINVAL. */
int ec_fragment_index(const char *frag, size_t frag_len);

/* --- fragment archives (Swift's layout) ------------------------------------
 *
 * An object of len bytes is cut into segments of segment_size bytes (the
 * last one shorter; a 0-byte object is one empty segment), each encoded
 * into k+m fragments; fragment archive i is fragment i of every segment,
 * in order. All fragments of one segment have the same size, so every
 * archive grows by the same bytes. */

struct ec_stream;

/* A streaming encoder of one object into k+m archives (c must outlive
 * it), in *out. 0, -EINVAL (segment_size 0 or over 1 GiB), -ENOMEM. */
int ec_stream_new(const struct ec_codec *c, size_t segment_size,
		  struct ec_stream **out);
void ec_stream_free(struct ec_stream *s);

/* Take len bytes of the object; every segment they complete is encoded
 * and its fragments appended to the archives. 0 or -errno. */
int ec_stream_write(struct ec_stream *s, const void *data, size_t len);

/* The end of the object: the last segment (short, or the empty one of a
 * 0-byte object) is encoded. No write may follow. 0 or -errno. */
int ec_stream_finish(struct ec_stream *s);

/* Bytes of each archive encoded and not yet drained (the same for all),
 * and where archive i's start. ec_stream_drain forgets them. */
size_t ec_stream_ready(const struct ec_stream *s);
const char *ec_stream_archive(const struct ec_stream *s, int i);
void ec_stream_drain(struct ec_stream *s);

/* The size of each fragment archive of an object of len bytes, or
 * -EINVAL. */
int64_t ec_archive_size(const struct ec_codec *c, size_t segment_size,
			uint64_t len);

/*
 * Swift's client_range_to_segment_range and
 * segment_range_to_fragment_range: the segments that hold object bytes
 * [start, end] (inclusive) of an object of len bytes, as object bytes
 * [*seg_start, *seg_end] and as bytes [*frag_start, *frag_end] of every
 * fragment archive (ends clipped to the object and archive). 0, or
 * -EINVAL (start > end, start >= len).
 */
int ec_range(const struct ec_codec *c, size_t segment_size, uint64_t len,
	     uint64_t start, uint64_t end, uint64_t *seg_start,
	     uint64_t *seg_end, uint64_t *frag_start, uint64_t *frag_end);

#endif
