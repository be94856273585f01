/*
 * cmd_write.c - vipvault import and add: the administrator's commands
 * that put records into a vault.  Writing needs
 * the HSM (for the database key) but no role and no private tier key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char import_help[] =
    "usage: vipvault [--vault DIR] import [--json] FILE.csv\n\n"
    "Imports a CRM export: RFC 4180 CSV, UTF-8, with a header row naming\n"
    "columns in any order: external_id, name, owner, annual_spend,\n"
    "client_since (required), phone, email, address, notes, preferences.\n"
    "All or nothing: a bad row changes nothing and names its line and\n"
    "column.  A known external_id updates its record.\n";

static void
print_summary(const struct cli *c, const vv_import_summary *s)
{
	struct jw w;
	int t;

	if (!c->json) {
		(void)printf("imported %zu records (%zu new, %zu updated)\n",
		    s->records, s->inserted, s->updated);
		for (t = VV_TIER_VIP; t >= VV_TIER_BASIC; t--)
			(void)printf("  %-9s %zu\n", vv_tier_name(t),
			    s->per_tier[t]);
		return;
	}
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "records");
	jw_int(&w, (long long)s->records);
	jw_key(&w, "inserted");
	jw_int(&w, (long long)s->inserted);
	jw_key(&w, "updated");
	jw_int(&w, (long long)s->updated);
	jw_key(&w, "tiers");
	jw_obj(&w);
	for (t = VV_TIER_VIP; t >= VV_TIER_BASIC; t--) {
		jw_key(&w, vv_tier_name(t));
		jw_int(&w, (long long)s->per_tier[t]);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

int
cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	vv_import_summary sum;
	struct progress bar;
	vv_vault *v = NULL;
	int ch, r, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			(void)fputs(import_help, stdout);
			return VV_EXIT_OK;
		}
		if (ch != 'j')
			return cli_bad_option(c, argc, argv);
		c->json = 1;
	}
	if (optind + 1 != argc)
		return cli_usage_error(c, "expected one CSV file");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	progress_init(&bar, "importing");
	r = vv_import_csv(v, argv[optind], progress_update, &bar, &sum);
	progress_done(&bar);
	if (r != VV_OK)
		rc = cli_fail(c, r, "%s; nothing was imported",
		    vv_vault_errmsg(v));
	else
		print_summary(c, &sum);
	vv_vault_free(&v);
	return rc;
}

static const char add_help[] =
    "usage: vipvault [--vault DIR] add --id ID --name NAME --owner USER\n"
    "         --spend AMOUNT --since YYYY-MM-DD [--phone P] [--email E]\n"
    "         [--address A] [--notes N] [--preferences P]\n\n"
    "Adds a record, or updates the one with this external id.  AMOUNT is\n"
    "in major units (12345.67).  Arguments are visible to other local\n"
    "users in the process list: for real data prefer import from a file.\n";

int
cmd_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "owner", required_argument, NULL, 'o' },
		{ "spend", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "phone", required_argument, NULL, 'p' },
		{ "email", required_argument, NULL, 'e' },
		{ "address", required_argument, NULL, 'a' },
		{ "notes", required_argument, NULL, 'N' },
		{ "preferences", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	vv_record_input in;
	const char *spend = NULL;
	vv_vault *v = NULL;
	int ch, r, rc;

	memset(&in, 0, sizeof(in));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			in.external_id = optarg;
			break;
		case 'n':
			in.name = optarg;
			break;
		case 'o':
			in.owner = optarg;
			break;
		case 's':
			spend = optarg;
			break;
		case 'S':
			in.client_since = optarg;
			break;
		case 'p':
			in.phone = optarg;
			break;
		case 'e':
			in.email = optarg;
			break;
		case 'a':
			in.address = optarg;
			break;
		case 'N':
			in.notes = optarg;
			break;
		case 'P':
			in.preferences = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'h':
			(void)fputs(add_help, stdout);
			return VV_EXIT_OK;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	if (optind != argc || in.external_id == NULL || in.name == NULL ||
	    in.owner == NULL || spend == NULL || in.client_since == NULL)
		return cli_usage_error(c, "--id, --name, --owner, --spend and "
		    "--since are required");
	if (cli_parse_amount(spend, &in.annual_spend) != 0)
		return cli_fail(c, VV_ERR_INPUT, "--spend: not an amount");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	if ((r = vv_record_put(v, &in)) != VV_OK)
		rc = cli_vault_fail(c, v, r);
	else {
		char text[160];

		(void)snprintf(text, sizeof(text), "stored %s", in.external_id);
		cli_done(c, "stored", in.external_id, text);
	}
	vv_vault_free(&v);
	return rc;
}
