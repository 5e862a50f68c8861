/*
 * status/nodes.c: every storage server of the rings asked for its recon
 * figures (common/recon.c answers them as Swift's recon middleware does),
 * all at once, and the cluster summary made of the answers.
 *
 * A server is the (ip, port) of ring devices of one ring; it is "up" when
 * it answers /recon/diskusage with a JSON list. Each kind of figure is
 * summed only over the servers of its own type (objects quarantined from
 * object servers, containers from container servers, ...), so servers
 * sharing a devices folder (the all-in-one cluster) are not counted
 * twice.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status/internal.h"

static const char *const types[3] = {"account", "container", "object"};

/* The checks asked of a server of type t; NULL-ended. */
static int checks_of(int t, const char *out[8])
{
	int n = 0;

	out[n++] = "diskusage";
	out[n++] = "unmounted";
	out[n++] = "quarantined";
	out[n++] = t == 0   ? "replication/account"
		   : t == 1 ? "replication/container"
			    : "replication/object";
	out[n++] = t == 0   ? "auditor/account"
		   : t == 1 ? "auditor/container"
			    : "auditor/object";
	if (t == 2)
		out[n++] = "async";
	out[n] = NULL;
	return n;
}

struct server {
	int type;
	const char *ip;
	int port;
	json_t *ring_devs; /* names of its devices in the ring */
};

/* The distinct servers of the rings, in ring order. */
static struct server *servers_of(struct ring *const rings[3], int *count)
{
	struct server *s = NULL, *grown;
	int n = 0, t, d, i;

	for (t = 0; t < 3; t++) {
		if (!rings[t])
			continue;
		for (d = 0; d < rings[t]->ndevs; d++) {
			struct ring_dev *dev = rings[t]->devs[d];

			if (!dev)
				continue;
			for (i = 0; i < n; i++)
				if (s[i].type == t && s[i].port == dev->port &&
				    !strcmp(s[i].ip, dev->ip))
					break;
			if (i == n) {
				grown = realloc(s,
						sizeof(*s) * (size_t)(n + 1));
				if (!grown)
					goto fail;
				s = grown;
				s[n].type = t;
				s[n].ip = dev->ip;
				s[n].port = dev->port;
				s[n].ring_devs = json_array();
				n++;
			}
			json_array_append_new(s[i].ring_devs,
					      json_string(dev->device));
		}
	}
	*count = n;
	return s;
fail:
	for (i = 0; i < n; i++)
		json_decref(s[i].ring_devs);
	free(s);
	*count = -1;
	return NULL;
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

json_t *nodes_report(struct ring *const rings[3], const struct status_opts *o,
		     int *down)
{
	const char *checks[8];
	struct fetch *f = NULL;
	struct server *s;
	json_t *list = json_array(), *summary = json_object(), *out = NULL;
	json_t *bytype[3];
	int n, i, t, nreq = 0, k;
	size_t r;
	double now_s = (double)time(NULL);

	*down = 0;
	s = servers_of(rings, &n);
	if (n < 0 || !list || !summary)
		goto out;
	for (i = 0; i < n; i++)
		nreq += checks_of(s[i].type, checks);
	f = calloc((size_t)(nreq ? nreq : 1), sizeof(*f));
	if (!f)
		goto out;
	r = 0;
	for (i = 0; i < n; i++) {
		checks_of(s[i].type, checks);
		for (k = 0; checks[k]; k++, r++) {
			f[r].method = "GET";
			if (asprintf(&f[r].url, "http://%s:%d/recon/%s",
				     s[i].ip, s[i].port, checks[k]) < 0)
				goto out;
		}
	}
	progress_begin("asking the storage servers", (size_t)nreq, o->quiet);
	fetch_all(f, (size_t)nreq, 32, o->conn_timeout, o->timeout, progress_cb,
		  NULL);
	progress_end();

	for (t = 0; t < 3; t++) {
		bytype[t] = json_pack(
			"{s:i,s:i,s:i,s:I,s:I,s:n,s:n,s:n,s:I,s:I,s:I,s:I}",
			"servers", 0, "up", 0, "devices", 0, "size", 0, "used",
			0, "replication_oldest", "replication_newest",
			"replication_time_max", "replication_failures", 0,
			"quarantined", 0, "async_pending", 0, "unmounted", 0);
		json_object_set_new(summary, types[t], bytype[t]);
	}
	r = 0;
	for (i = 0; i < n; i++) {
		json_t *srv, *devs = NULL, *repl = NULL, *aud = NULL, *q = NULL;
		json_t *async = NULL, *unm = NULL, *sum = bytype[s[i].type];
		const char *err = NULL;
		int up, nk = checks_of(s[i].type, checks);

		for (k = 0; k < nk; k++) {
			struct fetch *x = &f[r + (size_t)k];
			json_t *j = x->status == 200 && x->resp
					    ? json_loads(x->resp, 0, NULL)
					    : NULL;

			if (!j && !err)
				err = x->status ? "bad answer" : x->error;
			if (!strcmp(checks[k], "diskusage"))
				devs = j;
			else if (!strcmp(checks[k], "unmounted"))
				unm = j;
			else if (!strcmp(checks[k], "quarantined"))
				q = j;
			else if (!strncmp(checks[k], "replication", 11))
				repl = j;
			else if (!strncmp(checks[k], "auditor", 7))
				aud = j;
			else
				async = j;
		}
		r += (size_t)nk;
		up = json_is_array(devs);
		srv = json_pack("{s:s,s:s,s:i,s:b,s:O}", "type",
				types[s[i].type], "ip", s[i].ip, "port",
				s[i].port, "up", up, "ring_devices",
				s[i].ring_devs);
		json_object_set_new(
			sum, "servers",
			json_integer(json_integer_value(
					     json_object_get(sum, "servers")) +
				     1));
		if (!up) {
			(*down)++;
			json_object_set_new(
				srv, "error",
				json_string(err ? err : "no answer"));
		} else {
			size_t di;
			json_t *d;
			json_int_t size = 0, used = 0;
			double last, took;
			const char *lk = s[i].type == 2
						 ? "object_replication_last"
						 : "replication_last";
			const char *tk = s[i].type == 2
						 ? "object_replication_time"
						 : "replication_time";
			json_t *stats =
				json_object_get(repl, "replication_stats");
			const char *qk = s[i].type == 0	  ? "accounts"
					 : s[i].type == 1 ? "containers"
							  : "objects";

			json_object_set_new(
				sum, "up",
				json_integer(json_integer_value(json_object_get(
						     sum, "up")) +
					     1));
			json_array_foreach(devs, di, d)
			{
				size += json_integer_value(
					json_object_get(d, "size"));
				used += json_integer_value(
					json_object_get(d, "used"));
			}
			json_object_set(srv, "devices", devs);
#define ADD(key, v)                                                          \
	json_object_set_new(                                                 \
		sum, key,                                                    \
		json_integer(json_integer_value(json_object_get(sum, key)) + \
			     (v)))
			ADD("devices", (json_int_t)json_array_size(devs));
			ADD("size", size);
			ADD("used", used);
			ADD("unmounted", (json_int_t)json_array_size(unm));
			ADD("quarantined",
			    json_integer_value(json_object_get(q, qk)));
			if (async)
				ADD("async_pending",
				    json_integer_value(json_object_get(
					    async, "async_pending")));
			ADD("replication_failures",
			    json_integer_value(
				    json_object_get(stats, "failure")));
			last = num(repl, lk);
			took = num(repl, tk);
			if (!isnan(last)) {
				double oldest = num(sum, "replication_oldest");
				double newest = num(sum, "replication_newest");
				double tmax = num(sum, "replication_time_max");

				if (isnan(oldest) || last < oldest)
					json_object_set_new(
						sum, "replication_oldest",
						json_real(last));
				if (isnan(newest) || last > newest)
					json_object_set_new(
						sum, "replication_newest",
						json_real(last));
				if (!isnan(took) &&
				    (isnan(tmax) || took > tmax))
					json_object_set_new(
						sum, "replication_time_max",
						json_real(took));
				json_object_set_new(srv, "replication_age",
						    json_real(now_s - last));
			}
#undef ADD
			json_object_set(srv, "replication",
					repl ? repl : json_null());
			json_object_set(srv, "auditor",
					aud ? aud : json_null());
			json_object_set(srv, "quarantined",
					q ? q : json_null());
			if (async)
				json_object_set(
					srv, "async_pending",
					json_object_get(async,
							"async_pending"));
			json_object_set(srv, "unmounted",
					unm ? unm : json_null());
		}
		json_array_append_new(list, srv);
		json_decref(devs);
		json_decref(repl);
		json_decref(aud);
		json_decref(q);
		json_decref(async);
		json_decref(unm);
	}
	out = json_pack("{s:O,s:O,s:f}", "servers", list, "summary", summary,
			"time", now_s);
out:
	if (f) {
		for (i = 0; i < nreq; i++)
			free(f[i].url);
		fetch_free(f, (size_t)nreq);
	}
	free(f);
	for (i = 0; s && i < n; i++)
		json_decref(s[i].ring_devs);
	free(s);
	json_decref(list);
	json_decref(summary);
	return out;
}

/* --- printing ------------------------------------------------------------ */

static void human_bytes(double b, char *out, size_t len)
{
	static const char *const units[] = {"B",   "KiB", "MiB",
					    "GiB", "TiB", "PiB"};
	int u = 0;

	while (b >= 1024 && u < 5) {
		b /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void human_age(double s, char *out, size_t len)
{
	if (isnan(s))
		snprintf(out, len, "never");
	else if (s < 120)
		snprintf(out, len, "%.0fs ago", s < 0 ? 0 : s);
	else if (s < 7200)
		snprintf(out, len, "%.0fm ago", s / 60);
	else if (s < 172800)
		snprintf(out, len, "%.1fh ago", s / 3600);
	else
		snprintf(out, len, "%.1fd ago", s / 86400);
}

void nodes_print(json_t *report, FILE *out)
{
	json_t *servers = json_object_get(report, "servers");
	json_t *summary = json_object_get(report, "summary");
	double now_s = num(report, "time");
	int t;

	for (t = 2; t >= 0; t--) {
		json_t *sum = json_object_get(summary, types[t]), *srv;
		char sz[32], us[32], age[32];
		size_t i;
		double size = num(sum, "size"), used = num(sum, "used");

		if (!json_integer_value(json_object_get(sum, "servers")))
			continue;
		human_bytes(size, sz, sizeof(sz));
		human_bytes(used, us, sizeof(us));
		fprintf(out,
			"%s servers: %lld of %lld up, %lld devices, %s used "
			"of %s (%.1f%%)\n",
			types[t],
			(long long)json_integer_value(
				json_object_get(sum, "up")),
			(long long)json_integer_value(
				json_object_get(sum, "servers")),
			(long long)json_integer_value(
				json_object_get(sum, "devices")),
			us, sz, size > 0 ? 100.0 * used / size : 0.0);
		human_age(now_s - num(sum, "replication_oldest"), age,
			  sizeof(age));
		fprintf(out, "  replication: oldest pass %s", age);
		human_age(now_s - num(sum, "replication_newest"), age,
			  sizeof(age));
		fprintf(out, ", newest %s, longest %.2fs, %lld failures\n", age,
			isnan(num(sum, "replication_time_max"))
				? 0.0
				: num(sum, "replication_time_max"),
			(long long)json_integer_value(
				json_object_get(sum, "replication_failures")));
		fprintf(out, "  quarantined %ss: %lld", types[t],
			(long long)json_integer_value(
				json_object_get(sum, "quarantined")));
		if (t == 2)
			fprintf(out, ", async pendings: %lld",
				(long long)json_integer_value(
					json_object_get(sum, "async_pending")));
		fprintf(out, ", unmounted devices: %lld\n",
			(long long)json_integer_value(
				json_object_get(sum, "unmounted")));
		json_array_foreach(servers, i, srv)
		{
			json_t *devs, *d, *repl;
			size_t j;

			if (strcmp(json_string_value(
					   json_object_get(srv, "type")),
				   types[t]))
				continue;
			fprintf(out, "  %s:%lld ",
				json_string_value(json_object_get(srv, "ip")),
				(long long)json_integer_value(
					json_object_get(srv, "port")));
			if (!json_is_true(json_object_get(srv, "up"))) {
				fprintf(out, "DOWN (%s)\n",
					json_string_value(
						json_object_get(srv, "error")));
				continue;
			}
			repl = json_object_get(srv, "replication");
			human_age(num(srv, "replication_age"), age,
				  sizeof(age));
			fprintf(out, "up, last replication %s", age);
			{
				json_t *st = json_object_get(
					repl, "replication_stats");
				const char *tk =
					t == 2 ? "object_replication_time"
					       : "replication_time";

				if (json_is_object(st))
					fprintf(out,
						" (%.2fs, %lld attempted, %lld "
						"succeeded, %lld failed)",
						isnan(num(repl, tk))
							? 0.0
							: num(repl, tk),
						(long long)json_integer_value(
							json_object_get(
								st,
								"attempted")),
						(long long)json_integer_value(
							json_object_get(
								st, "success")),
						(long long)json_integer_value(
							json_object_get(
								st,
								"failure")));
			}
			fputc('\n', out);
			devs = json_object_get(srv, "devices");
			json_array_foreach(devs, j, d)
			{
				double dsz = num(d, "size"),
				       dus = num(d, "used");

				human_bytes(dus, us, sizeof(us));
				human_bytes(dsz, sz, sizeof(sz));
				fprintf(out,
					"    %-12s %5.1f%% used (%s of %s)\n",
					json_string_value(
						json_object_get(d, "device")),
					dsz > 0 ? 100.0 * dus / dsz : 0.0, us,
					sz);
			}
		}
	}
}
