/*
 * test_records.c - reading records as roles, and what tampering does.
 *
 * Every test runs on a fresh dev vault (real SQLCipher file, real
 * SoftHSM2 token through p11-kit) holding the fixture records.
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

static void
test_standard_read_in_full(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME),
	    "Sofia Standard");
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE),
	    "+79022223344");
	assert_string_equal(vv_record_field(r, VV_FIELD_EMAIL),
	    "sofia.s@example.ru");
	assert_string_equal(vv_record_field(r, VV_FIELD_ADDRESS),
	    "1 Market St, SF");
	assert_string_equal(vv_record_field(r, VV_FIELD_NOTES),
	    "multi\nline, note");
	assert_null(vv_record_field(r, VV_FIELD_PREFERENCES));
	assert_int_equal(vv_record_tier(r), VV_TIER_STANDARD);
	assert_int_equal(vv_record_annual_spend(r), 2000050);
	assert_string_equal(vv_record_client_since(r), tl_years_ago(1));
	assert_false(vv_record_masked(r, VV_FIELD_PHONE));
	vv_record_free(&r);
	assert_null(r);
}

static void
test_vip_contacts_masked_for_every_role(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_read_as(t, t->vipdesk, "V1", &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME), "Vera Vip");
	assert_string_equal(vv_record_field(r, VV_FIELD_NOTES),
	    "said \"call me Vera\"");
	assert_true(vv_record_masked(r, VV_FIELD_PHONE));
	assert_true(vv_record_masked(r, VV_FIELD_EMAIL));
	assert_true(vv_record_masked(r, VV_FIELD_ADDRESS));
	assert_false(vv_record_masked(r, VV_FIELD_NAME));
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE),
	    "+7 9** ***-**-67");
	assert_string_equal(vv_record_field(r, VV_FIELD_EMAIL),
	    "v***@example.ru");
	assert_null(strstr(vv_record_field(r, VV_FIELD_ADDRESS), "Tverskaya"));
	vv_record_free(&r);
	/* A role without vip is refused outright. */
	assert_int_equal(tl_read_as(t, t->crm, "V1", &r), VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "may not read vip"));
	assert_null(r);
}

/*
 * Until dual control, the VIP contact private key exists nowhere: no
 * escrow, no role grant, and even a reader holding every escrowed tier
 * key gets VV_ERR_SEALED for a VIP contact data key.
 */
static void
test_vip_contacts_write_only(void **state)
{
	struct tl_vault *t = *state;
	struct vv_keys *k = NULL;
	const struct vv_dk *dk = NULL;
	uint8_t *sk, zero[VV_KEY_LEN];
	int64_t dk_id;
	int d;

	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM domain_keys "
	    "WHERE domain = 4 AND sk_escrow IS NOT NULL"), 0);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM domain_keys "
	    "WHERE domain = 4"), 1);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM role_grants "
	    "WHERE domain = 4"), 0);
	assert_int_equal(vv_keys_new(&k), VV_OK);
	for (d = VV_DOM_BASIC; d <= VV_DOM_VIP; d++) {
		sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
		assert_non_null(sk);
		assert_int_equal(vv_domain_sk_escrow(t->v, d, sk), VV_OK);
		vv_keys_set_sk(k, d, sk);
	}
	sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	assert_int_equal(vv_domain_sk_escrow(t->v, VV_DOM_VIP_CONTACT, sk),
	    VV_ERR_SEALED);
	sodium_free(sk);
	dk_id = tl_sql_int(t, "SELECT dk_contact FROM records WHERE "
	    "external_id = 'V1'");
	assert_true(dk_id > 0);
	assert_int_equal(vv_keys_data_key(t->v, k, dk_id,
	    1u << VV_DOM_VIP_CONTACT, &dk), VV_ERR_SEALED);
	assert_non_null(dk);
	assert_int_equal(dk->domain, VV_DOM_VIP_CONTACT);
	assert_true(dk->sealed);
	memset(zero, 0, sizeof(zero));
	assert_memory_equal(dk->subkey, zero, sizeof(zero));
	/* Asked again, the cache answers the same. */
	assert_int_equal(vv_keys_data_key(t->v, k, dk_id,
	    1u << VV_DOM_VIP_CONTACT, &dk), VV_ERR_SEALED);
	/* Masks are stored only where contacts are sealed. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "masked_ct IS NOT NULL"), 2);
	vv_keys_free(&k);
}

static void
test_ciphertext_tampered(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	/* Flip the last byte (the tag) of S1's identity ciphertext. */
	assert_int_equal(tl_sql(t, "UPDATE records SET identity_ct = "
	    "substr(identity_ct, 1, length(identity_ct) - 1) || "
	    "CASE WHEN substr(identity_ct, -1) = x'00' THEN x'01' ELSE x'00' "
	    "END WHERE external_id = 'S1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_ERR_INTEGRITY);
	assert_string_equal(vv_vault_errmsg(t->v), "record S1: the identity "
	    "ciphertext does not authenticate (tampered or moved)");
	assert_null(r);
	/* Other records are unaffected. */
	assert_int_equal(tl_read_as(t, t->crm, "S2", &r), VV_OK);
	vv_record_free(&r);
}

static void
test_ciphertext_swapped_between_rows(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	/* S1 and S2 share the import's data key: only the record id in the
	 * associated data tells their ciphertexts apart. */
	assert_int_equal(tl_sql_int(t, "SELECT count(DISTINCT dk_main) FROM "
	    "records WHERE external_id IN ('S1', 'S2')"), 1);
	assert_int_equal(tl_sql(t, "UPDATE records SET profile_ct = (SELECT "
	    "profile_ct FROM records WHERE external_id = 'S2') WHERE "
	    "external_id = 'S1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_ERR_INTEGRITY);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "record S1: the "
	    "profile ciphertext"));
}

static void
test_ciphertext_swapped_between_classes(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_sql(t, "UPDATE records SET profile_ct = "
	    "identity_ct WHERE external_id = 'B1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "B1", &r), VV_ERR_INTEGRITY);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "profile ciphertext"));
}

static void
test_ciphertext_moved_between_tiers(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	/* A standard record relabelled basic: its data key is in the
	 * standard domain, which a basic record may not use. */
	assert_int_equal(tl_sql(t, "UPDATE records SET tier = 1 WHERE "
	    "external_id = 'S1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "S1", &r), VV_ERR_INTEGRITY);
	assert_string_equal(vv_vault_errmsg(t->v), "a record's data key "
	    "belongs to another tier");
	/* B1 given S1's data key and identity: the domain in the associated
	 * data (standard) no longer matches what B1's tier allows. */
	assert_int_equal(tl_sql(t, "UPDATE records SET tier = 2 WHERE "
	    "external_id = 'S1'"), 0);
	assert_int_equal(tl_sql(t, "UPDATE records SET (dk_main, "
	    "identity_ct) = (SELECT dk_main, identity_ct FROM records WHERE "
	    "external_id = 'S1') WHERE external_id = 'B1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "B1", &r), VV_ERR_INTEGRITY);
}

static void
test_sealed_data_key_tampered(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_sql(t, "UPDATE data_keys SET sealed = "
	    "zeroblob(length(sealed)) WHERE id = (SELECT dk_main FROM records "
	    "WHERE external_id = 'B1')"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "B1", &r), VV_ERR_INTEGRITY);
	assert_string_equal(vv_vault_errmsg(t->v), "a data key does not open: "
	    "it was altered");
}

static void
test_role_grant_swapped(void **state)
{
	struct tl_vault *t = *state;
	vv_session *s = NULL;

	/* Give crm the vipdesk role's sealed basic key: sealed by another
	 * role's HSM key, with another role in its associated data. */
	assert_int_equal(tl_sql(t, "UPDATE role_grants SET sealed_sk = "
	    "(SELECT g.sealed_sk FROM role_grants g JOIN roles r ON r.id = "
	    "g.role_id WHERE r.name = 'vipdesk' AND g.domain = 1) WHERE "
	    "domain = 1 AND role_id = (SELECT id FROM roles WHERE name = "
	    "'crm')"), 0);
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_ERR_INTEGRITY);
	assert_null(s);
}

/* Rewriting a row's owner to move it into another segment is caught. */
static void
test_owner_rewritten(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_sql(t, "UPDATE records SET owner = 'alice' WHERE "
	    "external_id = 'S2'"), 0);
	assert_int_equal(tl_read_as(t, t->sales, "S2", &r), VV_ERR_INTEGRITY);
	assert_null(r);
	assert_int_equal(tl_sql(t, "UPDATE records SET external_id = 'S9' "
	    "WHERE external_id = 'S1'"), 0);
	assert_int_equal(tl_read_as(t, t->crm, "S9", &r), VV_ERR_INTEGRITY);
}

/* A role whose key is gone from the HSM reads nothing, and says the HSM
 * is the problem; other roles are unaffected. */
static void
test_role_key_gone(void **state)
{
	struct tl_vault *t = *state;
	char label[VV_P11_LABEL_MAX];
	vv_session *s = NULL;
	vv_record *r = NULL;

	assert_int_equal(vv_label_role(t->v, "crm", label), VV_OK);
	assert_int_equal(vv_p11_key_destroy(t->v->p11, label), VV_OK);
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_ERR_HSM);
	assert_null(s);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "unsealing a tier key"));
	assert_int_equal(tl_read_as(t, t->vipdesk, "S1", &r), VV_OK);
	vv_record_free(&r);
}

static void
test_segmentation(void **state)
{
	struct tl_vault *t = *state;
	vv_record *r = NULL;

	assert_int_equal(tl_read_as(t, t->sales, "S1", &r), VV_OK);
	assert_string_equal(vv_record_owner(r), "alice");
	vv_record_free(&r);
	/* bob's record: "not found", exactly as for an absent one. */
	assert_int_equal(tl_read_as(t, t->sales, "S2", &r), VV_ERR_NOT_FOUND);
	assert_string_equal(vv_vault_errmsg(t->v), "no record 'S2'");
	assert_int_equal(tl_read_as(t, t->sales, "NOPE", &r), VV_ERR_NOT_FOUND);
	assert_string_equal(vv_vault_errmsg(t->v), "no record 'NOPE'");
}

struct collect {
	size_t n;
	char ids[16][16];
	int bad_owner;
};

static int
collect_fn(void *arg, const vv_record *r)
{
	struct collect *c = arg;

	if (c->n < 16)
		(void)snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s",
		    vv_record_external_id(r));
	c->n++;
	if (strcmp(vv_record_owner(r), "alice") != 0)
		c->bad_owner = 1;
	return 0;
}

static void
test_list_scoped(void **state)
{
	struct tl_vault *t = *state;
	struct collect c;
	vv_session *s = NULL;

	memset(&c, 0, sizeof(c));
	assert_int_equal(vv_session_open(t->v, t->sales, &s), VV_OK);
	assert_int_equal(vv_list(s, 0, collect_fn, &c), VV_OK);
	assert_int_equal(c.n, 3);	/* B1, S1, V1 */
	assert_false(c.bad_owner);
	assert_string_equal(c.ids[0], "B1");
	assert_string_equal(c.ids[2], "V1");
	vv_session_free(&s);
	memset(&c, 0, sizeof(c));
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_OK);
	assert_int_equal(vv_list(s, 0, collect_fn, &c), VV_OK);
	assert_int_equal(c.n, 3);	/* B1, S1, S2: no VIP */
	assert_int_equal(vv_list(s, VV_TIER_VIP, collect_fn, &c),
	    VV_ERR_DENIED);
	vv_session_free(&s);
}

static void
test_find_by_blind_index(void **state)
{
	struct tl_vault *t = *state;
	struct collect c;
	vv_session *s = NULL;

	memset(&c, 0, sizeof(c));
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_OK);
	/* Another spelling of S1's "8 902 222 33 44". */
	assert_int_equal(vv_find_phone(s, "+7 (902) 222-33-44", collect_fn,
	    &c), VV_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "S1");
	assert_int_equal(vv_find_email(s, "  SOFIA.S@example.ru", collect_fn,
	    &c), VV_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(vv_find_phone(s, "+7 999 000 00 00", collect_fn, &c),
	    VV_ERR_NOT_FOUND);
	assert_int_equal(vv_find_phone(s, "call me", collect_fn, &c),
	    VV_ERR_INPUT);
	/* A VIP phone is indexed, but crm may not read VIP: not found. */
	assert_int_equal(vv_find_phone(s, "+79031234567", collect_fn, &c),
	    VV_ERR_NOT_FOUND);
	vv_session_free(&s);
	/* Every phone is indexed, as a 64-bit integer. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records WHERE "
	    "typeof(phone_idx) = 'integer'"), 5);
	/* A collision (forced here by copying S2's index onto B1) is not
	 * reported as a match where the reader can see the real value. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(tl_sql(t, "UPDATE records SET phone_idx = (SELECT "
	    "phone_idx FROM records WHERE external_id = 'S2') WHERE "
	    "external_id = 'B1'"), 0);
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_OK);
	assert_int_equal(vv_find_phone(s, "+1-415-555-0101", collect_fn, &c),
	    VV_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.ids[0], "S2");
	vv_session_free(&s);
}

static void
test_tokens(void **state)
{
	struct tl_vault *t = *state;
	char tok[VV_TOKEN_MAX], bad[VV_TOKEN_MAX];
	vv_session *s = NULL;

	(void)snprintf(bad, sizeof(bad), "%s", t->crm);
	bad[strlen(bad) - 2] ^= 1;	/* one character of the secret */
	assert_int_equal(vv_session_open(t->v, bad, &s), VV_ERR_DENIED);
	assert_string_equal(vv_vault_errmsg(t->v), "invalid token");
	assert_int_equal(vv_session_open(t->v, "vv_garbage", &s),
	    VV_ERR_DENIED);
	assert_int_equal(vv_session_open(t->v, "", &s), VV_ERR_DENIED);
	assert_int_equal(vv_token_issue(t->v, "crm", "eve", 0, tok,
	    sizeof(tok)), VV_OK);
	assert_int_equal(vv_session_open(t->v, tok, &s), VV_OK);
	assert_string_equal(vv_session_user(s), "eve");
	assert_string_equal(vv_session_role(s), "crm");
	vv_session_free(&s);
	tok[3 + 16] = '\0';
	assert_int_equal(vv_token_revoke(t->v, tok + 3), VV_OK);
	tok[3 + 16] = '_';
	assert_int_equal(vv_session_open(t->v, tok, &s), VV_ERR_DENIED);
	/* Expired. */
	assert_int_equal(tl_sql(t, "UPDATE tokens SET expires = 1 WHERE "
	    "user = 'desk'"), 0);
	assert_int_equal(vv_session_open(t->v, t->vipdesk, &s), VV_ERR_DENIED);
	/* Only the hash is stored. */
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM tokens WHERE "
	    "length(hash) = 32"), 4);
	assert_int_equal(vv_token_issue(t->v, "nosuchrole", "eve", 0, tok,
	    sizeof(tok)), VV_ERR_NOT_FOUND);
}

static void
test_update_keeps_id(void **state)
{
	struct tl_vault *t = *state;
	vv_record_input in;
	vv_record *r = NULL;
	long long id = tl_sql_int(t, "SELECT id FROM records WHERE "
	    "external_id = 'S2'");

	memset(&in, 0, sizeof(in));
	in.external_id = "S2";
	in.owner = "bob";
	in.name = "Stan Renamed";
	in.phone = "+1 415 555 0199";
	in.annual_spend = 1500000;
	in.client_since = "2022-01-01";
	assert_int_equal(vv_record_put(t->v, &in), VV_OK);
	assert_int_equal(tl_sql_int(t, "SELECT id FROM records WHERE "
	    "external_id = 'S2'"), id);
	assert_int_equal(tl_read_as(t, t->crm, "S2", &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME), "Stan Renamed");
	assert_string_equal(vv_record_field(r, VV_FIELD_PHONE), "+14155550199");
	assert_null(vv_record_field(r, VV_FIELD_EMAIL));
	vv_record_free(&r);
	in.phone = "12345";
	assert_int_equal(vv_record_put(t->v, &in), VV_ERR_INPUT);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "phone: "));
	in.phone = NULL;
	in.owner = "bad owner";
	assert_int_equal(vv_record_put(t->v, &in), VV_ERR_INPUT);
	assert_non_null(strstr(vv_vault_errmsg(t->v), "owner: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_standard_read_in_full,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_vip_contacts_masked_for_every_role,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_vip_contacts_write_only,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_ciphertext_tampered,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_ciphertext_swapped_between_rows,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_ciphertext_swapped_between_classes,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_ciphertext_moved_between_tiers,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_sealed_data_key_tampered,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_role_grant_swapped,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_role_key_gone,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_owner_rewritten,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_segmentation,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_list_scoped,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_find_by_blind_index,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_tokens,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_update_keeps_id,
		    tl_setup_vault, tl_teardown_vault),
	};

	if (vv_global_init() != VV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
