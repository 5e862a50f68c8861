/*
 * common/fsutil.h: whole-file reads and crash-safe whole-file writes.
 *
 * fs_write_atomic follows the one durable-write state machine of kumo:
 *
 *   (absent|old) --mkstemp--> tmp --write+fsync--> synced tmp
 *        --rename--> new in place --fsync(dir)--> durable
 *
 * Invariants: 1. a reader of <path> sees the old or the new bytes, never a
 * mix or a prefix; 2. on any error the tmp file is removed and <path> is
 * untouched; 3. success is returned only after the directory is fsynced.
 */
#ifndef KUMO_COMMON_FSUTIL_H
#define KUMO_COMMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read the whole of path into a malloc'd buffer (*out, owned by the caller)
 * of *len bytes, followed by a NUL that *len does not count. Fails with -EFBIG past max bytes, or -errno of open/read.
 */
int fs_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/* Replace path with len bytes durably (see above). 0 or -errno, logged. */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode);

#endif
