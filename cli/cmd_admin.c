/*
 * cmd_admin.c - vipvault tiers, role and token: the administrator's
 * commands for the value policy, roles and bearer tokens.
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
			return cli_usage_error(c, "unknown option");
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
	size_t changed = 0;
	vv_policy p;
	int i, r, rc;

	if (argc < 1)
		return cli_usage_error(c, "tiers set needs KEY=VALUE");
	(void)vv_policy_get(v, &p);
	for (i = 0; i < argc; i++)
		if ((rc = policy_assign(c, &p, argv[i])) != VV_EXIT_OK)
			return rc;
	if ((r = vv_policy_set(v, &p, &changed)) != VV_OK)
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
	if (!c->json)
		(void)printf("%s %s%s%s\n", argv[0], pin ? "pinned to " :
		    "unpinned", pin ? argv[1] : "", "");
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

/* -------------------------------------------------------------- role */

static const char role_help[] =
    "usage: vipvault [--vault DIR] role add NAME --tiers T[,T...] "
    "[--own-clients-only]\n"
    "       vipvault role list [--json]\n\n"
    "A role reads the listed tiers (basic, standard, vip); its key lives in "
    "the\nHSM.  --own-clients-only limits it to records owned by the token's "
    "user.\nVIP contacts stay masked for every role.\n";

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
	int t;

	out[0] = '\0';
	for (t = VV_TIER_BASIC; t <= VV_TIER_VIP; t++)
		if (mask & VV_TIER_MASK(t)) {
			if (out[0] != '\0')
				(void)strncat(out, ",", outlen - strlen(out) - 1);
			(void)strncat(out, vv_tier_name(t),
			    outlen - strlen(out) - 1);
		}
}

struct role_out {
	struct jw w;
	int json;
};

static int
print_role(void *arg, const char *name, unsigned mask, unsigned flags)
{
	struct role_out *o = arg;
	char tiers[64];

	tiers_text(mask, tiers, sizeof(tiers));
	if (!o->json) {
		(void)printf("%-20s %-22s %s\n", name, tiers,
		    flags & VV_ROLE_OWN_CLIENTS_ONLY ? "own clients only" :
		    "all clients");
		return 0;
	}
	jw_obj(&o->w);
	jw_key(&o->w, "name");
	jw_str(&o->w, name);
	jw_key(&o->w, "tiers");
	jw_str(&o->w, tiers);
	jw_key(&o->w, "own_clients_only");
	jw_bool(&o->w, (flags & VV_ROLE_OWN_CLIENTS_ONLY) != 0);
	jw_obj_end(&o->w);
	return 0;
}

static int
role_add(struct cli *c, vv_vault *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tiers", required_argument, NULL, 't' },
		{ "own-clients-only", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned mask = 0, flags = 0;
	const char *tiers = NULL;
	int ch, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 't')
			tiers = optarg;
		else if (ch == 'o')
			flags |= VV_ROLE_OWN_CLIENTS_ONLY;
		else
			return cli_usage_error(c, "unknown option");
	}
	if (optind + 1 != argc || tiers == NULL)
		return cli_usage_error(c, "role add NAME --tiers T[,T...]");
	if (parse_tiers(tiers, &mask) != 0)
		return cli_usage_error(c, "--tiers: a list of basic, standard, "
		    "vip");
	if ((r = vv_role_add(v, argv[optind], mask, flags)) != VV_OK)
		return cli_vault_fail(c, v, r);
	if (!c->json)
		(void)printf("role %s created\n", argv[optind]);
	return VV_EXIT_OK;
}

int
cmd_role(struct cli *c, int argc, char **argv)
{
	struct role_out o;
	vv_vault *v = NULL;
	int rc, r;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(role_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "list") != 0))
		return cli_usage_error(c, "role add | role list");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (strcmp(argv[1], "add") == 0) {
		rc = role_add(c, v, argc - 1, argv + 1);
		goto out;
	}
	if (argc > 2 && strcmp(argv[2], "--json") == 0)
		c->json = 1;
	o.json = c->json;
	jw_init(&o.w, stdout);
	if (o.json)
		jw_arr(&o.w);
	if ((r = vv_role_foreach(v, print_role, &o)) != VV_OK)
		rc = cli_vault_fail(c, v, r);
	if (o.json) {
		jw_arr_end(&o.w);
		jw_end(&o.w);
	}
out:
	vv_vault_free(&v);
	return rc;
}

/* ------------------------------------------------------------- token */

static const char token_help[] =
    "usage: vipvault [--vault DIR] token issue ROLE --user USER "
    "[--expires-days N]\n"
    "       vipvault token list [--json]\n"
    "       vipvault token revoke TOKEN_ID\n\n"
    "'issue' prints a new bearer token once; only its hash is kept.\n";

static int
token_issue(struct cli *c, vv_vault *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "expires-days", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	char token[VV_TOKEN_MAX], *end;
	const char *user = NULL;
	int64_t expires = 0;
	long days;
	int ch, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'u')
			user = optarg;
		else if (ch == 'e') {
			days = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || days < 1 ||
			    days > 3650)
				return cli_usage_error(c, "--expires-days: 1 "
				    "to 3650");
			expires = (int64_t)time(NULL) + days * 86400;
		} else
			return cli_usage_error(c, "unknown option");
	}
	if (optind + 1 != argc || user == NULL)
		return cli_usage_error(c, "token issue ROLE --user USER");
	if ((r = vv_token_issue(v, argv[optind], user, expires, token,
	    sizeof(token))) != VV_OK)
		return cli_vault_fail(c, v, r);
	if (c->json)
		(void)printf("{\"token\":\"%s\"}\n", token);
	else
		(void)printf("%s\n", token);
	explicit_bzero(token, sizeof(token));
	return VV_EXIT_OK;
}

static int
print_token(void *arg, const char *id, const char *role, const char *user,
    int64_t created, int64_t expires, int revoked)
{
	struct role_out *o = arg;

	if (!o->json) {
		(void)printf("%-16s %-16s %-16s %s%s\n", id, role, user,
		    revoked ? "revoked" : "active", expires != 0 &&
		    expires <= (int64_t)time(NULL) ? " (expired)" : "");
		return 0;
	}
	jw_obj(&o->w);
	jw_key(&o->w, "id");
	jw_str(&o->w, id);
	jw_key(&o->w, "role");
	jw_str(&o->w, role);
	jw_key(&o->w, "user");
	jw_str(&o->w, user);
	jw_key(&o->w, "created");
	jw_int(&o->w, (long long)created);
	jw_key(&o->w, "expires");
	jw_int(&o->w, (long long)expires);
	jw_key(&o->w, "revoked");
	jw_bool(&o->w, revoked);
	jw_obj_end(&o->w);
	return 0;
}

int
cmd_token(struct cli *c, int argc, char **argv)
{
	struct role_out o;
	vv_vault *v = NULL;
	int rc, r;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(token_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "issue") != 0 &&
	    strcmp(argv[1], "list") != 0 && strcmp(argv[1], "revoke") != 0))
		return cli_usage_error(c, "token issue | list | revoke");
	if (strcmp(argv[1], "revoke") == 0 && argc != 3)
		return cli_usage_error(c, "token revoke TOKEN_ID");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (strcmp(argv[1], "issue") == 0)
		rc = token_issue(c, v, argc - 1, argv + 1);
	else if (strcmp(argv[1], "revoke") == 0) {
		if ((r = vv_token_revoke(v, argv[2])) != VV_OK)
			rc = cli_vault_fail(c, v, r);
		else if (!c->json)
			(void)printf("token %s revoked\n", argv[2]);
	} else {
		if (argc > 2 && strcmp(argv[2], "--json") == 0)
			c->json = 1;
		o.json = c->json;
		jw_init(&o.w, stdout);
		if (o.json)
			jw_arr(&o.w);
		if ((r = vv_token_foreach(v, print_token, &o)) != VV_OK)
			rc = cli_vault_fail(c, v, r);
		if (o.json) {
			jw_arr_end(&o.w);
			jw_end(&o.w);
		}
	}
	vv_vault_free(&v);
	return rc;
}
