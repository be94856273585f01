/*
 * test_import.c - imports large enough to cross the sealing thread's
 * chunks and the writer's data-key batches: new records and updates
 * mixed, every record read back under the right keys, errors far into
 * the file reported with their line and nothing stored, and progress.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "testlib.h"
#include "vault/internal.h"

#define ROWS 3000	/* about 12 chunks, 3 data-key batches */

static const char header[] = "external_id,name,phone,email,annual_spend,"
    "client_since,owner\n";

/* Row i of a generated file: standard-tier clients of carol, phone and
 * e-mail derived from i and gen (so that an update changes them). */
static size_t
row(char *out, size_t cap, const char *prefix, int i, int gen)
{
	return (size_t)snprintf(out, cap, "%s%d,Client %d gen %d,+1 646 %03d "
	    "%04d,c%d.g%d@example.com,%d.50,2020-01-0%d,carol\n", prefix, i,
	    i, gen, 200 + gen, i, i, gen, 10000 + i, 1 + gen % 9);
}

static char *
body_new(size_t *cap_out)
{
	size_t cap = (size_t)ROWS * 128 + sizeof(header), len;
	char *b = malloc(cap);
	int i;

	assert_non_null(b);
	len = (size_t)snprintf(b, cap, "%s", header);
	for (i = 0; i < ROWS; i++)
		len += row(b + len, cap - len, "X", i, 0);
	*cap_out = cap;
	return b;
}

static void
expect_name(vv_session *s, const char *id, const char *name)
{
	vv_record *r = NULL;

	assert_int_equal(vv_get(s, id, &r), VV_OK);
	assert_string_equal(vv_record_field(r, VV_FIELD_NAME), name);
	vv_record_free(&r);
}

/* New records, then a file where every third row updates one of them
 * (with a new phone) between new ones: every record opens under the
 * data key it names, and the lookups follow the updates. */
static void
test_mixed_inserts_and_updates(void **state)
{
	struct tl_vault *t = *state;
	vv_import_summary sum;
	vv_session *s = NULL;
	char *body, *path, name[64];
	size_t cap, len;
	int i;

	body = body_new(&cap);
	assert_non_null(path = tl_write_csv(t, "new.csv", body));
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, &sum), VV_OK);
	assert_int_equal(sum.inserted, ROWS);
	free(path);

	len = (size_t)snprintf(body, cap, "%s", header);
	for (i = 0; i < ROWS; i++)
		len += i % 3 == 0 ? row(body + len, cap - len, "X", i, 1) :
		    row(body + len, cap - len, "Y", i, 1);
	assert_non_null(path = tl_write_csv(t, "mixed.csv", body));
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, &sum), VV_OK);
	assert_int_equal(sum.updated, ROWS / 3);
	assert_int_equal(sum.inserted, ROWS - ROWS / 3);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"),
	    5 + ROWS + ROWS - ROWS / 3);
	assert_int_equal(vv_session_open(t->v, t->crm, &s), VV_OK);
	for (i = 0; i < ROWS; i++) {
		(void)snprintf(name, sizeof(name), "Client %d gen %d", i,
		    i % 3 == 0);
		(void)snprintf(body, cap, "X%d", i);
		expect_name(s, body, name);
		if (i % 3 != 0) {
			(void)snprintf(name, sizeof(name), "Client %d gen 1", i);
			(void)snprintf(body, cap, "Y%d", i);
			expect_name(s, body, name);
		}
	}
	vv_session_free(&s);
	/* X3 moved to its generation-1 phone; X4 kept its own. */
	assert_int_equal(tl_phone_count(t, t->crm, "+1 646 200 0003"), 0);
	assert_int_equal(tl_phone_count(t, t->crm, "+1 646 201 0003"), 1);
	assert_int_equal(tl_phone_count(t, t->crm, "+1 646 200 0004"), 1);
	/* Y4 has the generation-1 phone of 4. */
	assert_int_equal(tl_phone_count(t, t->crm, "+1 646 201 0004"), 1);
	free(path);
	free(body);
}

/* A bad row or a repeated id far into the file: its line is named and
 * nothing of the file is stored, although earlier chunks were. */
static void
late_failure(struct tl_vault *t, int bad_at, const char *how,
    const char *expect)
{
	long long records, keys;
	char *body, *path;
	size_t cap, len;
	int i;

	records = tl_sql_int(t, "SELECT count(*) FROM records");
	keys = tl_sql_int(t, "SELECT count(*) FROM data_keys");
	body = body_new(&cap);
	len = (size_t)snprintf(body, cap, "%s", header);
	for (i = 0; i < ROWS; i++) {
		if (i == bad_at && strcmp(how, "phone") == 0)
			len += (size_t)snprintf(body + len, cap - len, "X%d,N,"
			    "call me,a@example.com,1,2020-01-01,carol\n", i);
		else if (i == bad_at)
			len += row(body + len, cap - len, "X", 10, 0);
		else
			len += row(body + len, cap - len, "X", i, 0);
	}
	assert_non_null(path = tl_write_csv(t, "bad.csv", body));
	assert_int_equal(vv_import_csv(t->v, path, NULL, NULL, NULL),
	    VV_ERR_INPUT);
	assert_string_equal(vv_vault_errmsg(t->v), expect);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM records"),
	    records);
	assert_int_equal(tl_sql_int(t, "SELECT count(*) FROM data_keys"),
	    keys);
	assert_int_equal(t->v->lookups_pending, 0);
	free(path);
	free(body);
}

static void
test_late_bad_row(void **state)
{
	/* Row 2700 is on line 2702 (header, 0-based rows). */
	late_failure(*state, 2700, "phone", "line 2702, column phone: "
	    "letters not allowed");
}

static void
test_late_duplicate(void **state)
{
	late_failure(*state, 2500, "duplicate", "line 2502, column "
	    "external_id: appears earlier in this file");
}

struct progress {
	uint64_t last, total, calls;
	int backwards;
};

static void
progress_fn(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;

	if (done < p->last)
		p->backwards = 1;
	p->last = done;
	p->total = total;
	p->calls++;
}

static void
test_progress(void **state)
{
	struct tl_vault *t = *state;
	struct progress p;
	struct stat sb;
	char *body, *path;
	size_t cap;

	memset(&p, 0, sizeof(p));
	body = body_new(&cap);
	assert_non_null(path = tl_write_csv(t, "p.csv", body));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(vv_import_csv(t->v, path, progress_fn, &p, NULL),
	    VV_OK);
	assert_false(p.backwards);
	assert_true(p.calls > 2);
	assert_int_equal(p.last, (uint64_t)sb.st_size);
	assert_int_equal(p.total, (uint64_t)sb.st_size);
	free(path);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mixed_inserts_and_updates,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_late_bad_row,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_late_duplicate,
		    tl_setup_vault, tl_teardown_vault),
		cmocka_unit_test_setup_teardown(test_progress,
		    tl_setup_vault, tl_teardown_vault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
