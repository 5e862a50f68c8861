/*
 * proxy/tempauth.c: Swift's tempauth (swift/common/middleware/tempauth.py)
 * for the v1.0 protocol: users with keys and groups from the config,
 * GET /auth/v1.0 handing out tokens kept in memory until they expire, and
 * the authorization of every /v1 request.
 *
 * A user's groups are, as Swift makes them: "<account>",
 * "<account>:<user>", the groups of its config line, and for .admin users
 * the account ids "<prefix>_<account>" under every reseller prefix (which
 * lets them own those accounts). A valid X-Service-Token adds its user's
 * groups: with <prefix>_require_group set (Swift's SAIO: SERVICE, group
 * "service"), owning an account of that prefix takes both the account's
 * admin token and a service token of a user in the group.
 *
 * Authorization (tempauth_check, as Swift's authorize): owners first (a
 * reseller admin, the account's admin); then the container's ACL, read
 * for container GET/HEAD and object GET/HEAD, write for other object
 * requests (acl.c parses it; the container is HEADed for it, no cache);
 * then the account's ACLs (X-Account-Access-Control, kept as sysmeta,
 * HEADed from the account servers). Requests without a token are
 * anonymous and go through the same checks (answering 401 when denied).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "proxy/internal.h"

struct token {
	char id[64];
	const struct tempauth_user *user;
	time_t expires;
};

#define MAX_PREFIXES 8

struct tempauth {
	char *prefix;		      /* the first prefix, "AUTH" */
	char *prefixes[MAX_PREFIXES]; /* each without its '_' */
	char *require[MAX_PREFIXES];  /* <prefix>_require_group, or NULL */
	int nprefixes;
	long long life;
	struct tempauth_user *users;
	int nusers;
	pthread_mutex_t lock;
	struct token *tokens;
	int ntokens;
};

static void user_free(struct tempauth_user *u)
{
	int i;

	free(u->account);
	free(u->user);
	free(u->key);
	for (i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	free(u->url);
}

void tempauth_free(struct tempauth *ta)
{
	int i;

	if (!ta)
		return;
	for (i = 0; i < ta->nusers; i++)
		user_free(&ta->users[i]);
	free(ta->users);
	free(ta->tokens);
	for (i = 0; i < ta->nprefixes; i++) {
		free(ta->prefixes[i]);
		free(ta->require[i]);
	}
	pthread_mutex_destroy(&ta->lock);
	free(ta);
}

/* Parse one "user_<a>_<u> = key groups... [url]" line into u. */
static int parse_user(const char *name, const char *value,
		      struct tempauth_user *u)
{
	const char *au = name + strlen("user_"), *us = strchr(au, '_');
	char *copy = NULL, *tok, *save = NULL;
	int rc = -EINVAL;

	memset(u, 0, sizeof(*u));
	if (!us || us == au || !us[1])
		return -EINVAL;
	u->account = strndup(au, (size_t)(us - au));
	u->user = strdup(us + 1);
	copy = strdup(value);
	if (!u->account || !u->user || !copy) {
		rc = -ENOMEM;
		goto out;
	}
	tok = strtok_r(copy, " \t", &save);
	if (!tok)
		goto out;
	u->key = strdup(tok);
	if (!u->key) {
		rc = -ENOMEM;
		goto out;
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char **grown;

		if (strstr(tok, "://")) {
			free(u->url);
			u->url = strdup(tok);
			continue;
		}
		grown = realloc(u->groups,
				sizeof(*grown) * (size_t)(u->ngroups + 1));
		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		u->groups = grown;
		grown[u->ngroups] = strdup(tok);
		if (!grown[u->ngroups]) {
			rc = -ENOMEM;
			goto out;
		}
		u->ngroups++;
	}
	rc = 0;
out:
	free(copy);
	if (rc)
		user_free(u);
	return rc;
}

/* "AUTH, SERVICE" (Swift's list; "AUTH_" the same) into ta->prefixes. */
static int parse_prefixes(struct tempauth *ta, const char *list, char *err,
			  size_t errlen)
{
	const char *s = list;

	while (*s) {
		size_t n;
		char *p;

		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		n = strcspn(s, ", \t");
		if (!n)
			break;
		if (ta->nprefixes == MAX_PREFIXES) {
			snprintf(err, errlen,
				 "[filter:tempauth] reseller_prefix: more "
				 "than %d prefixes",
				 MAX_PREFIXES);
			return -EINVAL;
		}
		p = strndup(s, n);
		if (!p)
			return -ENOMEM;
		if (p[n - 1] == '_')
			p[n - 1] = '\0';
		if (!*p || !strcmp(p, "''") || !strcmp(p, "\"\"")) {
			free(p);
			snprintf(err, errlen,
				 "[filter:tempauth] reseller_prefix: an empty "
				 "prefix is not supported");
			return -EINVAL;
		}
		ta->prefixes[ta->nprefixes++] = p;
		s += n;
	}
	if (!ta->nprefixes) {
		snprintf(err, errlen,
			 "[filter:tempauth] reseller_prefix: none given");
		return -EINVAL;
	}
	ta->prefix = ta->prefixes[0];
	return 0;
}

int tempauth_set_require_group(struct tempauth *ta, const char *prefix,
			       const char *group)
{
	int i, found = 0;

	for (i = 0; i < ta->nprefixes; i++) {
		if (prefix && strcmp(prefix, ta->prefixes[i]))
			continue;
		found = 1;
		free(ta->require[i]);
		ta->require[i] = NULL;
		if (group && *group) {
			ta->require[i] = strdup(group);
			if (!ta->require[i])
				return -ENOMEM;
		}
	}
	return found ? 0 : -ENOENT;
}

int tempauth_new(const struct conf_list *users, const char *reseller_prefix,
		 long long token_life, struct tempauth **out, char *err,
		 size_t errlen)
{
	struct tempauth *ta = calloc(1, sizeof(*ta));
	size_t i;
	int rc = -ENOMEM;

	if (!ta)
		return -ENOMEM;
	pthread_mutex_init(&ta->lock, NULL);
	ta->life = token_life;
	rc = parse_prefixes(ta, reseller_prefix, err, errlen);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	ta->users = calloc(users->n + 1, sizeof(*ta->users));
	if (!ta->users)
		goto fail;
	for (i = 0; i < users->n; i++) {
		rc = parse_user(users->items[i].name, users->items[i].value,
				&ta->users[ta->nusers]);
		if (rc) {
			snprintf(err, errlen,
				 "[filter:tempauth] %s: expected "
				 "user_<account>_<user> = <key> [groups]",
				 users->items[i].name);
			goto fail;
		}
		ta->nusers++;
	}
	*out = ta;
	return 0;
fail:
	tempauth_free(ta);
	return rc;
}

const char *tempauth_prefix(const struct tempauth *ta)
{
	return ta->prefix;
}

const struct tempauth_user *tempauth_find(const struct tempauth *ta,
					  const char *account, const char *user)
{
	int i;

	for (i = 0; i < ta->nusers; i++)
		if (!strcmp(ta->users[i].account, account) &&
		    !strcmp(ta->users[i].user, user))
			return &ta->users[i];
	return NULL;
}

/* Drop expired tokens; lock held. */
static void purge(struct tempauth *ta, time_t now)
{
	int i = 0;

	while (i < ta->ntokens) {
		if (ta->tokens[i].expires <= now)
			ta->tokens[i] = ta->tokens[--ta->ntokens];
		else
			i++;
	}
}

int tempauth_issue(struct tempauth *ta, const struct tempauth_user *u,
		   char token[64], long long *expires_in)
{
	unsigned char rnd[16];
	struct token *grown;
	time_t now = time(NULL);
	int i, rc = 0;

	pthread_mutex_lock(&ta->lock);
	purge(ta, now);
	for (i = 0; i < ta->ntokens; i++)
		if (ta->tokens[i].user == u) {
			strcpy(token, ta->tokens[i].id);
			*expires_in = (long long)(ta->tokens[i].expires - now);
			goto out;
		}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		rc = -EIO;
		goto out;
	}
	grown = realloc(ta->tokens, sizeof(*grown) * (size_t)(ta->ntokens + 1));
	if (!grown) {
		rc = -ENOMEM;
		goto out;
	}
	ta->tokens = grown;
	strcpy(token, ta->prefix);
	strcat(token, "_tk");
	for (i = 0; i < 16; i++)
		sprintf(token + strlen(token), "%02x", rnd[i]);
	snprintf(grown[ta->ntokens].id, sizeof(grown[0].id), "%s", token);
	grown[ta->ntokens].user = u;
	grown[ta->ntokens].expires = now + (time_t)ta->life;
	ta->ntokens++;
	*expires_in = ta->life;
out:
	pthread_mutex_unlock(&ta->lock);
	return rc;
}

const struct tempauth_user *tempauth_check_token(struct tempauth *ta,
						 const char *token)
{
	const struct tempauth_user *u = NULL;
	time_t now = time(NULL);
	int i;

	pthread_mutex_lock(&ta->lock);
	for (i = 0; i < ta->ntokens; i++)
		if (!strcmp(ta->tokens[i].id, token)) {
			if (ta->tokens[i].expires > now)
				u = ta->tokens[i].user;
			break;
		}
	pthread_mutex_unlock(&ta->lock);
	return u;
}

/* The index of account's prefix ("AUTH_x" -> AUTH), or -1. */
static int prefix_of(const struct tempauth *ta, const char *account)
{
	int i;

	for (i = 0; i < ta->nprefixes; i++) {
		size_t pl = strlen(ta->prefixes[i]);

		if (!strncmp(account, ta->prefixes[i], pl) &&
		    account[pl] == '_')
			return i;
	}
	return -1;
}

/* out[n] = a, then sep (when not '\0') and b, cut to the buffer as
 * snprintf would: each request builds these (no printf for them). */
static int add_group(char (*out)[TEMPAUTH_GROUP_MAX], int n, int max,
		     const char *a, char sep, const char *b)
{
	char *o;
	size_t l, left = TEMPAUTH_GROUP_MAX - 1;

	if (n >= max)
		return n;
	o = out[n++];
	l = strnlen(a, left);
	memcpy(o, a, l);
	o += l, left -= l;
	if (sep && left)
		*o++ = sep, left--;
	l = strnlen(b, left);
	memcpy(o, b, l);
	o[l] = '\0';
	return n;
}

/* One user's groups, as Swift's _get_user_groups. */
static int user_groups(const struct tempauth *ta, const struct tempauth_user *u,
		       char (*out)[TEMPAUTH_GROUP_MAX], int n, int max)
{
	int i, admin = 0;

	n = add_group(out, n, max, u->account, 0, "");
	n = add_group(out, n, max, u->account, ':', u->user);
	for (i = 0; i < u->ngroups; i++) {
		if (!strcmp(u->groups[i], ".admin"))
			admin = 1;
		else
			n = add_group(out, n, max, u->groups[i], 0, "");
	}
	if (!admin)
		return n;
	for (i = 0; i < ta->nprefixes; i++)
		n = add_group(out, n, max, ta->prefixes[i], '_', u->account);
	if (u->url && strrchr(u->url, '/')) {
		/* Swift's account_id: the storage URL's last part */
		const char *id = strrchr(u->url, '/') + 1;

		for (i = 0; i < n; i++)
			if (!strcmp(out[i], id))
				break;
		if (i == n)
			n = add_group(out, n, max, id, 0, "");
	}
	return n;
}

int tempauth_groups(const struct tempauth *ta, const struct tempauth_user *u,
		    const struct tempauth_user *service,
		    char (*out)[TEMPAUTH_GROUP_MAX], int max)
{
	int n = 0;

	if (u)
		n = user_groups(ta, u, out, n, max);
	if (u && service)
		n = user_groups(ta, service, out, n, max);
	return n;
}

static int has_group(char (*g)[TEMPAUTH_GROUP_MAX], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(g[i], name))
			return 1;
	return 0;
}

int tempauth_owner(const struct tempauth *ta, const struct tempauth_user *u,
		   const struct tempauth_user *service, const char *method,
		   const char *account, const char *container)
{
	char g[64][TEMPAUTH_GROUP_MAX];
	int n, pi = prefix_of(ta, account);
	size_t pl;

	if (!u || pi < 0)
		return 403;
	pl = strlen(ta->prefixes[pi]);
	n = tempauth_groups(ta, u, service, g, 64);
	if (has_group(g, n, ".reseller_admin") && account[pl + 1] &&
	    account[pl + 1] != '.')
		return 0;
	if (has_group(g, n, account) &&
	    (container ||
	     (strcmp(method, "PUT") && strcmp(method, "DELETE"))) &&
	    (!ta->require[pi] || has_group(g, n, ta->require[pi])))
		return 0;
	return 403;
}

int tempauth_authorize(const struct tempauth *ta, const struct tempauth_user *u,
		       const char *method, const char *account,
		       const char *container)
{
	return tempauth_owner(ta, u, NULL, method, account, container);
}

static void deny(struct http_request *req, int status, const char *realm)
{
	http_add_headerf(req, "Www-Authenticate", "Swift realm=\"%s\"", realm);
	proxy_reply_status(req, status);
}

void tempauth_handle_get_token(struct http_request *req, struct proxy_app *app)
{
	struct tempauth *ta = app->auth;
	const char *path = http_raw_path(req) + strlen("/auth");
	const char *user, *key, *host;
	const struct tempauth_user *u;
	char account[512], uname[512], token[64];
	long long expires_in;

	if (strcmp(http_method(req), "GET") &&
	    strcmp(http_method(req), "HEAD")) {
		proxy_reply_status(req, 400);
		return;
	}
	if (!strcmp(path, "/v1.0") || !strcmp(path, "/v1.0/") ||
	    !strcmp(path, "/auth") || !strcmp(path, "/auth/")) {
		user = http_header(req, "X-Auth-User");
		if (!user)
			user = http_header(req, "X-Storage-User");
		key = http_header(req, "X-Auth-Key");
		if (!key)
			key = http_header(req, "X-Storage-Pass");
		if (!user || !strchr(user, ':') ||
		    strlen(user) >= sizeof(account)) {
			deny(req, 401, "unknown");
			return;
		}
		snprintf(account, sizeof(account), "%.*s",
			 (int)(strchr(user, ':') - user), user);
		snprintf(uname, sizeof(uname), "%s", strchr(user, ':') + 1);
	} else if (!strncmp(path, "/v1/", 4) && strlen(path) > 9 &&
		   !strcmp(path + strlen(path) - 5, "/auth") &&
		   strlen(path) - 9 < sizeof(account)) {
		/* GET /auth/v1/<account>/auth with X-Storage-User: <user> */
		snprintf(account, sizeof(account), "%.*s",
			 (int)(strlen(path) - 9), path + 4);
		user = http_header(req, "X-Storage-User");
		if (!user) {
			user = http_header(req, "X-Auth-User");
			if (!user || !strchr(user, ':') ||
			    strncmp(user, account, strlen(account)) ||
			    user[strlen(account)] != ':') {
				deny(req, 401, account);
				return;
			}
			user = strchr(user, ':') + 1;
		}
		snprintf(uname, sizeof(uname), "%s", user);
		key = http_header(req, "X-Storage-Pass");
		if (!key)
			key = http_header(req, "X-Auth-Key");
	} else {
		proxy_reply_status(req, 400);
		return;
	}
	if (!*account || !*uname || !key || !*key) {
		deny(req, 401, *account ? account : "unknown");
		return;
	}
	u = tempauth_find(ta, account, uname);
	if (!u) {
		deny(req, 401, account);
		return;
	}
	if (strcmp(u->key, key)) {
		deny(req, 401, "unknown");
		return;
	}
	if (tempauth_issue(ta, u, token, &expires_in)) {
		proxy_reply_status(req, 500);
		return;
	}
	http_add_header(req, "X-Auth-Token", token);
	http_add_header(req, "X-Storage-Token", token);
	http_add_headerf(req, "X-Auth-Token-Expires", "%lld", expires_in);
	if (u->url) {
		http_add_header(req, "X-Storage-Url", u->url);
	} else {
		host = http_header(req, "Host");
		if (host)
			http_add_headerf(req, "X-Storage-Url",
					 "http://%s/v1/%s_%s", host, ta->prefix,
					 u->account);
		else
			http_add_headerf(
				req, "X-Storage-Url", "http://%s:%lld/v1/%s_%s",
				app->conf->bind_ip, app->conf->bind_port,
				ta->prefix, u->account);
	}
	http_add_header(req, "Content-Type", "text/html; charset=UTF-8");
	http_reply(req, 200, "", 0);
}

int tempauth_allowed(struct http_request *req, struct proxy_app *app,
		     const char *method, struct proxy_path *p)
{
	struct tempauth *ta = app->auth;
	char g[64][TEMPAUTH_GROUP_MAX];
	const char *gp[64];
	struct cluster_resp r = {0};
	int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	int n, i, status = 0;
	enum acl_level level;

	p->owner = 0;
	if (prefix_of(ta, p->account) < 0)
		goto deny;
	if (!tempauth_owner(ta, p->user, p->service, method, p->account,
			    p->container)) {
		p->owner = 1;
		goto out;
	}
	n = tempauth_groups(ta, p->user, p->service, g, 64);
	for (i = 0; i < n; i++)
		gp[i] = g[i];
	if (p->container && (p->object || read)) {
		const char *acl = NULL;

		if (proxy_head_info(req, app, CLUSTER_CONTAINER, p, &r) / 100 ==
		    2)
			acl = cluster_resp_header(&r,
						  read ? "X-Container-Read"
						       : "X-Container-Write");
		if (acl_allows(acl, http_header(req, "Referer"),
			       p->object != NULL, gp, n))
			goto out;
		cluster_resp_free(&r);
	}
	if (proxy_head_info(req, app, CLUSTER_ACCOUNT, p, &r) / 100 == 2) {
		level = acl_account_level(
			cluster_resp_header(
				&r, "X-Account-Sysmeta-Core-Access-Control"),
			gp, n);
		if (level == ACL_ADMIN) {
			p->owner = 1;
			goto out;
		}
		if (level == ACL_READ_WRITE && (p->container || read))
			goto out;
		if (level == ACL_READ_ONLY && read)
			goto out;
	}
deny:
	status = p->user ? 403 : 401;
out:
	cluster_resp_free(&r);
	return status;
}

int tempauth_check(struct http_request *req, struct proxy_app *app,
		   const char *method, struct proxy_path *p)
{
	int status = tempauth_allowed(req, app, method, p);

	if (status == 401)
		deny(req, 401, p->account);
	else if (status)
		proxy_reply_status(req, status);
	return status;
}

int tempauth_request(struct http_request *req, struct proxy_app *app,
		     struct proxy_path *p)
{
	struct tempauth *ta = app->auth;
	const char *token = http_header(req, "X-Auth-Token");
	const char *service = http_header(req, "X-Service-Token");
	const char *acl = http_header(req, "X-Account-Access-Control");
	const char *method = http_method(req);
	size_t pl = strlen(ta->prefix);
	char msg[1024];

	if (!token)
		token = http_header(req, "X-Storage-Token");
	p->user = p->service = NULL;
	if (token && !strncmp(token, ta->prefix, pl) && token[pl] == '_') {
		p->user = tempauth_check_token(ta, token);
		if (!p->user) {
			deny(req, 401, p->account);
			return 401;
		}
		if (service)
			p->service = tempauth_check_token(ta, service);
	}
	/* Swift checks the syntax of an account ACL before anything else */
	if (acl && prefix_of(ta, p->account) >= 0 &&
	    acl_account_validate(acl, msg, sizeof(msg))) {
		http_reply_error(req, 400,
				 "X-Account-Access-Control invalid: %s\n\n"
				 "Input: %s",
				 msg, acl);
		return 400;
	}
	/* COPY is a GET of its source and a PUT of its destination
	 * (copy.c checks the PUT) */
	if (!strcmp(method, "COPY"))
		method = "GET";
	return tempauth_check(req, app, method, p);
}
