/*
 * aio/main.c: bin/kumo-aio, the all-in-one cluster on 127.0.0.1 (startup
 * only): a proxy on PORT (8080) and object, container and account servers
 * on PORT+1..PORT+3, each serving four devices, and the volume service
 * (kumo-volumed: the Cinder-style API on VPORT, 8776, and NBD exports on
 * NPORT, 10809), all data under DIR (./var/aio).
 *
 *   kumo-aio [--dir DIR] [--proxy-port PORT] [--volume-port VPORT]
 *            [--nbd-port NPORT]
 *
 * Runs in the foreground until Ctrl-C or SIGTERM, which stop every daemon
 * cleanly; data persists across restarts.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aio/internal.h"
#include "common/log.h"

static void usage(void)
{
	fprintf(stderr, "usage: kumo-aio [--dir DIR] [--proxy-port PORT] "
			"[--volume-port PORT] [--nbd-port PORT]\n");
}

static void print_welcome(const struct aio *aio)
{
	int p = aio->proxy_port;

	printf("kumo all-in-one cluster: proxy on http://127.0.0.1:%d, "
	       "storage servers on %d-%d, data in %s\n\n"
	       "Try it with the swift client:\n"
	       "  swift -A http://127.0.0.1:%d/auth/v1.0 -U test:tester "
	       "-K testing stat\n"
	       "  swift -A http://127.0.0.1:%d/auth/v1.0 -U test:tester "
	       "-K testing upload photos README.md\n"
	       "  swift -A http://127.0.0.1:%d/auth/v1.0 -U test:tester "
	       "-K testing list photos\n"
	       "  swift -A http://127.0.0.1:%d/auth/v1.0 -U test:tester "
	       "-K testing download photos README.md -o /tmp/README.md\n\n"
	       "or with curl:\n"
	       "  curl -i -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: "
	       "testing' http://127.0.0.1:%d/auth/v1.0\n"
	       "  curl -H \"X-Auth-Token: $TOKEN\" -T README.md "
	       "http://127.0.0.1:%d/v1/AUTH_test/photos/README.md\n"
	       "  curl -H \"X-Auth-Token: $TOKEN\" "
	       "http://127.0.0.1:%d/v1/AUTH_test/photos\n\n"
	       "Block volumes (the Cinder v3 API, the same tokens) on "
	       "http://127.0.0.1:%d/v3/AUTH_test, NBD exports on port %d:\n"
	       "  curl -H \"X-Auth-Token: $TOKEN\" -d "
	       "'{\"volume\": {\"size\": 1}}' "
	       "http://127.0.0.1:%d/v3/AUTH_test/volumes\n\n"
	       "Ctrl-C stops the cluster.\n",
	       p, p + 1, p + 3, aio->dir, p, p, p, p, p, p, p, aio->volume_port,
	       aio->nbd_port, aio->volume_port);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct aio aio = {
		.proxy_port = 8080, .volume_port = 8776, .nbd_port = 10809};
	const char *dir = "var/aio";
	char self[PATH_MAX], abs[PATH_MAX];
	sigset_t sigs;
	ssize_t n;
	int i, rc;

	log_init(argv[0], LOG_INFO);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--proxy-port") && i + 1 < argc) {
			aio.proxy_port = atoi(argv[++i]);
			if (aio.proxy_port < 1 || aio.proxy_port > 65532) {
				fprintf(stderr, "kumo-aio: bad port %s\n",
					argv[i]);
				return 2;
			}
		} else if ((!strcmp(argv[i], "--volume-port") ||
			    !strcmp(argv[i], "--nbd-port")) &&
			   i + 1 < argc) {
			int port = atoi(argv[i + 1]);

			if (port < 1 || port > 65535) {
				fprintf(stderr, "kumo-aio: bad port %s\n",
					argv[i + 1]);
				return 2;
			}
			if (!strcmp(argv[i++], "--volume-port"))
				aio.volume_port = port;
			else
				aio.nbd_port = port;
		} else {
			usage();
			return 2;
		}
	}
	if (!realpath(dir, abs)) {
		rc = aio_mkdir_p(dir);
		if (rc) {
			fprintf(stderr, "kumo-aio: cannot create %s: %s\n", dir,
				strerror(-rc));
			return 1;
		}
		if (!realpath(dir, abs))
			return 1;
	}
	snprintf(aio.dir, sizeof(aio.dir), "%s", abs);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	snprintf(aio.bin, sizeof(aio.bin), "%s", dirname(self));

	/* signals are taken by sigwait; children unblock them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	if (aio_prepare(&aio))
		return 1;
	{
		struct aio_child kids[] = {
			{"account", "kumo-accountd", aio.proxy_port + 3, 0},
			{"container", "kumo-containerd", aio.proxy_port + 2, 0},
			{"object", "kumo-objectd", aio.proxy_port + 1, 0},
			{"proxy", "kumo-proxy", aio.proxy_port, 0},
			/* after the proxy: it checks tokens there */
			{"volume", "kumo-volumed", aio.volume_port, 0},
		};
		int nkids = (int)(sizeof(kids) / sizeof(kids[0]));

		if (aio_start(&aio, kids, nkids))
			return 1;
		print_welcome(&aio);
		rc = aio_supervise(kids, nkids);
	}
	return rc ? 1 : 0;
}
