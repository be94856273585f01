/*
 * mirror.c - the compliance mirror: an append-only directory, outside the
 * vault, that compliance reads with its own key.
 *
 * The vault only appends (O_APPEND) and fdatasyncs before it goes on;
 * where the mirror stands is kept in clog_state (entries and bytes
 * written), so a crash between a write and that note is recognised on
 * the next sync (the extra records are the expected ones) and a mirror
 * shorter than noted is reported, never silently refilled.  Each entry
 * is sealed to the compliance public key: the mirror's readers without
 * that key learn sequence numbers and hashes, nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/clog.h"

#define HEADER_MAGIC "vipvault-mirror 1"
#define BATCH_ROWS 4096

struct mstate {
	uint64_t size;		/* entries in the vault log */
	uint64_t mirrored;	/* entries in the mirror */
	uint64_t bytes;		/* bytes of the entries file */
	uint64_t heads;		/* last head size mirrored */
	uint64_t head_bytes;
};

/* ----------------------------------------------------------- create */

static int
header_text(vv_vault *v, const uint8_t cpk[32], char *out, size_t outlen)
{
	uint8_t sealed[32 + crypto_box_SEALBYTES], sealedm[sizeof(sealed)];
	uint8_t sig[crypto_sign_BYTES];
	char id[2 * VV_ID_LEN + 1], spk[65], chex[65];
	char shex[2 * sizeof(sealed) + 1], mhex[2 * sizeof(sealed) + 1];
	char sighex[2 * sizeof(sig) + 1];
	int n;

	/* The pseudonym key goes to compliance, sealed: the officer can
	 * then name the records behind the log's references.  So does the
	 * key the entries are encrypted under: one sealed box for the
	 * mirror, not one an entry, which the officer could not open a
	 * million of in the time verify should take. */
	if (crypto_box_seal(sealed, v->log_keys, VV_KEY_LEN, cpk) != 0 ||
	    crypto_box_seal(sealedm, v->log_keys + VV_LOG_MIRROR_KEY,
	    VV_KEY_LEN, cpk) != 0)
		return -1;
	vv_hex(id, v->id, VV_ID_LEN);
	vv_hex(spk, v->log_sign_pk, 32);
	vv_hex(chex, cpk, 32);
	vv_hex(shex, sealed, sizeof(sealed));
	vv_hex(mhex, sealedm, sizeof(sealedm));
	n = snprintf(out, outlen, "%s\nvault %s\nsign-key %s\n"
	    "compliance-key %s\npseudonym-key %s\nmirror-key %s\n",
	    HEADER_MAGIC, id, spk, chex, shex, mhex);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	(void)crypto_sign_detached(sig, NULL, (const uint8_t *)out, (size_t)n,
	    v->log_keys + VV_KEY_LEN);
	vv_hex(sighex, sig, sizeof(sig));
	return snprintf(out + n, outlen - (size_t)n, "signature %s\n",
	    sighex) < (int)(outlen - (size_t)n) ? 0 : -1;
}

int
vv_mirror_create(vv_vault *v, const char *dir, const uint8_t cpk[32])
{
	char text[1024], *path = NULL, hex[65];
	int r;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return vv_fail(v, VV_ERR_IO, "cannot create the compliance "
		    "mirror %s: %s", dir, strerror(errno));
	if (header_text(v, cpk, text, sizeof(text)) != 0)
		return vv_fail(v, VV_ERR_INTERNAL, "mirror header");
	if ((path = vv_path(dir, "header")) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	r = vv_write_file(path, text, strlen(text), 1);
	free(path);
	if (r == VV_ERR_EXISTS)
		return vv_fail(v, r, "%s already holds a compliance mirror",
		    dir);
	if (r != VV_OK)
		return vv_fail(v, r, "writing the mirror header in %s", dir);
	vv_hex(hex, cpk, 32);
	if ((r = vv_meta_set(v, "mirror_dir", dir)) != VV_OK ||
	    (r = vv_meta_set(v, "compliance_pk", hex)) != VV_OK)
		return r;
	return VV_OK;
}

/* ------------------------------------------------------------- sync */

static int
load_mstate(vv_vault *v, struct mstate *m)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_prepare(v, "SELECT size, mirrored, mirror_bytes, "
	    "heads_mirrored, heads_bytes FROM clog_state WHERE id = 1", &st)) !=
	    VV_OK)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		r = vv_fail_db(v, rc, "reading the mirror state");
	else {
		m->size = (uint64_t)sqlite3_column_int64(st, 0);
		m->mirrored = (uint64_t)sqlite3_column_int64(st, 1);
		m->bytes = (uint64_t)sqlite3_column_int64(st, 2);
		m->heads = (uint64_t)sqlite3_column_int64(st, 3);
		m->head_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return r;
}

static int
store_mstate(vv_vault *v, const struct mstate *m)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	if ((r = vv_prepare(v, "UPDATE clog_state SET mirrored = ?, "
	    "mirror_bytes = ?, heads_mirrored = ?, heads_bytes = ? WHERE "
	    "id = 1", &st)) != VV_OK)
		goto fail;
	(void)sqlite3_bind_int64(st, 1, (int64_t)m->mirrored);
	(void)sqlite3_bind_int64(st, 2, (int64_t)m->bytes);
	(void)sqlite3_bind_int64(st, 3, (int64_t)m->heads);
	(void)sqlite3_bind_int64(st, 4, (int64_t)m->head_bytes);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		r = vv_fail_db(v, rc, "noting the mirror state");
		goto fail;
	}
	return vv_store_commit(v);
fail:
	vv_store_rollback(v);
	return r;
}

static int
open_append(vv_vault *v, const char *dir, const char *name, int *fd,
    uint64_t *size)
{
	struct stat st;
	char *path;
	int e;

	if ((path = vv_path(dir, name)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	e = errno;
	free(path);
	if (*fd < 0 || fstat(*fd, &st) != 0)
		return vv_fail(v, VV_ERR_IO, "the compliance mirror %s/%s "
		    "cannot be written: %s", dir, name, strerror(*fd < 0 ? e :
		    errno));
	*size = (uint64_t)st.st_size;
	return VV_OK;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
vv_mirror_ad(const uint8_t vault_id[VV_ID_LEN], uint64_t seq,
    uint8_t ad[VV_MIRROR_AD_LEN])
{
	memcpy(ad, vault_id, VV_ID_LEN);
	vv_put_be64(ad + VV_ID_LEN, seq);
}

/* Appends one record at offset at.  A disk that fills mid-record must
 * not leave half a record for the next sync to trip on: the file is cut
 * back (and if that fails too, the next sync cuts it: vv_mirror_adopt). */
static int
append_record(vv_vault *v, int fd, const char *dir, const uint8_t *rec,
    size_t n, uint64_t at)
{
	int e;

	if (write_all(fd, rec, n) == 0)
		return VV_OK;
	e = errno;
	if (ftruncate(fd, (off_t)at) != 0)
		return vv_fail(v, VV_ERR_IO, "writing the compliance mirror in "
		    "%s, then cutting the partial record: %s", dir,
		    strerror(errno));
	return vv_fail(v, VV_ERR_IO, "writing the compliance mirror in %s: "
	    "%s", dir, strerror(e));
}

/* A random nonce: a vault restored from a backup writes new entries
 * under old numbers. */
size_t
vv_mirror_seal(const vv_vault *v, uint64_t seq, const uint8_t *enc,
    size_t len, uint8_t *out)
{
	uint8_t ad[VV_MIRROR_AD_LEN];

	randombytes_buf(out, VV_MIRROR_NONCE);
	vv_mirror_ad(v->id, seq, ad);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(out + VV_MIRROR_NONCE,
	    NULL, enc, len, ad, sizeof(ad), NULL, out,
	    v->log_keys + VV_LOG_MIRROR_KEY);
	return VV_MIRROR_NONCE + len + VV_MIRROR_TAG;
}

/* One entry as a mirror record into buf; its length. */
static size_t
frame_entry(const vv_vault *v, uint64_t seq, const uint8_t *hash,
    const uint8_t *enc, size_t len, uint8_t *buf)
{
	size_t sealed = vv_mirror_seal(v, seq, enc, len, buf + 44);

	vv_put_be32(buf, (uint32_t)(8 + 32 + sealed));
	vv_put_be64(buf + 4, seq);
	memcpy(buf + 12, hash, 32);
	return 4 + 8 + 32 + sealed;
}

/* A crash after a write and before its note leaves records past the
 * noted end: they must be exactly the next entries. */
static int
adopt_tail(vv_vault *v, const char *dir, struct mstate *m, uint64_t fsize)
{
	if (fsize == m->bytes)
		return VV_OK;
	if (fsize < m->bytes)
		return vv_fail(v, VV_ERR_INTEGRITY, "the compliance mirror in "
		    "%s is shorter than the vault wrote (%llu of %llu bytes): "
		    "it was truncated", dir, (unsigned long long)fsize,
		    (unsigned long long)m->bytes);
	return vv_mirror_adopt(v, dir, m->mirrored, m->bytes, fsize,
	    &m->mirrored, &m->bytes);
}

static int
sync_entries(vv_vault *v, const char *dir, struct mstate *m)
{
	sqlite3_stmt *st = NULL;
	uint8_t *buf = NULL;
	uint64_t fsize = 0, seq = 0, bytes;
	size_t n;
	int fd = -1, r, rc;

	if ((r = open_append(v, dir, "entries", &fd, &fsize)) != VV_OK ||
	    (r = adopt_tail(v, dir, m, fsize)) != VV_OK || m->mirrored >= m->size)
		goto out;
	if ((buf = malloc(VV_MIRROR_REC_MAX)) == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = vv_prepare(v, "SELECT seq, hash, entry FROM clog WHERE seq > "
	    "? ORDER BY seq", &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, (int64_t)m->mirrored);
	bytes = m->bytes;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != 32 ||
		    sqlite3_column_bytes(st, 2) > (int)VV_EVENT_ENC_MAX) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "log entry %lld is "
			    "corrupt", sqlite3_column_int64(st, 0));
			goto out;
		}
		n = frame_entry(v, (uint64_t)sqlite3_column_int64(st, 0),
		    sqlite3_column_blob(st, 1), sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2), buf);
		if ((r = append_record(v, fd, dir, buf, n, bytes)) != VV_OK)
			goto out;
		seq = (uint64_t)sqlite3_column_int64(st, 0);
		bytes += n;
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading the log");
	else if (fdatasync(fd) != 0)
		r = vv_fail(v, VV_ERR_IO, "syncing the compliance mirror in "
		    "%s: %s", dir, strerror(errno));
	else if (seq != 0) {
		/* Only now is it the mirror's. */
		m->mirrored = seq;
		m->bytes = bytes;
	}
out:
	sqlite3_finalize(st);
	free(buf);
	if (fd >= 0)
		(void)close(fd);
	return r;
}

static int
sync_heads(vv_vault *v, const char *dir, struct mstate *m)
{
	uint8_t rec[VV_MIRROR_HEAD_REC];
	sqlite3_stmt *st = NULL;
	uint64_t fsize = 0, size = 0, bytes;
	int fd = -1, r, rc;

	if ((r = open_append(v, dir, "heads", &fd, &fsize)) != VV_OK)
		return r;
	/* Half a head left by a crash or a full disk: cut it. */
	if (fsize > m->head_bytes && fsize - m->head_bytes <
	    VV_MIRROR_HEAD_REC && ftruncate(fd, (off_t)m->head_bytes) == 0)
		fsize = m->head_bytes;
	if (fsize != m->head_bytes) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "the compliance mirror's heads "
		    "in %s are not as the vault left them", dir);
		goto out;
	}
	if ((r = vv_prepare(v, "SELECT size, root, time_ms, sig FROM "
	    "clog_heads WHERE size > ? ORDER BY size", &st)) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, (int64_t)m->heads);
	bytes = m->head_bytes;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != 32 ||
		    sqlite3_column_bytes(st, 3) != crypto_sign_BYTES) {
			r = vv_fail(v, VV_ERR_INTEGRITY, "a tree head is "
			    "corrupt");
			goto out;
		}
		vv_put_be64(rec, (uint64_t)sqlite3_column_int64(st, 0));
		memcpy(rec + 8, sqlite3_column_blob(st, 1), 32);
		vv_put_be64(rec + 40, (uint64_t)sqlite3_column_int64(st, 2));
		memcpy(rec + 48, sqlite3_column_blob(st, 3), crypto_sign_BYTES);
		if ((r = append_record(v, fd, dir, rec, sizeof(rec), bytes)) !=
		    VV_OK)
			goto out;
		size = (uint64_t)sqlite3_column_int64(st, 0);
		bytes += sizeof(rec);
	}
	if (rc != SQLITE_DONE)
		r = vv_fail_db(v, rc, "reading tree heads");
	else if (fdatasync(fd) != 0)
		r = vv_fail(v, VV_ERR_IO, "syncing the compliance mirror in "
		    "%s: %s", dir, strerror(errno));
	else if (size != 0) {
		m->heads = size;
		m->head_bytes = bytes;
	}
out:
	sqlite3_finalize(st);
	(void)close(fd);
	return r;
}

/* One writer of the mirror at a time, across threads and processes (an
 * API server's committer, its workers, the CLI): two syncs reading the
 * same state would both append the same entries.  flock on the mirror
 * directory: each open() is its own lock owner, even within a process,
 * and no lock file is left in anyone's directory. */
static int
lock_mirror(vv_vault *v, const char *dir, int *fd)
{
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0 || flock(*fd, LOCK_EX) != 0) {
		int e = errno;

		if (*fd >= 0)
			(void)close(*fd);
		*fd = -1;
		return vv_fail(v, VV_ERR_IO, "the compliance mirror %s cannot "
		    "be locked: %s", dir, strerror(e));
	}
	return VV_OK;
}

int
vv_mirror_sync(vv_vault *v)
{
	struct mstate m, before;
	char *dir = NULL;
	int r, lock = -1;

	if ((r = vv_meta_get(v, "mirror_dir", &dir)) != VV_OK) {
		r = vv_fail(v, VV_ERR_NOT_FOUND, "this vault has no compliance "
		    "mirror");
		goto out;
	}
	/* The state is read under the lock: it is what the last holder
	 * left. */
	if ((r = lock_mirror(v, dir, &lock)) != VV_OK ||
	    (r = load_mstate(v, &m)) != VV_OK)
		goto out;
	before = m;
	r = sync_entries(v, dir, &m);
	if (r == VV_OK)
		r = sync_heads(v, dir, &m);
	/* Note what did reach the disk, even after a later failure. */
	if (memcmp(&m, &before, sizeof(m)) != 0) {
		int r2 = store_mstate(v, &m);

		if (r == VV_OK)
			r = r2;
	}
out:
	if (lock >= 0)
		(void)close(lock);
	free(dir);
	return r;
}
