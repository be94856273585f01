/*
 * cmd_compliance.c - vipvault compliance: the officer's key pair, the
 * vault's checkpoints and heartbeats, and the review tools that read the
 * mirror with the officer's secret key (log, show, verify, export).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char compliance_help[] =
    "usage: vipvault compliance keygen SECRET_FILE PUBLIC_FILE\n"
    "       vipvault [--vault DIR] compliance checkpoint [> FILE]\n"
    "       vipvault [--vault DIR] compliance heartbeat [--every SECONDS]\n"
    "       vipvault compliance log --mirror DIR --key FILE [--type T]\n"
    "                [--user U] [--since YYYY-MM-DD] [--record ID] [--json]\n"
    "       vipvault compliance show REQ --mirror DIR --key FILE [--json]\n"
    "       vipvault [--vault DIR] compliance verify --mirror DIR --key FILE\n"
    "                [--since-head FILE] [--pg CONNINFO] [--json]\n"
    "       vipvault compliance export --mirror DIR --key FILE\n"
    "                --format jsonl|csv [--since YYYY-MM-DD]\n"
    "       vipvault compliance report --month YYYY-MM --mirror DIR --key FILE\n"
    "                [--json]\n\n"
    "The compliance log records every security-relevant act; the vault\n"
    "keeps it hash-chained with signed Merkle tree heads and mirrors each\n"
    "entry, sealed to the officer's key, to a directory compliance owns.\n"
    "'keygen' makes the officer's key pair (give the public file to init\n"
    "--compliance-pub).  'checkpoint' prints a signed head to keep outside\n"
    "the vault; 'verify --since-head' proves the log only grew since.\n"
    "'heartbeat' (from cron, or --every N to keep running) keeps a quiet\n"
    "log growing; --every also brings a mirror that was away up to date.\n"
    "With --vault,\n"
    "verify also compares the vault's own log entry by entry.\n";

struct comp_args {
	const char *mirror;
	const char *key;
	const char *type;
	const char *user;
	const char *since;
	const char *record;
	const char *since_head;
	const char *format;
	const char *month;
	const char *every;
	const char *pg;
	int npos;
	char **pos;
};

static int
parse_comp(struct cli *c, int argc, char **argv, struct comp_args *a)
{
	static const struct option opts[] = {
		{ "mirror", required_argument, NULL, 'm' },
		{ "key", required_argument, NULL, 'k' },
		{ "type", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, 's' },
		{ "record", required_argument, NULL, 'r' },
		{ "since-head", required_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "month", required_argument, NULL, 'M' },
		{ "every", required_argument, NULL, 'e' },
		{ "pg", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char **slot;
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j') {
			c->json = 1;
			continue;
		}
		slot = ch == 'm' ? &a->mirror : ch == 'k' ? &a->key :
		    ch == 't' ? &a->type : ch == 'u' ? &a->user :
		    ch == 's' ? &a->since : ch == 'r' ? &a->record :
		    ch == 'H' ? &a->since_head : ch == 'f' ? &a->format :
		    ch == 'M' ? &a->month : ch == 'e' ? &a->every :
		    ch == 'g' ? &a->pg : NULL;
		if (slot == NULL)
			return cli_bad_option(c, argc, argv);
		*slot = optarg;
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	return VV_EXIT_OK;
}

static int
open_officer(struct cli *c, const struct comp_args *a, vv_officer **o)
{
	char msg[512] = "";
	int r;

	if (a->mirror == NULL || a->key == NULL)
		return cli_usage_error(c, "--mirror DIR and --key FILE (the "
		    "officer's secret key) are needed");
	if ((r = vv_officer_open(o, a->mirror, a->key, msg, sizeof(msg))) !=
	    VV_OK)
		return cli_fail(c, r, "%s", msg[0] != '\0' ? msg :
		    vv_strerror(r));
	return VV_EXIT_OK;
}

/* ------------------------------------------------------------- log */

struct filter {
	struct cli *c;
	struct jw w;
	const char *type;
	const char *user;
	const char *request;
	char ref[33];
	int64_t since_ms;
	int csv;
	int jsonl;
	size_t shown;
};

static void
print_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, outlen, "%lld", (long long)ms);
}

static int
wanted(const struct filter *f, const vv_log_entry *e)
{
	size_t i;

	if (e->time_ms < f->since_ms ||
	    (f->type != NULL && strcmp(e->type, f->type) != 0) ||
	    (f->user != NULL && (e->actor == NULL ||
	    strcmp(e->actor, f->user) != 0)) ||
	    (f->request != NULL && (e->request_id == NULL ||
	    strcmp(e->request_id, f->request) != 0)))
		return 0;
	if (f->ref[0] == '\0')
		return 1;
	for (i = 0; i < e->nrefs; i++)
		if (strcmp(e->refs[i], f->ref) == 0)
			return 1;
	return 0;
}

static void
entry_json(struct jw *w, const vv_log_entry *e)
{
	char when[32];
	size_t i;

	print_time(e->time_ms, when, sizeof(when));
	jw_obj(w);
	jw_key(w, "seq");
	jw_int(w, (long long)e->seq);
	jw_key(w, "time");
	jw_str(w, when);
	jw_key(w, "type");
	jw_str(w, e->type);
	jw_key(w, "outcome");
	jw_str(w, e->outcome);
	jw_key(w, "actor");
	jw_str(w, e->actor);
	jw_key(w, "role");
	jw_str(w, e->role);
	jw_key(w, "token_id");
	jw_str(w, e->token_id);
	jw_key(w, "request");
	jw_str(w, e->request_id);
	jw_key(w, "manager");
	jw_str(w, e->manager);
	jw_key(w, "detail");
	jw_str(w, e->detail);
	jw_key(w, "records");
	jw_arr(w);
	for (i = 0; i < e->nrefs; i++)
		jw_str(w, e->refs[i]);
	jw_arr_end(w);
	if (e->has_count) {
		jw_key(w, "count");
		jw_int(w, (long long)e->count);
	}
	if (e->has_sign_count) {
		jw_key(w, "sign_count");
		jw_int(w, e->sign_count);
	}
	if (e->assertion_ok >= 0) {
		jw_key(w, "assertion_verified");
		jw_bool(w, e->assertion_ok);
	}
	jw_obj_end(w);
}

static void
csv_field(const char *s)
{
	const char *p;

	(void)putchar('"');
	for (p = s != NULL ? s : ""; *p != '\0'; p++) {
		if (*p == '"')
			(void)putchar('"');
		(void)putchar(*p);
	}
	(void)putchar('"');
}

static void
entry_csv(const vv_log_entry *e)
{
	char when[32], num[24];
	size_t i;

	print_time(e->time_ms, when, sizeof(when));
	(void)printf("%llu,%s,%s,%s,", (unsigned long long)e->seq, when,
	    e->type, e->outcome);
	csv_field(e->actor);
	(void)putchar(',');
	csv_field(e->role);
	(void)printf(",%s,%s,", e->token_id != NULL ? e->token_id : "",
	    e->request_id != NULL ? e->request_id : "");
	csv_field(e->manager);
	(void)putchar(',');
	csv_field(e->detail);
	(void)putchar(',');
	for (i = 0; i < e->nrefs; i++)
		(void)printf("%s%s", i > 0 ? " " : "", e->refs[i]);
	(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)e->count);
	(void)printf(",%s,%s\n", e->has_count ? num : "",
	    e->assertion_ok < 0 ? "" : e->assertion_ok ? "yes" : "NO");
}

static void
entry_text(const vv_log_entry *e)
{
	char when[32];

	print_time(e->time_ms, when, sizeof(when));
	(void)printf("%6llu %s %-16s %-6s %-14s", (unsigned long long)e->seq,
	    when, e->type, e->outcome, e->actor != NULL ? e->actor : "-");
	if (e->request_id != NULL)
		(void)printf(" req %.8s", e->request_id);
	if (e->nrefs > 0)
		(void)printf(" %zu record%s", e->nrefs, e->nrefs == 1 ? "" :
		    "s");
	if (e->assertion_ok >= 0)
		(void)printf(" assertion %s", e->assertion_ok ? "verified" :
		    "DOES NOT VERIFY");
	if (e->detail != NULL)
		(void)printf(" \"%s\"", e->detail);
	(void)putchar('\n');
}

static int
show_entry(void *arg, const vv_log_entry *e)
{
	struct filter *f = arg;

	if (!wanted(f, e))
		return 0;
	f->shown++;
	if (f->csv)
		entry_csv(e);
	else if (f->jsonl) {
		/* One document a line. */
		jw_init(&f->w, stdout);
		entry_json(&f->w, e);
		jw_end(&f->w);
	} else if (f->c->json)
		entry_json(&f->w, e);
	else
		entry_text(e);
	return 0;
}

static int
set_since(struct cli *c, struct filter *f, const char *since)
{
	struct tm tm;
	char *end;

	if (since == NULL)
		return VV_EXIT_OK;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(since, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return cli_usage_error(c, "--since: YYYY-MM-DD");
	f->since_ms = (int64_t)timegm(&tm) * 1000;
	return VV_EXIT_OK;
}

static int
do_log(struct cli *c, const struct comp_args *a, const char *request,
    int export)
{
	struct filter f;
	vv_officer *o = NULL;
	int rc, r;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.type = a->type;
	f.user = a->user;
	f.request = request;
	if (export) {
		if (a->format == NULL || (strcmp(a->format, "jsonl") != 0 &&
		    strcmp(a->format, "csv") != 0))
			return cli_usage_error(c, "--format jsonl|csv");
		f.csv = strcmp(a->format, "csv") == 0;
		f.jsonl = !f.csv;
	}
	if ((rc = set_since(c, &f, a->since)) != VV_EXIT_OK ||
	    (rc = open_officer(c, a, &o)) != VV_EXIT_OK)
		return rc;
	if (a->record != NULL)
		(void)vv_officer_ref(o, a->record, f.ref);
	if (f.csv)
		(void)printf("seq,time,type,outcome,actor,role,token_id,"
		    "request,manager,detail,records,count,assertion_verified\n");
	jw_init(&f.w, stdout);
	if (c->json && !export)
		jw_arr(&f.w);
	r = vv_officer_foreach(o, show_entry, &f);
	if (c->json && !export) {
		jw_arr_end(&f.w);
		jw_end(&f.w);
	}
	if (r != VV_OK)
		rc = cli_fail(c, r, "the mirror does not verify: %s",
		    vv_officer_errmsg(o));
	else if (request != NULL && f.shown == 0)
		rc = cli_fail(c, VV_ERR_NOT_FOUND, "no entry about request %s",
		    request);
	vv_officer_free(&o);
	return rc;
}

/* ----------------------------------------------------------- verify */

/* verify --json: one object, on failure too; the keys say what was
 * counted (the mirror and the vault, or the database and the mirror). */
static void
report_json(int ok, const vv_verify_report *rep, const char *counted,
    const char *compared, int heads)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "ok");
	jw_bool(&w, ok);
	jw_key(&w, counted);
	jw_int(&w, (long long)rep->entries);
	if (heads) {
		jw_key(&w, "signed_heads");
		jw_int(&w, (long long)rep->heads);
	}
	jw_key(&w, compared);
	jw_int(&w, (long long)rep->vault_entries);
	jw_key(&w, "first_bad_entry");
	jw_int(&w, (long long)rep->first_bad);
	jw_key(&w, "problem");
	jw_str(&w, ok ? NULL : rep->problem);
	jw_obj_end(&w);
	jw_end(&w);
}

/* The database sink against the mirror. */
static int
verify_pg(struct cli *c, vv_officer *o, const char *conninfo)
{
	vv_verify_report rep;
	int r;

	r = vv_officer_verify_pg(o, conninfo, &rep);
	vv_officer_free(&o);
	if (c->json)
		report_json(r == VV_OK, &rep, "database_entries",
		    "mirror_entries", 0);
	else if (r == VV_OK)
		(void)printf("verified: the database holds %llu entries, the "
		    "mirror %llu; every one matches\n",
		    (unsigned long long)rep.entries,
		    (unsigned long long)rep.vault_entries);
	if (r != VV_OK && !c->json)
		(void)fprintf(stderr, "vipvault compliance: database "
		    "verification FAILED: %s\n", rep.problem);
	return r == VV_OK ? VV_EXIT_OK : cli_exit_code(r);
}

static int
do_verify(struct cli *c, const struct comp_args *a)
{
	vv_verify_report rep;
	vv_officer *o = NULL;
	vv_vault *v = NULL;
	int rc, r;

	if ((rc = open_officer(c, a, &o)) != VV_EXIT_OK)
		return rc;
	if (a->pg != NULL)
		return verify_pg(c, o, a->pg);
	/* With a vault, compare it too; without one, the mirror alone. */
	if (c->vault_dir != NULL && (rc = cli_open(c, &v)) != VV_EXIT_OK) {
		vv_officer_free(&o);
		return rc;
	}
	r = vv_officer_verify(o, v, a->since_head, &rep);
	if (c->json)
		report_json(r == VV_OK, &rep, "entries", "vault_entries", 1);
	else if (r == VV_OK) {
		(void)printf("verified: %llu entries, %llu signed tree heads",
		    (unsigned long long)rep.entries,
		    (unsigned long long)rep.heads);
		if (v != NULL)
			(void)printf("; the vault holds %llu entries%s",
			    (unsigned long long)rep.vault_entries,
			    rep.vault_entries > rep.entries ?
			    " (the mirror is behind: it catches up on the "
			    "next write)" : ", the same");
		if (a->since_head != NULL)
			(void)printf("; the log only grew since the checkpoint");
		(void)printf("\n");
	}
	if (r != VV_OK && !c->json)
		(void)fprintf(stderr, "vipvault compliance: verification "
		    "FAILED at entry %llu: %s\n",
		    (unsigned long long)rep.first_bad, rep.problem);
	vv_vault_free(&v);
	vv_officer_free(&o);
	return r == VV_OK ? VV_EXIT_OK : cli_exit_code(r);
}

/* ------------------------------------------------------ vault side */

/* Heartbeats every `every` seconds until killed; each one also syncs a
 * mirror that was away.  A failed beat is reported and retried. */
static int
heartbeat_loop(struct cli *c, vv_vault *v, const char *every)
{
	char *end;
	unsigned long n = strtoul(every, &end, 10);
	int r;

	if (*every < '0' || *every > '9' || *end != '\0' || n == 0 ||
	    n > 86400)
		return cli_usage_error(c, "--every: 1 to 86400 seconds");
	for (;;) {
		if ((r = vv_compliance_heartbeat(v)) != VV_OK)
			(void)fprintf(stderr, "vipvault compliance: heartbeat: "
			    "%s\n", vv_vault_errmsg(v));
		(void)sleep((unsigned)n);
	}
}

static int
do_checkpoint(struct cli *c, int heartbeat, const char *every)
{
	char line[VV_CHECKPOINT_MAX];
	vv_vault *v = NULL;
	int rc, r;

	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if (heartbeat && every != NULL) {
		rc = heartbeat_loop(c, v, every);
		vv_vault_free(&v);
		return rc;
	}
	r = heartbeat ? vv_compliance_heartbeat(v) :
	    vv_compliance_checkpoint(v, line, sizeof(line));
	if (r != VV_OK)
		rc = cli_vault_fail(c, v, r);
	else if (heartbeat)
		cli_done(c, "heartbeat", "logged", "heartbeat logged, tree head "
		    "signed");
	else
		(void)fputs(line, stdout);
	vv_vault_free(&v);
	return rc;
}

int
cmd_compliance(struct cli *c, int argc, char **argv)
{
	static const char *const subs[] = { "keygen", "checkpoint",
	    "heartbeat", "log", "show", "verify", "export", "report", NULL };
	vv_officer *o = NULL;
	struct comp_args a;
	char text[256];
	int rc, sub, r;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(compliance_help, stdout);
		return VV_EXIT_OK;
	}
	for (sub = 0; argc >= 2 && subs[sub] != NULL; sub++)
		if (strcmp(argv[1], subs[sub]) == 0)
			break;
	if (argc < 2 || subs[sub] == NULL)
		return cli_usage_error(c, "compliance keygen | checkpoint | "
		    "heartbeat | log | show | verify | export | report");
	if ((rc = parse_comp(c, argc - 1, argv + 1, &a)) != VV_EXIT_OK)
		return rc;
	if ((sub == 0 && a.npos != 2) || (sub == 4 && a.npos != 1) ||
	    (sub != 0 && sub != 4 && a.npos != 0))
		return cli_usage_error(c, "wrong number of arguments");
	switch (sub) {
	case 0:
		if ((r = vv_compliance_keygen(a.pos[0], a.pos[1])) != VV_OK)
			return cli_fail(c, r, "cannot write the key pair: %s "
			    "(an existing key is never replaced)",
			    vv_strerror(r));
		(void)snprintf(text, sizeof(text), "compliance key pair "
		    "written: keep %s secret; give %s to init", a.pos[0],
		    a.pos[1]);
		cli_done(c, "public", a.pos[1], text);
		return VV_EXIT_OK;
	case 1:
	case 2:
		return do_checkpoint(c, sub == 2, a.every);
	case 3:
	case 6:
		return do_log(c, &a, NULL, sub == 6);
	case 4:
		return do_log(c, &a, a.pos[0], 0);
	case 7:
		if ((rc = open_officer(c, &a, &o)) != VV_EXIT_OK)
			return rc;
		rc = cli_compliance_report(c, o, a.month);
		vv_officer_free(&o);
		return rc;
	default:
		return do_verify(c, &a);
	}
}
