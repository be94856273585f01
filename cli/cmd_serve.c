/*
 * cmd_serve.c - vipvault serve: the CRM API over HTTP (docs/api.md).
 *
 * SIGTERM and SIGINT are blocked in every thread and taken by sigwait in
 * the main one, so a signal never interrupts a worker in the middle of a
 * transaction: the stop is a normal call that lets requests finish.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/api.h"

#define GRACE_MS 10000u

static const char serve_help[] =
    "usage: vipvault [--vault DIR] serve [--listen HOST:PORT] "
    "[--threads N]\n"
    "                [--tls-cert FILE --tls-key FILE] "
    "[--access-log FILE|-|off]\n"
    "                [--port-file FILE]\n\n"
    "Serves the CRM API (docs/api.md) until SIGTERM or SIGINT; requests "
    "under\nway finish first.  --listen defaults to 127.0.0.1:8200 (port 0: "
    "any free\nport, written to --port-file).  --threads defaults to one per "
    "core.  The\naccess log (default: standard error) holds one JSON line "
    "per request, with\nno client data and no token secrets.\n";

struct serve_args {
	struct api_config cfg;
	const char *port_file;
};

static int
parse_args(struct cli *c, int argc, char **argv, struct serve_args *a)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "access-log", required_argument, NULL, 'a' },
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long n;
	int ch;

	memset(a, 0, sizeof(*a));
	a->cfg.listen = "127.0.0.1:8200";
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			a->cfg.listen = optarg;
			break;
		case 't':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 64)
				return cli_usage_error(c, "--threads: 1 to 64");
			a->cfg.threads = (unsigned)n;
			break;
		case 'c':
			a->cfg.tls_cert = optarg;
			break;
		case 'k':
			a->cfg.tls_key = optarg;
			break;
		case 'a':
			a->cfg.access_log = optarg;
			break;
		case 'p':
			a->port_file = optarg;
			break;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(c, "serve takes no arguments");
	if ((a->cfg.tls_cert == NULL) != (a->cfg.tls_key == NULL))
		return cli_usage_error(c, "--tls-cert and --tls-key go "
		    "together");
	return VV_EXIT_OK;
}

static int
write_port(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((fp = fopen(tmp, "we")) == NULL)
		return -1;
	if (fprintf(fp, "%u\n", port) < 0 || fclose(fp) != 0)
		return -1;
	return rename(tmp, path);
}

int
cmd_serve(struct cli *c, int argc, char **argv)
{
	struct serve_args a;
	struct api_server *srv = NULL;
	sigset_t set;
	char err[320];
	int rc, r, sig = 0;

	if (cli_wants_help(argc, argv)) {
		(void)fputs(serve_help, stdout);
		return VV_EXIT_OK;
	}
	if ((rc = parse_args(c, argc, argv, &a)) != VV_EXIT_OK)
		return rc;
	if (c->vault_dir == NULL)
		return cli_usage_error(c, "no vault: give --vault DIR or set "
		    "VIPVAULT_DIR");
	a.cfg.vault_dir = c->vault_dir;
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	if ((r = api_server_start(&a.cfg, &srv, err, sizeof(err))) != VV_OK)
		return cli_fail(c, r, "%s", err);
	if (a.port_file != NULL && write_port(a.port_file,
	    api_server_port(srv)) != 0) {
		api_server_stop(&srv, 0);
		return cli_fail(c, VV_ERR_IO, "cannot write %s", a.port_file);
	}
	(void)fprintf(stderr, "vipvault serve: listening on %s://%s (port "
	    "%u)\n", a.cfg.tls_cert != NULL ? "https" : "http", a.cfg.listen,
	    api_server_port(srv));
	(void)sigwait(&set, &sig);
	(void)fprintf(stderr, "vipvault serve: %s: finishing requests under "
	    "way\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	api_server_stop(&srv, GRACE_MS);
	(void)fprintf(stderr, "vipvault serve: stopped\n");
	return VV_EXIT_OK;
}
