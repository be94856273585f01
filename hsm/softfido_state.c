/*
 * softfido_state.c - the soft authenticator's state file.
 *
 * One text file so that end-to-end tests can turn knobs with sed:
 *
 *	vipvault-softfido 1
 *	secret <64 hex>		device secret: credential keys, CredRandom
 *	counter <u32>		signature counter, all credentials
 *	pin <32 hex>|-		LEFT(SHA-256(pin), 16), what CTAP checks
 *	pin-retries <0..8>
 *	presence allow|deny	deny: the user never touches the token
 *	fault none|wrong-hmac	wrong-hmac: hmac-secret from a wrong CredRandom
 *	protocols 2,1|1,2|1|2	pinUvAuthProtocols, in getInfo's order
 *	ctap 2.0|2.1		2.1: FIDO_2_1, tokens with permissions
 *
 * Every key exactly once, in any order, each line ending in '\n'; the
 * parser refuses anything else, since a half-written or hand-mangled file
 * must not turn into a token with a zero secret or a reset counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "vault/internal.h"
#include "vault/utf8.h"
#include "hsm/softfido_int.h"

#define HEADER "vipvault-softfido 1"

enum key {
	K_SECRET, K_COUNTER, K_PIN, K_RETRIES, K_PRESENCE, K_FAULT,
	K_PROTOCOLS, K_CTAP, K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"secret", "counter", "pin", "pin-retries", "presence", "fault",
	"protocols", "ctap"
};

static void
say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parse_hex(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	size_t i;
	int hi, lo;

	if (len != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Decimal, no sign, no leading zeros. */
static int
parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

static int
parse_protocols(const char *v, size_t len, struct sf_state *st)
{
	if (is(v, len, "1") || is(v, len, "2")) {
		st->protocols[0] = (uint8_t)(v[0] - '0');
		st->nprotocols = 1;
	} else if (is(v, len, "2,1") || is(v, len, "1,2")) {
		st->protocols[0] = (uint8_t)(v[0] - '0');
		st->protocols[1] = (uint8_t)(v[2] - '0');
		st->nprotocols = 2;
	} else
		return -1;
	return 0;
}

static int
parse_value(enum key k, const char *v, size_t len, struct sf_state *st)
{
	uint32_t n;

	switch (k) {
	case K_SECRET:
		return parse_hex(v, len, st->secret, sizeof(st->secret));
	case K_COUNTER:
		return parse_u32(v, len, &st->counter);
	case K_PIN:
		st->has_pin = !is(v, len, "-");
		return st->has_pin ? parse_hex(v, len, st->pin_hash,
		    sizeof(st->pin_hash)) : 0;
	case K_RETRIES:
		if (parse_u32(v, len, &n) != 0 || n > SF_MAX_RETRIES)
			return -1;
		st->pin_retries = n;
		return 0;
	case K_PRESENCE:
		if (!is(v, len, "allow") && !is(v, len, "deny"))
			return -1;
		st->presence = is(v, len, "deny") ? SF_PRESENCE_DENY :
		    SF_PRESENCE_ALLOW;
		return 0;
	case K_FAULT:
		if (!is(v, len, "none") && !is(v, len, "wrong-hmac"))
			return -1;
		st->fault = is(v, len, "none") ? SF_FAULT_NONE :
		    SF_FAULT_WRONG_HMAC;
		return 0;
	case K_PROTOCOLS:
		return parse_protocols(v, len, st);
	case K_CTAP:
		if (!is(v, len, "2.0") && !is(v, len, "2.1"))
			return -1;
		st->ctap21 = is(v, len, "2.1");
		return 0;
	default:
		return -1;
	}
}

/* One "key value" line (without its '\n'). */
static int
parse_line(const char *line, size_t len, unsigned lineno, unsigned *seen,
    struct sf_state *st, char *err, size_t errlen)
{
	const char *sp;
	size_t klen;
	int k;

	if ((sp = memchr(line, ' ', len)) == NULL) {
		say(err, errlen, "line %u: expected 'key value'", lineno);
		return -1;
	}
	klen = (size_t)(sp - line);
	for (k = 0; k < K_COUNT; k++)
		if (is(line, klen, key_names[k]))
			break;
	if (k == K_COUNT) {
		say(err, errlen, "line %u: unknown key", lineno);
		return -1;
	}
	if (*seen & (1u << k)) {
		say(err, errlen, "line %u: duplicate key '%s'", lineno,
		    key_names[k]);
		return -1;
	}
	*seen |= 1u << k;
	if (parse_value((enum key)k, sp + 1, len - klen - 1, st) != 0) {
		say(err, errlen, "line %u: bad value for '%s'", lineno,
		    key_names[k]);
		return -1;
	}
	return 0;
}

int
vv_sf_state_parse(const char *text, size_t len, struct sf_state *st,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	unsigned lineno = 0, seen = 0;
	int k;

	memset(st, 0, sizeof(*st));
	if (len == 0 || len > SF_STATE_MAX || text[len - 1] != '\n' ||
	    memchr(text, '\0', len) != NULL ||
	    memchr(text, '\r', len) != NULL) {
		say(err, errlen, "not a soft token state (empty, too long, "
		    "truncated or binary)");
		goto fail;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (++lineno == 1) {
			if (!is(p, (size_t)(nl - p), HEADER)) {
				say(err, errlen, "line 1: expected '%s'",
				    HEADER);
				goto fail;
			}
			continue;
		}
		if (parse_line(p, (size_t)(nl - p), lineno, &seen, st, err,
		    errlen) != 0)
			goto fail;
	}
	for (k = 0; k < K_COUNT; k++)
		if ((seen & (1u << k)) == 0) {
			say(err, errlen, "missing key '%s'", key_names[k]);
			goto fail;
		}
	return 0;
fail:
	sodium_memzero(st, sizeof(*st));
	return -1;
}

size_t
vv_sf_state_format(const struct sf_state *st, char *out, size_t outlen)
{
	char secret[2 * SF_SECRET_LEN + 1], pin[2 * SF_PINHASH_LEN + 1];
	char protos[8];
	int n;

	(void)sodium_bin2hex(secret, sizeof(secret), st->secret,
	    sizeof(st->secret));
	if (st->has_pin)
		(void)sodium_bin2hex(pin, sizeof(pin), st->pin_hash,
		    sizeof(st->pin_hash));
	else
		(void)snprintf(pin, sizeof(pin), "-");
	if (st->nprotocols == 2)
		(void)snprintf(protos, sizeof(protos), "%u,%u",
		    st->protocols[0], st->protocols[1]);
	else
		(void)snprintf(protos, sizeof(protos), "%u", st->protocols[0]);
	n = snprintf(out, outlen, HEADER "\nsecret %s\ncounter %u\npin %s\n"
	    "pin-retries %u\npresence %s\nfault %s\nprotocols %s\nctap %s\n",
	    secret, st->counter, pin, st->pin_retries,
	    st->presence == SF_PRESENCE_DENY ? "deny" : "allow",
	    st->fault == SF_FAULT_WRONG_HMAC ? "wrong-hmac" : "none", protos,
	    st->ctap21 ? "2.1" : "2.0");
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(pin, sizeof(pin));
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	return (size_t)n;
}

/*
 * The file holds the device secret: refuse it unless it is a regular
 * file of ours that no one else can read or write, as ssh does with keys.
 */
static int
check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		say(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		say(err, errlen, "%s: owned by uid %u, not by uid %u", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		say(err, errlen, "%s: mode %04o lets group or others in "
		    "(want 0600)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_size > (off_t)SF_STATE_MAX) {
		say(err, errlen, "%s: too large for a soft token state", path);
		return -1;
	}
	return 0;
}

int
vv_sf_state_read(const char *path, struct sf_state *st, char *err,
    size_t errlen)
{
	char buf[SF_STATE_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd, r = -1;

	/* O_NOFOLLOW: a symlink could point the token at anyone's file. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		say(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (check_file(fd, path, err, errlen) != 0)
		goto out;
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (vv_sf_state_parse(buf, len, st, err, errlen) != 0)
		goto out;
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	(void)close(fd);
	return r;
}

int
vv_sf_save(struct vv_softfido *sf)
{
	char buf[SF_STATE_MAX];
	size_t len;
	int r = -1;

	if ((len = vv_sf_state_format(sf->st, buf, sizeof(buf))) == 0)
		goto out;
	if (vv_write_file(sf->path, buf, len, 0) != VV_OK)
		goto out;
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* 4..63 bytes of UTF-8 holding at least 4 code points (CTAP's minimum). */
int
vv_sf_pin_ok(const uint8_t *pin, size_t len)
{
	size_t i, n, cps = 0;

	if (len < 4 || len > 63)
		return 0;
	for (i = 0; i < len; i += n, cps++)
		if ((n = vv_utf8_len(pin + i, len - i)) == 0 || pin[i] == 0)
			return 0;
	return cps >= 4;
}

int
vv_softfido_create(const char *path, const char *pin, char *err,
    size_t errlen)
{
	struct sf_state *st = NULL;
	uint8_t digest[crypto_hash_sha256_BYTES];
	char buf[SF_STATE_MAX];
	size_t len;
	int r = -1, w;

	if (strncmp(path, VV_SOFTFIDO_PREFIX, strlen(VV_SOFTFIDO_PREFIX)) == 0)
		path += strlen(VV_SOFTFIDO_PREFIX);
	if (sodium_init() < 0 ||
	    (st = sodium_malloc(sizeof(*st))) == NULL) {
		say(err, errlen, "out of memory");
		return -1;
	}
	memset(st, 0, sizeof(*st));
	if (pin != NULL && !vv_sf_pin_ok((const uint8_t *)pin, strlen(pin))) {
		say(err, errlen, "a PIN is 4 to 63 bytes of UTF-8");
		goto out;
	}
	randombytes_buf(st->secret, sizeof(st->secret));
	if ((st->has_pin = pin != NULL)) {
		crypto_hash_sha256(digest, (const uint8_t *)pin, strlen(pin));
		memcpy(st->pin_hash, digest, sizeof(st->pin_hash));
	}
	st->pin_retries = SF_MAX_RETRIES;
	st->protocols[0] = 2;
	st->protocols[1] = 1;
	st->nprotocols = 2;
	st->ctap21 = 1;
	if ((len = vv_sf_state_format(st, buf, sizeof(buf))) == 0) {
		say(err, errlen, "cannot format the state");
		goto out;
	}
	if ((w = vv_write_file(path, buf, len, 1)) != VV_OK) {
		say(err, errlen, "%s: %s", path, w == VV_ERR_EXISTS ?
		    "already exists" : "cannot write the state file");
		goto out;
	}
	r = 0;
out:
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(buf, sizeof(buf));
	sodium_free(st);
	return r;
}

int
vv_softfido_set(const char *path, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct vv_softfido *sf = NULL;
	int k, r = -1;

	for (k = K_COUNTER; k < K_COUNT; k++)
		if (k != K_PIN && strcmp(key, key_names[k]) == 0)
			break;
	if (k == K_COUNT) {
		say(err, errlen, "'%s' is not a knob of the soft token", key);
		return -1;
	}
	if (vv_sf_load(path, &sf, err, errlen) != 0)
		return -1;
	if (parse_value((enum key)k, value, strlen(value), sf->st) != 0) {
		say(err, errlen, "bad value for '%s'", key);
		goto out;
	}
	if (vv_sf_save(sf) != 0) {
		say(err, errlen, "%s: cannot write the state file", path);
		goto out;
	}
	r = 0;
out:
	vv_softfido_free(&sf);
	return r;
}
