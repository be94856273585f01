/*
 * api_tls.c - the server's TLS certificate and key, read and checked
 * before anything listens.
 *
 * libmicrohttpd (through GnuTLS) only says that it could not start when
 * a certificate or key is wrong, which reads like a port in use.  So the
 * two files are parsed here first (OpenSSL's libcrypto, which the soft
 * authenticator links already), and a refusal names the file and the
 * problem: not PEM, not a certificate, not a private key, a key with a
 * passphrase (the server has nobody to ask), or a key that does not go
 * with the certificate.  The key's bytes are kept in guarded memory and
 * never appear in a message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cli/api_server.h"

#define PEM_MAX 65536u

/* Reads a file of under 64 KiB that looks like PEM into out (guarded
 * memory when secret), NUL-terminated; a vv_err. */
static int
read_pem(const char *path, int secret, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	FILE *fp = fopen(path, "re");
	char *p = NULL;
	size_t n;

	if (fp == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? VV_ERR_NOT_FOUND : VV_ERR_IO;
	}
	p = secret ? sodium_malloc(PEM_MAX) : malloc(PEM_MAX);
	if (p == NULL) {
		(void)fclose(fp);
		(void)snprintf(err, errlen, "out of memory");
		return VV_ERR_NOMEM;
	}
	n = fread(p, 1, PEM_MAX - 1, fp);
	(void)fclose(fp);
	p[n] = '\0';		/* n < PEM_MAX: strstr needs the end */
	if (n == 0 || n == PEM_MAX - 1 || strstr(p, "-----BEGIN") == NULL) {
		(void)snprintf(err, errlen, "%s: not a PEM file of under 64 KiB",
		    path);
		if (secret)
			sodium_free(p);
		else
			free(p);
		return VV_ERR_INPUT;
	}
	*out = p;
	*outlen = n;
	return VV_OK;
}

/* A passphrase callback that has none to give: an encrypted key fails. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
check_pair(const struct api_config *cfg, const char *cert, size_t certlen,
    const char *key, size_t keylen, char *err, size_t errlen)
{
	BIO *cb = BIO_new_mem_buf(cert, (int)certlen);
	BIO *kb = BIO_new_mem_buf(key, (int)keylen);
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int r = VV_ERR_INPUT;

	if (cb == NULL || kb == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		r = VV_ERR_NOMEM;
		goto out;
	}
	if ((x = PEM_read_bio_X509(cb, NULL, no_passphrase, NULL)) == NULL) {
		(void)snprintf(err, errlen, "%s: no X.509 certificate in it",
		    cfg->tls_cert);
		goto out;
	}
	if (strstr(key, "ENCRYPTED") != NULL) {
		(void)snprintf(err, errlen, "%s: the key has a passphrase; the "
		    "server needs it unencrypted (mode 0600)", cfg->tls_key);
		goto out;
	}
	if ((pk = PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL)) ==
	    NULL) {
		(void)snprintf(err, errlen, "%s: no private key in it",
		    cfg->tls_key);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		(void)snprintf(err, errlen, "%s: the key does not go with the "
		    "certificate %s", cfg->tls_key, cfg->tls_cert);
		goto out;
	}
	r = VV_OK;
out:
	/* Nothing of OpenSSL's queue is shown: it could quote the key. */
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return r;
}

int
api_tls_load(struct api_server *srv, char *err, size_t errlen)
{
	size_t certlen = 0;
	int r;

	if ((r = read_pem(srv->cfg.tls_cert, 0, &srv->tls_cert, &certlen, err,
	    errlen)) != VV_OK || (r = read_pem(srv->cfg.tls_key, 1,
	    &srv->tls_key, &srv->tls_len, err, errlen)) != VV_OK)
		return r;
	return check_pair(&srv->cfg, srv->tls_cert, certlen, srv->tls_key,
	    srv->tls_len, err, errlen);
}
