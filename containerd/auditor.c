/*
 * containerd/auditor.c: what the container auditor checks in one
 * container's record and rows; the pass, pace, quarantine, thread and
 * recon figures are common/dbaudit.c's.
 *
 * A container is consistent when its record's fields read back
 * (contd_info_get), every live ("O") and deleted ("T") row parses
 * (contd_row_parse), and the record's object_count and bytes_used are the
 * count and size sum of its live rows (broker.c's invariant 1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "containerd/internal.h"

struct tally {
	int64_t count, bytes;
	int bad;
};

static int tally_row(void *arg, char *val)
{
	struct tally *t = arg;
	struct contd_row row;

	if (contd_row_parse(val, &row) || row.size < 0) {
		t->bad = 1;
		return 1; /* stop: the container is corrupt */
	}
	t->count++;
	t->bytes += row.size;
	return 0;
}

static int check(void *app, struct dbstore_db *db, const char *rkey,
		 const char *val, const char **why)
{
	struct tally live = {0}, dead = {0};
	struct contd_info info;
	int rc;

	(void)app;
	(void)val;
	rc = contd_info_get(db, rkey, &info);
	if (rc == -EIO) {
		*why = "record fields do not read back";
		return -EILSEQ;
	}
	if (rc)
		return rc;
	rc = dbaudit_rows(db, 'O', rkey, tally_row, &live);
	if (!rc)
		rc = dbaudit_rows(db, 'T', rkey, tally_row, &dead);
	if (rc)
		goto out;
	if (live.bad || dead.bad) {
		*why = "a malformed object row";
		rc = -EILSEQ;
	} else if (live.count != info.object_count ||
		   live.bytes != info.bytes_used) {
		log_warn("container %s: record says %lld objects, %lld bytes; "
			 "rows add up to %lld, %lld",
			 rkey, (long long)info.object_count,
			 (long long)info.bytes_used, (long long)live.count,
			 (long long)live.bytes);
		*why = "object_count or bytes_used differ from the rows";
		rc = -EILSEQ;
	}
out:
	contd_info_free(&info);
	return rc;
}

static const struct dbaudit_ops ops = {
	.server = "container",
	.dbname = CONTD_DB_NAME,
	.rec = 'C',
	.check = check,
};

int contd_auditor_new(struct contd *c)
{
	struct dbaudit_conf conf = {
		.devices = c->cfg->devices,
		.recon_cache = c->cfg->recon_cache_path,
		.interval = (double)c->cfg->auditor_interval,
		.per_second = c->cfg->containers_per_second,
	};

	return dbaudit_new(&conf, &ops, c, c->store, &c->auditor);
}
