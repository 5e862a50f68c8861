/*
 * aio/supervise.c: starting, watching and stopping the all-in-one
 * cluster's daemons.
 *
 *   start: fork+exec each child in turn, wait for its /healthcheck
 *   run:   sigwait for SIGTERM/SIGINT (stop) or SIGCHLD (a child died)
 *   stop:  SIGTERM to every child, in reverse order; SIGKILL after 10 s
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aio/internal.h"
#include "common/log.h"

/* Does 127.0.0.1:port answer GET /healthcheck with 200? */
static int healthy(int port)
{
	static const char req[] = "GET /healthcheck HTTP/1.0\r\n\r\n";
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char reply[64] = "";
	int fd, ok = 0;
	ssize_t n;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
		n = read(fd, reply, sizeof(reply) - 1);
		if (n > 0) {
			reply[n] = '\0';
			ok = strstr(reply, " 200 ") != NULL;
		}
	}
	close(fd);
	return ok;
}

static void stop_children(struct aio_child *kids, int n)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	int i, tries, status;

	for (i = n - 1; i >= 0; i--)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	for (tries = 0; tries < 200; tries++) {
		int alive = 0;

		for (i = 0; i < n; i++) {
			if (kids[i].pid <= 0)
				continue;
			if (waitpid(kids[i].pid, &status, WNOHANG) ==
			    kids[i].pid) {
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					log_warn("%s exited with status %d",
						 kids[i].name, status);
				kids[i].pid = 0;
			} else {
				alive++;
			}
		}
		if (!alive)
			return;
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < n; i++)
		if (kids[i].pid > 0) {
			log_err("%s did not stop on SIGTERM; killing it",
				kids[i].name);
			kill(kids[i].pid, SIGKILL);
			waitpid(kids[i].pid, &status, 0);
			kids[i].pid = 0;
		}
}

int aio_start(const struct aio *aio, struct aio_child *kids, int n)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	char prog[4300], pidfile[4300];
	sigset_t none;
	int i, tries, status;

	sigemptyset(&none);
	for (i = 0; i < n; i++) {
		snprintf(prog, sizeof(prog), "%s/%s", aio->bin, kids[i].prog);
		snprintf(pidfile, sizeof(pidfile), "%s/run/%s.pid", aio->dir,
			 kids[i].name);
		if (access(prog, X_OK) != 0) {
			log_err("%s is missing: build it with make", prog);
			goto fail;
		}
		kids[i].pid = fork();
		if (kids[i].pid == -1) {
			log_err("cannot fork for %s: %m", kids[i].name);
			goto fail;
		}
		if (kids[i].pid == 0) {
			sigprocmask(SIG_SETMASK, &none, NULL);
			execl(prog, prog, aio->conf, "--pidfile", pidfile,
			      (char *)NULL);
			_exit(127);
		}
		for (tries = 0; tries < 200 && !healthy(kids[i].port);
		     tries++) {
			if (waitpid(kids[i].pid, &status, WNOHANG) ==
			    kids[i].pid) {
				kids[i].pid = 0;
				log_err("%s exited at startup (status %d)",
					kids[i].name, status);
				goto fail;
			}
			nanosleep(&pause, NULL);
		}
		if (tries == 200) {
			log_err("%s did not answer on port %d", kids[i].name,
				kids[i].port);
			goto fail;
		}
	}
	return 0;
fail:
	stop_children(kids, n);
	return -ECHILD;
}

int aio_supervise(struct aio_child *kids, int n)
{
	sigset_t sigs;
	int sig, i, status;
	pid_t pid;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig != SIGCHLD)
			break;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (kids[i].pid == pid) {
					log_err("%s died (status %d); stopping "
						"the cluster",
						kids[i].name, status);
					kids[i].pid = 0;
					stop_children(kids, n);
					return -ECHILD;
				}
	}
	log_info("stopping the cluster (signal %d)", sig);
	stop_children(kids, n);
	return 0;
}
