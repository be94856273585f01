/*
 * officer.c - the compliance officer's view of a mirror: entries opened
 * with his secret key, checked as they are read (sequence, hash chain,
 * Merkle tree, signed heads, approvals against enrolled credentials),
 * and, on request, compared with the vault's own log and with a
 * checkpoint kept outside the vault.
 *
 * The mirror's header names the vault's signing key.  Whoever can
 * rewrite the whole mirror can also make a new key and sign anew, so a
 * checkpoint (which carries the key) is what anchors the officer's
 * trust: verify --since-head pins it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/clog.h"
#include "vault/dual.h"
#include "vault/officer.h"

static int
load_file(const char *dir, const char *name, struct vv_map *m, char *err,
    size_t errlen)
{
	struct stat st;
	char *path;
	int fd;

	memset(m, 0, sizeof(*m));
	if ((path = vv_path(dir, name)) == NULL)
		return VV_ERR_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0 && errno == ENOENT)
		return VV_OK;	/* an empty mirror */
	if (fd < 0 || fstat(fd, &st) != 0) {
		(void)snprintf(err, errlen, "cannot read the mirror's %s: %s",
		    name, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return VV_ERR_IO;
	}
	m->len = (size_t)st.st_size;
	if (m->len > 0 && (m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE,
	    fd, 0)) == MAP_FAILED) {
		m->p = NULL;
		(void)close(fd);
		(void)snprintf(err, errlen, "cannot map the mirror's %s", name);
		return VV_ERR_IO;
	}
	(void)close(fd);
	return VV_OK;
}

static void
unload(struct vv_map *m)
{
	if (m->p != NULL)
		(void)munmap(m->p, m->len);
	memset(m, 0, sizeof(*m));
}

void
vv_officer_free(vv_officer **op)
{
	vv_officer *o;

	if (op == NULL || (o = *op) == NULL)
		return;
	unload(&o->entries);
	unload(&o->heads);
	if (o->keys != NULL)
		sodium_free(o->keys);
	free(o->dir);
	free(o);
	*op = NULL;
}

const char *
vv_officer_errmsg(const vv_officer *o)
{
	return o != NULL && o->errmsg[0] != '\0' ? o->errmsg : "unknown error";
}

static int
read_header(vv_officer *o, char *err, size_t errlen)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char *path;
	int r;

	if ((path = vv_path(o->dir, "header")) == NULL)
		return VV_ERR_NOMEM;
	r = vv_read_file(path, 4096, &text, &len);
	free(path);
	if (r != VV_OK) {
		(void)snprintf(err, errlen, "%s is not a compliance mirror (no "
		    "readable header)", o->dir);
		return r == VV_ERR_NOT_FOUND ? VV_ERR_NOT_FOUND : r;
	}
	r = vv_mirror_header_parse((const char *)text, len, &o->h, err,
	    errlen);
	free(text);
	return r;
}

int
vv_officer_open(vv_officer **out, const char *dir, const char *key_path,
    char *err, size_t errlen)
{
	vv_officer *o;
	uint8_t pk[32];
	int r;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->dir = strdup(dir)) == NULL ||
	    (o->keys = sodium_malloc(96)) == NULL) {
		vv_officer_free(&o);
		return VV_ERR_NOMEM;
	}
	if ((r = read_header(o, err, errlen)) != VV_OK ||
	    (r = vv_compliance_secret_read(key_path, pk, o->keys, err,
	    errlen)) != VV_OK)
		goto fail;
	if (sodium_memcmp(pk, o->h.compliance_pk, 32) != 0) {
		(void)snprintf(err, errlen, "this mirror is sealed to another "
		    "compliance key");
		r = VV_ERR_DENIED;
		goto fail;
	}
	memcpy(o->pk, pk, 32);
	if (crypto_box_seal_open(o->keys + 32, o->h.sealed_pseudonym,
	    sizeof(o->h.sealed_pseudonym), o->pk, o->keys) != 0 ||
	    crypto_box_seal_open(o->keys + 64, o->h.sealed_mirror_key,
	    sizeof(o->h.sealed_mirror_key), o->pk, o->keys) != 0) {
		(void)snprintf(err, errlen, "the mirror's keys do not open with "
		    "this compliance key");
		r = VV_ERR_INTEGRITY;
		goto fail;
	}
	if ((r = load_file(dir, "entries", &o->entries, err, errlen)) !=
	    VV_OK || (r = load_file(dir, "heads", &o->heads, err, errlen)) !=
	    VV_OK)
		goto fail;
	vv_hex(o->vault_hex, o->h.vault_id, VV_ID_LEN);
	*out = o;
	return VV_OK;
fail:
	vv_officer_free(&o);
	return r;
}

int
vv_officer_ref(vv_officer *o, const char *external_id, char out[33])
{
	crypto_generichash_state h;
	uint8_t ref[VV_EVENT_REF_LEN];

	/* The same keyed hash as vv_clog_ref, with the key from the
	 * mirror's header. */
	(void)crypto_generichash_init(&h, o->keys + 32, 32, sizeof(ref));
	(void)crypto_generichash_update(&h, (const uint8_t *)"record",
	    sizeof("record"));
	(void)crypto_generichash_update(&h, (const uint8_t *)external_id,
	    strlen(external_id));
	(void)crypto_generichash_final(&h, ref, sizeof(ref));
	vv_hex(out, ref, sizeof(ref));
	return VV_OK;
}
