/*
 * budget.c - what a role's tokens may do per unit of time through the
 * API (the limits themselves; the API server counts against them).
 *
 * The defaults suit a salesperson's CRM session: a few reads a second
 * at most, a working day's worth of distinct clients an hour.  A
 * harvesting script goes over one of them within a minute.
 */
#include <stdio.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"

/* Above this a "limit" stops limiting anything; refusing it catches a
 * unit mistake (milliseconds for minutes). */
#define BUDGET_MAX 10000000u

void
vv_budget_default(vv_budget *b)
{
	memset(b, 0, sizeof(*b));
	b->reads_per_minute = 300;
	b->records_per_hour = 1000;
	b->pages_per_hour = 100;
	b->burst_per_second = 20;
	b->hours_from = -1;
	b->hours_to = -1;
}

int
vv_budget_check(vv_vault *v, const vv_budget *b)
{
	if (b->reads_per_minute > BUDGET_MAX || b->records_per_hour >
	    BUDGET_MAX || b->pages_per_hour > BUDGET_MAX ||
	    b->burst_per_second > BUDGET_MAX)
		return vv_fail(v, VV_ERR_INVALID, "a budget is at most %u "
		    "(0: no limit)", BUDGET_MAX);
	if (b->hours_from == -1 && b->hours_to == -1)
		return VV_OK;
	if (b->hours_from < 0 || b->hours_from > 23 || b->hours_to < 0 ||
	    b->hours_to > 24 || b->hours_from == b->hours_to)
		return vv_fail(v, VV_ERR_INVALID, "working hours: FROM-TO, "
		    "FROM 0..23, TO 0..24, not equal");
	return VV_OK;
}

int
vv_role_budget(vv_vault *v, const char *role, vv_budget *b)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT reads_per_minute, records_per_hour, "
	    "pages_per_hour, burst_per_second, hours_from, hours_to FROM "
	    "roles WHERE name = ?", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->reads_per_minute = (uint32_t)sqlite3_column_int64(st, 0);
		b->records_per_hour = (uint32_t)sqlite3_column_int64(st, 1);
		b->pages_per_hour = (uint32_t)sqlite3_column_int64(st, 2);
		b->burst_per_second = (uint32_t)sqlite3_column_int64(st, 3);
		b->hours_from = sqlite3_column_int(st, 4);
		b->hours_to = sqlite3_column_int(st, 5);
	} else if (rc == SQLITE_DONE)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no role named '%s'", role);
	else
		r = vv_fail_db(v, rc, "reading a role");
	sqlite3_finalize(st);
	return r;
}

/* The entry's detail: the whole budget, so that compliance sees a
 * loosened limit for what it is. */
void
vv_budget_describe(const vv_budget *b, char *out, size_t outlen)
{
	if (b->hours_from < 0)
		(void)snprintf(out, outlen, "budget: %u reads/min, %u "
		    "records/h, %u pages/h, burst %u/s, any time",
		    b->reads_per_minute, b->records_per_hour,
		    b->pages_per_hour, b->burst_per_second);
	else
		(void)snprintf(out, outlen, "budget: %u reads/min, %u "
		    "records/h, %u pages/h, burst %u/s, hours %02d-%02d",
		    b->reads_per_minute, b->records_per_hour,
		    b->pages_per_hour, b->burst_per_second, b->hours_from,
		    b->hours_to);
}

int
vv_role_set_budget(vv_vault *v, const char *role, const vv_budget *b)
{
	char detail[200];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_budget_check(v, b)) != VV_OK)
		return r;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_prepare(v, "UPDATE roles SET reads_per_minute = ?, "
	    "records_per_hour = ?, pages_per_hour = ?, burst_per_second = ?, "
	    "hours_from = ?, hours_to = ? WHERE name = ?", &st)) != VV_OK)
		goto fail;
	(void)sqlite3_bind_int64(st, 1, b->reads_per_minute);
	(void)sqlite3_bind_int64(st, 2, b->records_per_hour);
	(void)sqlite3_bind_int64(st, 3, b->pages_per_hour);
	(void)sqlite3_bind_int64(st, 4, b->burst_per_second);
	(void)sqlite3_bind_int(st, 5, b->hours_from);
	(void)sqlite3_bind_int(st, 6, b->hours_to);
	(void)sqlite3_bind_text(st, 7, role, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = vv_fail_db(v, rc, "updating a role");
	else if (sqlite3_changes(v->db) == 0)
		r = vv_fail(v, VV_ERR_NOT_FOUND, "no role named '%s'", role);
	sqlite3_finalize(st);
	if (r != VV_OK)
		goto fail;
	vv_budget_describe(b, detail, sizeof(detail));
	if ((r = vv_clog_note(v, VV_EV_ROLE_CHANGED, NULL, role, detail, NULL,
	    0, 0)) != VV_OK || (r = vv_store_commit(v)) != VV_OK)
		goto fail;
	return VV_OK;
fail:
	vv_store_rollback(v);
	return r;
}
