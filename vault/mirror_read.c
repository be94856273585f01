/*
 * mirror_read.c - parsing the compliance mirror: its header, entry
 * records and head records.  The officer's tools read a mirror that
 * anyone with access to its directory could have damaged, so every
 * length is checked against what is left and a torn record is an error,
 * not a short read.  Also: adopting records a crashed sync wrote but did
 * not note.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vault/clog.h"

#define HEADER_MAGIC "vipvault-mirror 1"

int
vv_mirror_next(const uint8_t *p, size_t len, size_t *off, uint64_t *seq,
    const uint8_t **hash, const uint8_t **sealed, size_t *sealedlen)
{
	size_t left = len - *off;
	uint32_t reclen;

	if (left == 0)
		return VV_ERR_NOT_FOUND;
	if (left < 4)
		return VV_ERR_INPUT;
	reclen = vv_get_be32(p + *off);
	if (reclen < VV_MIRROR_REC_MIN - 4 ||
	    reclen > VV_MIRROR_REC_MAX - 4 || left - 4 < reclen)
		return VV_ERR_INPUT;
	*seq = vv_get_be64(p + *off + 4);
	*hash = p + *off + 12;
	*sealed = p + *off + 44;
	*sealedlen = reclen - 40;
	*off += 4 + reclen;
	return VV_OK;
}

int
vv_mirror_next_head(const uint8_t *p, size_t len, size_t *off,
    struct vv_tree_head *h)
{
	size_t left = len - *off;

	if (left == 0)
		return VV_ERR_NOT_FOUND;
	if (left < VV_MIRROR_HEAD_REC)
		return VV_ERR_INPUT;
	p += *off;
	h->size = vv_get_be64(p);
	memcpy(h->root, p + 8, 32);
	h->time_ms = (int64_t)vv_get_be64(p + 40);
	memcpy(h->sig, p + 48, crypto_sign_BYTES);
	*off += VV_MIRROR_HEAD_REC;
	return VV_OK;
}

/* "key hex\n" at *at: the value into out (exactly outlen bytes). */
static int
header_line(const char **at, const char *end, const char *key,
    uint8_t *out, size_t outlen)
{
	char hex[2 * (32 + crypto_box_SEALBYTES + crypto_sign_BYTES) + 1];
	size_t kl = strlen(key);
	const char *nl;

	if (2 * outlen >= sizeof(hex) || (size_t)(end - *at) < kl + 1 ||
	    memcmp(*at, key, kl) != 0 || (*at)[kl] != ' ' ||
	    (nl = memchr(*at, '\n', (size_t)(end - *at))) == NULL ||
	    (size_t)(nl - *at) != kl + 1 + 2 * outlen)
		return -1;
	memcpy(hex, *at + kl + 1, 2 * outlen);
	hex[2 * outlen] = '\0';
	if (vv_unhex(out, outlen, hex) != 0)
		return -1;
	*at = nl + 1;
	return 0;
}

int
vv_mirror_header_parse(const char *text, size_t len,
    struct vv_mirror_header *h, char *err, size_t errlen)
{
	const char *at = text, *end = text + len, *signed_end;
	uint8_t sig[crypto_sign_BYTES];
	size_t ml = strlen(HEADER_MAGIC);

	memset(h, 0, sizeof(*h));
	if (len < ml + 1 || memcmp(text, HEADER_MAGIC, ml) != 0 ||
	    text[ml] != '\n') {
		(void)snprintf(err, errlen, "not a vipvault mirror header");
		return VV_ERR_INPUT;
	}
	at += ml + 1;
	if (header_line(&at, end, "vault", h->vault_id, VV_ID_LEN) != 0 ||
	    header_line(&at, end, "sign-key", h->sign_pk, 32) != 0 ||
	    header_line(&at, end, "compliance-key", h->compliance_pk,
	    32) != 0 || header_line(&at, end, "pseudonym-key",
	    h->sealed_pseudonym, sizeof(h->sealed_pseudonym)) != 0 ||
	    header_line(&at, end, "mirror-key", h->sealed_mirror_key,
	    sizeof(h->sealed_mirror_key)) != 0) {
		(void)snprintf(err, errlen, "the mirror header is malformed");
		return VV_ERR_INPUT;
	}
	signed_end = at;
	if (header_line(&at, end, "signature", sig, sizeof(sig)) != 0 ||
	    at != end) {
		(void)snprintf(err, errlen, "the mirror header is malformed");
		return VV_ERR_INPUT;
	}
	if (crypto_sign_verify_detached(sig, (const uint8_t *)text,
	    (size_t)(signed_end - text), h->sign_pk) != 0) {
		(void)snprintf(err, errlen, "the mirror header's signature "
		    "does not verify");
		return VV_ERR_INTEGRITY;
	}
	return VV_OK;
}

/* ---------------------------------------------------------- adoption */

static int
read_range(int fd, uint64_t from, uint64_t to, uint8_t **out)
{
	size_t n = (size_t)(to - from), got = 0;
	ssize_t r;

	if ((*out = malloc(n > 0 ? n : 1)) == NULL)
		return -1;
	while (got < n) {
		r = pread(fd, *out + got, n - got, (off_t)(from + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int
vault_hash(vv_vault *v, uint64_t seq, uint8_t out[32])
{
	sqlite3_stmt *st = NULL;
	int r, ok = 0;

	if ((r = vv_prepare(v, "SELECT hash FROM clog WHERE seq = ?", &st)) !=
	    VV_OK)
		return 0;
	(void)sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(out, sqlite3_column_blob(st, 0), 32);
		ok = 1;
	}
	sqlite3_finalize(st);
	return ok;
}

/* The last record is cut short: a plausible length, not all there. */
static int
torn_tail(const uint8_t *p, size_t len, size_t off)
{
	uint32_t reclen;

	if (len - off < 4)
		return 1;
	reclen = vv_get_be32(p + off);
	return reclen >= VV_MIRROR_REC_MIN - 4 &&
	    reclen <= VV_MIRROR_REC_MAX - 4 && len - off - 4 < reclen;
}

int
vv_mirror_adopt(vv_vault *v, const char *dir, uint64_t mirrored,
    uint64_t bytes, uint64_t fsize, uint64_t *mirrored_out,
    uint64_t *bytes_out)
{
	const uint8_t *hash, *sealed;
	uint8_t *tail = NULL, want[32];
	size_t off = 0, sealedlen;
	uint64_t seq;
	char *path;
	int fd, r = VV_OK;

	if ((path = vv_path(dir, "entries")) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0 || read_range(fd, bytes, fsize, &tail) != 0) {
		r = vv_fail(v, VV_ERR_IO, "reading the compliance mirror in "
		    "%s", dir);
		goto out;
	}
	while (off < fsize - bytes) {
		if (torn_tail(tail, (size_t)(fsize - bytes), off)) {
			/* A crash mid-record: cut it, the sync writes the
			 * entry again. */
			if (ftruncate(fd, (off_t)(bytes + off)) != 0) {
				r = vv_fail(v, VV_ERR_IO, "cutting a torn record "
				    "in the compliance mirror in %s", dir);
				goto out;
			}
			fsize = bytes + off;
			break;
		}
		if (vv_mirror_next(tail, (size_t)(fsize - bytes), &off, &seq,
		    &hash, &sealed, &sealedlen) != VV_OK ||
		    seq != mirrored + 1 || !vault_hash(v, seq, want) ||
		    sodium_memcmp(hash, want, 32) != 0) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "the compliance mirror "
			    "in %s holds records after entry %llu that the "
			    "vault did not write", dir,
			    (unsigned long long)mirrored);
			goto out;
		}
		mirrored = seq;
	}
	*mirrored_out = mirrored;
	*bytes_out = fsize;
out:
	if (fd >= 0)
		(void)close(fd);
	free(tail);
	return r;
}
