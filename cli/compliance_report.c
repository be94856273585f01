/*
 * compliance_report.c - vipvault compliance report --month YYYY-MM: a
 * month of the log as an officer presents it: unseals per requester and
 * per approver, denials, refused releases and decisions, expiries,
 * freezes and canary alerts.  Read from the mirror, verified as read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

#define NAMES_MAX 256

struct tally {
	char name[64];
	unsigned requests, releases, approvals, denials;
};

struct report {
	int64_t from_ms, to_ms;
	struct tally t[NAMES_MAX];
	size_t n;
	unsigned requests, completed, releases, refused_releases;
	unsigned denials, refused_decisions, expiries, freezes, canaries;
	unsigned entries;
};

static struct tally *
person(struct report *r, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->t[i].name, name) == 0)
			return &r->t[i];
	if (r->n == NAMES_MAX)
		return NULL;
	(void)snprintf(r->t[r->n].name, sizeof(r->t[0].name), "%s", name);
	return &r->t[r->n++];
}

static void
count_entry(struct report *r, const vv_log_entry *e, struct tally *who)
{
	int ok = strcmp(e->outcome, "ok") == 0;

	if (strcmp(e->type, "unseal-request") == 0 && ok) {
		r->requests++;
		if (who != NULL)
			who->requests++;
	} else if (strcmp(e->type, "unseal-complete") == 0)
		r->completed++;
	else if (strcmp(e->type, "release") == 0 && ok) {
		r->releases++;
		if (who != NULL)
			who->releases++;
	} else if (strcmp(e->type, "release-refused") == 0) {
		/* It follows the release entry it cancels: the mirror did
		 * not take it, nothing left. */
		r->refused_releases++;
		if (r->releases > 0)
			r->releases--;
		if (who != NULL && who->releases > 0)
			who->releases--;
	} else if (strcmp(e->type, "release") == 0)
		r->refused_releases++;
	else if (strcmp(e->type, "approval") == 0 && ok) {
		if (who != NULL)
			who->approvals++;
	} else if (strcmp(e->type, "denial") == 0 && ok) {
		r->denials++;
		if (who != NULL)
			who->denials++;
	} else if (strcmp(e->type, "approval") == 0 ||
	    strcmp(e->type, "denial") == 0)
		r->refused_decisions++;
	else if (strcmp(e->type, "expiry") == 0)
		r->expiries++;
	else if (strcmp(e->type, "freeze") == 0)
		r->freezes++;
	else if (strcmp(e->type, "canary") == 0 &&
	    strcmp(e->outcome, "denied") == 0)
		r->canaries++;	/* an alert; "ok" ones record a planting */
}

static int
tally(void *arg, const vv_log_entry *e)
{
	struct report *r = arg;

	if (e->time_ms < r->from_ms || e->time_ms >= r->to_ms)
		return 0;
	r->entries++;
	count_entry(r, e, person(r, e->actor));
	return 0;
}

static int
month_bounds(const char *month, int64_t *from, int64_t *to)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(month, "%Y-%m", &tm)) == NULL || *end != '\0')
		return -1;
	tm.tm_mday = 1;
	*from = (int64_t)timegm(&tm) * 1000;
	tm.tm_mon++;
	*to = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static void
print_json(const struct report *r, const char *month)
{
	struct jw w;
	size_t i;

	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "month");
	jw_str(&w, month);
	jw_key(&w, "entries");
	jw_int(&w, r->entries);
	jw_key(&w, "unseal_requests");
	jw_int(&w, r->requests);
	jw_key(&w, "unseals_completed");
	jw_int(&w, r->completed);
	jw_key(&w, "releases");
	jw_int(&w, r->releases);
	jw_key(&w, "releases_refused");
	jw_int(&w, r->refused_releases);
	jw_key(&w, "denials");
	jw_int(&w, r->denials);
	jw_key(&w, "decisions_refused");
	jw_int(&w, r->refused_decisions);
	jw_key(&w, "expiries");
	jw_int(&w, r->expiries);
	jw_key(&w, "freezes");
	jw_int(&w, r->freezes);
	jw_key(&w, "canary_alerts");
	jw_int(&w, r->canaries);
	jw_key(&w, "people");
	jw_arr(&w);
	for (i = 0; i < r->n; i++) {
		if (r->t[i].requests + r->t[i].releases + r->t[i].approvals +
		    r->t[i].denials == 0)
			continue;
		jw_obj(&w);
		jw_key(&w, "name");
		jw_str(&w, r->t[i].name);
		jw_key(&w, "requests");
		jw_int(&w, r->t[i].requests);
		jw_key(&w, "releases");
		jw_int(&w, r->t[i].releases);
		jw_key(&w, "approvals");
		jw_int(&w, r->t[i].approvals);
		jw_key(&w, "denials");
		jw_int(&w, r->t[i].denials);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

static void
print_text(const struct report *r, const char *month)
{
	size_t i;

	(void)printf("compliance report %s (%u log entries)\n\n", month,
	    r->entries);
	(void)printf("unseal requests   %5u   completed %u, released %u\n",
	    r->requests, r->completed, r->releases);
	(void)printf("denials           %5u   refused decisions %u, refused "
	    "releases %u\n", r->denials, r->refused_decisions,
	    r->refused_releases);
	(void)printf("expiries          %5u\nfreezes           %5u\n"
	    "canary alerts     %5u\n\n", r->expiries, r->freezes, r->canaries);
	(void)printf("%-20s %8s %8s %9s %7s\n", "who", "requests", "released",
	    "approvals", "denials");
	for (i = 0; i < r->n; i++)
		if (r->t[i].requests + r->t[i].releases + r->t[i].approvals +
		    r->t[i].denials > 0)
			(void)printf("%-20s %8u %8u %9u %7u\n", r->t[i].name,
			    r->t[i].requests, r->t[i].releases,
			    r->t[i].approvals, r->t[i].denials);
}

int
cli_compliance_report(struct cli *c, vv_officer *o, const char *month)
{
	struct report *r;
	int rc = VV_EXIT_OK, err;

	if (month == NULL)
		return cli_usage_error(c, "report needs --month YYYY-MM");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return cli_fail(c, VV_ERR_NOMEM, "out of memory");
	if (month_bounds(month, &r->from_ms, &r->to_ms) != 0) {
		free(r);
		return cli_usage_error(c, "--month: YYYY-MM");
	}
	if ((err = vv_officer_foreach(o, tally, r)) != VV_OK)
		rc = cli_fail(c, err, "the mirror does not verify: %s",
		    vv_officer_errmsg(o));
	else if (c->json)
		print_json(r, month);
	else
		print_text(r, month);
	free(r);
	return rc;
}
