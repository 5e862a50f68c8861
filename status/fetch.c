/*
 * status/fetch.c: many HTTP requests at once over one libcurl multi
 * handle, at most `parallel` in flight, each with its own timeouts; the
 * answers (status, body, the two tempauth headers) land in the requests'
 * out fields. Nothing here retries: a server that does not answer in time
 * is reported as such, which is what a status tool must show.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "status/internal.h"

#define MAX_BODY (4 << 20)

struct slot {
	struct fetch *f;
	CURL *easy;
	struct curl_slist *hdrs;
	size_t body_off;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct fetch *f = arg;
	size_t n = sz * nm;
	char *grown;

	if (f->resp_len + n > MAX_BODY)
		return 0;
	grown = realloc(f->resp, f->resp_len + n + 1);
	if (!grown)
		return 0;
	f->resp = grown;
	memcpy(f->resp + f->resp_len, p, n);
	f->resp_len += n;
	f->resp[f->resp_len] = '\0';
	return n;
}

/* Keep the value of header name (case-insensitive) into *out. */
static void keep_header(const char *line, size_t n, const char *name,
			char **out)
{
	size_t nl = strlen(name);
	const char *v, *end = line + n;

	if (n <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	for (v = line + nl + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v &&
	       (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	free(*out);
	*out = strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct fetch *f = arg;
	size_t n = sz * nm;

	keep_header(p, n, "X-Auth-Token", &f->token);
	keep_header(p, n, "X-Storage-Url", &f->storage_url);
	return n;
}

static size_t on_read(char *p, size_t sz, size_t nm, void *arg)
{
	struct slot *s = arg;
	size_t n = sz * nm, left = s->f->body_len - s->body_off;

	if (n > left)
		n = left;
	memcpy(p, s->f->body + s->body_off, n);
	s->body_off += n;
	return n;
}

static int add(CURLM *multi, struct slot *s, double conn_timeout,
	       double timeout)
{
	struct fetch *f = s->f;
	const char *const *h;

	s->easy = curl_easy_init();
	if (!s->easy)
		return -ENOMEM;
	for (h = f->headers; h && *h; h++)
		s->hdrs = curl_slist_append(s->hdrs, *h);
	s->hdrs = curl_slist_append(s->hdrs, "Expect:");
	curl_easy_setopt(s->easy, CURLOPT_URL, f->url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(conn_timeout * 1000));
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	if (!strcmp(f->method, "HEAD")) {
		curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(f->method, "PUT")) {
		curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
		curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)f->body_len);
	} else if (strcmp(f->method, "GET")) {
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, f->method);
	}
	return curl_multi_add_handle(multi, s->easy) == CURLM_OK ? 0 : -ENOMEM;
}

static void finish(CURLM *multi, struct slot *s, CURLcode res)
{
	long code = 0;

	if (res == CURLE_OK) {
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		s->f->status = (int)code;
	} else {
		s->f->status = 0;
		snprintf(s->f->error, sizeof(s->f->error), "%s",
			 curl_easy_strerror(res));
	}
	curl_multi_remove_handle(multi, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->hdrs);
	s->easy = NULL;
	s->hdrs = NULL;
}

int fetch_all(struct fetch *f, size_t n, int parallel, double conn_timeout,
	      double timeout,
	      void (*progress)(void *arg, size_t done, size_t total), void *arg)
{
	struct slot *slots = calloc(n ? n : 1, sizeof(*slots));
	CURLM *multi = curl_multi_init();
	size_t next = 0, done = 0, i;
	int running = 0, rc = 0;

	if (!slots || !multi) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		slots[i].f = &f[i];
		f[i].status = 0;
		f[i].error[0] = '\0';
	}
	while (done < n) {
		CURLMsg *msg;
		int left;

		while (next < n && (int)(next - done) < parallel) {
			if (add(multi, &slots[next], conn_timeout, timeout)) {
				snprintf(f[next].error, sizeof(f[next].error),
					 "cannot start the request");
				if (slots[next].easy)
					curl_easy_cleanup(slots[next].easy);
				curl_slist_free_all(slots[next].hdrs);
				slots[next].easy = NULL;
				slots[next].hdrs = NULL;
				done++;
				if (progress)
					progress(arg, done, n);
			}
			next++;
		}
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			struct slot *s = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&s);
			finish(multi, s, msg->data.result);
			done++;
			if (progress)
				progress(arg, done, n);
		}
		if (done < n)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
out:
	if (multi)
		curl_multi_cleanup(multi);
	free(slots);
	return rc;
}

void fetch_free(struct fetch *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].resp);
		free(f[i].token);
		free(f[i].storage_url);
		f[i].resp = f[i].token = f[i].storage_url = NULL;
		f[i].resp_len = 0;
	}
}
