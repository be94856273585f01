/*
 * test_envelope.c - the field envelope: its bytes are XChaCha20-Poly1305's,
 * and every bit of its binding matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/internal.h"

static const uint8_t vault_id[VV_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    11, 12, 13, 14, 15, 16 };

struct fixture {
	uint8_t key[VV_KEY_LEN];
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	struct vv_dk dk;
	struct vv_env_ctx ctx;
	struct vv_class_text t;
	struct vv_buf blob;
};

static void
fixture(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	randombytes_buf(f->key, sizeof(f->key));
	randombytes_buf(f->nonce, sizeof(f->nonce));
	memcpy(f->dk.prefix, f->nonce, VV_NONCE_PREFIX);
	vv_xchacha_subkey(f->dk.subkey, f->key, f->dk.prefix);
	f->ctx.vault_id = vault_id;
	f->ctx.record_id = 42;
	f->ctx.external_id = "C100042";
	f->ctx.owner = "alice";
	f->ctx.domain = VV_DOM_STANDARD;
	f->ctx.cls = VV_CLASS_CONTACT;
	f->ctx.version = 1;
	f->ctx.dk_id = 7;
	f->t.f[0] = "+79031234567";
	f->t.len[0] = 12;
	f->t.f[1] = "";
	f->t.len[1] = 0;
	f->t.f[2] = "Tverskaya 7, kv. 12";
	f->t.len[2] = strlen(f->t.f[2]);
	assert_int_equal(vv_env_seal(&f->ctx, f->dk.subkey, f->nonce, &f->t,
	    &f->blob), VV_OK);
}

/* Recomputes the associated data the way the design document states it,
 * independently of envelope.c. */
static size_t
expected_aad(const struct vv_env_ctx *c, uint8_t *aad)
{
	size_t n = 0;

	memcpy(aad, "vipvault/field/v1", 17);
	n = 17;
	memcpy(aad + n, c->vault_id, VV_ID_LEN);
	n += VV_ID_LEN;
	vv_put_be64(aad + n, (uint64_t)c->record_id);
	n += 8;
	aad[n++] = (uint8_t)c->domain;
	aad[n++] = (uint8_t)c->cls;
	vv_put_be32(aad + n, c->version);
	n += 4;
	vv_put_be64(aad + n, (uint64_t)c->dk_id);
	n += 8;
	aad[n++] = (uint8_t)strlen(c->external_id);
	memcpy(aad + n, c->external_id, strlen(c->external_id));
	n += strlen(c->external_id);
	aad[n++] = (uint8_t)strlen(c->owner);
	memcpy(aad + n, c->owner, strlen(c->owner));
	return n + strlen(c->owner);
}

static void
test_bytes_are_xchacha20poly1305(void **state)
{
	uint8_t aad[128], plain[64], ct[128];
	unsigned long long ctlen = 0;
	struct fixture f;
	size_t aadlen, plen;

	(void)state;
	fixture(&f);
	plen = vv_env_plain_len(&f.t);
	memcpy(plain, "+79031234567\0\0Tverskaya 7, kv. 12\0", plen);
	aadlen = expected_aad(&f.ctx, aad);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ctlen,
	    plain, plen, aad, aadlen, NULL, f.nonce, f.key), 0);
	/* Stored: counter || the very same ciphertext and tag. */
	assert_int_equal(f.blob.len, VV_NONCE_COUNTER + ctlen);
	assert_memory_equal(f.blob.p, f.nonce + VV_NONCE_PREFIX,
	    VV_NONCE_COUNTER);
	assert_memory_equal(f.blob.p + VV_NONCE_COUNTER, ct, (size_t)ctlen);
	vv_buf_free(&f.blob);
}

static void
test_round_trip(void **state)
{
	struct vv_class_text out;
	struct fixture f;
	uint8_t plain[128];

	(void)state;
	fixture(&f);
	assert_int_equal(vv_env_open(&f.ctx, &f.dk, f.blob.p, f.blob.len,
	    plain, &out), VV_OK);
	assert_string_equal(out.f[0], "+79031234567");
	assert_int_equal(out.len[1], 0);
	assert_string_equal(out.f[2], "Tverskaya 7, kv. 12");
	vv_buf_free(&f.blob);
}

/* Every field of the binding, and every byte of the blob, matters. */
static void
test_binding(void **state)
{
	struct vv_class_text out;
	struct vv_env_ctx c;
	struct fixture f;
	uint8_t plain[128];
	size_t i;

	(void)state;
	fixture(&f);
	c = f.ctx;
	c.record_id++;
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.domain = VV_DOM_BASIC;
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.cls = VV_CLASS_PROFILE;
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.version = 2;
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.dk_id = 8;
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.external_id = "C100043";
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	c = f.ctx;
	c.owner = "bob";
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	/* The lengths keep ("C1000", "42alice") apart from the original. */
	c = f.ctx;
	c.external_id = "C1000";
	c.owner = "42alice";
	assert_int_equal(vv_env_open(&c, &f.dk, f.blob.p, f.blob.len, plain,
	    &out), VV_ERR_INTEGRITY);
	for (i = 0; i < f.blob.len; i++) {
		f.blob.p[i] ^= 0x01;
		assert_int_equal(vv_env_open(&f.ctx, &f.dk, f.blob.p,
		    f.blob.len, plain, &out), VV_ERR_INTEGRITY);
		f.blob.p[i] ^= 0x01;
	}
	assert_int_equal(vv_env_open(&f.ctx, &f.dk, f.blob.p,
	    VV_ENV_OVERHEAD - 1, plain, &out), VV_ERR_INTEGRITY);
	vv_buf_free(&f.blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_are_xchacha20poly1305),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_binding),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
