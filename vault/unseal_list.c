/*
 * unseal_list.c - what key managers and compliance see of requests: who
 * asked, for which records, why, until when, and who decided.
 *
 * Every request shown has passed its HSM seal check: what a manager
 * reads before touching his token is what the token will sign.
 */
#include <stdlib.h>
#include <string.h>

#include "vault/dual.h"

struct deciders {
	char (*names)[VV_NAME_MAX];
	const char **ptrs;
	size_t n;
	char denied_by[VV_NAME_MAX];
};

static int
load_deciders(vv_vault *v, const char *id, struct deciders *d)
{
	sqlite3_stmt *st = NULL;
	const char *name, *decision;
	int r, rc;

	d->n = 0;
	d->denied_by[0] = '\0';
	if ((r = vv_prepare(v, "SELECT m.name, a.decision FROM approvals a "
	    "JOIN managers m ON m.id = a.manager_id WHERE a.request_id = ? "
	    "ORDER BY a.at, m.name", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		decision = (const char *)sqlite3_column_text(st, 1);
		if (name == NULL || decision == NULL ||
		    strlen(name) >= VV_NAME_MAX)
			continue;
		if (strcmp(decision, "deny") == 0)
			memcpy(d->denied_by, name, strlen(name) + 1);
		else if (d->n < VV_SHAMIR_MAX_SHARES) {
			memcpy(d->names[d->n], name, strlen(name) + 1);
			d->ptrs[d->n] = d->names[d->n];
			d->n++;
		}
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading decisions");
	sqlite3_finalize(st);
	return r;
}

static int
show_one(vv_vault *v, const char *id, unsigned k, struct deciders *d,
    const char **recs, vv_unseal_fn *fn, void *arg, int *stop)
{
	struct vv_req q;
	vv_unseal_info info;
	size_t i;
	int r;

	if ((r = vv_req_load(v, id, &q)) != VV_OK)
		return r;
	if ((r = load_deciders(v, q.id, d)) != VV_OK)
		goto out;
	for (i = 0; i < q.req->nrecords; i++)
		recs[i] = q.req->records[i];
	memset(&info, 0, sizeof(info));
	info.id = q.id;
	info.kind = vv_request_kind_name(q.req->kind);
	info.state = q.state;
	info.requester = q.req->requester;
	info.role = q.req->role;
	info.reason = q.req->reason;
	info.created = q.req->created;
	info.expires = q.req->expires;
	info.nrecords = q.req->nrecords;
	info.records = recs;
	info.napproved = d->n;
	info.approvers = d->ptrs;
	info.denied_by = d->denied_by[0] != '\0' ? d->denied_by : NULL;
	info.threshold = k;
	*stop = fn(arg, &info) != 0;
out:
	vv_req_clear(&q);
	return r;
}

/* Ids first, then one request at a time: the callback may be slow (a
 * terminal) and must not hold a statement open. */
static int
collect_ids(vv_vault *v, int all, char (**ids)[2 * VV_REQ_ID_LEN + 1],
    size_t *n)
{
	sqlite3_stmt *st = NULL;
	const char *id;
	size_t cap = 0;
	void *p;
	int r, rc;

	*ids = NULL;
	*n = 0;
	if ((r = vv_prepare(v, all ? "SELECT id FROM unseal_requests ORDER "
	    "BY created DESC, id" : "SELECT id FROM unseal_requests WHERE "
	    "state IN ('pending', 'approved') ORDER BY created DESC, id",
	    &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(st, 0);
		if (id == NULL || strlen(id) != 2 * VV_REQ_ID_LEN)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((p = realloc(*ids, cap * sizeof(**ids))) == NULL) {
				r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
				break;
			}
			*ids = p;
		}
		memcpy((*ids)[(*n)++], id, 2 * VV_REQ_ID_LEN + 1);
	}
	if (r == VV_OK && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing requests");
	sqlite3_finalize(st);
	return r;
}

static int
walk(vv_vault *v, const char *one, int all, vv_unseal_fn *fn, void *arg)
{
	char (*ids)[2 * VV_REQ_ID_LEN + 1] = NULL;
	struct deciders d;
	const char **recs = NULL;
	size_t i, n = 0;
	unsigned k;
	uint32_t epoch;
	int r, stop = 0;

	memset(&d, 0, sizeof(d));
	if ((r = vv_req_sweep(v)) != VV_OK ||
	    (r = vv_dual_threshold(v, &k, &epoch)) != VV_OK)
		return r;
	d.names = calloc(VV_SHAMIR_MAX_SHARES, sizeof(*d.names));
	d.ptrs = calloc(VV_SHAMIR_MAX_SHARES, sizeof(*d.ptrs));
	recs = calloc(VV_REQ_RECORDS_MAX, sizeof(*recs));
	if (d.names == NULL || d.ptrs == NULL || recs == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (one != NULL)
		r = show_one(v, one, k, &d, recs, fn, arg, &stop);
	else if ((r = collect_ids(v, all, &ids, &n)) == VV_OK)
		for (i = 0; i < n && r == VV_OK && !stop; i++)
			r = show_one(v, ids[i], k, &d, recs, fn, arg, &stop);
out:
	free(ids);
	free(d.names);
	free(d.ptrs);
	free(recs);
	return r;
}

int
vv_unseal_foreach(vv_vault *v, int all_states, vv_unseal_fn *fn, void *arg)
{
	return walk(v, NULL, all_states, fn, arg);
}

int
vv_unseal_show(vv_vault *v, const char *id, vv_unseal_fn *fn, void *arg)
{
	return walk(v, id, 0, fn, arg);
}
