/*
 * cmd_init.c - vipvault init: a new vault, its HSM keys and, with
 * --managers, its key managers and the split VIP contact key.
 *
 * All or nothing: if one manager's token fails, no vault is left.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define MANAGERS_MAX 255

static const char init_help[] =
    "usage: vipvault [--vault DIR] init (--dev | --pkcs11 URI)\n"
    "         [--managers NAME,NAME,... [--threshold K] [--devices D,D,...]\n"
    "          [--alg es256|eddsa] [--require-uv] [--max-records N]\n"
    "          [--pin-file FILE]]\n"
    "         [--compliance-dir DIR --compliance-pub FILE] [--syslog SOCKET]\n"
    "         [--compliance-pg CONNINFO]\n"
    "         [--json]\n\n"
    "Creates a vault in DIR (new or empty).\n"
    "  --dev          a development SoftHSM2 token inside DIR/hsm, its PIN\n"
    "                 in DIR/hsm/user.pin (mode 0600)\n"
    "  --pkcs11 URI   an existing token, as an RFC 7512 URI whose PIN\n"
    "                 comes from pin-source=file:PATH\n"
    "  --managers     key managers, each enrolled with his FIDO2 token\n"
    "                 (two touches each); without them VIP contacts are\n"
    "                 write-only\n"
    "  --threshold K  approvals needed to unseal (default 2)\n"
    "  --devices      one FIDO2 device per manager, in order; without it\n"
    "                 each manager is asked on the terminal to insert\n"
    "                 his token; soft:FILE is a software token (--dev\n"
    "                 vaults only)\n"
    "  --alg          credential algorithm (default es256)\n"
    "  --require-uv   tokens must verify their user with a PIN\n"
    "  --max-records  records per unseal request (default 20)\n"
    "  --pin-file     read token PINs from FILE (mode 0600) instead of\n"
    "                 the terminal\n"
    "  --compliance-dir DIR, --compliance-pub FILE\n"
    "                 the compliance mirror (a directory compliance owns)\n"
    "                 and the officer's public key (compliance keygen);\n"
    "                 with --dev and without them: DIR/mirror and a\n"
    "                 development key in DIR/compliance.key\n"
    "  --compliance-pg CONNINFO\n"
    "                 a PostgreSQL database compliance owns, as a second\n"
    "                 mirror (docs/compliance-pg.sql sets it up); its\n"
    "                 signed receipts are checked against its pinned key\n"
    "  --syslog SOCKET  also send every log entry, best effort, to a\n"
    "                 local syslog socket (RFC 5424), e.g. /dev/log\n"
    "  --json         machine-readable output\n";

struct init_args {
	int dev;
	const char *uri;
	char *managers;
	char *devices;
	const char *pin_file;
	const char *compliance_dir;
	const char *compliance_pub;
	const char *syslog_socket;
	const char *compliance_pg;
	vv_dual_config dual;
	int alg;
};

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || x > max)
		return -1;
	*out = (unsigned)x;
	return 0;
}

static int
parse_init(struct cli *c, int argc, char **argv, struct init_args *a)
{
	static const struct option opts[] = {
		{ "dev", no_argument, NULL, 'd' },
		{ "pkcs11", required_argument, NULL, 'p' },
		{ "managers", required_argument, NULL, 'm' },
		{ "threshold", required_argument, NULL, 'k' },
		{ "devices", required_argument, NULL, 'D' },
		{ "alg", required_argument, NULL, 'a' },
		{ "require-uv", no_argument, NULL, 'u' },
		{ "max-records", required_argument, NULL, 'n' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "compliance-dir", required_argument, NULL, 'C' },
		{ "compliance-pub", required_argument, NULL, 'K' },
		{ "syslog", required_argument, NULL, 'S' },
		{ "compliance-pg", required_argument, NULL, 'G' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			a->dev = 1;
			break;
		case 'p':
			a->uri = optarg;
			break;
		case 'm':
			a->managers = optarg;
			break;
		case 'k':
			if (parse_uint(optarg, MANAGERS_MAX,
			    &a->dual.threshold) != 0 || a->dual.threshold < 2)
				return cli_usage_error(c, "--threshold: a number "
				    "from 2 to the number of managers");
			break;
		case 'D':
			a->devices = optarg;
			break;
		case 'a':
			if ((a->alg = cli_parse_alg(optarg)) == 0)
				return cli_usage_error(c, "--alg: es256 or "
				    "eddsa");
			break;
		case 'u':
			a->dual.require_uv = 1;
			break;
		case 'n':
			if (parse_uint(optarg, 255, &a->dual.max_records) !=
			    0 || a->dual.max_records == 0)
				return cli_usage_error(c, "--max-records: 1 to "
				    "255");
			break;
		case 'P':
			a->pin_file = optarg;
			break;
		case 'C':
			a->compliance_dir = optarg;
			break;
		case 'K':
			a->compliance_pub = optarg;
			break;
		case 'S':
			a->syslog_socket = optarg;
			break;
		case 'G':
			a->compliance_pg = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'h':
			(void)fputs(init_help, stdout);
			return -2;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "unexpected argument");
	if (a->dev == (a->uri != NULL))
		return cli_usage_error(c, "choose exactly one of --dev and "
		    "--pkcs11 URI");
	if (a->managers == NULL && (a->devices != NULL ||
	    a->dual.threshold != 0 || a->alg != 0 || a->dual.require_uv ||
	    a->dual.max_records != 0 || a->pin_file != NULL))
		return cli_usage_error(c, "key manager options need "
		    "--managers");
	if ((a->compliance_dir == NULL) != (a->compliance_pub == NULL))
		return cli_usage_error(c, "--compliance-dir and "
		    "--compliance-pub go together");
	if (c->vault_dir == NULL)
		return cli_usage_error(c, "no vault: use --vault DIR or set "
		    "VIPVAULT_DIR");
	return VV_EXIT_OK;
}

/* Two managers must not be enrolled on one token by mistake: without
 * --devices each is asked to insert his own (a terminal is needed), and
 * --devices may not name a device twice. */
static int
check_devices(const struct cli *c, char **devs, int nd, int n)
{
	int i, j;

	if (n > 0 && nd == 0 && !isatty(STDIN_FILENO))
		return cli_usage_error(c, "--devices: name each manager's "
		    "token, or run init on a terminal to insert them one by "
		    "one");
	for (i = 0; i < nd; i++)
		for (j = 0; j < i; j++)
			if (strcmp(devs[i], devs[j]) == 0)
				return cli_usage_error(c, "--devices: %s is "
				    "named twice: each manager has his own "
				    "token", devs[i]);
	return VV_EXIT_OK;
}

static void
print_created(const struct cli *c, vv_vault *v, const struct init_args *a,
    char **names, int n)
{
	struct jw w;
	int i;

	if (!c->json) {
		(void)printf("created vault %s in %s\nHSM: %s\n", vv_vault_id(v),
		    c->vault_dir, a->dev ? "development SoftHSM2 token (hsm/)" :
		    "PKCS#11 token");
		if (n == 0)
			(void)printf("VIP contacts: write-only (no key "
			    "managers)\n");
		else
			(void)printf("key managers: %d enrolled; unseal needs "
			    "%u of them\n", n, a->dual.threshold ?
			    a->dual.threshold : 2);
		return;
	}
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "vault_id");
	jw_str(&w, vv_vault_id(v));
	jw_key(&w, "dir");
	jw_str(&w, c->vault_dir);
	jw_key(&w, "hsm");
	jw_str(&w, a->dev ? "dev" : "pkcs11");
	jw_key(&w, "managers");
	jw_arr(&w);
	for (i = 0; i < n; i++)
		jw_str(&w, names[i]);
	jw_arr_end(&w);
	jw_key(&w, "threshold");
	jw_int(&w, n == 0 ? 0 : a->dual.threshold ? a->dual.threshold : 2);
	jw_obj_end(&w);
	jw_end(&w);
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static char *names[MANAGERS_MAX], *devs[MANAGERS_MAX];
	static vv_fido_opts fido[MANAGERS_MAX];
	struct init_args a;
	struct cli_pin pin;
	vv_create_opts o;
	char msg[512] = "";
	vv_vault *v = NULL;
	int r, i, n = 0, nd = 0;

	if ((r = parse_init(c, argc, argv, &a)) != VV_EXIT_OK)
		return r == -2 ? VV_EXIT_OK : r;
	if (a.managers != NULL &&
	    (n = cli_split(a.managers, names, MANAGERS_MAX)) < 2)
		return cli_usage_error(c, "--managers: at least two names, "
		    "comma-separated");
	if (a.devices != NULL &&
	    (nd = cli_split(a.devices, devs, MANAGERS_MAX)) != n)
		return cli_usage_error(c, "--devices: one device per manager");
	if (a.dual.threshold > (unsigned)n && n > 0)
		return cli_usage_error(c, "--threshold: at most the number "
		    "of managers (%d)", n);
	if ((r = check_devices(c, devs, nd, n)) != VV_EXIT_OK)
		return r;
	pin.file = a.pin_file;
	for (i = 0; i < n; i++) {
		cli_fido_opts(&pin, nd > 0 ? devs[i] : NULL, a.alg, &fido[i]);
		/* One token at a time: the manager inserts his own. */
		if (nd == 0)
			fido[i].ready_fn = cli_ready_fn;
	}
	memset(&o, 0, sizeof(o));
	o.pkcs11_uri = a.uri;
	o.nmanagers = (size_t)n;
	o.managers = (const char *const *)names;
	o.fido = fido;
	o.dual = a.dual;
	o.compliance_dir = a.compliance_dir;
	o.compliance_pub = a.compliance_pub;
	o.syslog_socket = a.syslog_socket;
	o.compliance_pg = a.compliance_pg;
	r = vv_vault_create_with(&v, c->vault_dir, &o, msg, sizeof(msg));
	if (r != VV_OK)
		return cli_fail(c, r, "%s", msg[0] ? msg : vv_strerror(r));
	print_created(c, v, &a, names, n);
	vv_vault_free(&v);
	return VV_EXIT_OK;
}
