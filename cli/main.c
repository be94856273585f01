/*
 * main.c - the vipvault command: global options, the command table,
 * exit codes and the helpers every command uses.
 *
 * Output for people goes to stdout, errors to stderr, --json gives one
 * JSON document on stdout.  Exit codes are stable (docs/vipvault.1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_cmd commands[] = {
	{ "init", cmd_init, "create a vault (--dev or --pkcs11 URI)" },
	{ "import", cmd_import, "import a CRM export (CSV), all or nothing" },
	{ "add", cmd_add, "add or update one record" },
	{ "get", cmd_get, "read one record as a role" },
	{ "find", cmd_find, "find records by phone or e-mail" },
	{ "list", cmd_list, "list the records a role may read" },
	{ "tiers", cmd_tiers, "show or set the tier policy; pin records" },
	{ "role", cmd_role, "create and list roles" },
	{ "token", cmd_token, "issue, list and revoke bearer tokens" },
	{ "manager", cmd_manager, "enroll and list key managers (FIDO2)" },
	{ "unseal", cmd_unseal, "request, approve and fetch VIP contacts" },
	{ "softkey", cmd_softkey, "create a software FIDO2 token (dev)" },
	{ "canary", cmd_canary, "plant and list canary clients" },
	{ "compliance", cmd_compliance, "the compliance log: review, verify" },
	{ "serve", cmd_serve, "serve the CRM API over HTTP (docs/api.md)" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *fp)
{
	const struct cli_cmd *c;

	(void)fprintf(fp, "usage: vipvault [--vault DIR] [--json] COMMAND "
	    "[ARGS]\n\nA dual-control encrypted vault for client "
	    "records.\n\nOptions:\n"
	    "  --vault DIR  the vault directory (default: $VIPVAULT_DIR)\n"
	    "  --json       machine-readable output\n"
	    "  --version    print the version\n"
	    "  -h, --help   this help; COMMAND --help for a command's\n\n"
	    "Commands:\n");
	for (c = commands; c->name != NULL; c++)
		(void)fprintf(fp, "  %-8s %s\n", c->name, c->summary);
	(void)fprintf(fp, "\nExit codes: 0 ok, 1 usage, 2 denied, 3 not found, "
	    "4 bad input,\n5 integrity failure, 6 HSM or FIDO2 token unavailable, "
	    "7 other\nfailure.\nSee vipvault(1).\n");
}

int
cli_exit_code(int err)
{
	switch (err) {
	case VV_OK:
		return VV_EXIT_OK;
	case VV_ERR_INVALID:
		return VV_EXIT_USAGE;
	case VV_ERR_DENIED:
	case VV_ERR_SEALED:
	case VV_ERR_FROZEN:
		return VV_EXIT_DENIED;
	case VV_ERR_NOT_FOUND:
		return VV_EXIT_NOT_FOUND;
	case VV_ERR_INPUT:
	case VV_ERR_EXISTS:
		return VV_EXIT_BAD_INPUT;
	case VV_ERR_INTEGRITY:
		return VV_EXIT_INTEGRITY;
	case VV_ERR_HSM:
	case VV_ERR_TOKEN:
		return VV_EXIT_HSM;
	default:
		return VV_EXIT_FAILURE;
	}
}

int
cli_fail(const struct cli *c, int err, const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "vipvault %s: ", c->cmd);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return cli_exit_code(err);
}

int
cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "vipvault %s: ", c->cmd);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "\n(try 'vipvault %s --help')\n", c->cmd);
	return VV_EXIT_USAGE;
}

/* Prints at most the option's name: what follows '=' may be a token or
 * client data (--tok=vv_..., --p=+7...). */
static void
print_option(FILE *fp, const char *arg)
{
	size_t n = strcspn(arg, "=");

	(void)fprintf(fp, "'%.*s'", (int)(n > 40 ? 40 : n), arg);
}

int
cli_bad_option(const struct cli *c, int argc, char **argv)
{
	const char *arg = optind > 0 && optind - 1 < argc ? argv[optind - 1] :
	    "?";

	(void)fprintf(stderr, "vipvault %s: unknown, ambiguous or incomplete "
	    "option ", c->cmd);
	print_option(stderr, arg[0] == '-' ? arg : "?");
	(void)fprintf(stderr, "\n(try 'vipvault %s --help')\n", c->cmd);
	return VV_EXIT_USAGE;
}

int
cli_vault_fail(const struct cli *c, vv_vault *v, int err)
{
	return cli_fail(c, err, "%s", vv_vault_errmsg(v));
}

int
cli_open(const struct cli *c, vv_vault **v)
{
	char msg[512] = "";
	int r;

	if (c->vault_dir == NULL)
		return cli_usage_error(c, "no vault: use --vault DIR or set "
		    "VIPVAULT_DIR");
	if ((r = vv_vault_open(v, c->vault_dir, msg, sizeof(msg))) != VV_OK)
		return cli_fail(c, r, "cannot open the vault in %s: %s",
		    c->vault_dir, msg[0] != '\0' ? msg : vv_strerror(r));
	return VV_EXIT_OK;
}

static int
read_token_file(const struct cli *c, const char *file, char *out)
{
	FILE *fp;
	size_t n;

	if ((fp = fopen(file, "r")) == NULL)
		return cli_fail(c, VV_ERR_IO, "cannot read the token file: %s",
		    strerror(errno));
	/* No stdio buffer: it would be freed with the token in it. */
	(void)setvbuf(fp, NULL, _IONBF, 0);
	n = fread(out, 1, VV_TOKEN_MAX - 1, fp);
	(void)fclose(fp);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return VV_EXIT_OK;
}

int
cli_token(const struct cli *c, const char *opt, const char *file, char *out)
{
	const char *env = getenv("VIPVAULT_TOKEN");
	const char *src = opt != NULL ? opt : env;

	if (file != NULL)
		return read_token_file(c, file, out);
	if (src == NULL || *src == '\0')
		return cli_usage_error(c, "a bearer token is required: "
		    "--token-file FILE, VIPVAULT_TOKEN or --token TOKEN");
	if (strlen(src) >= VV_TOKEN_MAX)
		return cli_fail(c, VV_ERR_DENIED, "invalid token");
	(void)snprintf(out, VV_TOKEN_MAX, "%s", src);
	return VV_EXIT_OK;
}

void
cli_done(const struct cli *c, const char *key, const char *value,
    const char *text)
{
	struct jw w;

	if (!c->json) {
		(void)printf("%s\n", text);
		return;
	}
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_key(&w, "ok");
	jw_bool(&w, 1);
	jw_key(&w, key);
	jw_str(&w, value);
	jw_obj_end(&w);
	jw_end(&w);
}

void
cli_amount(char *out, size_t outlen, int64_t minor)
{
	(void)snprintf(out, outlen, "%lld.%02lld", (long long)(minor / 100),
	    (long long)(minor % 100));
}

int
cli_parse_amount(const char *s, int64_t *minor)
{
	long long major = 0;
	int frac = 0, fd = 0, digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (major > 900000000000000LL)
			return -1;
		major = major * 10 + (*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && fd < 2; s++, fd++)
			frac = frac * 10 + (*s - '0');
	if (digits == 0 || *s != '\0')
		return -1;
	if (fd == 1)
		frac *= 10;
	*minor = (int64_t)major * 100 + frac;
	return 0;
}

int
cli_split(char *s, char **items, int max)
{
	char *comma;
	int n = 0, i;

	for (;;) {
		if (n == max)
			return -1;
		items[n++] = s;
		if ((comma = strchr(s, ',')) == NULL)
			break;
		*comma = '\0';
		s = comma + 1;
	}
	for (i = 0; i < n; i++)
		if (items[i][0] == '\0')
			return -1;
	return n;
}

int
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli c = { getenv("VIPVAULT_DIR"), 0, "" };
	const struct cli_cmd *cmd;
	int ch;

	opterr = 0;	/* we say what was wrong, once, in our own words */
	while ((ch = getopt_long(argc, argv, "+hj", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			c.vault_dir = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'h':
			usage(stdout);
			return VV_EXIT_OK;
		case 'V':
			(void)printf("vipvault %s\n", VV_VERSION_STRING);
			return VV_EXIT_OK;
		default:
			(void)fprintf(stderr, "vipvault: unknown, ambiguous or "
			    "incomplete option ");
			print_option(stderr, argv[optind - 1]);
			(void)fprintf(stderr, " (try 'vipvault --help')\n");
			return VV_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return VV_EXIT_USAGE;
	}
	if (vv_global_init() != VV_OK) {
		(void)fprintf(stderr, "vipvault: cannot initialise libsodium\n");
		return VV_EXIT_FAILURE;
	}
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[optind]) == 0)
			break;
	if (cmd->name == NULL) {
		(void)fprintf(stderr, "vipvault: unknown command '%s' (try "
		    "'vipvault --help')\n", argv[optind]);
		return VV_EXIT_USAGE;
	}
	c.cmd = cmd->name;
	argv += optind;
	argc -= optind;
	optind = 0;	/* glibc: 0 re-initialises getopt for the command */
	return cmd->run(&c, argc, argv);
}
