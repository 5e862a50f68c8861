/*
 * ring/builder.c: the builder's devices and settings: create, add (with
 * swift-ring-builder's add syntax), search, remove, reweight, and turning a
 * builder into a ring. The rebalance itself is in rebalance.c, the replica
 * plan it follows in plan.c, the builder file in builderfile.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ring/builder.h"
#include "ring/internal.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int builder_create(int part_power, double replicas, int min_part_hours,
		   struct builder **out, char *err, size_t errlen)
{
	struct builder *b;

	if (part_power < 1 || part_power > 32)
		return fail(err, errlen, "part_power must be in 1..32, not %d",
			    part_power);
	if (!(replicas >= 1) || replicas > 64)
		return fail(err, errlen,
			    "replicas must be at least 1 (and at most 64)");
	if (min_part_hours < 0 || min_part_hours > 255)
		return fail(err, errlen, "min_part_hours must be in 0..255");
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->part_power = part_power;
	b->nparts = part_power == 32 ? 0 : 1u << part_power;
	b->replicas = replicas;
	b->min_part_hours = min_part_hours;
	b->dispersion = -1;
	*out = b;
	return 0;
}

static void dev_strings_free(struct builder_dev *d)
{
	free(d->ip);
	free(d->replication_ip);
	free(d->device);
	free(d->meta);
	d->ip = d->replication_ip = d->device = d->meta = NULL;
}

void builder_free(struct builder *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < b->ndevs; i++)
		dev_strings_free(&b->devs[i]);
	free(b->devs);
	for (i = 0; i < b->nrows; i++)
		free(b->rows[i]);
	free(b->rows);
	free(b->row_len);
	free(b->last_part_moves);
	free(b);
}

/* A device name is a single path component: no slash, not . or .. */
static int valid_device_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) < 256;
}

static int valid_ip(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".:-", *s))
			return 0;
	return 1;
}

/* Parse "<ip>:<port>" or "[<ipv6>]:<port>" at s; advance *end. */
static int parse_address(char *s, char **ip, int *port, char **end)
{
	char *p = s, *q;
	long v;

	if (*p == '[') {
		q = strchr(p, ']');
		if (!q)
			return -EINVAL;
		*q = '\0';
		*ip = p + 1;
		p = q + 1;
	} else {
		*ip = p;
		while (*p &&
		       (isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
			p++;
	}
	if (*p != ':')
		return -EINVAL;
	*p++ = '\0';
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	v = strtol(p, &q, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (int)v;
	*end = q;
	return valid_ip(*ip) ? 0 : -EINVAL;
}

static int parse_uint(char **p, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	v = strtol(*p, &end, 10);
	if (v < 0 || v > 1000000)
		return -EINVAL;
	*out = (int)v;
	*p = end;
	return 0;
}

int builder_parse_add(const char *value, struct builder_dev *tmpl,
		      char *scratch, char *err, size_t errlen)
{
	char *p = scratch, *slash, *under;

	memset(tmpl, 0, sizeof(*tmpl));
	strcpy(scratch, value);
	tmpl->region = 1;
	if (*p == 'r') {
		p++;
		if (parse_uint(&p, &tmpl->region))
			goto bad;
	}
	if (*p != 'z')
		goto bad;
	p++;
	if (parse_uint(&p, &tmpl->zone) || *p != '-')
		goto bad;
	p++;
	if (parse_address(p, &tmpl->ip, &tmpl->port, &p))
		goto bad;
	tmpl->replication_ip = tmpl->ip;
	tmpl->replication_port = tmpl->port;
	if (*p == 'R') {
		p++;
		if (parse_address(p, &tmpl->replication_ip,
				  &tmpl->replication_port, &p))
			goto bad;
	}
	if (*p != '/')
		goto bad;
	slash = p;
	under = strchr(slash, '_');
	tmpl->meta = "";
	if (under) {
		*under = '\0';
		tmpl->meta = under + 1;
	}
	tmpl->device = slash + 1;
	if (!valid_device_name(tmpl->device))
		return fail(err, errlen, "Invalid device name in add value: %s",
			    value);
	/* the ip was NUL-terminated by parse_address; restore the '/' cut */
	return 0;
bad:
	return fail(err, errlen,
		    "Invalid add value: %s (expected "
		    "[r<region>]z<zone>-<ip>:<port>[R<ip>:<port>]/<device>"
		    "[_<meta>])",
		    value);
}

int builder_add_dev(struct builder *b, const struct builder_dev *tmpl,
		    char *err, size_t errlen)
{
	struct builder_dev *d, *grown;
	int i, id;

	/* weight 0 is Swift's: a device that holds nothing (yet) */
	if (!(tmpl->weight >= 0) || !isfinite(tmpl->weight))
		return fail(err, errlen,
			    "Invalid weight for %s:%d/%s: must be >= 0",
			    tmpl->ip, tmpl->port, tmpl->device);
	if (tmpl->region < 0 || tmpl->zone < 0)
		return fail(err, errlen, "region and zone must be >= 0");
	for (i = 0; i < b->ndevs; i++) {
		d = &b->devs[i];
		if (d->present && d->port == tmpl->port &&
		    !strcmp(d->ip, tmpl->ip) &&
		    !strcmp(d->device, tmpl->device))
			return fail(err, errlen,
				    "Device %d already uses %s:%d/%s.", d->id,
				    d->ip, d->port, d->device);
	}
	for (id = 0; id < b->ndevs && b->devs[id].present; id++)
		;
	if (id >= RING_MAX_DEVS - 1)
		return fail(err, errlen, "too many devices");
	if (id == b->ndevs) {
		grown = realloc(b->devs, sizeof(*grown) * (size_t)(id + 1));
		if (!grown)
			return -ENOMEM;
		b->devs = grown;
		memset(&b->devs[id], 0, sizeof(*grown));
		b->ndevs++;
	}
	d = &b->devs[id];
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->region = tmpl->region;
	d->zone = tmpl->zone;
	d->port = tmpl->port;
	d->replication_port = tmpl->replication_port;
	d->weight = tmpl->weight;
	d->ip = strdup(tmpl->ip);
	d->replication_ip =
		strdup(tmpl->replication_ip ? tmpl->replication_ip : tmpl->ip);
	d->device = strdup(tmpl->device);
	d->meta = strdup(tmpl->meta ? tmpl->meta : "");
	if (!d->ip || !d->replication_ip || !d->device || !d->meta) {
		dev_strings_free(d);
		return -ENOMEM;
	}
	d->present = 1;
	b->devs_changed = 1;
	b->version++;
	return id;
}

/* Parse digits at *p into *out, or -EINVAL if there are none. */
static int search_num(const char **p, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	v = strtol(*p, &end, 10);
	*out = (int)v;
	*p = end;
	return 0;
}

/* Copy an ip (dotted, or [v6]) at *p into out. */
static void search_ip(const char **p, char *out, size_t outlen)
{
	const char *s = *p, *e;
	size_t n;

	if (*s == '[') {
		e = strchr(s, ']');
		e = e ? e + 1 : s + strlen(s);
		n = (size_t)(e - s - 2 > 0 ? e - s - 2 : 0);
		s++;
	} else {
		e = s;
		while (*e && (isdigit((unsigned char)*e) || *e == '.'))
			e++;
		n = (size_t)(e - s);
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = e;
}

int builder_search(const struct builder *b, const char *value, int *ids,
		   int max)
{
	int id = -1, region = -1, zone = -1, port = -1, rport = -1;
	char ip[256] = "", rip[256] = "", device[256] = "", meta[1024] = "";
	const char *p = value;
	int i, n = 0, any = 0;

	if (*p == 'd') {
		p++;
		if (search_num(&p, &id))
			return -EINVAL;
		any = 1;
	}
	if (*p == 'r') {
		p++;
		if (search_num(&p, &region))
			return -EINVAL;
		any = 1;
	}
	if (*p == 'z') {
		p++;
		if (search_num(&p, &zone))
			return -EINVAL;
		any = 1;
	}
	if (*p == '-')
		p++;
	if (isdigit((unsigned char)*p) || *p == '[') {
		search_ip(&p, ip, sizeof(ip));
		any = 1;
	}
	if (*p == ':') {
		p++;
		if (search_num(&p, &port))
			return -EINVAL;
		any = 1;
	}
	if (*p == 'R') {
		p++;
		if (isdigit((unsigned char)*p) || *p == '[')
			search_ip(&p, rip, sizeof(rip));
		if (*p == ':') {
			p++;
			if (search_num(&p, &rport))
				return -EINVAL;
		}
		any = 1;
	}
	if (*p == '/') {
		const char *e = strchr(p, '_');
		size_t len = e ? (size_t)(e - p - 1) : strlen(p + 1);

		if (len >= sizeof(device))
			return -EINVAL;
		memcpy(device, p + 1, len);
		device[len] = '\0';
		p += 1 + len;
		any = 1;
	}
	if (*p == '_') {
		snprintf(meta, sizeof(meta), "%s", p + 1);
		p += strlen(p);
		any = 1;
	}
	if (*p || !any)
		return -EINVAL;
	for (i = 0; i < b->ndevs; i++) {
		const struct builder_dev *d = &b->devs[i];

		if (!d->present || (id >= 0 && d->id != id) ||
		    (region >= 0 && d->region != region) ||
		    (zone >= 0 && d->zone != zone) ||
		    (*ip && strcmp(d->ip, ip)) ||
		    (port >= 0 && d->port != port) ||
		    (*rip && strcmp(d->replication_ip, rip)) ||
		    (rport >= 0 && d->replication_port != rport) ||
		    (*device && strcmp(d->device, device)) ||
		    (*meta && !strstr(d->meta, meta)))
			continue;
		if (n < max)
			ids[n] = i;
		n++;
	}
	return n;
}

int builder_remove_dev(struct builder *b, int id)
{
	if (id < 0 || id >= b->ndevs || !b->devs[id].present)
		return -ENOENT;
	b->devs[id].removing = 1;
	b->devs[id].weight = 0;
	b->devs_changed = 1;
	b->version++;
	return 0;
}

int builder_set_weight(struct builder *b, int id, double weight)
{
	if (id < 0 || id >= b->ndevs || !b->devs[id].present)
		return -ENOENT;
	/* 0 drains the device: the next rebalance moves every partition off
	 * it (as swift-ring-builder set_weight 0), before it is removed */
	if (!(weight >= 0) || !isfinite(weight))
		return -EINVAL;
	b->devs[id].weight = weight;
	b->devs_changed = 1;
	b->version++;
	return 0;
}

int builder_set_replicas(struct builder *b, double replicas)
{
	if (!(replicas >= 1) || replicas > 64)
		return -EINVAL;
	b->replicas = replicas;
	b->devs_changed = 1;
	b->version++;
	return 0;
}

void builder_pretend_min_part_hours_passed(struct builder *b)
{
	b->last_part_moves_epoch = 0;
	if (b->last_part_moves)
		memset(b->last_part_moves, 0xff, b->nparts);
}

int64_t builder_min_part_seconds_left(const struct builder *b)
{
	int64_t elapsed = (int64_t)time(NULL) - b->last_part_moves_epoch;
	int64_t left = (int64_t)b->min_part_hours * 3600 - elapsed;

	return left > 0 ? left : 0;
}

struct ring *builder_get_ring(const struct builder *b)
{
	struct ring *ring = ring_alloc();
	int i;

	if (!ring)
		return NULL;
	ring->part_power = b->part_power;
	ring->part_shift = 32 - b->part_power;
	ring->nparts = b->nparts;
	ring->version = b->version;
	ring->ndevs = b->ndevs;
	ring->devs = calloc((size_t)b->ndevs + 1, sizeof(*ring->devs));
	ring->rows = calloc((size_t)b->nrows + 1, sizeof(*ring->rows));
	ring->row_len = calloc((size_t)b->nrows + 1, sizeof(*ring->row_len));
	if (!ring->devs || !ring->rows || !ring->row_len)
		goto nomem;
	for (i = 0; i < b->ndevs; i++) {
		const struct builder_dev *s = &b->devs[i];
		struct ring_dev *d;

		if (!s->present)
			continue;
		d = calloc(1, sizeof(*d));
		if (!d)
			goto nomem;
		ring->devs[i] = d;
		d->id = s->id;
		d->region = s->region;
		d->zone = s->zone;
		d->port = s->port;
		d->replication_port = s->replication_port;
		d->weight = s->weight;
		d->ip = strdup(s->ip);
		d->replication_ip = strdup(s->replication_ip);
		d->device = strdup(s->device);
		d->meta = strdup(s->meta);
		if (!d->ip || !d->replication_ip || !d->device || !d->meta)
			goto nomem;
	}
	for (i = 0; i < b->nrows; i++) {
		ring->rows[i] = malloc((size_t)b->row_len[i] * 2 + 2);
		if (!ring->rows[i])
			goto nomem;
		memcpy(ring->rows[i], b->rows[i], (size_t)b->row_len[i] * 2);
		ring->row_len[i] = b->row_len[i];
		ring->nrows = i + 1;
	}
	if (ring_finish(ring, "builder") == 0)
		return ring;
	ring_put(ring);
	errno = EINVAL;
	return NULL;
nomem:
	ring_put(ring);
	errno = ENOMEM;
	return NULL;
}

/* Swift's weight_of_one_part: partition-replicas per unit of weight. */
static double weight_of_one_part(const struct builder *b)
{
	double total = 0;
	int i;

	for (i = 0; i < b->ndevs; i++)
		if (b->devs[i].present)
			total += b->devs[i].weight;
	return total > 0 ? (double)b->nparts * b->replicas / total : 0;
}

double builder_dev_balance(const struct builder *b, int id)
{
	const struct builder_dev *d = &b->devs[id];
	double wop = weight_of_one_part(b);

	if (!d->present)
		return 0;
	if (d->weight <= 0)
		return d->parts ? BUILDER_MAX_BALANCE : 0;
	return 100.0 * d->parts / (d->weight * wop) - 100.0;
}

double builder_balance(const struct builder *b)
{
	double worst = 0;
	int i;

	for (i = 0; i < b->ndevs; i++) {
		double x;

		if (!b->devs[i].present)
			continue;
		x = fabs(builder_dev_balance(b, i));
		if (x > worst)
			worst = x;
	}
	return worst;
}
