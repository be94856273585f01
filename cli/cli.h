/*
 * cli.h - what the vipvault subcommands share.
 */
#ifndef VV_CLI_H
#define VV_CLI_H

#include <stdio.h>

#include "vipvault.h"

/* Exit codes: stable, documented in docs/vipvault.1. */
enum {
	VV_EXIT_OK = 0,
	VV_EXIT_USAGE = 1,
	VV_EXIT_DENIED = 2,
	VV_EXIT_NOT_FOUND = 3,
	VV_EXIT_BAD_INPUT = 4,
	VV_EXIT_INTEGRITY = 5,
	VV_EXIT_HSM = 6,
	VV_EXIT_FAILURE = 7
};

struct cli {
	const char *vault_dir;	/* --vault or VIPVAULT_DIR */
	int json;		/* --json */
	const char *cmd;	/* for messages */
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *, int, char **);
	const char *summary;
};

/* Exit code for a library error. */
int cli_exit_code(int err);
/* Prints "vipvault CMD: message" to stderr and returns the exit code. */
int cli_fail(const struct cli *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_usage_error(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reports the option getopt_long just rejected; returns exit 1. */
int cli_bad_option(const struct cli *c, int argc, char **argv);
/* Opens the vault named by --vault / VIPVAULT_DIR; prints the failure. */
int cli_open(const struct cli *c, vv_vault **v);
/* Fails with the vault's message. */
int cli_vault_fail(const struct cli *c, vv_vault *v, int err);
/* The bearer token from --token, --token-file or VIPVAULT_TOKEN into out
 * (VV_TOKEN_MAX bytes); prints the failure. */
int cli_token(const struct cli *c, const char *opt, const char *file,
    char *out);
/* Reports a finished action: text, or {"ok":true,"key":"value"}. */
void cli_done(const struct cli *c, const char *key, const char *value,
    const char *text);
/* "12345.67" for 1234567 minor units. */
void cli_amount(char *out, size_t outlen, int64_t minor);
/* Parses a decimal amount in major units to minor units; -1 if bad. */
int cli_parse_amount(const char *s, int64_t *minor);
/* 1 if argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

int cmd_init(struct cli *, int, char **);
int cmd_import(struct cli *, int, char **);
int cmd_add(struct cli *, int, char **);
int cmd_get(struct cli *, int, char **);
int cmd_find(struct cli *, int, char **);
int cmd_list(struct cli *, int, char **);
int cmd_tiers(struct cli *, int, char **);
int cmd_role(struct cli *, int, char **);
int cmd_token(struct cli *, int, char **);
int cmd_manager(struct cli *, int, char **);
int cmd_unseal(struct cli *, int, char **);
int cmd_softkey(struct cli *, int, char **);
int cmd_canary(struct cli *, int, char **);
int cmd_compliance(struct cli *, int, char **);
int cmd_serve(struct cli *, int, char **);
/* compliance report --month (compliance_report.c). */
int cli_compliance_report(struct cli *c, vv_officer *o, const char *month);

/* ------------------------------------------------------- fido_cli.c */

/* Where a FIDO2 PIN comes from: a file, else the terminal. */
struct cli_pin {
	const char *file;
};
int cli_pin_fn(void *arg, const char *prompt, char *pin, size_t pinmax);
/* Asks on the terminal for the next token to be inserted (init). */
int cli_ready_fn(void *arg, const char *who);
void cli_fido_opts(struct cli_pin *p, const char *device, int alg,
    vv_fido_opts *o);
/* VV_ALG_ES256 / VV_ALG_EDDSA for "es256" / "eddsa"; 0 otherwise. */
int cli_parse_alg(const char *s);
/* "900", "900s", "15m", "2h" to seconds; -1 if bad or over 24 hours. */
int64_t cli_parse_ttl(const char *s);
/* Splits a comma-separated list in place into at most max items; the
 * count, or -1 when there are more or an item is empty. */
int cli_split(char *s, char **items, int max);

/* ---------------------------------------------------------- json.c */

/* A streaming JSON writer: no intermediate tree, strings escaped. */
struct jw {
	FILE *fp;
	int depth;
	int need_comma[32];
};
void jw_init(struct jw *w, FILE *fp);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);	/* NULL -> null */
void jw_int(struct jw *w, long long n);
void jw_bool(struct jw *w, int b);
void jw_end(struct jw *w);			/* final newline */

/* ------------------------------------------------------- progress.c */

/* A progress bar on stdout, drawn only when stdout is a terminal. */
struct progress {
	int tty;
	const char *label;
	long long last_ms;
	int drawn;
};
void progress_init(struct progress *p, const char *label);
void progress_update(void *arg, uint64_t done, uint64_t total);
void progress_done(struct progress *p);

#endif /* VV_CLI_H */
