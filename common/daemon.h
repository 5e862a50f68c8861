/*
 * common/daemon.h: the startup and shutdown every kumo daemon shares.
 *
 * part/main.c fills a struct daemon_desc and calls daemon_main, which does,
 * in order: argv → config (conf_load against the daemon's table) → log
 * level → start(cfg) → bind and serve → pidfile → wait for SIGTERM/SIGINT
 * → stop serving → stop(app) → remove pidfile. Exit status 0 after a clean
 * SIGTERM, 1 when startup fails (with a message naming the cause), 2 for a
 * usage error.
 *
 *   kumo-<part> CONF_FILE [--pidfile FILE] [--port N] [--once WHAT]
 *   kumo-<part> --sample          print the documented sample config
 */
#ifndef KUMO_COMMON_DAEMON_H
#define KUMO_COMMON_DAEMON_H

#include <stddef.h>

#include "common/config.h"
#include "common/http.h"

struct daemon_desc {
	const char *name;	     /* e.g. "object-server" */
	const struct conf_key *conf; /* its keys, NULL-name terminated */
	size_t conf_size;	     /* sizeof its config struct */
	size_t ip_offset;	     /* of bind_ip (CONF_STR) */
	size_t port_offset;	     /* of bind_port (CONF_INT) */
	size_t log_level_offset;     /* of log_level (CONF_STR) */
	/* After the config is loaded; sets *app for the routes. 0 or -errno. */
	int (*start)(void *cfg, void **app);
	http_route_fn route;
	/* After serving stopped. */
	void (*stop)(void *app);
	/* --once WHAT: run one pass of a background job and exit (0/1). */
	int (*once)(void *app, const char *what);
	/* Optional, not called with --once: serving has begun; start the
	 * background jobs (updaters) here. 0 or -errno (startup fails). */
	int (*serving)(void *app);
	int drain_early;    /* http_server_opts' */
	size_t conn_memory; /* http_server_opts' */
};

int daemon_main(const struct daemon_desc *d, int argc, char **argv);

#endif
