/*
 * compliance_key.c - the compliance officer's key pair (X25519): the
 * vault seals every mirrored entry, and the pseudonym key, to its public
 * half; only the officer opens them.
 *
 *   secret file (0600):  vipvault-compliance-secret 1
 *                        public <64 hex>
 *                        secret <64 hex>
 *   public file:         vipvault-compliance-public 1
 *                        public <64 hex>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/clog.h"

#define SECRET_MAGIC "vipvault-compliance-secret 1\n"
#define PUBLIC_MAGIC "vipvault-compliance-public 1\n"
#define FILE_MAX 512

int
vv_compliance_keygen(const char *secret_path, const char *public_path)
{
	uint8_t pk[32], *sk;
	char *text = NULL, pkhex[65], skhex[65];
	int r = VV_ERR_NOMEM;

	if ((sk = sodium_malloc(32)) == NULL ||
	    (text = sodium_malloc(FILE_MAX)) == NULL)
		goto out;
	(void)crypto_box_keypair(pk, sk);
	vv_hex(pkhex, pk, 32);
	vv_hex(skhex, sk, 32);
	(void)snprintf(text, FILE_MAX, "%spublic %s\nsecret %s\n",
	    SECRET_MAGIC, pkhex, skhex);
	sodium_memzero(skhex, sizeof(skhex));
	if ((r = vv_write_file(secret_path, text, strlen(text), 1)) != VV_OK)
		goto out;
	(void)snprintf(text, FILE_MAX, "%spublic %s\n", PUBLIC_MAGIC, pkhex);
	if ((r = vv_write_file(public_path, text, strlen(text), 1)) != VV_OK)
		(void)remove(secret_path);
out:
	if (sk != NULL)
		sodium_free(sk);
	if (text != NULL)
		sodium_free(text);
	return r;
}

/* "key <64 hex>\n" at *at into out[32]. */
static int
hex_line(const char **at, const char *end, const char *key, uint8_t out[32])
{
	size_t kl = strlen(key);
	char hex[65];
	int r;

	if ((size_t)(end - *at) < kl + 1 + 64 + 1 ||
	    memcmp(*at, key, kl) != 0 || (*at)[kl] != ' ' ||
	    (*at)[kl + 65] != '\n')
		return -1;
	memcpy(hex, *at + kl + 1, 64);
	hex[64] = '\0';
	*at += kl + 66;
	r = vv_unhex(out, 32, hex);
	/* The secret line's hex is the secret key. */
	sodium_memzero(hex, sizeof(hex));
	return r;
}

int
vv_compliance_public_read(const char *path, uint8_t pk[32], char *err,
    size_t errlen)
{
	uint8_t *buf = NULL;
	const char *at, *end;
	size_t len = 0;
	int r;

	if ((r = vv_read_file(path, FILE_MAX, &buf, &len)) != VV_OK) {
		(void)snprintf(err, errlen, "cannot read the compliance public "
		    "key %s: %s", path, vv_strerror(r));
		return r;
	}
	at = (const char *)buf;
	end = at + len;
	if (len < strlen(PUBLIC_MAGIC) || memcmp(at, PUBLIC_MAGIC,
	    strlen(PUBLIC_MAGIC)) != 0 || (at += strlen(PUBLIC_MAGIC),
	    hex_line(&at, end, "public", pk) != 0) || at != end) {
		(void)snprintf(err, errlen, "%s is not a compliance public key "
		    "(vipvault compliance keygen makes one)", path);
		r = VV_ERR_INPUT;
	}
	free(buf);
	return r;
}

int
vv_compliance_secret_read(const char *path, uint8_t pk[32], uint8_t *sk,
    char *err, size_t errlen)
{
	char *text;
	const char *at, *end;
	uint8_t check[32];
	int r;

	if ((text = sodium_malloc(FILE_MAX + 1)) == NULL)
		return VV_ERR_NOMEM;
	/* Same rules as a PIN file: ours alone, or refused. */
	if ((r = vv_pin_file_read(path, text, FILE_MAX + 1, err, errlen)) !=
	    VV_OK)
		goto out;
	(void)strncat(text, "\n", FILE_MAX - strlen(text));
	at = text;
	end = text + strlen(text);
	if (strncmp(at, SECRET_MAGIC, strlen(SECRET_MAGIC)) != 0 ||
	    (at += strlen(SECRET_MAGIC), hex_line(&at, end, "public", pk)) !=
	    0 || hex_line(&at, end, "secret", sk) != 0 || at != end ||
	    crypto_scalarmult_base(check, sk) != 0 ||
	    sodium_memcmp(check, pk, 32) != 0) {
		(void)snprintf(err, errlen, "%s is not a compliance secret key "
		    "(vipvault compliance keygen makes one)", path);
		r = VV_ERR_INPUT;
	}
out:
	sodium_free(text);
	return r;
}
