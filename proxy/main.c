/*
 * proxy/main.c: bin/kumo-proxy, the Swift v1 API in front of the storage
 * servers. Startup only: the config table, routes and controllers are in
 * the other files of proxy/ (see internal.h).
 */
#include <stddef.h>

#include "common/daemon.h"
#include "proxy/internal.h"

int main(int argc, char **argv)
{
	const struct daemon_desc d = {
		.name = "proxy",
		.conf = proxy_conf_table,
		.conf_size = sizeof(struct proxy_conf),
		.ip_offset = offsetof(struct proxy_conf, bind_ip),
		.port_offset = offsetof(struct proxy_conf, bind_port),
		.log_level_offset = offsetof(struct proxy_conf, log_level),
		.start = proxy_start,
		.route = proxy_route,
		.stop = proxy_stop,
	};

	return daemon_main(&d, argc, argv);
}
