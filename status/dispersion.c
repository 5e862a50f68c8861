/*
 * status/dispersion.c: the dispersion check, as swift-dispersion-report:
 * a sample of objects, one per partition, is written once through the
 * proxy (--populate); each report then asks every primary of each sampled
 * object, directly on its object server, whether it holds it (HEAD), and
 * counts the partitions that lack a full set of replicas.
 *
 * The sample is a pure function of the ring, the hash secret, the
 * account, the container and the sample size (disp_names), so a report
 * finds the objects a populate wrote without listing them, as Swift's
 * tool does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "status/internal.h"

#define NAME_FMT "kumo-dispersion-%d"

static void hash_conf(const struct disp_opts *o, struct ring_hash_conf *h)
{
	h->prefix = o->prefix;
	h->suffix = o->suffix;
}

void disp_free_names(char **names, int n)
{
	int i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int disp_names(struct ring *ring, const struct disp_opts *o,
	       enum disp_kind kind, char ***names, int *n)
{
	struct ring_hash_conf h;
	uint8_t *seen = calloc(ring->nparts, 1);
	int want = o->sample, got = 0, i, limit;
	char **out = calloc((size_t)(want > 0 ? want : 1), sizeof(*out));
	char name[64];

	hash_conf(o, &h);
	if (!seen || !out) {
		free(seen);
		free(out);
		return -ENOMEM;
	}
	if ((uint32_t)want > ring->nparts)
		want = (int)ring->nparts;
	limit = want * 64 + 1024; /* enough tries for any sane coverage */
	for (i = 0; got < want && i < limit; i++) {
		int64_t part;

		snprintf(name, sizeof(name), NAME_FMT, i);
		part = kind == DISP_OBJECTS
			       ? ring_get_part(ring, &h, o->account,
					       o->container, name)
			       : ring_get_part(ring, &h, o->account, name,
					       NULL);
		if (part < 0) {
			disp_free_names(out, got);
			free(seen);
			return (int)part;
		}
		if (seen[part])
			continue;
		seen[part] = 1;
		out[got] = strdup(name);
		if (!out[got]) {
			disp_free_names(out, got);
			free(seen);
			return -ENOMEM;
		}
		got++;
	}
	free(seen);
	*names = out;
	*n = got;
	return 0;
}

/* "Name: value" into a malloc'd string. */
static char *hdr(const char *name, const char *value)
{
	char *s = NULL;

	if (asprintf(&s, "%s: %s", name, value) < 0)
		return NULL;
	return s;
}

/* PUT each name under base (a container URL, or the account's for
 * containers) with the token header; 0 or -EIO (reported). */
static int put_sample(const char *base, char **names, int n,
		      const char *const *hdrs, int objects,
		      const struct status_opts *so)
{
	struct fetch *f = calloc((size_t)n + 1, sizeof(*f));
	int i, bad = 0;

	if (!f)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		f[i].method = "PUT";
		if (asprintf(&f[i].url, "%s/%s", base, names[i]) < 0) {
			f[i].url = NULL;
			bad = -1;
		}
		f[i].headers = hdrs;
		f[i].body = objects ? names[i] : "";
		f[i].body_len = objects ? strlen(names[i]) : 0;
	}
	if (!bad) {
		progress_begin(objects ? "writing the object sample"
				       : "writing the container sample",
			       (size_t)n, so->quiet);
		fetch_all(f, (size_t)n, 8, so->conn_timeout, so->timeout,
			  progress_cb, NULL);
		progress_end();
		for (i = 0; i < n; i++)
			if (f[i].status / 100 != 2)
				bad++;
	}
	for (i = 0; i < n; i++)
		free(f[i].url);
	fetch_free(f, (size_t)n);
	free(f);
	if (bad)
		fprintf(stderr, "kumo-status: %d of %d %s not written\n",
			bad < 0 ? n : bad, n,
			objects ? "objects" : "containers");
	return bad ? -EIO : 0;
}

int disp_populate(struct ring *oring, struct ring *cring,
		  const struct disp_opts *o, const struct status_opts *so,
		  char **account)
{
	struct fetch auth = {0};
	char *h_user = hdr("X-Auth-User", o->user);
	char *h_key = hdr("X-Auth-Key", o->key), *h_tok = NULL, *ctr = NULL;
	const char *auth_hdrs[3] = {h_user, h_key, NULL};
	const char *tok_hdrs[2] = {NULL, NULL};
	struct disp_opts named = *o;
	char **names = NULL, *slash, *esc = NULL;
	int n = 0, rc = 0;

	*account = NULL;
	auth.method = "GET";
	auth.url = (char *)o->auth_url;
	auth.headers = auth_hdrs;
	fetch_all(&auth, 1, 1, so->conn_timeout, so->timeout, NULL, NULL);
	if (auth.status / 100 != 2 || !auth.token || !auth.storage_url) {
		fprintf(stderr,
			"kumo-status: authentication at %s failed: %s\n",
			o->auth_url, auth.status ? "no token" : auth.error);
		rc = -EACCES;
		goto out;
	}
	slash = strrchr(auth.storage_url, '/');
	*account = strdup(slash ? slash + 1 : "");
	h_tok = hdr("X-Auth-Token", auth.token);
	esc = curl_easy_escape(NULL, o->container, 0);
	if (!*account || !h_tok || !esc ||
	    asprintf(&ctr, "%s/%s", auth.storage_url, esc) < 0) {
		ctr = NULL;
		rc = -ENOMEM;
		goto out;
	}
	named.account = *account;
	tok_hdrs[0] = h_tok;
	if (cring) {
		rc = disp_names(cring, &named, DISP_CONTAINERS, &names, &n);
		if (!rc)
			rc = put_sample(auth.storage_url, names, n, tok_hdrs, 0,
					so);
		disp_free_names(names, n);
		names = NULL;
		if (rc)
			goto out;
		fprintf(stderr,
			"kumo-status: %d dispersion containers written "
			"to %s\n",
			n, *account);
	}
	if (oring) {
		char *one[1] = {esc};

		/* the objects' container: PUT <storage_url>/<container> */
		rc = put_sample(auth.storage_url, one, 1, tok_hdrs, 0, so);
		if (!rc)
			rc = disp_names(oring, &named, DISP_OBJECTS, &names,
					&n);
		if (!rc)
			rc = put_sample(ctr, names, n, tok_hdrs, 1, so);
		if (!rc)
			fprintf(stderr,
				"kumo-status: %d dispersion objects written "
				"to %s/%s\n",
				n, *account, o->container);
	}
out:
	fetch_free(&auth, 1);
	disp_free_names(names, n);
	curl_free(esc);
	free(ctr);
	free(h_tok);
	free(h_user);
	free(h_key);
	if (rc) {
		free(*account);
		*account = NULL;
	}
	return rc;
}

json_t *disp_check(struct ring *ring, const struct disp_opts *o,
		   const struct status_opts *so, enum disp_kind kind,
		   int *lacking)
{
	struct ring_hash_conf h;
	const struct ring_dev *nodes[16];
	struct fetch *f = NULL;
	char **names = NULL, *ea = NULL, *ec = NULL;
	int *nprim = NULL, n = 0, i, k, total = 0, errors = 0, missing = 0;
	int lack = 0, maxrep = 0, *found = NULL;
	json_t *hist = json_object(), *out = NULL;
	size_t r;

	*lacking = 0;
	hash_conf(o, &h);
	if (!hist || disp_names(ring, o, kind, &names, &n))
		goto done;
	nprim = calloc((size_t)n + 1, sizeof(int));
	found = calloc((size_t)n + 1, sizeof(int));
	f = calloc((size_t)n * 16 + 1, sizeof(*f));
	ea = curl_easy_escape(NULL, o->account, 0);
	ec = curl_easy_escape(NULL, o->container, 0);
	if (!nprim || !found || !f || !ea || !ec)
		goto done;
	for (i = 0; i < n; i++) {
		int64_t part = kind == DISP_OBJECTS
				       ? ring_get_part(ring, &h, o->account,
						       o->container, names[i])
				       : ring_get_part(ring, &h, o->account,
						       names[i], NULL);

		nprim[i] = ring_get_part_nodes(ring, (uint32_t)part, nodes, 16);
		if (nprim[i] > maxrep)
			maxrep = nprim[i];
		for (k = 0; k < nprim[i]; k++) {
			struct fetch *x = &f[total++];

			x->method = "HEAD";
			if ((kind == DISP_OBJECTS
				     ? asprintf(&x->url,
						"http://%s:%d/%s/%lld/%s/%s/%s",
						nodes[k]->ip, nodes[k]->port,
						nodes[k]->device,
						(long long)part, ea, ec,
						names[i])
				     : asprintf(&x->url,
						"http://%s:%d/%s/%lld/%s/%s",
						nodes[k]->ip, nodes[k]->port,
						nodes[k]->device,
						(long long)part, ea,
						names[i])) < 0)
				x->url = NULL;
		}
	}
	progress_begin(kind == DISP_OBJECTS ? "checking the object sample"
					    : "checking the container sample",
		       (size_t)total, so->quiet);
	fetch_all(f, (size_t)total, 32, so->conn_timeout, so->timeout,
		  progress_cb, NULL);
	progress_end();
	r = 0;
	for (i = 0; i < n; i++) {
		char key[16];

		for (k = 0; k < nprim[i]; k++, r++) {
			if (f[r].status / 100 == 2)
				found[i]++;
			else if (f[r].status != 404)
				errors++;
		}
		if (found[i] < nprim[i])
			lack++;
		if (!found[i])
			missing++;
		snprintf(key, sizeof(key), "%d", found[i]);
		json_object_set_new(
			hist, key,
			json_integer(
				json_integer_value(json_object_get(hist, key)) +
				1));
	}
	*lacking = lack;
	out = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:O,s:i,s:b}", "kind",
			kind == DISP_OBJECTS ? "object" : "container",
			"account", o->account, "container", o->container,
			"sampled", n, "replicas", maxrep, "partitions_lacking",
			lack, "missing", missing, "found", hist, "errors",
			errors, "populated", n > 0 && missing < n);
done:
	if (f) {
		for (i = 0; i < total; i++)
			free(f[i].url);
		fetch_free(f, (size_t)total);
	}
	free(f);
	free(nprim);
	free(found);
	curl_free(ea);
	curl_free(ec);
	disp_free_names(names, n);
	json_decref(hist);
	return out;
}

void disp_print(json_t *d, FILE *out)
{
	long long n = json_integer_value(json_object_get(d, "sampled"));
	long long lack =
		json_integer_value(json_object_get(d, "partitions_lacking"));
	long long rep = json_integer_value(json_object_get(d, "replicas"));
	json_t *hist = json_object_get(d, "found");
	const char *k;
	json_t *v;

	int objects = !strcmp(json_string_value(json_object_get(d, "kind")),
			      "object");

	if (objects)
		fprintf(out, "object dispersion: %lld objects of %s/%s", n,
			json_string_value(json_object_get(d, "account")),
			json_string_value(json_object_get(d, "container")));
	else
		fprintf(out, "container dispersion: %lld containers of %s", n,
			json_string_value(json_object_get(d, "account")));
	fprintf(out,
		" in %lld partitions: %lld lacking a full set of %lld "
		"replicas (%.1f%% whole)\n",
		n, lack, rep, n ? 100.0 * (double)(n - lack) / (double)n : 0.0);
	json_object_foreach(hist, k, v)
		fprintf(out, "  %lld with %s of %lld replicas\n",
			(long long)json_integer_value(v), k, rep);
	if (json_integer_value(json_object_get(d, "errors")))
		fprintf(out, "  %lld replica checks got no answer\n",
			(long long)json_integer_value(
				json_object_get(d, "errors")));
	if (!json_is_true(json_object_get(d, "populated")))
		fprintf(out, "  nothing sampled found anywhere: run "
			     "kumo-status --populate first\n");
}
