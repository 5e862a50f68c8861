/*
 * status/progress.c: the progress display of kumo-status, on stderr so
 * that stdout holds only the report. On a terminal one line is redrawn in
 * place (at most ten times a second); otherwise a line is printed when a
 * phase begins, every two seconds while it runs, and when it ends, so a
 * log of a long run still shows it moving. One phase at a time; the
 * program's only thread.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/timestamp.h"
#include "status/internal.h"

static struct {
	const char *what;
	size_t total, done;
	int tty, quiet, active;
	double last, begin;
} p;

static void draw(int force)
{
	double t = clock_mono_s();

	if (p.quiet || !p.active)
		return;
	if (!force && t - p.last < (p.tty ? 0.1 : 2.0))
		return;
	p.last = t;
	if (p.tty)
		fprintf(stderr, "\r\033[K%s: %zu/%zu (%.0f%%) %.1fs", p.what,
			p.done, p.total,
			p.total ? 100.0 * (double)p.done / (double)p.total
				: 100.0,
			t - p.begin);
	else
		fprintf(stderr, "%s: %zu/%zu\n", p.what, p.done, p.total);
	fflush(stderr);
}

void progress_begin(const char *what, size_t total, int quiet)
{
	p.what = what;
	p.total = total;
	p.done = 0;
	p.quiet = quiet;
	p.tty = isatty(STDERR_FILENO);
	p.active = 1;
	p.begin = clock_mono_s();
	p.last = 0;
	draw(1);
}

void progress_step(size_t done)
{
	p.done = done;
	draw(0);
}

void progress_end(void)
{
	if (!p.active)
		return;
	if (!p.quiet) {
		if (p.tty)
			fprintf(stderr, "\r\033[K");
		else
			fprintf(stderr, "%s: %zu/%zu done in %.1fs\n", p.what,
				p.done, p.total, clock_mono_s() - p.begin);
		fflush(stderr);
	}
	p.active = 0;
}

void progress_cb(void *arg, size_t done, size_t total)
{
	(void)arg;
	(void)total;
	progress_step(done);
}
