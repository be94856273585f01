/*
 * fido_cli.c - how the command asks for a FIDO2 token's PIN, and the
 * token options every dual-control command shares.
 *
 * The PIN comes from --pin-file (a file that is ours alone) or from the
 * terminal with echo off; never from argv or the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

static int
read_tty(const char *prompt, char *pin, size_t pinmax)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t got;
	char ch;
	int fd, r = -1;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto out;
	/* One byte at a time: no stdio buffer keeps a copy. */
	while ((got = read(fd, &ch, 1)) == 1 && ch != '\n' && ch != '\r')
		if (n + 1 < pinmax)
			pin[n++] = ch;
	pin[n] = '\0';
	ch = 0;
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	r = got == 1 && n > 0 && write(fd, "\n", 1) == 1 ? 0 : -1;
out:
	(void)close(fd);
	return r;
}

int
cli_ready_fn(void *arg, const char *who)
{
	char line[64];
	ssize_t n;
	int fd, r = -1;

	(void)arg;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	(void)dprintf(fd, "%s: insert your FIDO2 token (and only yours), then "
	    "press Enter; touch it when it blinks\n", who);
	if ((n = read(fd, line, sizeof(line))) > 0)
		r = 0;
	(void)close(fd);
	return r;
}

int
cli_pin_fn(void *arg, const char *prompt, char *pin, size_t pinmax)
{
	const struct cli_pin *p = arg;
	char msg[256];

	if (p != NULL && p->file != NULL) {
		if (vv_pin_file_read(p->file, pin, pinmax, msg, sizeof(msg)) ==
		    VV_OK)
			return 0;
		(void)fprintf(stderr, "vipvault: %s\n", msg);
		return -1;
	}
	return read_tty(prompt, pin, pinmax);
}

void
cli_fido_opts(struct cli_pin *p, const char *device, int alg,
    vv_fido_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->device = device;
	o->alg = alg;
	o->pin_fn = cli_pin_fn;
	o->pin_arg = p;
}

int
cli_parse_alg(const char *s)
{
	if (strcmp(s, "es256") == 0)
		return VV_ALG_ES256;
	if (strcmp(s, "eddsa") == 0)
		return VV_ALG_EDDSA;
	return 0;
}
