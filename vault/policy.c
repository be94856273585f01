/*
 * policy.c - tiers by value.
 *
 * A record is VIP if it meets both VIP minimums, standard if it meets
 * both standard minimums, basic otherwise; a pinned record keeps its tier.
 * The policy lives in the vault (meta "policy"), so every process tiers
 * alike; changing it re-tiers in one transaction (retier.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

static const char *const tier_names[] = { NULL, "basic", "standard", "vip" };
static const char *const field_names[] = { "name", "phone", "email",
    "address", "notes", "preferences" };

const char *
vv_tier_name(int tier)
{
	if (tier < VV_TIER_BASIC || tier > VV_TIER_VIP)
		return NULL;
	return tier_names[tier];
}

int
vv_tier_from_name(const char *name)
{
	int t;

	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++)
		if (name != NULL && strcmp(name, tier_names[t]) == 0)
			return t;
	return 0;
}

const char *
vv_field_name(int field)
{
	if (field < 0 || field >= VV_FIELD_COUNT)
		return NULL;
	return field_names[field];
}

void
vv_policy_default(vv_policy *p)
{
	p->vip_min_spend = 10000000;	/* 100,000.00 */
	p->vip_min_years = 5;
	p->standard_min_spend = 1000000;	/* 10,000.00 */
	p->standard_min_years = 0;
}

int
vv_policy_tier(const vv_policy *p, int64_t spend, int64_t since_days,
    int64_t today)
{
	int years = vv_years_since(since_days, today);

	if (spend >= p->vip_min_spend && years >= p->vip_min_years)
		return VV_TIER_VIP;
	if (spend >= p->standard_min_spend && years >= p->standard_min_years)
		return VV_TIER_STANDARD;
	return VV_TIER_BASIC;
}

static int
policy_valid(const vv_policy *p)
{
	return p->vip_min_spend >= 0 && p->standard_min_spend >= 0 &&
	    p->vip_min_years >= 0 && p->standard_min_years >= 0 &&
	    p->vip_min_years <= 200 && p->standard_min_years <= 200 &&
	    p->vip_min_spend <= INT64_MAX / 2 &&
	    p->standard_min_spend <= INT64_MAX / 2;
}

int
vv_policy_format(const vv_policy *p, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "vip_min_spend=%" PRId64
	    " vip_min_years=%" PRId32 " standard_min_spend=%" PRId64
	    " standard_min_years=%" PRId32, p->vip_min_spend, p->vip_min_years,
	    p->standard_min_spend, p->standard_min_years);

	return n < 0 || (size_t)n >= outlen ? VV_ERR_INTERNAL : VV_OK;
}

int
vv_policy_parse(const char *s, vv_policy *p)
{
	long long vs, ss;
	int vy, sy, used = 0;

	if (sscanf(s, "vip_min_spend=%lld vip_min_years=%d "
	    "standard_min_spend=%lld standard_min_years=%d%n", &vs, &vy, &ss,
	    &sy, &used) != 4 || s[used] != '\0')
		return VV_ERR_INTEGRITY;
	p->vip_min_spend = vs;
	p->vip_min_years = vy;
	p->standard_min_spend = ss;
	p->standard_min_years = sy;
	return policy_valid(p) ? VV_OK : VV_ERR_INTEGRITY;
}

int
vv_policy_load(vv_vault *v)
{
	char *s = NULL;
	int r;

	if ((r = vv_meta_get(v, "policy", &s)) != VV_OK)
		return r;
	if ((r = vv_policy_parse(s, &v->policy)) != VV_OK)
		r = vv_fail(v, r, "the stored tier policy is malformed");
	free(s);
	return r;
}

int
vv_policy_store(vv_vault *v, const vv_policy *p)
{
	char s[160];
	int r;

	if (!policy_valid(p))
		return vv_fail(v, VV_ERR_INVALID, "tier policy values must be "
		    "non-negative (years at most 200)");
	if ((r = vv_policy_format(p, s, sizeof(s))) != VV_OK)
		return vv_fail(v, r, "formatting the tier policy");
	return vv_meta_set(v, "policy", s);
}

int
vv_policy_get(vv_vault *v, vv_policy *p)
{
	*p = v->policy;
	return VV_OK;
}

int
vv_tier_counts(vv_vault *v, size_t counts[4])
{
	sqlite3_stmt *st = NULL;
	int r, rc, t;

	memset(counts, 0, 4 * sizeof(counts[0]));
	if ((r = vv_prepare(v, "SELECT tier, count(*) FROM records GROUP BY "
	    "tier", &st)) != VV_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_int(st, 0);
		if (t >= VV_TIER_BASIC && t <= VV_TIER_VIP)
			counts[t] = (size_t)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "counting records");
	sqlite3_finalize(st);
	return r;
}
