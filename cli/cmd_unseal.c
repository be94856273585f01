/*
 * cmd_unseal.c - vipvault unseal: the dual-control workflow from the
 * command line.  A CRM user requests, key managers look and decide with
 * their tokens, the requester fetches once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define RECORDS_MAX 255

static const char unseal_help[] =
    "usage: vipvault [--vault DIR] unseal request --records ID[,ID...]\n"
    "                --reason TEXT [--ttl 15m] [--token T | --token-file F]\n"
    "       vipvault unseal list [--all] [--json]\n"
    "       vipvault unseal show REQ [--json]\n"
    "       vipvault unseal approve REQ --manager NAME [--device PATH]\n"
    "                [--pin-file FILE]\n"
    "       vipvault unseal deny REQ --manager NAME [--device PATH]\n"
    "                [--pin-file FILE]\n"
    "       vipvault unseal fetch REQ [--token T | --token-file F] [--json]\n\n"
    "VIP contacts open only when enough distinct key managers approve a\n"
    "request with their FIDO2 tokens.  'request' asks for a few VIP\n"
    "records (the token's role must read them) for a reason; 'list' and\n"
    "'show' are what managers read before deciding; 'approve' and 'deny'\n"
    "need the manager's token (a touch, and its PIN if it has one); one\n"
    "denial closes the request.  'fetch' hands the contacts to the\n"
    "requesting token once.  --ttl takes seconds or 30m, 2h (at most 24h).\n";

struct unseal_args {
	char *records;
	const char *reason;
	const char *ttl;
	const char *token;
	const char *token_file;
	const char *manager;
	const char *device;
	const char *pin_file;
	int all;
	int npos;
	char **pos;
};

static int
parse_unseal(struct cli *c, int argc, char **argv, struct unseal_args *a)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "ttl", required_argument, NULL, 't' },
		{ "token", required_argument, NULL, 'T' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "manager", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'd' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			a->records = optarg;
			break;
		case 'R':
			a->reason = optarg;
			break;
		case 't':
			a->ttl = optarg;
			break;
		case 'T':
			a->token = optarg;
			break;
		case 'F':
			a->token_file = optarg;
			break;
		case 'm':
			a->manager = optarg;
			break;
		case 'd':
			a->device = optarg;
			break;
		case 'P':
			a->pin_file = optarg;
			break;
		case 'a':
			a->all = 1;
			break;
		case 'j':
			c->json = 1;
			break;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	return VV_EXIT_OK;
}

int64_t
cli_parse_ttl(const char *s)
{
	char *end;
	long long x = strtoll(s, &end, 10);
	int64_t mult = 1;

	if (*s < '0' || *s > '9' || x <= 0 || x > 86400)
		return -1;
	if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	return x * mult <= 86400 ? x * mult : -1;
}

static void
print_time(const char *label, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, sizeof(buf), "%lld", (long long)t);
	(void)printf("%-10s %s\n", label, buf);
}

/* ------------------------------------------------------------ request */

static int
do_request(struct cli *c, vv_vault *v, const struct unseal_args *a)
{
	static char *ids[RECORDS_MAX];
	char token[VV_TOKEN_MAX], id[VV_REQ_ID_HEX], text[128];
	int64_t ttl = 0;
	int n, rc, r;

	if (a->npos != 0 || a->records == NULL || a->reason == NULL)
		return cli_usage_error(c, "unseal request --records ID[,ID...] "
		    "--reason TEXT");
	if (a->ttl != NULL && (ttl = cli_parse_ttl(a->ttl)) < 0)
		return cli_usage_error(c, "--ttl: seconds, or 30m, 2h; at most "
		    "24 hours");
	if ((n = cli_split(a->records, ids, RECORDS_MAX)) < 1)
		return cli_usage_error(c, "--records: external ids, "
		    "comma-separated (at most %d)", RECORDS_MAX);
	if ((rc = cli_token(c, a->token, a->token_file, token)) != VV_EXIT_OK)
		return rc;
	r = vv_unseal_request(v, token, (const char *const *)ids, (size_t)n,
	    a->reason, ttl, id);
	explicit_bzero(token, sizeof(token));
	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "unseal request %s made: it needs "
	    "the approval of key managers", id);
	cli_done(c, "request", id, text);
	return VV_EXIT_OK;
}

/* -------------------------------------------------------- list, show */

struct show {
	struct jw *w;
	int detail;
	size_t count;
};

static void
show_json(struct jw *w, const vv_unseal_info *r)
{
	size_t i;

	jw_obj(w);
	jw_key(w, "id");
	jw_str(w, r->id);
	jw_key(w, "kind");
	jw_str(w, r->kind);
	jw_key(w, "state");
	jw_str(w, r->state);
	jw_key(w, "requester");
	jw_str(w, r->requester);
	jw_key(w, "role");
	jw_str(w, r->role);
	jw_key(w, "reason");
	jw_str(w, r->reason);
	jw_key(w, "created");
	jw_int(w, r->created);
	jw_key(w, "expires");
	jw_int(w, r->expires);
	jw_key(w, "records");
	jw_arr(w);
	for (i = 0; i < r->nrecords; i++)
		jw_str(w, r->records[i]);
	jw_arr_end(w);
	jw_key(w, "approvals_needed");
	jw_int(w, r->threshold);
	jw_key(w, "approved_by");
	jw_arr(w);
	for (i = 0; i < r->napproved; i++)
		jw_str(w, r->approvers[i]);
	jw_arr_end(w);
	jw_key(w, "denied_by");
	jw_str(w, r->denied_by);
	jw_obj_end(w);
}

static void
show_text(const vv_unseal_info *r, int detail)
{
	size_t i;

	if (!detail) {
		(void)printf("%s %-8s %-16s %2zu record%s %zu/%u approvals  %s%s\n",
		    r->id, r->state, r->requester, r->nrecords,
		    r->nrecords == 1 ? " " : "s", r->napproved, r->threshold,
		    strcmp(r->kind, "reshare") == 0 ? "[re-split] " : "",
		    r->reason);
		return;
	}
	(void)printf("%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s (role %s)\n"
	    "%-10s %s\n", "request", r->id, "kind", strcmp(r->kind,
	    "reshare") == 0 ? "re-split of the VIP key among all managers" :
	    "unseal of VIP contacts", "state", r->state, "requester",
	    r->requester, r->role, "reason", r->reason);
	print_time("created", r->created);
	print_time("expires", r->expires);
	(void)printf("%-10s", "records");
	for (i = 0; i < r->nrecords; i++)
		(void)printf(" %s", r->records[i]);
	(void)printf("\n%-10s %zu of %u", "approvals", r->napproved,
	    r->threshold);
	for (i = 0; i < r->napproved; i++)
		(void)printf("%s%s", i == 0 ? ": " : ", ", r->approvers[i]);
	(void)printf("\n");
	if (r->denied_by != NULL)
		(void)printf("%-10s %s\n", "denied by", r->denied_by);
}

static int
show_one(void *arg, const vv_unseal_info *r)
{
	struct show *s = arg;

	s->count++;
	if (s->w != NULL)
		show_json(s->w, r);
	else
		show_text(r, s->detail);
	return 0;
}

static int
do_list(struct cli *c, vv_vault *v, const struct unseal_args *a, int one)
{
	struct show s = { NULL, one, 0 };
	struct jw w;
	int r;

	if (one ? a->npos != 1 : a->npos != 0)
		return cli_usage_error(c, one ? "unseal show REQ" :
		    "unseal list [--all]");
	if (c->json) {
		jw_init(&w, stdout);
		s.w = &w;
		if (!one)
			jw_arr(&w);
	}
	r = one ? vv_unseal_show(v, a->pos[0], show_one, &s) :
	    vv_unseal_foreach(v, a->all, show_one, &s);
	if (c->json && (!one || s.count > 0)) {
		if (!one)
			jw_arr_end(&w);
		jw_end(&w);
	}
	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	if (!c->json && !one && s.count == 0)
		(void)printf("no %sunseal requests\n", a->all ? "" : "open ");
	return VV_EXIT_OK;
}

/* ---------------------------------------------------- approve, deny */

static int
do_decide(struct cli *c, vv_vault *v, const struct unseal_args *a,
    int approve)
{
	struct cli_pin pin;
	vv_fido_opts o;
	char text[160];
	int r, complete = 0;

	if (a->npos != 1 || a->manager == NULL)
		return cli_usage_error(c, "unseal %s REQ --manager NAME",
		    approve ? "approve" : "deny");
	pin.file = a->pin_file;
	cli_fido_opts(&pin, a->device, 0, &o);
	if (!c->json && isatty(fileno(stdout)))
		(void)printf("manager %s: touch your FIDO2 token...\n",
		    a->manager);
	r = approve ? vv_unseal_approve(v, a->pos[0], a->manager, &o,
	    &complete) : vv_unseal_deny(v, a->pos[0], a->manager, &o);
	if (r != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "request %s %s by %s%s", a->pos[0],
	    approve ? "approved" : "denied", a->manager, complete ?
	    ": complete, the requester may fetch it once" : "");
	cli_done(c, "state", approve ? (complete ? "approved" : "pending") :
	    "denied", text);
	return VV_EXIT_OK;
}

/* ------------------------------------------------------------ fetch */

static int
print_contact(void *arg, const vv_contact *k)
{
	struct jw *w = arg;

	if (w == NULL) {
		(void)printf("%-12s %-18s %-32s %s\n", k->external_id,
		    k->phone != NULL ? k->phone : "-",
		    k->email != NULL ? k->email : "-",
		    k->address != NULL ? k->address : "-");
		return 0;
	}
	jw_obj(w);
	jw_key(w, "external_id");
	jw_str(w, k->external_id);
	jw_key(w, "phone");
	jw_str(w, k->phone);
	jw_key(w, "email");
	jw_str(w, k->email);
	jw_key(w, "address");
	jw_str(w, k->address);
	jw_obj_end(w);
	return 0;
}

static int
do_fetch(struct cli *c, vv_vault *v, const struct unseal_args *a)
{
	char token[VV_TOKEN_MAX];
	struct jw w;
	int rc, r;

	if (a->npos != 1)
		return cli_usage_error(c, "unseal fetch REQ");
	if ((rc = cli_token(c, a->token, a->token_file, token)) != VV_EXIT_OK)
		return rc;
	if (c->json) {
		jw_init(&w, stdout);
		jw_arr(&w);
	}
	r = vv_unseal_fetch(v, token, a->pos[0], print_contact,
	    c->json ? &w : NULL);
	explicit_bzero(token, sizeof(token));
	if (c->json) {
		jw_arr_end(&w);
		jw_end(&w);
	}
	return r == VV_OK ? VV_EXIT_OK : cli_vault_fail(c, v, r);
}

int
cmd_unseal(struct cli *c, int argc, char **argv)
{
	static const char *const subs[] = { "request", "list", "show",
	    "approve", "deny", "fetch", NULL };
	struct unseal_args a;
	vv_vault *v = NULL;
	int rc, sub;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(unseal_help, stdout);
		return VV_EXIT_OK;
	}
	for (sub = 0; argc >= 2 && subs[sub] != NULL; sub++)
		if (strcmp(argv[1], subs[sub]) == 0)
			break;
	if (argc < 2 || subs[sub] == NULL)
		return cli_usage_error(c, "unseal request | list | show | "
		    "approve | deny | fetch");
	if ((rc = parse_unseal(c, argc - 1, argv + 1, &a)) != VV_EXIT_OK)
		return rc;
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	switch (sub) {
	case 0:
		rc = do_request(c, v, &a);
		break;
	case 1:
	case 2:
		rc = do_list(c, v, &a, sub == 2);
		break;
	case 3:
	case 4:
		rc = do_decide(c, v, &a, sub == 3);
		break;
	default:
		rc = do_fetch(c, v, &a);
		break;
	}
	vv_vault_free(&v);
	return rc;
}
