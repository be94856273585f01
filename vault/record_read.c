/*
 * record_read.c - opening a record for one reader.
 *
 * The record's tier decides which key domains its ciphertexts may come
 * from; a data key from any other domain is an integrity failure before
 * anything is decrypted.  Contacts under the VIP contact domain cannot be
 * opened by any role: the reader gets their masked rendition instead.
 * Decrypted text lives in one heap block per record, wiped on free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/internal.h"

struct vv_record {
	int64_t id;
	const char *external_id;
	const char *owner;
	char client_since[11];
	int64_t spend;
	int tier;
	int pinned;
	const char *field[VV_FIELD_COUNT];
	int masked[VV_FIELD_COUNT];
	uint8_t *text;		/* every string above points in here */
	size_t textcap;
};

void
vv_record_free(vv_record **rp)
{
	vv_record *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	if (r->text != NULL) {
		sodium_memzero(r->text, r->textcap);
		free(r->text);
	}
	free(r);
	*rp = NULL;
}

/* Allocates the text block: every class's plaintext fits in its
 * ciphertext's length less the overhead. */
static int
alloc_text(vv_record *rec, sqlite3_stmt *st)
{
	size_t n = 0;
	int c, len;

	for (c = VV_COL_IDENTITY; c <= VV_COL_MASKED; c++) {
		len = sqlite3_column_bytes(st, c);
		/* Only the masked class may be absent (NULL). */
		if (len == 0 && c == VV_COL_MASKED)
			continue;
		if (len < (int)VV_ENV_OVERHEAD)
			return VV_ERR_INTEGRITY;
		n += (size_t)len - VV_ENV_OVERHEAD;
	}
	n += (size_t)sqlite3_column_bytes(st, VV_COL_EXTID) + 1;
	n += (size_t)sqlite3_column_bytes(st, VV_COL_OWNER) + 1;
	if ((rec->text = malloc(n)) == NULL)
		return VV_ERR_NOMEM;
	rec->textcap = n;
	return VV_OK;
}

static const char *
copy_col(sqlite3_stmt *st, int col, uint8_t **at)
{
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	const char *s = (const char *)*at;

	memcpy(*at, sqlite3_column_text(st, col), n);
	(*at)[n] = '\0';
	*at += n + 1;
	return s;
}

static const char *
class_name(int cls)
{
	switch (cls) {
	case VV_CLASS_IDENTITY:
		return "identity";
	case VV_CLASS_CONTACT:
		return "contact";
	case VV_CLASS_PROFILE:
		return "profile";
	default:
		return "masked-contact";
	}
}

int
vv_open_class(vv_vault *v, struct vv_keys *k, sqlite3_stmt *st, int cls,
    unsigned allowed, uint8_t **at, struct vv_class_text *t)
{
	struct vv_env_ctx ctx;
	const struct vv_dk *dk = NULL;
	int r, col = VV_COL_IDENTITY + cls - VV_CLASS_IDENTITY;
	int64_t dk_id = sqlite3_column_int64(st, cls == VV_CLASS_CONTACT ?
	    VV_COL_DKCONTACT : VV_COL_DKMAIN);
	size_t len = (size_t)sqlite3_column_bytes(st, col);

	if ((r = vv_keys_data_key(v, k, dk_id, allowed, &dk)) != VV_OK)
		return r;
	ctx.vault_id = v->id;
	ctx.record_id = sqlite3_column_int64(st, VV_COL_ID);
	ctx.external_id = (const char *)sqlite3_column_text(st, VV_COL_EXTID);
	ctx.owner = (const char *)sqlite3_column_text(st, VV_COL_OWNER);
	ctx.domain = dk->domain;
	ctx.cls = cls;
	ctx.version = dk->version;
	ctx.dk_id = dk_id;
	if (len < VV_ENV_OVERHEAD || vv_env_open(&ctx, dk,
	    sqlite3_column_blob(st, col), len, *at, t) != VV_OK)
		return vv_fail(v, VV_ERR_INTEGRITY, "record %s: the %s "
		    "ciphertext does not authenticate (tampered or moved)",
		    (const char *)sqlite3_column_text(st, VV_COL_EXTID),
		    class_name(cls));
	*at += len - VV_ENV_OVERHEAD;
	return VV_OK;
}

static const char *
nonempty(const struct vv_class_text *t, size_t i)
{
	return t->len[i] > 0 ? t->f[i] : NULL;
}

static int
open_contacts(vv_vault *v, struct vv_keys *k, vv_record *rec,
    sqlite3_stmt *st, uint8_t **at)
{
	unsigned main = 1u << vv_tier_domain(rec->tier);
	unsigned contact = 1u << vv_contact_domain(rec->tier) |
	    1u << VV_DOM_VIP_CONTACT;
	struct vv_class_text t;
	int r, f;

	r = vv_open_class(v, k, st, VV_CLASS_CONTACT, contact, at, &t);
	if (r == VV_OK) {
		rec->field[VV_FIELD_PHONE] = nonempty(&t, 0);
		rec->field[VV_FIELD_EMAIL] = nonempty(&t, 1);
		rec->field[VV_FIELD_ADDRESS] = nonempty(&t, 2);
		return VV_OK;
	}
	if (r != VV_ERR_SEALED)
		return r;
	if ((r = vv_open_class(v, k, st, VV_CLASS_MASKED, main, at,
	    &t)) != VV_OK)
		return r;
	for (f = VV_FIELD_PHONE; f <= VV_FIELD_ADDRESS; f++) {
		rec->field[f] = nonempty(&t, (size_t)(f - VV_FIELD_PHONE));
		rec->masked[f] = 1;
	}
	return VV_OK;
}

int
vv_record_from_row(vv_vault *v, struct vv_keys *k, sqlite3_stmt *st,
    int want_contacts, vv_record **out)
{
	struct vv_class_text t;
	vv_record *rec;
	uint8_t *at;
	unsigned main;
	int r;

	*out = NULL;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	rec->id = sqlite3_column_int64(st, VV_COL_ID);
	rec->tier = sqlite3_column_int(st, VV_COL_TIER);
	rec->pinned = sqlite3_column_int(st, VV_COL_PINNED);
	rec->spend = sqlite3_column_int64(st, VV_COL_SPEND);
	(void)snprintf(rec->client_since, sizeof(rec->client_since), "%s",
	    (const char *)sqlite3_column_text(st, VV_COL_SINCE));
	if ((r = alloc_text(rec, st)) != VV_OK) {
		r = vv_fail(v, r, "record: %s", vv_strerror(r));
		goto fail;
	}
	at = rec->text;
	rec->external_id = copy_col(st, VV_COL_EXTID, &at);
	rec->owner = copy_col(st, VV_COL_OWNER, &at);
	if (vv_tier_name(rec->tier) == NULL) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "record %s: bad tier",
		    rec->external_id);
		goto fail;
	}
	main = 1u << vv_tier_domain(rec->tier);
	if ((r = vv_open_class(v, k, st, VV_CLASS_IDENTITY, main, &at,
	    &t)) != VV_OK)
		goto fail;
	rec->field[VV_FIELD_NAME] = nonempty(&t, 0);
	if ((r = vv_open_class(v, k, st, VV_CLASS_PROFILE, main, &at,
	    &t)) != VV_OK)
		goto fail;
	rec->field[VV_FIELD_NOTES] = nonempty(&t, 0);
	rec->field[VV_FIELD_PREFERENCES] = nonempty(&t, 1);
	if (want_contacts && (r = open_contacts(v, k, rec, st, &at)) != VV_OK)
		goto fail;
	*out = rec;
	return VV_OK;
fail:
	vv_record_free(&rec);
	return r;
}

const char *
vv_record_external_id(const vv_record *r)
{
	return r->external_id;
}

const char *
vv_record_owner(const vv_record *r)
{
	return r->owner;
}

int
vv_record_tier(const vv_record *r)
{
	return r->tier;
}

int
vv_record_pinned(const vv_record *r)
{
	return r->pinned;
}

int64_t
vv_record_annual_spend(const vv_record *r)
{
	return r->spend;
}

const char *
vv_record_client_since(const vv_record *r)
{
	return r->client_since;
}

const char *
vv_record_field(const vv_record *r, int field)
{
	if (field < 0 || field >= VV_FIELD_COUNT)
		return NULL;
	return r->field[field];
}

int
vv_record_masked(const vv_record *r, int field)
{
	if (field < 0 || field >= VV_FIELD_COUNT)
		return 0;
	return r->masked[field];
}
