/*
 * volume/nbd.h: the NBD server (fixed newstyle handshake, structured
 * replies, base:allocation block status, optional TLS), translating the
 * NBD protocol to a struct vol_exports. See nbd.c for the protocol state
 * machine. It knows nothing about volumes.
 */
#ifndef KUMO_VOLUME_NBD_H
#define KUMO_VOLUME_NBD_H

#include "volume/export.h"

struct nbd_server_conf {
	const char *ip; /* address to bind, e.g. "127.0.0.1" */
	int port;	/* 0: any free port (see nbd_server_port) */
	/* TLS (NBD_OPT_STARTTLS): PEM files; NULL cert: no TLS offered. */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;  /* verify client certificates when set */
	int tls_required;    /* refuse every option but STARTTLS before TLS */
	int max_connections; /* beyond it new connections are closed;
			      * 0: 64 */
	int workers;	     /* requests served at once per connection;
			      * 0: 16 */
};

struct nbd_server;

/*
 * Bind and start serving (a listener thread, one thread per connection,
 * each with conf->workers threads running its requests). conf is read
 * here only (the strings may be freed after). exports is copied; its ctx
 * must outlive the server. The process must ignore SIGPIPE (daemon.c
 * does): a client may vanish while a TLS reply is written. 0 with *out
 * set, or -errno (logged): -EINVAL bad address or TLS files, -EADDRINUSE.
 */
int nbd_server_start(const struct nbd_server_conf *conf,
		     const struct vol_exports *exports,
		     struct nbd_server **out);

/* The port bound. */
int nbd_server_port(const struct nbd_server *s);

/* Stop listening, close every connection (their exports are closed), wait
 * for the threads, free. NULL is fine. */
void nbd_server_stop(struct nbd_server *s);

#endif
