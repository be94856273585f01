/*
 * conf.c - vault.conf, the only plain-text file of a vault.
 *
 *   # comment
 *   format = 1
 *   vault_id = <32 hex digits>
 *   hsm = dev | pkcs11:...
 *
 * It holds nothing secret: the vault id and where the HSM is.  It is the
 * one file an operator may edit (to point at a moved HSM), so it is
 * parsed strictly and every problem is named with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/internal.h"

#define CONF_MAX 8192u
#define CONF_FORMAT "1"

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
conf_line(char *line, unsigned lineno, struct vv_conf *c, int *seen,
    char *errmsg, size_t errlen)
{
	char *eq, *key, *val;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return VV_OK;
	if ((eq = strchr(line, '=')) == NULL) {
		(void)snprintf(errmsg, errlen, "vault.conf line %u: expected "
		    "'key = value'", lineno);
		return VV_ERR_INPUT;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (strcmp(key, "format") == 0 && !(*seen & 1)) {
		if (strcmp(val, CONF_FORMAT) != 0) {
			(void)snprintf(errmsg, errlen, "vault.conf line %u: "
			    "format %.8s is not supported", lineno, val);
			return VV_ERR_SCHEMA;
		}
		*seen |= 1;
	} else if (strcmp(key, "vault_id") == 0 && !(*seen & 2)) {
		if (vv_unhex(c->id, sizeof(c->id), val) != VV_OK) {
			(void)snprintf(errmsg, errlen, "vault.conf line %u: "
			    "vault_id is not 32 hex digits", lineno);
			return VV_ERR_INPUT;
		}
		*seen |= 2;
	} else if (strcmp(key, "hsm") == 0 && !(*seen & 4)) {
		if (strcmp(val, "dev") != 0 &&
		    strncmp(val, "pkcs11:", 7) != 0) {
			(void)snprintf(errmsg, errlen, "vault.conf line %u: "
			    "hsm must be 'dev' or a pkcs11: URI", lineno);
			return VV_ERR_INPUT;
		}
		if ((c->hsm = strdup(val)) == NULL)
			return VV_ERR_NOMEM;
		*seen |= 4;
	} else {
		(void)snprintf(errmsg, errlen, "vault.conf line %u: unknown "
		    "or repeated key", lineno);
		return VV_ERR_INPUT;
	}
	return VV_OK;
}

int
vv_conf_parse(const char *text, size_t len, struct vv_conf *c,
    char *errmsg, size_t errlen)
{
	char *copy = NULL, *line, *next;
	unsigned lineno = 0;
	int seen = 0, r = VV_ERR_INPUT;

	memset(c, 0, sizeof(*c));
	if (len > CONF_MAX || memchr(text, '\0', len) != NULL) {
		(void)snprintf(errmsg, errlen, "vault.conf: not a text file "
		    "of at most %u bytes", CONF_MAX);
		return VV_ERR_INPUT;
	}
	if ((copy = malloc(len + 1)) == NULL)
		return VV_ERR_NOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((r = conf_line(line, ++lineno, c, &seen, errmsg,
		    errlen)) != VV_OK)
			goto out;
	}
	if (seen != 7) {
		(void)snprintf(errmsg, errlen, "vault.conf: missing %s",
		    !(seen & 1) ? "format" : !(seen & 2) ? "vault_id" : "hsm");
		r = VV_ERR_INPUT;
		goto out;
	}
	r = VV_OK;
out:
	free(copy);
	if (r != VV_OK)
		vv_conf_clear(c);
	return r;
}

/*
 * vault.conf decides which PKCS#11 module is loaded, and that module sees
 * the PIN and every key unsealed through it: a file someone else can
 * change is refused, as ssh refuses a loose config.
 */
static int
conf_trusted(const char *path, char *errmsg, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return VV_OK;	/* reading it reports the problem */
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		(void)snprintf(errmsg, errlen, "vault.conf must be owned by "
		    "this user and writable by no one else (chmod 600)");
		return VV_ERR_DENIED;
	}
	return VV_OK;
}

int
vv_conf_read(const char *path, struct vv_conf *c, char *errmsg,
    size_t errlen)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = conf_trusted(path, errmsg, errlen)) != VV_OK)
		return r;
	r = vv_read_file(path, CONF_MAX, &text, &len);
	if (r == VV_ERR_NOT_FOUND) {
		(void)snprintf(errmsg, errlen, "no vault here (vault.conf is "
		    "missing)");
		return r;
	}
	if (r != VV_OK) {
		(void)snprintf(errmsg, errlen, "vault.conf: cannot read: %s",
		    vv_strerror(r));
		return r;
	}
	r = vv_conf_parse((const char *)text, len, c, errmsg, errlen);
	free(text);
	return r;
}

int
vv_conf_write(const char *path, const struct vv_conf *c)
{
	char hex[2 * VV_ID_LEN + 1];
	char *text = NULL;
	int n, r;

	vv_hex(hex, c->id, sizeof(c->id));
	n = asprintf(&text, "# vipvault vault configuration.  Only the hsm "
	    "line may be edited,\n# to point at a token that moved.\n"
	    "format = %s\nvault_id = %s\nhsm = %s\n", CONF_FORMAT, hex,
	    c->hsm);
	if (n < 0)
		return VV_ERR_NOMEM;
	r = vv_write_file(path, text, (size_t)n, 1);
	free(text);
	return r;
}

void
vv_conf_clear(struct vv_conf *c)
{
	free(c->hsm);
	memset(c, 0, sizeof(*c));
}
