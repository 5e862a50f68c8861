/*
 * common/fsutil.c: whole-file reads and atomic, durable writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"

int fs_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	data[got] = '\0'; /* so text files can be used as strings */
	*out = data;
	*len = got;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, dfd = -1, rc;

	if (asprintf(&tmp, "%s.tmpXXXXXX", path) == -1) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		log_err("cannot create a temporary file beside %s: %m", path);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	rc = write_all(fd, data, len);
	if (!rc && fchmod(fd, mode) == -1)
		rc = -errno;
	if (!rc && fsync(fd) == -1)
		rc = -errno;
	if (close(fd) == -1 && !rc)
		rc = -errno;
	fd = -1;
	if (rc) {
		errno = -rc;
		log_err("cannot write %s: %m", tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		rc = -errno;
		log_err("cannot rename %s to %s: %m", tmp, path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	dircopy = strdup(path);
	if (!dircopy) {
		rc = -ENOMEM;
		goto out;
	}
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) == -1) {
		rc = -errno;
		log_err("cannot fsync the directory of %s: %m", path);
	}
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (dfd != -1)
		close(dfd);
	free(dircopy);
	return rc;
}
