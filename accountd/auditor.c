/*
 * accountd/auditor.c: what the account auditor checks in one account's
 * record and rows; the pass, pace, quarantine, thread and recon figures
 * are common/dbaudit.c's.
 *
 * An account is consistent when its record's fields read back
 * (acctd_info_get), every live ("L") and deleted ("X") container row
 * parses (acctd_row_parse), container_count is the number of live rows,
 * and object_count and bytes_used are the sums over all rows (as
 * acctd_row_update keeps them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accountd/internal.h"
#include "common/log.h"

struct tally {
	int64_t rows, objects, bytes;
	int bad;
};

static int tally_row(void *arg, char *val)
{
	struct tally *t = arg;
	struct acctd_row row;

	if (acctd_row_parse(val, &row) || row.object_count < 0 ||
	    row.bytes_used < 0) {
		t->bad = 1;
		return 1; /* stop: the account is corrupt */
	}
	t->rows++;
	t->objects += row.object_count;
	t->bytes += row.bytes_used;
	return 0;
}

static int check(void *app, struct dbstore_db *db, const char *rkey,
		 const char *val, const char **why)
{
	struct tally live = {0}, dead = {0};
	struct acctd_info info;
	int rc;

	(void)app;
	(void)val;
	rc = acctd_info_get(db, rkey, &info);
	if (rc == -EIO) {
		*why = "record fields do not read back";
		return -EILSEQ;
	}
	if (rc)
		return rc;
	rc = dbaudit_rows(db, 'L', rkey, tally_row, &live);
	if (!rc)
		rc = dbaudit_rows(db, 'X', rkey, tally_row, &dead);
	if (rc)
		goto out;
	if (live.bad || dead.bad) {
		*why = "a malformed container row";
		rc = -EILSEQ;
	} else if (live.rows != info.container_count ||
		   live.objects + dead.objects != info.object_count ||
		   live.bytes + dead.bytes != info.bytes_used) {
		log_warn("account %s: record says %lld containers, %lld "
			 "objects, %lld bytes; rows add up to %lld, %lld, %lld",
			 rkey, (long long)info.container_count,
			 (long long)info.object_count,
			 (long long)info.bytes_used, (long long)live.rows,
			 (long long)(live.objects + dead.objects),
			 (long long)(live.bytes + dead.bytes));
		*why = "counts differ from the container rows";
		rc = -EILSEQ;
	}
out:
	acctd_info_free(&info);
	return rc;
}

static const struct dbaudit_ops ops = {
	.server = "account",
	.dbname = ACCTD_DB_NAME,
	.rec = 'A',
	.check = check,
};

int acctd_auditor_new(struct acctd *a)
{
	struct dbaudit_conf conf = {
		.devices = a->cfg->devices,
		.recon_cache = a->cfg->recon_cache_path,
		.interval = (double)a->cfg->auditor_interval,
		.per_second = a->cfg->accounts_per_second,
	};

	return dbaudit_new(&conf, &ops, a, a->store, &a->auditor);
}
