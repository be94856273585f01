/*
 * cmd_token.c - vipvault token: bearer tokens for the API and the CLI's
 * reads, and the freezes the API server puts on them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char token_help[] =
    "usage: vipvault [--vault DIR] token issue ROLE --user USER "
    "[--expires-days N]\n"
    "       vipvault token list [--json]\n"
    "       vipvault token revoke TOKEN_ID\n"
    "       vipvault token unfreeze TOKEN_ID\n\n"
    "'issue' prints a new bearer token once; only its hash is kept.\n"
    "TOKEN_ID is the part between 'vv_' and the second '_'.  A token that "
    "went\nover its role's budget is frozen by the API server; 'list' shows "
    "why, and\nonly 'unfreeze' (an administrator) lifts it.\n";

struct token_args {
	const char *user;
	long days;
	int npos;
	char **pos;
};

static int
parse_args(struct cli *c, int argc, char **argv, int issue,
    struct token_args *a)
{
	static const struct option opts[] = {
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
		if (ch == '?' || (!issue && ch != 'j'))
			return cli_bad_option(c, argc, argv);
		switch (ch) {
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
token_issue(struct cli *c, vv_vault *v, const struct token_args *a)
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

static const char *
token_state(const vv_token_info *t)
{
	if (t->revoked)
		return "revoked";
	if (t->expires != 0 && t->expires <= (int64_t)time(NULL))
		return "expired";
	return t->frozen ? "frozen" : "active";
}

static int
print_token(void *arg, const vv_token_info *t)
{
	struct jw *w = arg;

	if (w == NULL) {
		if (t->frozen && t->frozen_reason != NULL)
			(void)printf("%-16s %-16s %-16s %-8s %s\n", t->id,
			    t->role, t->user, token_state(t),
			    t->frozen_reason);
		else
			(void)printf("%-16s %-16s %-16s %s\n", t->id, t->role,
			    t->user, token_state(t));
		return 0;
	}
	jw_obj(w);
	jw_key(w, "id");
	jw_str(w, t->id);
	jw_key(w, "role");
	jw_str(w, t->role);
	jw_key(w, "user");
	jw_str(w, t->user);
	jw_key(w, "state");
	jw_str(w, token_state(t));
	jw_key(w, "created");
	jw_int(w, (long long)t->created);
	jw_key(w, "expires");
	jw_int(w, (long long)t->expires);
	jw_key(w, "revoked");
	jw_bool(w, t->revoked);
	jw_key(w, "frozen");
	jw_bool(w, t->frozen);
	jw_key(w, "frozen_at");
	if (t->frozen)
		jw_int(w, (long long)t->frozen_at);
	else
		jw_str(w, NULL);
	jw_key(w, "frozen_reason");
	jw_str(w, t->frozen_reason);
	jw_obj_end(w);
	return 0;
}

static int
token_list(struct cli *c, vv_vault *v)
{
	struct jw w;
	int r;

	jw_init(&w, stdout);
	if (c->json)
		jw_arr(&w);
	r = vv_token_foreach(v, print_token, c->json ? &w : NULL);
	if (c->json) {
		jw_arr_end(&w);
		jw_end(&w);
	}
	return r == VV_OK ? VV_EXIT_OK : cli_vault_fail(c, v, r);
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
token_check(struct cli *c, const char *sub, const struct token_args *a)
{
	if (strcmp(sub, "issue") == 0 && (a->npos != 1 || a->user == NULL))
		return cli_usage_error(c, "token issue ROLE --user USER");
	if (strcmp(sub, "list") == 0 && a->npos != 0)
		return cli_usage_error(c, "token list takes no arguments");
	if ((strcmp(sub, "revoke") == 0 || strcmp(sub, "unfreeze") == 0) &&
	    a->npos != 1)
		return cli_usage_error(c, "token %s TOKEN_ID", sub);
	return VV_EXIT_OK;
}

/* revoke or unfreeze one token by id. */
static int
token_change(struct cli *c, vv_vault *v, const char *sub, char *arg)
{
	const char *id = token_id_of(arg);
	char text[128];
	int r, revoke = strcmp(sub, "revoke") == 0;

	r = revoke ? vv_token_revoke(v, id) : vv_token_unfreeze(v, id);
	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "token %s %s", id, revoke ?
	    "revoked" : "unfrozen");
	cli_done(c, revoke ? "revoked" : "unfrozen", id, text);
	return VV_EXIT_OK;
}

int
cmd_token(struct cli *c, int argc, char **argv)
{
	struct token_args a;
	vv_vault *v = NULL;
	const char *sub;
	int rc;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(token_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "issue") != 0 &&
	    strcmp(argv[1], "list") != 0 && strcmp(argv[1], "revoke") != 0 &&
	    strcmp(argv[1], "unfreeze") != 0))
		return cli_usage_error(c, "token issue | list | revoke | "
		    "unfreeze");
	sub = argv[1];
	if ((rc = parse_args(c, argc - 1, argv + 1, strcmp(sub, "issue") == 0,
	    &a)) != VV_EXIT_OK || (rc = token_check(c, sub, &a)) != VV_EXIT_OK)
		return rc;
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (strcmp(sub, "issue") == 0)
		rc = token_issue(c, v, &a);
	else if (strcmp(sub, "list") == 0)
		rc = token_list(c, v);
	else
		rc = token_change(c, v, sub, a.pos[0]);
	vv_vault_free(&v);
	return rc;
}
