/*
 * role.c - roles: a name, the tiers it reads, a segmentation flag, and
 * its own non-extractable AES key in the HSM.
 *
 * Creating a role seals each granted tier's private key (taken from the
 * master escrow inside this process, for the moment of the grant) under
 * the role's key.  A role key is always generated fresh: a key object
 * already carrying the label could have been planted with weaker
 * attributes, so it is refused, never adopted.
 */
#include <stdio.h>
#include <string.h>

#include "vault/internal.h"
#include "vault/clog.h"

#define ROLE_NAME_MAX 32u

static int
insert_role(vv_vault *v, const char *name, unsigned tiers, unsigned flags,
    const vv_budget *b, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "INSERT INTO roles(name, tiers, flags, "
	    "created, reads_per_minute, records_per_hour, pages_per_hour, "
	    "burst_per_second, hours_from, hours_to) VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)", &st)) != VV_OK)
		return r;
	(void)sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int(st, 2, (int)tiers);
	(void)sqlite3_bind_int(st, 3, (int)flags);
	(void)sqlite3_bind_int64(st, 4, vv_now());
	(void)sqlite3_bind_int64(st, 5, b->reads_per_minute);
	(void)sqlite3_bind_int64(st, 6, b->records_per_hour);
	(void)sqlite3_bind_int64(st, 7, b->pages_per_hour);
	(void)sqlite3_bind_int64(st, 8, b->burst_per_second);
	(void)sqlite3_bind_int(st, 9, b->hours_from);
	(void)sqlite3_bind_int(st, 10, b->hours_to);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		r = vv_fail(v, VV_ERR_EXISTS, "role '%s' already exists", name);
	else if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "storing a role");
	else
		*id = sqlite3_last_insert_rowid(v->db);
	sqlite3_finalize(st);
	return r;
}

static int
check_role_args(vv_vault *v, const char *name, unsigned tiers,
    unsigned flags)
{
	if (name == NULL || !vv_valid_name(name) ||
	    strlen(name) > ROLE_NAME_MAX)
		return vv_fail(v, VV_ERR_INVALID, "role name: 1 to %u letters, "
		    "digits, . _ - @", ROLE_NAME_MAX);
	if (tiers == 0 || (tiers & ~(unsigned)VV_TIERS_ALL) != 0)
		return vv_fail(v, VV_ERR_INVALID, "a role needs at least one "
		    "tier of basic, standard, vip");
	if ((flags & ~(VV_ROLE_OWN_CLIENTS_ONLY | VV_ROLE_WRITE)) != 0)
		return vv_fail(v, VV_ERR_INVALID, "unknown role flags");
	return VV_OK;
}

int
vv_role_add(vv_vault *v, const char *name, unsigned tiers, unsigned flags)
{
	return vv_role_add_with(v, name, tiers, flags, NULL);
}

int
vv_role_add_with(vv_vault *v, const char *name, unsigned tiers,
    unsigned flags, const vv_budget *budget)
{
	char label[VV_P11_LABEL_MAX], detail[200];
	vv_budget defaults;
	int64_t id = 0;
	int r, t, made_key = 0;

	if (budget == NULL) {
		vv_budget_default(&defaults);
		budget = &defaults;
	}
	if ((r = check_role_args(v, name, tiers, flags)) != VV_OK ||
	    (r = vv_budget_check(v, budget)) != VV_OK)
		return r;
	if ((r = vv_label_role(v, name, label)) != VV_OK)
		return vv_fail(v, r, "role name too long");
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = insert_role(v, name, tiers, flags, budget, &id)) != VV_OK)
		goto fail;
	r = vv_p11_key_generate(v->p11, label);
	if (r == VV_ERR_EXISTS) {
		r = vv_fail(v, VV_ERR_EXISTS, "the HSM already holds a key "
		    "labelled for role '%s'; remove it from the token first",
		    name);
		goto fail;
	} else if (r != VV_OK) {
		r = vv_fail(v, r, "creating the role key: %s",
		    vv_p11_errmsg(v->p11));
		goto fail;
	}
	made_key = 1;
	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++)
		if ((tiers & VV_TIER_MASK(t)) != 0 &&
		    (r = vv_domain_grant(v, id, name,
		    vv_tier_domain(t))) != VV_OK)
			goto fail;
	vv_budget_describe(budget, detail, sizeof(detail));
	if ((r = vv_clog_note(v, VV_EV_ROLE_ADDED, NULL, name, detail, NULL,
	    0, 0)) != VV_OK || (r = vv_store_commit(v)) != VV_OK)
		goto fail;
	return VV_OK;
fail:
	vv_store_rollback(v);
	if (made_key)
		(void)vv_p11_key_destroy(v->p11, label);
	return r;
}

int
vv_role_foreach(vv_vault *v, vv_role_fn *fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT name, tiers, flags FROM roles ORDER "
	    "BY name", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (unsigned)sqlite3_column_int(st, 1),
		    (unsigned)sqlite3_column_int(st, 2)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "listing roles");
	sqlite3_finalize(st);
	return r;
}
