/*
 * common/dbmeta.h: the metadata of accounts and containers as Swift's
 * DatabaseBroker keeps it: a map from header name to [value, timestamp],
 * merged key by key so that the newest timestamp wins, a removal being an
 * empty value (kept with its timestamp, never shown). Held in a jansson
 * object {"X-Container-Meta-Color": ["blue", "1700000000.00000"], ...}.
 */
#ifndef KUMO_COMMON_DBMETA_H
#define KUMO_COMMON_DBMETA_H

#include <stddef.h>

#include <jansson.h>

struct http_request;

/* Swift's MAX_META_COUNT and MAX_META_OVERALL_SIZE. */
#define DBMETA_MAX_COUNT   90
#define DBMETA_MAX_OVERALL 4096

/*
 * Add to updates (a JSON object) every header of req that Swift saves for
 * kind ("account" or "container"): X-<Kind>-Meta-*, X-<Kind>-Sysmeta-*
 * and the names in saved (lowercase, NULL-terminated; may be NULL), each
 * with timestamp ts (internal form). X-Remove-<name> sets <name> to "".
 * Names are title-cased as Swift's WSGI layer gives them. 0 or -ENOMEM.
 */
int dbmeta_from_request(struct http_request *req, const char *kind,
			const char *const *saved, const char *ts,
			json_t *updates);

/* Merge updates into md: a key is taken when md lacks it or its timestamp
 * is newer. Returns 1 when md changed, 0 when not, -ENOMEM. */
int dbmeta_merge(json_t *md, const json_t *updates);

/* Swift's validate_metadata over md: 0, or -EINVAL with the message (as
 * Swift's 400 body) in msg. */
int dbmeta_validate(const json_t *md, char *msg, size_t msglen);

/* Swift's delete_db: every key set to "" at ts (when newer). 0/-ENOMEM. */
int dbmeta_clear(json_t *md, const char *ts);

/* Add a response header for each key of md with a non-empty value. */
void dbmeta_add_headers(struct http_request *req, const json_t *md);

/* Python's str.title() over a header name, '_' becoming '-' (WSGI). */
void dbmeta_title_case(char *name);

#endif
