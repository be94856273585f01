/*
 * cmd_access.c - vipvault role: who may read which tiers, write, and how
 * much through the API.
 *
 * Options are parsed in full before the vault is opened, so a typo is a
 * usage error (exit 1) whatever state the vault is in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char role_help[] =
    "usage: vipvault [--vault DIR] role add NAME --tiers T[,T...] "
    "[--own-clients-only]\n"
    "                [--write] [BUDGET OPTIONS]\n"
    "       vipvault role budget NAME [BUDGET OPTIONS]\n"
    "       vipvault role list [--json]\n\n"
    "A role reads the listed tiers (basic, standard, vip); its key lives in "
    "the\nHSM.  --own-clients-only limits it to records owned by the token's "
    "user;\n--write lets it add and update records through the API.  VIP "
    "contacts stay\nmasked for every role.\n\n"
    "Budget options (per token, through the API; 0 means no limit):\n"
    "  --reads-per-minute N   records read a minute (default 300)\n"
    "  --records-per-hour N   distinct records an hour (default 1000)\n"
    "  --pages-per-hour N     list pages an hour (default 100)\n"
    "  --burst N              requests a second before HTTP 429 "
    "(default 20)\n"
    "  --hours FROM-TO|any    working hours, server local time "
    "(e.g. 08-19)\n"
    "Going over a budget, or reading outside working hours, freezes the "
    "token\nuntil 'vipvault token unfreeze'.  'role budget' without options "
    "shows it.\n";

struct role_args {
	const char *tiers;
	unsigned flags;
	vv_budget budget;
	int budget_given;	/* bits: which budget options were given */
	int npos;
	char **pos;
};

enum { B_READS = 1, B_RECORDS = 2, B_PAGES = 4, B_BURST = 8, B_HOURS = 16 };

static int
parse_count(const char *s, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > 10000000ul)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* "any", or "FROM-TO" in whole hours. */
static int
parse_hours(const char *s, int *from, int *to)
{
	char *end;
	long a, b;

	if (strcmp(s, "any") == 0) {
		*from = *to = -1;
		return 0;
	}
	a = strtol(s, &end, 10);
	if (end == s || *end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (*end != '\0' || a < 0 || a > 23 || b < 0 || b > 24 || a == b)
		return -1;
	*from = (int)a;
	*to = (int)b;
	return 0;
}

static int
budget_option(struct cli *c, int ch, struct role_args *a)
{
	static const char *const names[] = { "--reads-per-minute",
	    "--records-per-hour", "--pages-per-hour", "--burst" };
	uint32_t *field[] = { &a->budget.reads_per_minute,
	    &a->budget.records_per_hour, &a->budget.pages_per_hour,
	    &a->budget.burst_per_second };
	int i = ch - 'A';

	if (ch == 'H') {
		if (parse_hours(optarg, &a->budget.hours_from,
		    &a->budget.hours_to) != 0)
			return cli_usage_error(c, "--hours: FROM-TO (0..23, "
			    "0..24) or any");
		a->budget_given |= B_HOURS;
		return VV_EXIT_OK;
	}
	if (parse_count(optarg, field[i]) != 0)
		return cli_usage_error(c, "%s: a whole number, 0 to 10000000",
		    names[i]);
	a->budget_given |= 1 << i;
	return VV_EXIT_OK;
}

static int
parse_args(struct cli *c, int argc, char **argv, const char *allowed,
    struct role_args *a)
{
	static const struct option opts[] = {
		{ "tiers", required_argument, NULL, 't' },
		{ "own-clients-only", no_argument, NULL, 'o' },
		{ "write", no_argument, NULL, 'w' },
		{ "reads-per-minute", required_argument, NULL, 'A' },
		{ "records-per-hour", required_argument, NULL, 'B' },
		{ "pages-per-hour", required_argument, NULL, 'C' },
		{ "burst", required_argument, NULL, 'D' },
		{ "hours", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc;

	memset(a, 0, sizeof(*a));
	vv_budget_default(&a->budget);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == '?' || strchr(allowed, ch) == NULL)
			return cli_bad_option(c, argc, argv);
		switch (ch) {
		case 't':
			a->tiers = optarg;
			break;
		case 'o':
			a->flags |= VV_ROLE_OWN_CLIENTS_ONLY;
			break;
		case 'w':
			a->flags |= VV_ROLE_WRITE;
			break;
		case 'j':
			c->json = 1;
			break;
		default:
			if ((rc = budget_option(c, ch, a)) != VV_EXIT_OK)
				return rc;
		}
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	return VV_EXIT_OK;
}

static int
parse_tiers(const char *s, unsigned *mask)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int t, r = 0;

	*mask = 0;
	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((t = vv_tier_from_name(tok)) == 0)
			r = -1;
		else
			*mask |= VV_TIER_MASK(t);
	}
	free(copy);
	return r == 0 && *mask != 0 ? 0 : -1;
}

static void
tiers_text(unsigned mask, char *out, size_t outlen)
{
	size_t n = 0;
	int t, k;

	out[0] = '\0';
	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++) {
		if (!(mask & VV_TIER_MASK(t)))
			continue;
		k = snprintf(out + n, outlen - n, "%s%s", n ? "," : "",
		    vv_tier_name(t));
		if (k < 0 || (size_t)k >= outlen - n)
			return;
		n += (size_t)k;
	}
}

static void
hours_text(const vv_budget *b, char *out, size_t outlen)
{
	if (b->hours_from < 0)
		(void)snprintf(out, outlen, "any");
	else
		(void)snprintf(out, outlen, "%02d-%02d", b->hours_from,
		    b->hours_to);
}

struct out {
	struct jw w;
	int json;
	vv_vault *v;
};

static void
budget_json(struct jw *w, const vv_budget *b)
{
	char hours[16];

	hours_text(b, hours, sizeof(hours));
	jw_key(w, "budget");
	jw_obj(w);
	jw_key(w, "reads_per_minute");
	jw_int(w, b->reads_per_minute);
	jw_key(w, "records_per_hour");
	jw_int(w, b->records_per_hour);
	jw_key(w, "pages_per_hour");
	jw_int(w, b->pages_per_hour);
	jw_key(w, "burst_per_second");
	jw_int(w, b->burst_per_second);
	jw_key(w, "hours");
	jw_str(w, hours);
	jw_obj_end(w);
}

static int
print_role(void *arg, const char *name, unsigned mask, unsigned flags)
{
	struct out *o = arg;
	char tiers[64], hours[16];
	vv_budget b;

	tiers_text(mask, tiers, sizeof(tiers));
	vv_budget_default(&b);
	(void)vv_role_budget(o->v, name, &b);
	hours_text(&b, hours, sizeof(hours));
	if (!o->json) {
		(void)printf("%-20s %-22s %-16s %-5s %u/min %u rec/h "
		    "%u pages/h burst %u/s hours %s\n", name, tiers,
		    flags & VV_ROLE_OWN_CLIENTS_ONLY ? "own clients only" :
		    "all clients", flags & VV_ROLE_WRITE ? "write" : "read",
		    b.reads_per_minute, b.records_per_hour, b.pages_per_hour,
		    b.burst_per_second, hours);
		return 0;
	}
	jw_obj(&o->w);
	jw_key(&o->w, "name");
	jw_str(&o->w, name);
	jw_key(&o->w, "tiers");
	jw_str(&o->w, tiers);
	jw_key(&o->w, "own_clients_only");
	jw_bool(&o->w, (flags & VV_ROLE_OWN_CLIENTS_ONLY) != 0);
	jw_key(&o->w, "write");
	jw_bool(&o->w, (flags & VV_ROLE_WRITE) != 0);
	budget_json(&o->w, &b);
	jw_obj_end(&o->w);
	return 0;
}

static int
role_list(struct cli *c, vv_vault *v)
{
	struct out o;
	int r;

	o.json = c->json;
	o.v = v;
	jw_init(&o.w, stdout);
	if (o.json)
		jw_arr(&o.w);
	r = vv_role_foreach(v, print_role, &o);
	if (o.json) {
		jw_arr_end(&o.w);
		jw_end(&o.w);
	}
	return r == VV_OK ? VV_EXIT_OK : cli_vault_fail(c, v, r);
}

/* Options given replace those fields of the role's current budget. */
static int
role_budget(struct cli *c, vv_vault *v, const struct role_args *a)
{
	vv_budget b;
	struct out o;
	int r;

	if ((r = vv_role_budget(v, a->pos[0], &b)) != VV_OK)
		return cli_vault_fail(c, v, r);
	if (a->budget_given & B_READS)
		b.reads_per_minute = a->budget.reads_per_minute;
	if (a->budget_given & B_RECORDS)
		b.records_per_hour = a->budget.records_per_hour;
	if (a->budget_given & B_PAGES)
		b.pages_per_hour = a->budget.pages_per_hour;
	if (a->budget_given & B_BURST)
		b.burst_per_second = a->budget.burst_per_second;
	if (a->budget_given & B_HOURS) {
		b.hours_from = a->budget.hours_from;
		b.hours_to = a->budget.hours_to;
	}
	if (a->budget_given != 0 &&
	    (r = vv_role_set_budget(v, a->pos[0], &b)) != VV_OK)
		return cli_vault_fail(c, v, r);
	if (c->json) {
		jw_init(&o.w, stdout);
		jw_obj(&o.w);
		jw_key(&o.w, "role");
		jw_str(&o.w, a->pos[0]);
		budget_json(&o.w, &b);
		jw_obj_end(&o.w);
		jw_end(&o.w);
	} else {
		char hours[16];

		hours_text(&b, hours, sizeof(hours));
		(void)printf("role %s: %u reads/min, %u records/h, %u pages/h, "
		    "burst %u/s, hours %s\n", a->pos[0], b.reads_per_minute,
		    b.records_per_hour, b.pages_per_hour, b.burst_per_second,
		    hours);
	}
	return VV_EXIT_OK;
}

static int
role_add(struct cli *c, vv_vault *v, const struct role_args *a,
    unsigned mask)
{
	char text[128];
	int r;

	if ((r = vv_role_add_with(v, a->pos[0], mask, a->flags,
	    &a->budget)) != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "role %s created", a->pos[0]);
	cli_done(c, "role", a->pos[0], text);
	return VV_EXIT_OK;
}

int
cmd_role(struct cli *c, int argc, char **argv)
{
	struct role_args a;
	vv_vault *v = NULL;
	unsigned mask = 0;
	const char *sub;
	int rc;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(role_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "list") != 0 && strcmp(argv[1], "budget") != 0))
		return cli_usage_error(c, "role add | role budget | role list");
	sub = argv[1];
	if ((rc = parse_args(c, argc - 1, argv + 1, strcmp(sub, "add") == 0 ?
	    "towABCDHj" : strcmp(sub, "budget") == 0 ? "ABCDHj" : "j",
	    &a)) != VV_EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0 && (a.npos != 1 || a.tiers == NULL))
		return cli_usage_error(c, "role add NAME --tiers T[,T...]");
	if (strcmp(sub, "add") == 0 && parse_tiers(a.tiers, &mask) != 0)
		return cli_usage_error(c, "--tiers: a list of basic, standard, "
		    "vip");
	if (strcmp(sub, "budget") == 0 && a.npos != 1)
		return cli_usage_error(c, "role budget NAME [options]");
	if (strcmp(sub, "list") == 0 && a.npos != 0)
		return cli_usage_error(c, "role list takes no arguments");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = role_list(c, v);
	else if (strcmp(sub, "budget") == 0)
		rc = role_budget(c, v, &a);
	else
		rc = role_add(c, v, &a, mask);
	vv_vault_free(&v);
	return rc;
}
