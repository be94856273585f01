/*
 * cmd_tiers.c - vipvault tiers: the value policy, re-tiering and pins.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

/* Parses the common trailing options of a subcommand: --json, --help. */
static int
simple_opts(struct cli *c, int argc, char **argv, const char *help)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			(void)fputs(help, stdout);
			return -1;
		}
		if (ch != 'j')
			return cli_bad_option(c, argc, argv);
		c->json = 1;
	}
	return VV_EXIT_OK;
}

/* ------------------------------------------------------------- tiers */

static const char tiers_help[] =
    "usage: vipvault [--vault DIR] tiers [--json]\n"
    "       vipvault tiers set KEY=VALUE...\n"
    "       vipvault tiers pin EXTERNAL_ID TIER\n"
    "       vipvault tiers unpin EXTERNAL_ID\n\n"
    "Shows the value policy and how many records each tier holds.  'set'\n"
    "changes the policy and re-tiers every unpinned record in one\n"
    "transaction; keys are vip.min_spend, vip.min_years,\n"
    "standard.min_spend, standard.min_years (spend in major units).\n"
    "A record leaving the VIP tier keeps its contacts under dual control.\n";

static int
tiers_show(struct cli *c, vv_vault *v)
{
	char vs[32], ss[32];
	size_t counts[4];
	vv_policy p;
	struct jw w;
	int r, t;

	(void)vv_policy_get(v, &p);
	if ((r = vv_tier_counts(v, counts)) != VV_OK)
		return cli_vault_fail(c, v, r);
	cli_amount(vs, sizeof(vs), p.vip_min_spend);
	cli_amount(ss, sizeof(ss), p.standard_min_spend);
	if (!c->json) {
		(void)printf("TIER      RULE                                "
		    "      RECORDS\n");
		(void)printf("vip       spend >= %-12s and >= %2d years  %8zu\n",
		    vs, p.vip_min_years, counts[VV_TIER_VIP]);
		(void)printf("standard  spend >= %-12s and >= %2d years  %8zu\n",
		    ss, p.standard_min_years, counts[VV_TIER_STANDARD]);
		(void)printf("basic     the rest                            "
		    "  %8zu\n", counts[VV_TIER_BASIC]);
		return VV_EXIT_OK;
	}
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "policy");
	jw_obj(&w);
	jw_key(&w, "vip.min_spend_minor");
	jw_int(&w, (long long)p.vip_min_spend);
	jw_key(&w, "vip.min_years");
	jw_int(&w, p.vip_min_years);
	jw_key(&w, "standard.min_spend_minor");
	jw_int(&w, (long long)p.standard_min_spend);
	jw_key(&w, "standard.min_years");
	jw_int(&w, p.standard_min_years);
	jw_obj_end(&w);
	jw_key(&w, "records");
	jw_obj(&w);
	for (t = VV_TIER_VIP; t >= VV_TIER_BASIC; t--) {
		jw_key(&w, vv_tier_name(t));
		jw_int(&w, (long long)counts[t]);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
	return VV_EXIT_OK;
}

static int
parse_years(const char *s, int32_t *out)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 0 || n > 200)
		return -1;
	*out = (int32_t)n;
	return 0;
}

static int
policy_assign(struct cli *c, vv_policy *p, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq != NULL ? (size_t)(eq - arg) : 0;
	int bad;

	if (eq == NULL)
		return cli_usage_error(c, "expected KEY=VALUE, got '%s'", arg);
	if (klen == 13 && strncmp(arg, "vip.min_spend", klen) == 0)
		bad = cli_parse_amount(eq + 1, &p->vip_min_spend);
	else if (klen == 13 && strncmp(arg, "vip.min_years", klen) == 0)
		bad = parse_years(eq + 1, &p->vip_min_years);
	else if (klen == 18 && strncmp(arg, "standard.min_spend", klen) == 0)
		bad = cli_parse_amount(eq + 1, &p->standard_min_spend);
	else if (klen == 18 && strncmp(arg, "standard.min_years", klen) == 0)
		bad = parse_years(eq + 1, &p->standard_min_years);
	else
		return cli_usage_error(c, "unknown policy key '%.*s'",
		    (int)klen, arg);
	if (bad)
		return cli_fail(c, VV_ERR_INPUT, "%.*s: bad value", (int)klen,
		    arg);
	return VV_EXIT_OK;
}

static int
tiers_set(struct cli *c, vv_vault *v, int argc, char **argv)
{
	struct progress bar;
	size_t changed = 0;
	vv_policy p;
	int i, r, rc;

	if (argc < 1)
		return cli_usage_error(c, "tiers set needs KEY=VALUE");
	(void)vv_policy_get(v, &p);
	for (i = 0; i < argc; i++)
		if ((rc = policy_assign(c, &p, argv[i])) != VV_EXIT_OK)
			return rc;
	progress_init(&bar, "re-tiering");
	r = vv_policy_set_progress(v, &p, &changed, progress_update, &bar);
	progress_done(&bar);
	if (r != VV_OK)
		return cli_fail(c, r, "%s; the policy is unchanged",
		    vv_vault_errmsg(v));
	if (c->json)
		(void)printf("{\"retiered\":%zu}\n", changed);
	else
		(void)printf("policy updated; %zu records changed tier\n",
		    changed);
	return VV_EXIT_OK;
}

static int
tiers_pin(struct cli *c, vv_vault *v, int argc, char **argv, int pin)
{
	int tier = 0, r;

	if (argc != (pin ? 2 : 1))
		return cli_usage_error(c, pin ? "tiers pin EXTERNAL_ID TIER" :
		    "tiers unpin EXTERNAL_ID");
	if (pin && (tier = vv_tier_from_name(argv[1])) == 0)
		return cli_usage_error(c, "tier: basic, standard or vip");
	if ((r = vv_record_pin(v, argv[0], tier)) != VV_OK)
		return cli_vault_fail(c, v, r);
	{
		char text[192];

		(void)snprintf(text, sizeof(text), "%s %s%s", argv[0],
		    pin ? "pinned to " : "unpinned", pin ? argv[1] : "");
		cli_done(c, pin ? "pinned" : "unpinned", argv[0], text);
	}
	return VV_EXIT_OK;
}

int
cmd_tiers(struct cli *c, int argc, char **argv)
{
	vv_vault *v = NULL;
	int rc;

	if ((rc = simple_opts(c, argc, argv, tiers_help)) != VV_EXIT_OK)
		return rc < 0 ? VV_EXIT_OK : rc;
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "set") != 0 &&
	    strcmp(argv[0], "pin") != 0 && strcmp(argv[0], "unpin") != 0)
		return cli_usage_error(c, "unknown subcommand '%s'", argv[0]);
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (argc == 0)
		rc = tiers_show(c, v);
	else if (strcmp(argv[0], "set") == 0)
		rc = tiers_set(c, v, argc - 1, argv + 1);
	else
		rc = tiers_pin(c, v, argc - 1, argv + 1,
		    strcmp(argv[0], "pin") == 0);
	vv_vault_free(&v);
	return rc;
}

