/*
 * test_dual_setup.c - enrolling key managers: algorithms, PINs, the
 * user-verification policy, the software-token rule, and init's
 * all-or-nothing promise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/dual.h"
#include "hsm/softfido.h"

#define N 3

static const char *const names[N] = { "kate", "leo", "mia" };

struct setup {
	char *dir;
	char soft[N][600];
	char dev[N][620];
	vv_fido_opts fido[N];
	vv_create_opts o;
	vv_vault *v;
	int wrong_pin;
};

static int
give_pin(void *arg, const char *prompt, char *pin, size_t pinmax)
{
	const struct setup *s = arg;

	(void)prompt;
	(void)snprintf(pin, pinmax, "%s", s->wrong_pin ? "9999" : "4321");
	return 0;
}

/* Soft tokens (with PIN 4321 where pins[i]) and create options. */
static void
prepare(struct setup *s, const int *pins)
{
	char err[256];
	int i;

	memset(s, 0, sizeof(*s));
	assert_int_equal(vv_global_init(), VV_OK);
	assert_non_null(s->dir = tl_tmpdir("setup"));
	for (i = 0; i < N; i++) {
		(void)snprintf(s->soft[i], sizeof(s->soft[i]), "%s.%d.soft",
		    s->dir, i);
		(void)snprintf(s->dev[i], sizeof(s->dev[i]), "soft:%s",
		    s->soft[i]);
		assert_int_equal(vv_softfido_create(s->soft[i], pins != NULL &&
		    pins[i] ? "4321" : NULL, err, sizeof(err)), 0);
		s->fido[i].device = s->dev[i];
		s->fido[i].pin_fn = give_pin;
		s->fido[i].pin_arg = s;
	}
	s->o.nmanagers = N;
	s->o.managers = names;
	s->o.fido = s->fido;
}

static void
finish(struct setup *s)
{
	int i;

	vv_vault_free(&s->v);
	for (i = 0; i < N; i++)
		(void)unlink(s->soft[i]);
	tl_rmrf(s->dir);
	free(s->dir);
}

static int
create(struct setup *s)
{
	char msg[512];
	int r = vv_vault_create_with(&s->v, s->dir, &s->o, msg, sizeof(msg));

	if (r != VV_OK)
		fprintf(stderr, "create: %s\n", msg);
	return r;
}

/* A vault whose creation failed leaves its directory empty or absent. */
static void
assert_nothing_left(const struct setup *s)
{
	struct stat st;

	if (stat(s->dir, &st) == 0)
		assert_int_equal(rmdir(s->dir), 0);	/* empty */
	assert_int_equal(mkdir(s->dir, 0700), 0);	/* for finish() */
}

/* Request V1 with a fresh VIP token, approve by managers a and b. */
static int
unseal_v1(struct setup *s, int a, int b, char *phone, size_t phonelen);

struct one {
	char *out;
	size_t len;
};

static int
take_phone(void *arg, const vv_contact *c)
{
	struct one *o = arg;

	(void)snprintf(o->out, o->len, "%s", c->phone != NULL ? c->phone : "");
	return 0;
}

static int
unseal_v1(struct setup *s, int a, int b, char *phone, size_t phonelen)
{
	vv_record_input in;
	const char *ids[] = { "V1" };
	char tok[VV_TOKEN_MAX], id[VV_REQ_ID_HEX];
	struct one o = { phone, phonelen };
	int r, complete = 0;

	memset(&in, 0, sizeof(in));
	in.external_id = "V1";
	in.owner = "alice";
	in.name = "Vera Vip";
	in.phone = "+7 903 123-45-67";
	in.annual_spend = 25000000;
	in.client_since = "2001-01-01";
	if ((r = vv_record_put(s->v, &in)) != VV_OK ||
	    (r = vv_role_add(s->v, "desk", VV_TIERS_ALL, 0)) != VV_OK ||
	    (r = vv_token_issue(s->v, "desk", "dana", 0, tok, sizeof(tok))) !=
	    VV_OK ||
	    (r = vv_unseal_request(s->v, tok, ids, 1, "call", 0, id)) != VV_OK ||
	    (r = vv_unseal_approve(s->v, id, names[a], &s->fido[a],
	    &complete)) != VV_OK ||
	    (r = vv_unseal_approve(s->v, id, names[b], &s->fido[b],
	    &complete)) != VV_OK)
		return r;
	return vv_unseal_fetch(s->v, tok, id, take_phone, &o);
}

static void
test_eddsa_managers(void **state)
{
	struct setup s;
	char phone[32] = "";
	int i;

	(void)state;
	prepare(&s, NULL);
	for (i = 0; i < N; i++)
		s.fido[i].alg = VV_ALG_EDDSA;
	assert_int_equal(create(&s), VV_OK);
	assert_int_equal(unseal_v1(&s, 2, 0, phone, sizeof(phone)), VV_OK);
	assert_string_equal(phone, "+79031234567");
	assert_int_equal(tl_sql_int(&(struct tl_vault){ s.dir, s.v, "", "",
	    "" }, "SELECT count(*) FROM managers WHERE alg = -8"), N);
	finish(&s);
}

static void
test_threshold_three_of_three(void **state)
{
	struct setup s;
	char phone[32] = "";

	(void)state;
	prepare(&s, NULL);
	s.o.dual.threshold = 3;
	assert_int_equal(create(&s), VV_OK);
	/* Two approvals are not enough: the request stays pending. */
	assert_int_equal(unseal_v1(&s, 0, 1, phone, sizeof(phone)),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(s.v), "still pending"));
	finish(&s);
}

static void
test_pin_tokens(void **state)
{
	static const int pins[N] = { 1, 1, 0 };
	struct setup s;
	char phone[32] = "";
	struct vv_manager m;

	(void)state;
	prepare(&s, pins);
	assert_int_equal(create(&s), VV_OK);
	assert_int_equal(vv_manager_load(s.v, "kate", &m), VV_OK);
	assert_int_equal(m.cred.uv, 1);
	assert_int_equal(vv_manager_load(s.v, "mia", &m), VV_OK);
	assert_int_equal(m.cred.uv, 0);
	s.wrong_pin = 1;
	assert_int_equal(unseal_v1(&s, 0, 2, phone, sizeof(phone)),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(s.v), "PIN"));
	finish(&s);

	prepare(&s, pins);
	assert_int_equal(create(&s), VV_OK);
	assert_int_equal(unseal_v1(&s, 0, 1, phone, sizeof(phone)), VV_OK);
	assert_string_equal(phone, "+79031234567");
	finish(&s);
}

static void
test_require_uv_refuses_token_without_pin(void **state)
{
	static const int pins[N] = { 1, 0, 1 };
	struct setup s;

	(void)state;
	prepare(&s, pins);
	s.o.dual.require_uv = 1;
	assert_int_equal(create(&s), VV_ERR_DENIED);
	assert_null(s.v);
	assert_nothing_left(&s);
	finish(&s);
}

static void
test_bad_device_leaves_nothing(void **state)
{
	struct setup s;

	(void)state;
	prepare(&s, NULL);
	s.fido[2].device = "soft:/nonexistent/token";
	assert_int_equal(create(&s), VV_ERR_TOKEN);
	assert_nothing_left(&s);
	finish(&s);
}

static void
test_bad_configurations(void **state)
{
	static const char *const dup[N] = { "kate", "leo", "kate" };
	static const char *const bad[N] = { "kate", "leo", "m i a" };
	struct setup s;

	(void)state;
	prepare(&s, NULL);
	s.o.dual.threshold = 4;
	assert_int_equal(create(&s), VV_ERR_INVALID);
	assert_nothing_left(&s);
	s.o.dual.threshold = 2;
	s.o.nmanagers = 1;
	assert_int_equal(create(&s), VV_ERR_INVALID);
	assert_nothing_left(&s);
	s.o.nmanagers = N;
	s.o.managers = dup;
	assert_int_equal(create(&s), VV_ERR_EXISTS);
	assert_nothing_left(&s);
	s.o.managers = bad;
	assert_int_equal(create(&s), VV_ERR_INVALID);
	assert_nothing_left(&s);
	finish(&s);
}

static void
test_soft_token_refused_outside_dev(void **state)
{
	struct tl_p11 p;
	struct setup s;

	(void)state;
	prepare(&s, NULL);
	memset(&p, 0, sizeof(p));
	assert_int_equal(tl_p11_setup(&p), 0);
	s.o.pkcs11_uri = p.uri;
	assert_int_equal(create(&s), VV_ERR_DENIED);
	assert_nothing_left(&s);
	finish(&s);
	tl_p11_teardown(&p);
}

static long long
sql_int(struct setup *s, const char *sql)
{
	struct tl_vault t = { s->dir, s->v, "", "", "" };

	return tl_sql_int(&t, sql);
}

static void
test_enroll_then_reshare(void **state)
{
	struct setup s;
	vv_fido_opts o;
	struct vv_manager m;
	const char *v1[] = { "V1" };
	char path[640], dev[660], err[256], phone[32] = "";
	char tok[VV_TOKEN_MAX], pend[VV_REQ_ID_HEX], re[VV_REQ_ID_HEX];
	char id[VV_REQ_ID_HEX];
	int complete = 0;

	(void)state;
	prepare(&s, NULL);
	assert_int_equal(create(&s), VV_OK);
	(void)snprintf(path, sizeof(path), "%s.nina.soft", s.dir);
	(void)snprintf(dev, sizeof(dev), "soft:%s", path);
	assert_int_equal(vv_softfido_create(path, NULL, err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.device = dev;
	assert_int_equal(vv_manager_enroll(s.v, "nina", &o), VV_OK);
	assert_int_equal(vv_manager_load(s.v, "nina", &m), VV_OK);
	assert_int_equal(vv_manager_enroll(s.v, "nina", &o), VV_ERR_EXISTS);
	/* A second setup is refused: the key was split once. */
	assert_int_equal(vv_dual_setup(s.v, names, s.fido, N, NULL),
	    VV_ERR_EXISTS);

	/* Before the re-split nina holds nothing. */
	assert_int_equal(unseal_v1(&s, 0, 1, phone, sizeof(phone)), VV_OK);
	assert_int_equal(vv_token_issue(s.v, "desk", "erin", 0, tok,
	    sizeof(tok)), VV_OK);
	assert_int_equal(vv_unseal_request(s.v, tok, v1, 1, "call", 0, pend),
	    VV_OK);
	assert_int_equal(vv_unseal_approve(s.v, pend, "nina", &o, &complete),
	    VV_ERR_DENIED);
	assert_non_null(strstr(vv_vault_errmsg(s.v), "holds no share"));
	assert_int_equal(vv_unseal_approve(s.v, pend, "kate", &s.fido[0],
	    &complete), VV_OK);

	/* The re-split: k managers approve, everyone gets epoch 2. */
	assert_int_equal(vv_manager_reshare(s.v, "nina joins", 0, re), VV_OK);
	assert_int_equal(vv_unseal_approve(s.v, re, "kate", &s.fido[0],
	    &complete), VV_OK);
	assert_int_equal(complete, 0);
	assert_int_equal(vv_unseal_approve(s.v, re, "leo", &s.fido[1],
	    &complete), VV_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(sql_int(&s, "SELECT count(*) FROM shares WHERE "
	    "epoch = 2"), N + 1);
	assert_int_equal(sql_int(&s, "SELECT count(*) FROM shares WHERE "
	    "epoch = 1"), 0);
	assert_int_equal(sql_int(&s, "SELECT count(*) FROM unseal_requests "
	    "WHERE state = 'done' AND kind = 2"), 1);
	assert_int_equal(vv_unseal_fetch(s.v, tok, re, NULL, NULL),
	    VV_ERR_DENIED);
	/* The pending unseal held an epoch 1 share: closed, share gone. */
	assert_int_equal(sql_int(&s, "SELECT count(*) FROM approvals WHERE "
	    "pending_share IS NOT NULL"), 0);
	assert_int_equal(vv_unseal_approve(s.v, pend, "leo", &s.fido[1],
	    &complete), VV_ERR_DENIED);

	/* Nina and mia now release together. */
	assert_int_equal(vv_unseal_request(s.v, tok, v1, 1, "call", 0, id),
	    VV_OK);
	assert_int_equal(vv_unseal_approve(s.v, id, "nina", &o, &complete),
	    VV_OK);
	assert_int_equal(vv_unseal_approve(s.v, id, "mia", &s.fido[2],
	    &complete), VV_OK);
	assert_int_equal(complete, 1);
	phone[0] = '\0';
	assert_int_equal(vv_unseal_fetch(s.v, tok, id, take_phone,
	    &(struct one){ phone, sizeof(phone) }), VV_OK);
	assert_string_equal(phone, "+79031234567");
	(void)unlink(path);
	finish(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eddsa_managers),
		cmocka_unit_test(test_threshold_three_of_three),
		cmocka_unit_test(test_pin_tokens),
		cmocka_unit_test(test_require_uv_refuses_token_without_pin),
		cmocka_unit_test(test_bad_device_leaves_nothing),
		cmocka_unit_test(test_bad_configurations),
		cmocka_unit_test(test_soft_token_refused_outside_dev),
		cmocka_unit_test(test_enroll_then_reshare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
