/*
 * cmd_manager.c - vipvault manager: key managers and their FIDO2 tokens;
 * and vipvault softkey: a software token for development vaults.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hsm/softfido.h"

#define VV_SOFTKEY_PIN_MAX 64

static const char manager_help[] =
    "usage: vipvault [--vault DIR] manager enroll NAME [--device PATH]\n"
    "                [--alg es256|eddsa] [--pin-file FILE]\n"
    "       vipvault [--vault DIR] manager list [--json]\n"
    "       vipvault [--vault DIR] manager reshare --reason TEXT [--ttl T]\n\n"
    "'enroll' makes a FIDO2 credential with hmac-secret for a new key\n"
    "manager (two touches).  Managers enrolled after init hold no share\n"
    "of the VIP key until it is split again.  'list' shows each manager's\n"
    "credential, signature counter and share epoch.  'reshare' asks the\n"
    "managers (unseal approve REQ) to split the VIP key again among every\n"
    "enrolled manager, at a new epoch; pending unseal requests close.\n"
    "  --device PATH  the FIDO2 device (default: the first found);\n"
    "                 soft:FILE is a software token (--dev vaults only)\n"
    "  --pin-file     the token's PIN from FILE (mode 0600), not the\n"
    "                 terminal\n";

static const char softkey_help[] =
    "usage: vipvault softkey create FILE [--pin-file FILE]\n\n"
    "Creates a software FIDO2 authenticator whose state (device secret,\n"
    "PIN, counter) lives in FILE, mode 0600.  Use it as --device soft:FILE\n"
    "with development vaults only: whoever copies FILE holds the token.\n";

struct mgr_args {
	const char *device;
	const char *pin_file;
	const char *reason;
	const char *ttl;
	int alg;
	int npos;
	char **pos;
};

static int
parse_mgr(struct cli *c, int argc, char **argv, struct mgr_args *a)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "alg", required_argument, NULL, 'a' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "reason", required_argument, NULL, 'R' },
		{ "ttl", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			a->device = optarg;
			break;
		case 'a':
			if ((a->alg = cli_parse_alg(optarg)) == 0)
				return cli_usage_error(c, "--alg: es256 or "
				    "eddsa");
			break;
		case 'P':
			a->pin_file = optarg;
			break;
		case 'R':
			a->reason = optarg;
			break;
		case 't':
			a->ttl = optarg;
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

static int
print_manager(void *arg, const vv_manager_info *m)
{
	struct jw *w = arg;
	char share[32];

	if (w == NULL) {
		if (m->share_epoch != 0)
			(void)snprintf(share, sizeof(share), "share epoch %u",
			    m->share_epoch);
		else
			(void)snprintf(share, sizeof(share), "no share");
		(void)printf("%-16s %-6s %-7s counter %-8u %s%s\n", m->name,
		    m->alg, m->uv ? "pin" : "no-pin", m->sign_count, share,
		    m->soft ? " (software token)" : "");
		return 0;
	}
	jw_obj(w);
	jw_key(w, "name");
	jw_str(w, m->name);
	jw_key(w, "alg");
	jw_str(w, m->alg);
	jw_key(w, "aaguid");
	jw_str(w, m->aaguid);
	jw_key(w, "sign_count");
	jw_int(w, m->sign_count);
	jw_key(w, "user_verification");
	jw_bool(w, m->uv);
	jw_key(w, "share_epoch");
	jw_int(w, m->share_epoch);
	jw_key(w, "software_token");
	jw_bool(w, m->soft);
	jw_key(w, "created");
	jw_int(w, m->created);
	jw_obj_end(w);
	return 0;
}

static int
manager_list(struct cli *c, vv_vault *v)
{
	vv_dual_config cfg;
	uint32_t epoch = 0;
	struct jw w;
	int r;

	if ((r = vv_dual_get(v, &cfg, &epoch)) != VV_OK)
		return cli_vault_fail(c, v, r);
	if (c->json) {
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "threshold");
		jw_int(&w, cfg.threshold);
		jw_key(&w, "epoch");
		jw_int(&w, epoch);
		jw_key(&w, "max_records");
		jw_int(&w, cfg.max_records);
		jw_key(&w, "managers");
		jw_arr(&w);
	} else
		(void)printf("unseal needs %u approvals; key epoch %u; at most "
		    "%u records per request\n", cfg.threshold, epoch,
		    cfg.max_records);
	r = vv_manager_foreach(v, print_manager, c->json ? &w : NULL);
	if (c->json) {
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	}
	return r == VV_OK ? VV_EXIT_OK : cli_vault_fail(c, v, r);
}

static int
manager_enroll(struct cli *c, vv_vault *v, const struct mgr_args *a)
{
	struct cli_pin pin;
	vv_fido_opts o;
	char text[160];
	int r;

	pin.file = a->pin_file;
	cli_fido_opts(&pin, a->device, a->alg, &o);
	if ((r = vv_manager_enroll(v, a->pos[0], &o)) != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "key manager %s enrolled; he holds "
	    "no share until the VIP key is split again (manager reshare)",
	    a->pos[0]);
	cli_done(c, "manager", a->pos[0], text);
	return VV_EXIT_OK;
}

static int
manager_reshare(struct cli *c, vv_vault *v, const struct mgr_args *a)
{
	char id[VV_REQ_ID_HEX], text[160];
	int64_t ttl = 0;
	int r;

	if (a->ttl != NULL && (ttl = cli_parse_ttl(a->ttl)) < 0)
		return cli_usage_error(c, "--ttl: seconds, or 30m, 2h; at most "
		    "24 hours");
	if ((r = vv_manager_reshare(v, a->reason, ttl, id)) != VV_OK)
		return cli_vault_fail(c, v, r);
	(void)snprintf(text, sizeof(text), "re-split request %s made: it "
	    "needs the approval of key managers (unseal approve)", id);
	cli_done(c, "request", id, text);
	return VV_EXIT_OK;
}

int
cmd_manager(struct cli *c, int argc, char **argv)
{
	struct mgr_args a;
	vv_vault *v = NULL;
	int rc, sub;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(manager_help, stdout);
		return VV_EXIT_OK;
	}
	sub = argc < 2 ? -1 : strcmp(argv[1], "enroll") == 0 ? 0 :
	    strcmp(argv[1], "list") == 0 ? 1 :
	    strcmp(argv[1], "reshare") == 0 ? 2 : -1;
	if (sub < 0)
		return cli_usage_error(c, "manager enroll | list | reshare");
	if ((rc = parse_mgr(c, argc - 1, argv + 1, &a)) != VV_EXIT_OK)
		return rc;
	if (sub == 0 && (a.npos != 1 || a.reason != NULL || a.ttl != NULL))
		return cli_usage_error(c, "manager enroll NAME [--device PATH]");
	if (sub == 1 && (a.npos != 0 || a.device != NULL || a.alg != 0 ||
	    a.pin_file != NULL || a.reason != NULL || a.ttl != NULL))
		return cli_usage_error(c, "manager list takes no arguments");
	if (sub == 2 && (a.npos != 0 || a.reason == NULL || a.device != NULL ||
	    a.alg != 0 || a.pin_file != NULL))
		return cli_usage_error(c, "manager reshare --reason TEXT "
		    "[--ttl T]");
	if ((rc = cli_open(c, &v)) != VV_EXIT_OK)
		return rc;
	rc = sub == 0 ? manager_enroll(c, v, &a) : sub == 1 ?
	    manager_list(c, v) : manager_reshare(c, v, &a);
	vv_vault_free(&v);
	return rc;
}

int
cmd_softkey(struct cli *c, int argc, char **argv)
{
	struct mgr_args a;
	char pinbuf[VV_SOFTKEY_PIN_MAX], err[256] = "", text[600];
	int rc;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(softkey_help, stdout);
		return VV_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage_error(c, "softkey create FILE");
	if ((rc = parse_mgr(c, argc - 1, argv + 1, &a)) != VV_EXIT_OK)
		return rc;
	if (a.npos != 1 || a.device != NULL || a.alg != 0)
		return cli_usage_error(c, "softkey create FILE [--pin-file "
		    "FILE]");
	if (access(a.pos[0], F_OK) == 0)
		return cli_fail(c, VV_ERR_EXISTS, "%s already exists: a soft "
		    "token is never replaced", a.pos[0]);
	pinbuf[0] = '\0';
	if (a.pin_file != NULL && vv_pin_file_read(a.pin_file, pinbuf,
	    sizeof(pinbuf), err, sizeof(err)) != VV_OK)
		return cli_fail(c, VV_ERR_IO, "%s", err);
	rc = vv_softfido_create(a.pos[0], pinbuf[0] != '\0' ? pinbuf : NULL,
	    err, sizeof(err));
	explicit_bzero(pinbuf, sizeof(pinbuf));
	if (rc != 0)
		return cli_fail(c, VV_ERR_IO, "%s", err);
	(void)snprintf(text, sizeof(text), "software FIDO2 token created: "
	    "use --device soft:%s", a.pos[0]);
	cli_done(c, "device", a.pos[0], text);
	return VV_EXIT_OK;
}
