/*
 * cmd_canary.c - vipvault canary: plant and list canary clients.
 *
 * A canary is a made-up client owned by one user: only that user's
 * tokens see it, and any read of it is a compliance alert naming the
 * token.  Options are parsed in full before the vault is opened, so a
 * typo is a usage error (exit 1) whatever state the vault is in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

#define COUNT_MAX 100

static const char canary_help[] =
    "usage: vipvault [--vault DIR] canary plant --owner USER [--count N] "
    "[--json]\n"
    "       vipvault canary list [--json]\n\n"
    "A canary is a made-up client (name, phone, e-mail, address, an id\n"
    "shaped like the vault's) owned by USER: only USER's tokens see it,\n"
    "and any read of it is a compliance alert naming the token, so its\n"
    "phone number found outside names the leaker.  'plant' makes N of them\n"
    "(1 to 100, default 1) in one step and prints their external ids;\n"
    "'list' shows every canary, opened with the escrowed tier keys.\n";

struct canary_args {
	const char *owner;
	long count;
	int npos;
	char **pos;
};

static int
parse_canary(struct cli *c, int argc, char **argv, int plant,
    struct canary_args *a)
{
	/* list's options are plant's last one: an option of the other
	 * subcommand is unknown, and reported by its name. */
	static const struct option opts[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->count = 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", plant ? opts : opts + 2,
	    NULL)) != -1) {
		if (ch == '?')
			return cli_bad_option(c, argc, argv);
		switch (ch) {
		case 'o':
			a->owner = optarg;
			break;
		case 'n':
			a->count = strtol(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    a->count < 1 || a->count > COUNT_MAX)
				return cli_usage_error(c, "--count: 1 to %d",
				    COUNT_MAX);
			break;
		case 'j':
			c->json = 1;
			break;
		}
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	if (a->npos != 0)
		return cli_usage_error(c, "canary %s takes no arguments",
		    plant ? "plant" : "list");
	if (plant && a->owner == NULL)
		return cli_usage_error(c, "canary plant --owner USER "
		    "[--count N]");
	return VV_EXIT_OK;
}

/* ------------------------------------------------------------- plant */

/* The external ids of one owner's canaries, to tell the new ones. */
struct ids {
	const char *owner;
	char **id;
	size_t n, cap;
	int failed;
};

static int
collect_id(void *arg, const vv_canary_info *k)
{
	struct ids *s = arg;
	char **p;

	if (strcmp(k->owner, s->owner) != 0)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		if ((p = realloc(s->id, s->cap * sizeof(*p))) == NULL) {
			s->failed = 1;
			return 1;
		}
		s->id = p;
	}
	if ((s->id[s->n] = strdup(k->external_id)) == NULL) {
		s->failed = 1;
		return 1;
	}
	s->n++;
	return 0;
}

static void
ids_free(struct ids *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->id[i]);
	free(s->id);
	s->id = NULL;
	s->n = s->cap = 0;
}

static int
ids_have(const struct ids *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->id[i], id) == 0)
			return 1;
	return 0;
}

static int
ids_read(struct cli *c, vv_vault *v, struct ids *s)
{
	int r = vv_canary_foreach(v, collect_id, s);

	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	if (s->failed)
		return cli_fail(c, VV_ERR_NOMEM, "out of memory");
	return VV_EXIT_OK;
}

/*
 * vv_canary_plant does not say which ids it chose: they are the owner's
 * canaries after it that were not there before.  (A plant for the same
 * owner by another process at the same moment would show up too.)
 */
static int
do_plant(struct cli *c, vv_vault *v, const struct canary_args *a)
{
	struct ids before = { a->owner, NULL, 0, 0, 0 };
	struct ids after = { a->owner, NULL, 0, 0, 0 };
	struct jw w;
	size_t i;
	int rc, r;

	if ((rc = ids_read(c, v, &before)) != VV_EXIT_OK)
		goto out;
	if ((r = vv_canary_plant(v, a->owner, (size_t)a->count)) != VV_OK) {
		rc = cli_vault_fail(c, v, r);
		goto out;
	}
	if ((rc = ids_read(c, v, &after)) != VV_EXIT_OK) {
		(void)fprintf(stderr, "vipvault %s: the canaries were planted; "
		    "'vipvault canary list' shows them\n", c->cmd);
		goto out;
	}
	if (c->json) {
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "planted");
		jw_arr(&w);
	}
	for (i = 0; i < after.n; i++) {
		if (ids_have(&before, after.id[i]))
			continue;
		if (c->json)
			jw_str(&w, after.id[i]);
		else
			(void)printf("%s\n", after.id[i]);
	}
	if (c->json) {
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	}
out:
	ids_free(&before);
	ids_free(&after);
	return rc;
}

/* -------------------------------------------------------------- list */

struct listing {
	struct jw w;
	int json;
	size_t count;
};

static void
format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(out, outlen, "%lld", (long long)t);
}

/* s and a space, padded to width characters (not bytes: names are
 * UTF-8). */
static void
print_col(const char *s, size_t width)
{
	size_t n = 0;
	const char *p;

	if (s == NULL)
		s = "-";
	for (p = s; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	(void)printf("%s%*s ", s, n < width ? (int)(width - n) : 0, "");
}

static int
print_canary(void *arg, const vv_canary_info *k)
{
	struct listing *l = arg;
	const char *tier = vv_tier_name(k->tier);
	char when[32];

	l->count++;
	if (!l->json) {
		format_time(k->planted, when, sizeof(when));
		print_col(k->external_id, 12);
		print_col(k->owner, 12);
		print_col(tier != NULL ? tier : "?", 8);
		print_col(k->name, 22);
		print_col(k->phone, 13);
		print_col(k->email, 40);
		(void)printf("%s\n", when);
		return 0;
	}
	jw_obj(&l->w);
	jw_key(&l->w, "external_id");
	jw_str(&l->w, k->external_id);
	jw_key(&l->w, "owner");
	jw_str(&l->w, k->owner);
	jw_key(&l->w, "tier");
	jw_str(&l->w, tier);
	jw_key(&l->w, "name");
	jw_str(&l->w, k->name);
	jw_key(&l->w, "phone");
	jw_str(&l->w, k->phone);
	jw_key(&l->w, "email");
	jw_str(&l->w, k->email);
	jw_key(&l->w, "planted");
	jw_int(&l->w, (long long)k->planted);
	jw_obj_end(&l->w);
	return 0;
}

static int
do_list(struct cli *c, vv_vault *v)
{
	struct listing l;
	int r;

	memset(&l, 0, sizeof(l));
	l.json = c->json;
	jw_init(&l.w, stdout);
	if (l.json)
		jw_arr(&l.w);
	else
		(void)printf("%-12s %-12s %-8s %-22s %-13s %-40s %s\n",
		    "EXTERNAL ID", "OWNER", "TIER", "NAME", "PHONE", "EMAIL",
		    "PLANTED (UTC)");
	r = vv_canary_foreach(v, print_canary, &l);
	if (l.json) {
		jw_arr_end(&l.w);
		jw_end(&l.w);
	}
	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	if (!l.json && l.count == 0)
		(void)printf("no canaries\n");
	return VV_EXIT_OK;
}

int
cmd_canary(struct cli *c, int argc, char **argv)
{
	struct canary_args a;
	vv_vault *v = NULL;
	int rc, plant;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(canary_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "plant") != 0 &&
	    strcmp(argv[1], "list") != 0))
		return cli_usage_error(c, "canary plant | canary list");
	plant = strcmp(argv[1], "plant") == 0;
	if ((rc = parse_canary(c, argc - 1, argv + 1, plant, &a)) !=
	    VV_EXIT_OK)
		return rc;
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	rc = plant ? do_plant(c, v, &a) : do_list(c, v);
	vv_vault_free(&v);
	return rc;
}
