/*
 * tests/unit/lib/aiofix.h: a real cluster for unit tests that need one
 * (the volume core, the internal client): bin/kumo-aio from $KUMO_BIN in
 * a temporary directory on a free block of loopback ports, as
 * tests/lib/cluster.sh starts it, and a struct cluster on its rings.
 *
 * Use from Criterion's ReportHook(PRE_ALL) / ReportHook(POST_ALL): the
 * runner process starts one cluster for the whole binary and tells the
 * test processes where it is through the environment (AIOFIX_DIR), so
 * every test opens a client with aiofix_cluster(). Tests share the
 * cluster: each uses names of its own.
 */
#ifndef KUMO_TESTS_AIOFIX_H
#define KUMO_TESTS_AIOFIX_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cluster.h"

static pid_t aiofix_pid;
static char aiofix_dir[256];

/* Non-zero when n ports from base all bind on 127.0.0.1. */
static inline int aiofix_ports_free(int base, int n)
{
	int i, ok = 1, fds[8];

	for (i = 0; i < n; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)(base + i)),
					.sin_addr.s_addr = htonl(0x7f000001)};

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] == -1 ||
		    bind(fds[i], (struct sockaddr *)&a, sizeof(a)) == -1) {
			ok = 0;
			i++;
			break;
		}
	}
	while (i-- > 0)
		if (fds[i] != -1)
			close(fds[i]);
	return ok;
}

/* Up when the welcome (printed after every daemon answered) is out. */
static inline int aiofix_up(const char *out)
{
	char buf[8192];
	ssize_t n;
	int fd = open(out, O_RDONLY);

	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, "swift -A") != NULL;
}

/* Fork kumo-aio on ports base.. (proxy, 3 servers, volume API, NBD) and
 * wait for its welcome. 0, or -1 when it exited. */
static inline int aiofix_launch(const char *exe, const char *out, int base,
				int volume_ports)
{
	char port[16], vport[16], nport[16];
	int i, fd;

	snprintf(port, sizeof(port), "%d", base);
	snprintf(vport, sizeof(vport), "%d", base + 4);
	snprintf(nport, sizeof(nport), "%d", base + 5);
	aiofix_pid = fork();
	if (aiofix_pid == 0) {
		char err[300];

		snprintf(err, sizeof(err), "%s/aio.err", aiofix_dir);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		if (volume_ports)
			execl(exe, exe, "--dir", aiofix_dir, "--proxy-port",
			      port, "--volume-port", vport, "--nbd-port", nport,
			      (char *)NULL);
		else
			execl(exe, exe, "--dir", aiofix_dir, "--proxy-port",
			      port, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600 && !aiofix_up(out); i++) {
		if (waitpid(aiofix_pid, NULL, WNOHANG) == aiofix_pid)
			return -1;
		usleep(100000);
	}
	return 0;
}

/* Start kumo-aio; exits the runner when it cannot. */
static inline void aiofix_start(void)
{
	const char *bin = getenv("KUMO_BIN");
	char exe[512], out[300];
	int i, base = 0;

	if (!bin)
		bin = "bin";
	snprintf(exe, sizeof(exe), "%s/kumo-aio", bin);
	snprintf(aiofix_dir, sizeof(aiofix_dir), "/tmp/kumo-aiofix.XXXXXX");
	if (!mkdtemp(aiofix_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (i = 0; i < 200 && !base; i++) {
		int p = 10000 + rand() % 22000; /* below the ephemeral ports */

		if (aiofix_ports_free(p, 6))
			base = p;
	}
	snprintf(out, sizeof(out), "%s/aio.out", aiofix_dir);
	/* a kumo-aio without the volume service refuses --volume-port */
	for (i = 0; i < 2; i++) {
		if (aiofix_launch(exe, out, base, !i) == 0)
			break;
	}
	if (!aiofix_up(out)) {
		fprintf(stderr, "aiofix: %s did not start\n", exe);
		kill(aiofix_pid, SIGKILL);
		exit(1);
	}
	setenv("AIOFIX_DIR", aiofix_dir, 1);
}

/* Stop kumo-aio (SIGTERM, then SIGKILL after 10 s) and remove its data. */
static inline void aiofix_stop(void)
{
	char cmd[400];
	int i;

	if (aiofix_pid <= 0)
		return;
	kill(aiofix_pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(aiofix_pid, NULL, WNOHANG) == aiofix_pid)
			break;
		usleep(100000);
	}
	if (i == 100) {
		kill(aiofix_pid, SIGKILL);
		waitpid(aiofix_pid, NULL, 0);
	}
	aiofix_pid = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", aiofix_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "aiofix: cannot remove %s\n", aiofix_dir);
}

/* A client of the running cluster (in a test process), or NULL. */
static inline struct cluster *aiofix_cluster(void)
{
	const char *dir = getenv("AIOFIX_DIR");
	char rings[300], path[300], suffix[128] = "";
	struct cluster_conf conf = {0};
	struct cluster *c = NULL;
	FILE *f;

	if (!dir)
		return NULL;
	snprintf(rings, sizeof(rings), "%s/rings", dir);
	snprintf(path, sizeof(path), "%s/hash_suffix", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (!fgets(suffix, sizeof(suffix), f))
		suffix[0] = '\0';
	fclose(f);
	suffix[strcspn(suffix, "\n")] = '\0';
	conf.swift_dir = rings;
	conf.hash_prefix = "";
	conf.hash_suffix = suffix;
	conf.conn_timeout = 2;
	conf.node_timeout = 20;
	conf.error_suppression_limit = 10;
	conf.error_suppression_interval = 60;
	if (cluster_open(&conf, &c))
		return NULL;
	return c;
}

#endif
