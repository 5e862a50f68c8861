/*
 * common/daemon.c: the shared daemon lifecycle (see daemon.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/policy.h"

static int usage(const struct daemon_desc *d)
{
	fprintf(stderr,
		"usage: kumo-%s CONF_FILE [--pidfile FILE] [--port N] "
		"[--once WHAT]\n       kumo-%s --sample\n",
		d->name, d->name);
	return 2;
}

static enum log_level parse_level(const char *s)
{
	if (!strcmp(s, "debug"))
		return LOG_DEBUG;
	if (!strcmp(s, "warn") || !strcmp(s, "warning"))
		return LOG_WARN;
	if (!strcmp(s, "error") || !strcmp(s, "err"))
		return LOG_ERR;
	return LOG_INFO;
}

int daemon_main(const struct daemon_desc *d, int argc, char **argv)
{
	const char *conf_path = NULL, *pidfile = NULL, *once = NULL;
	struct http_server *srv = NULL;
	struct http_server_opts opts;
	char err[512], pid[32];
	void *cfg = NULL, *app = NULL;
	sigset_t sigs;
	int i, sig, port = -1, rc = 1;

	log_init(argv[0], LOG_INFO);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sample")) {
			conf_write_sample(d->conf, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--pidfile") && i + 1 < argc) {
			pidfile = argv[++i];
		} else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--once") && i + 1 < argc) {
			once = argv[++i];
		} else if (argv[i][0] != '-' && !conf_path) {
			conf_path = argv[i];
		} else {
			return usage(d);
		}
	}
	if (!conf_path)
		return usage(d);
	cfg = calloc(1, d->conf_size);
	if (!cfg)
		return 1;
	if (conf_load(conf_path, d->conf, cfg, err, sizeof(err))) {
		fprintf(stderr, "kumo-%s: %s\n", d->name, err);
		goto out;
	}
	/* the storage policies sit beside [swift-hash], in the same file */
	if (policy_load(conf_path, err, sizeof(err))) {
		fprintf(stderr, "kumo-%s: %s: %s\n", d->name, conf_path, err);
		goto out;
	}
	if (port >= 0)
		*(long long *)((char *)cfg + d->port_offset) = port;
	log_init(argv[0], parse_level((char *)cfg + d->log_level_offset));
	if (d->start && d->start(cfg, &app)) {
		log_err("kumo-%s: startup failed", d->name);
		goto out;
	}
	if (once) {
		rc = d->once ? d->once(app, once) : 2;
		if (!d->once)
			fprintf(stderr, "kumo-%s: no --once jobs\n", d->name);
		goto stop;
	}

	/* signals are taken by sigwait below; threads inherit the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&opts, 0, sizeof(opts));
	opts.ip = (char *)cfg + d->ip_offset;
	opts.port = (int)*(long long *)((char *)cfg + d->port_offset);
	opts.route = d->route;
	opts.app = app;
	opts.log_name = d->name;
	opts.drain_early = d->drain_early;
	opts.conn_memory = d->conn_memory;
	if (http_server_start(&opts, &srv))
		goto stop;
	/* multi-threaded from here: connections run in their own threads */
	log_info("kumo-%s listening on %s:%d", d->name, opts.ip,
		 http_server_port(srv));
	if (d->serving && d->serving(app)) {
		log_err("kumo-%s: background jobs failed to start", d->name);
		goto stop;
	}
	if (pidfile) {
		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (fs_write_atomic(pidfile, pid, strlen(pid), 0644))
			goto stop;
	}
	do {
		if (sigwait(&sigs, &sig))
			break;
	} while (sig != SIGTERM && sig != SIGINT);
	log_info("kumo-%s stopping on signal %d", d->name, sig);
	rc = 0;
stop:
	http_server_stop(srv);
	if (d->stop)
		d->stop(app);
	if (pidfile && !once)
		unlink(pidfile);
out:
	conf_free(d->conf, cfg); /* lists a failed start has not freed */
	free(cfg);
	return rc;
}
