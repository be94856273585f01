/*
 * cmd_access.c - vipvault role and token: who may read which tiers.
 *
 * Options are parsed in full before the vault is opened, so a typo is a
 * usage error (exit 1) whatever state the vault is in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char role_help[] =
    "usage: vipvault [--vault DIR] role add NAME --tiers T[,T...] "
    "[--own-clients-only]\n"
    "       vipvault role list [--json]\n\n"
    "A role reads the listed tiers (basic, standard, vip); its key lives in "
    "the\nHSM.  --own-clients-only limits it to records owned by the token's "
    "user.\nVIP contacts stay masked for every role.\n";

static const char token_help[] =
    "usage: vipvault [--vault DIR] token issue ROLE --user USER "
    "[--expires-days N]\n"
    "       vipvault token list [--json]\n"
    "       vipvault token revoke TOKEN_ID\n\n"
    "'issue' prints a new bearer token once; only its hash is kept.\n"
    "TOKEN_ID is the part between 'vv_' and the second '_'.\n";

/* Everything a role or token subcommand can be given. */
struct access_args {
	const char *tiers;
	const char *user;
	long days;
	unsigned flags;
	int npos;
	char **pos;
};

/* Parses argv (argv[0] is the subcommand) accepting the long options in
 * allowed (a string of option letters). */
static int
parse_args(struct cli *c, int argc, char **argv, const char *allowed,
    struct access_args *a)
{
	static const struct option opts[] = {
		{ "tiers", required_argument, NULL, 't' },
		{ "own-clients-only", no_argument, NULL, 'o' },
		{ "user", required_argument, NULL, 'u' },
		{ "expires-days", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
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
		case 'u':
			a->user = optarg;
			break;
		case 'e':
			a->days = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->days < 1 ||
			    a->days > 3650)
				return cli_usage_error(c, "--expires-days: 1 "
				    "to 3650");
			break;
		case 'j':
			c->json = 1;
			break;
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

/* ------------------------------------------------------------- roles */

struct out {
	struct jw w;
	int json;
};

static int
print_role(void *arg, const char *name, unsigned mask, unsigned flags)
{
	struct out *o = arg;
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

/* A listing: a JSON array around the rows, or plain lines. */
static void
out_begin(struct out *o, const struct cli *c)
{
	o->json = c->json;
	jw_init(&o->w, stdout);
	if (o->json)
		jw_arr(&o->w);
}

static int
out_end(struct out *o, const struct cli *c, vv_vault *v, int r)
{
	if (o->json) {
		jw_arr_end(&o->w);
		jw_end(&o->w);
	}
	return r == VV_OK ? VV_EXIT_OK : cli_vault_fail(c, v, r);
}

static int
role_list(struct cli *c, vv_vault *v)
{
	struct out o;

	out_begin(&o, c);
	return out_end(&o, c, v, vv_role_foreach(v, print_role, &o));
}

int
cmd_role(struct cli *c, int argc, char **argv)
{
	struct access_args a;
	vv_vault *v = NULL;
	unsigned mask = 0;
	int rc, r, add;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(role_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "list") != 0))
		return cli_usage_error(c, "role add | role list");
	add = strcmp(argv[1], "add") == 0;
	if ((rc = parse_args(c, argc - 1, argv + 1, add ? "toj" : "j",
	    &a)) != VV_EXIT_OK)
		return rc;
	if (add && (a.npos != 1 || a.tiers == NULL))
		return cli_usage_error(c, "role add NAME --tiers T[,T...]");
	if (add && parse_tiers(a.tiers, &mask) != 0)
		return cli_usage_error(c, "--tiers: a list of basic, standard, "
		    "vip");
	if (!add && a.npos != 0)
		return cli_usage_error(c, "role list takes no arguments");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (!add)
		rc = role_list(c, v);
	else if ((r = vv_role_add(v, a.pos[0], mask, a.flags)) != VV_OK)
		rc = cli_vault_fail(c, v, r);
	else {
		char text[128];

		(void)snprintf(text, sizeof(text), "role %s created", a.pos[0]);
		cli_done(c, "role", a.pos[0], text);
	}
	vv_vault_free(&v);
	return rc;
}

/* ------------------------------------------------------------ tokens */

static int
token_issue(struct cli *c, vv_vault *v, const struct access_args *a)
{
	char token[VV_TOKEN_MAX];
	int64_t expires = 0;
	int r;

	if (a->days > 0)
		expires = (int64_t)time(NULL) + (int64_t)a->days * 86400;
	if ((r = vv_token_issue(v, a->pos[0], a->user, expires, token,
	    sizeof(token))) != VV_OK)
		return cli_vault_fail(c, v, r);
	cli_done(c, "token", token, token);
	explicit_bzero(token, sizeof(token));
	return VV_EXIT_OK;
}

static int
print_token(void *arg, const char *id, const char *role, const char *user,
    int64_t created, int64_t expires, int revoked)
{
	struct out *o = arg;
	int expired = expires != 0 && expires <= (int64_t)time(NULL);

	if (!o->json) {
		(void)printf("%-16s %-16s %-16s %s\n", id, role, user,
		    revoked ? "revoked" : expired ? "expired" : "active");
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

static int
token_list(struct cli *c, vv_vault *v)
{
	struct out o;

	out_begin(&o, c);
	return out_end(&o, c, v, vv_token_foreach(v, print_token, &o));
}

/* The public id of a token: a pasted whole token is accepted too (its id
 * is the part between "vv_" and the second '_'), and its secret is
 * never printed. */
static const char *
token_id_of(char *arg)
{
	if (strncmp(arg, "vv_", 3) == 0 && strlen(arg) > 3 + 16 &&
	    arg[3 + 16] == '_') {
		arg[3 + 16] = '\0';
		return arg + 3;
	}
	return arg;
}

static int
token_check(struct cli *c, const char *sub, const struct access_args *a)
{
	if (strcmp(sub, "issue") == 0 && (a->npos != 1 || a->user == NULL))
		return cli_usage_error(c, "token issue ROLE --user USER");
	if (strcmp(sub, "revoke") == 0 && a->npos != 1)
		return cli_usage_error(c, "token revoke TOKEN_ID");
	if (strcmp(sub, "list") == 0 && a->npos != 0)
		return cli_usage_error(c, "token list takes no arguments");
	return VV_EXIT_OK;
}

int
cmd_token(struct cli *c, int argc, char **argv)
{
	struct access_args a;
	vv_vault *v = NULL;
	const char *sub, *id = NULL;
	int rc, r;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(token_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "issue") != 0 &&
	    strcmp(argv[1], "list") != 0 && strcmp(argv[1], "revoke") != 0))
		return cli_usage_error(c, "token issue | list | revoke");
	sub = argv[1];
	if ((rc = parse_args(c, argc - 1, argv + 1, strcmp(sub, "issue") == 0 ?
	    "uej" : "j", &a)) != VV_EXIT_OK ||
	    (rc = token_check(c, sub, &a)) != VV_EXIT_OK)
		return rc;
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (strcmp(sub, "issue") == 0)
		rc = token_issue(c, v, &a);
	else if (strcmp(sub, "list") == 0)
		rc = token_list(c, v);
	else if ((r = vv_token_revoke(v, (id = token_id_of(a.pos[0])))) !=
	    VV_OK)
		rc = cli_vault_fail(c, v, r);
	else {
		char text[128];

		(void)snprintf(text, sizeof(text), "token %s revoked", id);
		cli_done(c, "revoked", id, text);
	}
	vv_vault_free(&v);
	return rc;
}
