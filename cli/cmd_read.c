/*
 * cmd_read.c - vipvault get, find and list: reading as a role.
 *
 * Every read authenticates a bearer token; what comes back is what the
 * token's role may see, VIP contacts masked.  Output is held in memory
 * (and wiped) until the reads are durable in the compliance log: nothing
 * leaves before its log entry (vv_session_flush).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Output held until the reads are logged.  It holds client data, so it
 * grows by copying and wiping, never by realloc, and stdio keeps no
 * buffer of its own (the stream is unbuffered). */
struct held {
	char *p;
	size_t len;
	size_t cap;
};

static ssize_t
held_write(void *cookie, const char *data, size_t n)
{
	struct held *h = cookie;
	size_t cap;
	char *p;

	if (n > SIZE_MAX / 2 - h->len)
		return -1;
	if (h->len + n > h->cap) {
		for (cap = h->cap != 0 ? h->cap : 4096; cap < h->len + n;)
			cap *= 2;
		if ((p = malloc(cap)) == NULL)
			return -1;
		if (h->p != NULL) {
			memcpy(p, h->p, h->len);
			explicit_bzero(h->p, h->cap);
			free(h->p);
		}
		h->p = p;
		h->cap = cap;
	}
	memcpy(h->p + h->len, data, n);
	h->len += n;
	return (ssize_t)n;
}

static FILE *
held_open(struct held *h)
{
	static const cookie_io_functions_t io = { NULL, held_write, NULL,
	    NULL };
	FILE *fp;

	if ((fp = fopencookie(h, "w", io)) != NULL)
		(void)setvbuf(fp, NULL, _IONBF, 0);
	return fp;
}

struct reader {
	struct cli *c;
	const char *token_opt;
	const char *token_file;
	const char *phone;
	const char *email;
	int tier;
	vv_vault *v;
	vv_session *s;
	struct jw w;
	size_t n;
	int started;		/* header or '[' printed */
	FILE *out;		/* a memory stream, written out after flush */
	struct held held;
};

static void
print_text(FILE *out, const vv_record *r)
{
	char amount[32];
	int f;

	cli_amount(amount, sizeof(amount), vv_record_annual_spend(r));
	(void)fprintf(out, "external_id   %s\ntier          %s%s\n"
	    "owner         %s\n"
	    "annual_spend  %s\nclient_since  %s\n", vv_record_external_id(r),
	    vv_tier_name(vv_record_tier(r)), vv_record_pinned(r) ?
	    " (pinned)" : "", vv_record_owner(r), amount,
	    vv_record_client_since(r));
	for (f = 0; f < VV_FIELD_COUNT; f++) {
		const char *val = vv_record_field(r, f);

		(void)fprintf(out, "%-13s %s%s\n", vv_field_name(f),
		    val != NULL ? val : "", vv_record_masked(r, f) ?
		    "  (masked: dual control)" : "");
	}
}

static void
print_json(struct jw *w, const vv_record *r)
{
	int f;

	jw_obj(w);
	jw_key(w, "external_id");
	jw_str(w, vv_record_external_id(r));
	jw_key(w, "tier");
	jw_str(w, vv_tier_name(vv_record_tier(r)));
	jw_key(w, "pinned");
	jw_bool(w, vv_record_pinned(r));
	jw_key(w, "owner");
	jw_str(w, vv_record_owner(r));
	jw_key(w, "annual_spend_minor");
	jw_int(w, (long long)vv_record_annual_spend(r));
	jw_key(w, "client_since");
	jw_str(w, vv_record_client_since(r));
	for (f = 0; f < VV_FIELD_COUNT; f++) {
		jw_key(w, vv_field_name(f));
		jw_str(w, vv_record_field(r, f));
	}
	jw_key(w, "masked");
	jw_arr(w);
	for (f = 0; f < VV_FIELD_COUNT; f++)
		if (vv_record_masked(r, f))
			jw_str(w, vv_field_name(f));
	jw_arr_end(w);
	jw_obj_end(w);
}

static int
parse(struct reader *rd, int argc, char **argv, const char *help,
    int read_tier)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "phone", required_argument, NULL, 'p' },
		{ "email", required_argument, NULL, 'e' },
		{ "tier", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			rd->token_opt = optarg;
			break;
		case 'T':
			rd->token_file = optarg;
			break;
		case 'p':
			rd->phone = optarg;
			break;
		case 'e':
			rd->email = optarg;
			break;
		case 'r':
			if (!read_tier ||
			    (rd->tier = vv_tier_from_name(optarg)) == 0)
				return cli_usage_error(rd->c, "--tier: basic, "
				    "standard or vip");
			break;
		case 'j':
			rd->c->json = 1;
			break;
		case 'h':
			(void)fputs(help, stdout);
			return -1;
		default:
			return cli_bad_option(rd->c, argc, argv);
		}
	}
	return VV_EXIT_OK;
}

/* Opens the vault and a session for the token. */
static int
start(struct reader *rd)
{
	char token[VV_TOKEN_MAX];
	int rc, r;

	if ((rc = cli_token(rd->c, rd->token_opt, rd->token_file, token)) !=
	    VV_EXIT_OK)
		return rc;
	if ((rc = cli_open(rd->c, &rd->v)) != VV_EXIT_OK)
		goto out;
	if ((r = vv_session_open(rd->v, token, &rd->s)) != VV_OK)
		rc = cli_vault_fail(rd->c, rd->v, r);
	else if ((rd->out = held_open(&rd->held)) == NULL)
		rc = cli_fail(rd->c, VV_ERR_NOMEM, "out of memory");
out:
	explicit_bzero(token, sizeof(token));
	return rc;
}

/* The reads' log entries are made durable, then the output leaves; if
 * they cannot be logged, nothing is printed. */
static int
finish(struct reader *rd, int rc)
{
	int r;

	if (rd->out != NULL)
		(void)fclose(rd->out);
	if (rc == VV_EXIT_OK && rd->s != NULL &&
	    (r = vv_session_flush(rd->s)) != VV_OK)
		rc = cli_fail(rd->c, r, "the reads could not be logged for "
		    "compliance, so nothing is shown: %s",
		    vv_vault_errmsg(rd->v));
	if (rc == VV_EXIT_OK && rd->held.p != NULL)
		(void)fwrite(rd->held.p, 1, rd->held.len, stdout);
	if (rd->held.p != NULL) {
		explicit_bzero(rd->held.p, rd->held.cap);
		free(rd->held.p);
	}
	vv_session_free(&rd->s);
	vv_vault_free(&rd->v);
	return rc;
}

static const char get_help[] =
    "usage: vipvault [--vault DIR] get [--json] [--token-file F | --token T]"
    " EXTERNAL_ID\n\nReads one record as the token's role.  The token may "
    "also come from\nVIPVAULT_TOKEN; --token on the command line is "
    "visible to other local\nusers.\n";

int
cmd_get(struct cli *c, int argc, char **argv)
{
	struct reader rd = { .c = c };
	vv_record *rec = NULL;
	int rc, r;

	if ((rc = parse(&rd, argc, argv, get_help, 0)) != VV_EXIT_OK)
		return rc < 0 ? VV_EXIT_OK : rc;
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one EXTERNAL_ID");
	if ((rc = start(&rd)) != VV_EXIT_OK)
		goto out;
	if ((r = vv_get(rd.s, argv[optind], &rec)) != VV_OK) {
		rc = cli_vault_fail(c, rd.v, r);
		goto out;
	}
	if (c->json) {
		jw_init(&rd.w, rd.out);
		print_json(&rd.w, rec);
		jw_end(&rd.w);
	} else
		print_text(rd.out, rec);
out:
	vv_record_free(&rec);
	return finish(&rd, rc);
}

/* The table header, or '[': printed with the first row, or at the end of
 * an empty but successful walk, so a failure prints nothing on stdout. */
static void
start_output(struct reader *rd)
{
	if (rd->started)
		return;
	rd->started = 1;
	if (rd->c->json) {
		jw_init(&rd->w, rd->out);
		jw_arr(&rd->w);
	} else
		(void)fprintf(rd->out, "%-12s %-8s %-10s %14s  %s\n",
		    "EXTERNAL_ID", "TIER", "OWNER", "ANNUAL_SPEND", "NAME");
}

static int
emit_row(void *arg, const vv_record *r)
{
	struct reader *rd = arg;
	char amount[32];
	const char *name;

	start_output(rd);
	rd->n++;
	if (rd->c->json) {
		print_json(&rd->w, r);
		return 0;
	}
	cli_amount(amount, sizeof(amount), vv_record_annual_spend(r));
	name = vv_record_field(r, VV_FIELD_NAME);
	(void)fprintf(rd->out, "%-12s %-8s %-10s %14s  %s\n",
	    vv_record_external_id(r), vv_tier_name(vv_record_tier(r)),
	    vv_record_owner(r), amount, name != NULL ? name : "");
	return 0;
}

static int
run_walk(struct reader *rd, int find)
{
	int r;

	if (!find)
		r = vv_list(rd->s, rd->tier, emit_row, rd);
	else if (rd->phone != NULL)
		r = vv_find_phone(rd->s, rd->phone, emit_row, rd);
	else
		r = vv_find_email(rd->s, rd->email, emit_row, rd);
	if (r == VV_OK)
		start_output(rd);
	if (rd->started && rd->c->json) {
		jw_arr_end(&rd->w);
		jw_end(&rd->w);
	}
	if (r != VV_OK)
		return cli_vault_fail(rd->c, rd->v, r);
	return VV_EXIT_OK;
}

static const char list_help[] =
    "usage: vipvault [--vault DIR] list [--json] [--tier T] [--token-file F"
    " | --token T]\n\nLists the records the token's role may read (its own "
    "clients only for\na segmented role), in external id order.\n";

int
cmd_list(struct cli *c, int argc, char **argv)
{
	struct reader rd = { .c = c };
	int rc;

	if ((rc = parse(&rd, argc, argv, list_help, 1)) != VV_EXIT_OK)
		return rc < 0 ? VV_EXIT_OK : rc;
	if (optind != argc)
		return cli_usage_error(c, "unexpected argument");
	if ((rc = start(&rd)) == VV_EXIT_OK)
		rc = run_walk(&rd, 0);
	return finish(&rd, rc);
}

static const char find_help[] =
    "usage: vipvault [--vault DIR] find [--json] (--phone P | --email E)\n"
    "         [--token-file F | --token T]\n\nFinds records by exact phone "
    "number or e-mail (normalised first) through\nthe keyed blind index: "
    "nothing else is decrypted.\n";

int
cmd_find(struct cli *c, int argc, char **argv)
{
	struct reader rd = { .c = c };
	int rc;

	if ((rc = parse(&rd, argc, argv, find_help, 0)) != VV_EXIT_OK)
		return rc < 0 ? VV_EXIT_OK : rc;
	if (optind != argc || (rd.phone == NULL) == (rd.email == NULL))
		return cli_usage_error(c, "give exactly one of --phone and "
		    "--email");
	if ((rc = start(&rd)) == VV_EXIT_OK)
		rc = run_walk(&rd, 1);
	return finish(&rd, rc);
}
