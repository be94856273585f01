/*
 * p11_util.c - small helpers for the PKCS#11 code: error names, token
 * labels, RFC 7512 percent-encoding and reading a pin-source file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "hsm/p11_int.h"

#define RV(x) { x, #x }

static const struct {
	CK_RV		 rv;
	const char	*name;
} rv_names[] = {
	RV(CKR_OK),
	RV(CKR_CANCEL),
	RV(CKR_HOST_MEMORY),
	RV(CKR_SLOT_ID_INVALID),
	RV(CKR_GENERAL_ERROR),
	RV(CKR_FUNCTION_FAILED),
	RV(CKR_ARGUMENTS_BAD),
	RV(CKR_NO_EVENT),
	RV(CKR_NEED_TO_CREATE_THREADS),
	RV(CKR_CANT_LOCK),
	RV(CKR_ATTRIBUTE_READ_ONLY),
	RV(CKR_ATTRIBUTE_SENSITIVE),
	RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID),
	RV(CKR_ACTION_PROHIBITED),
	RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE),
	RV(CKR_DEVICE_ERROR),
	RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED),
	RV(CKR_ENCRYPTED_DATA_INVALID),
	RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
	RV(CKR_FUNCTION_CANCELED),
	RV(CKR_FUNCTION_NOT_PARALLEL),
	RV(CKR_FUNCTION_NOT_SUPPORTED),
	RV(CKR_KEY_HANDLE_INVALID),
	RV(CKR_KEY_SIZE_RANGE),
	RV(CKR_KEY_TYPE_INCONSISTENT),
	RV(CKR_KEY_NOT_NEEDED),
	RV(CKR_KEY_CHANGED),
	RV(CKR_KEY_NEEDED),
	RV(CKR_KEY_INDIGESTIBLE),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	RV(CKR_KEY_NOT_WRAPPABLE),
	RV(CKR_KEY_UNEXTRACTABLE),
	RV(CKR_MECHANISM_INVALID),
	RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID),
	RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED),
	RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID),
	RV(CKR_PIN_LEN_RANGE),
	RV(CKR_PIN_EXPIRED),
	RV(CKR_PIN_LOCKED),
	RV(CKR_SESSION_CLOSED),
	RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_HANDLE_INVALID),
	RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	RV(CKR_SESSION_READ_ONLY),
	RV(CKR_SESSION_EXISTS),
	RV(CKR_SESSION_READ_ONLY_EXISTS),
	RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	RV(CKR_SIGNATURE_INVALID),
	RV(CKR_SIGNATURE_LEN_RANGE),
	RV(CKR_TEMPLATE_INCOMPLETE),
	RV(CKR_TEMPLATE_INCONSISTENT),
	RV(CKR_TOKEN_NOT_PRESENT),
	RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_TOKEN_WRITE_PROTECTED),
	RV(CKR_UNWRAPPING_KEY_SIZE_RANGE),
	RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
	RV(CKR_USER_ALREADY_LOGGED_IN),
	RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED),
	RV(CKR_USER_TYPE_INVALID),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	RV(CKR_USER_TOO_MANY_TYPES),
	RV(CKR_WRAPPED_KEY_INVALID),
	RV(CKR_WRAPPED_KEY_LEN_RANGE),
	RV(CKR_WRAPPING_KEY_HANDLE_INVALID),
	RV(CKR_WRAPPING_KEY_SIZE_RANGE),
	RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
	RV(CKR_RANDOM_SEED_NOT_SUPPORTED),
	RV(CKR_RANDOM_NO_RNG),
	RV(CKR_DOMAIN_PARAMS_INVALID),
	RV(CKR_CURVE_NOT_SUPPORTED),
	RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_SAVED_STATE_INVALID),
	RV(CKR_INFORMATION_SENSITIVE),
	RV(CKR_STATE_UNSAVEABLE),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	RV(CKR_MUTEX_BAD),
	RV(CKR_MUTEX_NOT_LOCKED),
	RV(CKR_NEW_PIN_MODE),
	RV(CKR_NEXT_OTP),
	RV(CKR_EXCEEDED_MAX_ITERATIONS),
	RV(CKR_FIPS_SELF_TEST_FAILED),
	RV(CKR_LIBRARY_LOAD_FAILED),
	RV(CKR_PIN_TOO_WEAK),
	RV(CKR_PUBLIC_KEY_INVALID),
	RV(CKR_FUNCTION_REJECTED),
};

#undef RV

int
vv_p11_fail(struct vv_p11 *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

const char *
vv_p11_rv_name(CK_RV rv)
{
	static _Thread_local char unknown[32];
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	(void)snprintf(unknown, sizeof(unknown), "CKR_0x%lx", rv);
	return unknown;
}

void
vv_p11_label_str(const unsigned char *label, size_t len, char *out,
    size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	/* p11-kit leaves a label the URI does not set all zeros. */
	len = strnlen((const char *)label, len);
	while (len > 0 && label[len - 1] == ' ')
		len--;
	if (len > outlen - 1)
		len = outlen - 1;
	/* Labels come from tokens and URIs: keep messages printable. */
	for (i = 0; i < len; i++)
		out[i] = (label[i] >= 0x20 && label[i] < 0x7f) ?
		    (char)label[i] : '?';
	out[len] = '\0';
}

int
vv_p11_label_pad(unsigned char out[VV_P11_TOKLABEL], const char *s)
{
	size_t len = strlen(s);

	if (len > VV_P11_TOKLABEL)
		return -1;
	memset(out, ' ', VV_P11_TOKLABEL);
	memcpy(out, s, len);
	return 0;
}

static int
unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
vv_p11_pct_append(char *out, size_t outlen, size_t *pos, const char *s,
    const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t at = *pos;

	for (; *u != '\0'; u++) {
		if (unreserved(*u) || (keep != NULL && strchr(keep, *u))) {
			if (outlen - at < 2)
				return -1;
			out[at++] = (char)*u;
		} else {
			if (outlen - at < 4)
				return -1;
			out[at++] = '%';
			out[at++] = hex[*u >> 4];
			out[at++] = hex[*u & 0xf];
		}
	}
	out[at] = '\0';
	*pos = at;
	return 0;
}

/* The file path of a pin-source, or NULL for a scheme we do not read. */
static const char *
pin_path(const char *source)
{
	if (strncmp(source, "file:", 5) == 0) {
		source += 5;
		/* file:///abs has an empty authority before the path */
		if (strncmp(source, "//", 2) == 0)
			source += 2;
	}
	return source[0] == '/' ? source : NULL;
}

static int
pin_load(int fd, char *buf, size_t *len)
{
	ssize_t n;
	size_t got = 0;

	/* One byte more than a PIN may have, to notice an oversized file. */
	while (got < VV_P11_PIN_MAX + 1) {
		n = read(fd, buf + got, VV_P11_PIN_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

/* Opens a regular file for reading; a FIFO must not block us.  Like ssh
 * with a private key, refuse a PIN file that is not ours alone (mode
 * 0600 or stricter, owned by us): the PIN would already be out of our
 * hands. */
static int
pin_open(const char *path, int *fd)
{
	struct stat st;

	if ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0 || fstat(*fd, &st) != 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EINVAL;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_uid != geteuid())
		return EPERM;
	return 0;
}

/* Reads a secret of 1..max bytes (trailing newlines dropped) from a file
 * that is ours alone into buf (max + 1 bytes), NUL-terminated.  On
 * failure returns a vv_err with a reason in *why and buf wiped. */
static int
secret_file_read(const char *path, char *buf, size_t max, size_t *len,
    const char **why)
{
	int fd = -1, e;

	*len = 0;
	*why = NULL;
	if (max > VV_P11_PIN_MAX)
		max = VV_P11_PIN_MAX;
	if ((e = pin_open(path, &fd)) == 0 && pin_load(fd, buf, len) != 0)
		e = errno;
	if (fd >= 0)
		(void)close(fd);
	if (e != 0)
		*why = e == EINVAL ? "not a regular file" : e == EPERM ?
		    "it must be ours alone (chown to this user, chmod 600)" :
		    strerror(e);
	while (e == 0 && *len > 0 && (buf[*len - 1] == '\n' ||
	    buf[*len - 1] == '\r'))
		(*len)--;
	if (e == 0 && (*len == 0 || *len > max))
		*why = *len == 0 ? "empty" : "too long for a PIN";
	if (*why != NULL) {
		sodium_memzero(buf, max + 1);
		return VV_ERR_IO;
	}
	buf[*len] = '\0';
	return VV_OK;
}

int
vv_pin_file_read(const char *path, char *pin, size_t pinmax, char *err,
    size_t errlen)
{
	char *buf;
	const char *why = NULL;
	size_t len = 0;
	int r;

	if (pinmax < 2)
		return VV_ERR_INVALID;
	if ((buf = sodium_malloc(VV_P11_PIN_MAX + 1)) == NULL)
		return VV_ERR_NOMEM;
	r = secret_file_read(path, buf, pinmax - 1, &len, &why);
	if (r == VV_OK)
		memcpy(pin, buf, len + 1);
	else if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "PIN file %s: %s", path, why);
	sodium_memzero(buf, VV_P11_PIN_MAX + 1);
	sodium_free(buf);
	return r;
}

int
vv_p11_pin_read(struct vv_p11 *p, const char *source, char **pin,
    size_t *pinlen)
{
	const char *path, *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*pin = NULL;
	if ((path = pin_path(source)) == NULL)
		return vv_p11_fail(p, VV_ERR_INVALID,
		    "pin-source: only file: sources are supported");
	if ((buf = sodium_malloc(VV_P11_PIN_MAX + 1)) == NULL)
		return vv_p11_fail(p, VV_ERR_NOMEM, "pin-source: out of memory");
	if ((r = secret_file_read(path, buf, VV_P11_PIN_MAX, &len, &why)) !=
	    VV_OK) {
		sodium_free(buf);
		return vv_p11_fail(p, r, "pin-source %s: %s", path, why);
	}
	*pin = buf;
	*pinlen = len;
	return VV_OK;
}

void
vv_p11_pin_free(char **pin)
{
	if (pin == NULL || *pin == NULL)
		return;
	sodium_memzero(*pin, VV_P11_PIN_MAX + 1);
	sodium_free(*pin);
	*pin = NULL;
}
