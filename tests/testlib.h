/*
 * testlib.h - helpers shared by the cmocka suites: temporary directories,
 * file snapshots, a fixture vault and a fixture token.  Every suite that
 * needs an HSM creates its own SoftHSM2 token inside a temporary
 * directory, so suites never share state.
 */
#ifndef VV_TESTLIB_H
#define VV_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *tl_tmpdir(const char *tag);
/* Removes path recursively (ignores errors). */
void tl_rmrf(const char *path);
/* Joins a and b with '/' into a malloc'd string. */
char *tl_join(const char *a, const char *b);
/* Writes len bytes of data to path (mode 0600); 0 on success. */
int tl_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file; malloc'd, NUL-terminated; NULL on error. */
char *tl_read_file(const char *path, size_t *len);
/* BLAKE2b-256 of a file's content into out; 0 on success, -1 if absent. */
int tl_hash_file(const char *path, uint8_t out[32]);
/* Returns 1 if needle (len bytes) occurs in any regular file under dir,
 * skipping files whose name equals skip (may be NULL). */
int tl_dir_contains(const char *dir, const void *needle, size_t len,
    const char *skip);
/* Copies directory src to dst (dst must not exist); 0 on success. */
int tl_copy_dir(const char *src, const char *dst);

/* ------------------------------------------------------ vault fixture */

#include "vipvault.h"

/* A dev vault in a fresh temporary directory with the fixture records
 * imported and three roles: crm (basic,standard), vipdesk (all tiers),
 * sales (all tiers, own clients only) with tokens for users crmapp, desk
 * and alice. */
struct tl_vault {
	char *dir;
	vv_vault *v;
	char crm[VV_TOKEN_MAX];
	char vipdesk[VV_TOKEN_MAX];
	char sales[VV_TOKEN_MAX];
};

/* The fixture CSV: B1 basic (alice, 2 years), S1 standard (alice,
 * 1 year), S2 standard (bob, 3 years), V1 and V2 VIP (alice 16 years,
 * bob 14 years). */
const char *tl_fixture_csv(void);
/* "YYYY-01-01" for n years ago: exactly n whole years as a client. */
const char *tl_years_ago(int n);

int tl_vault_setup(struct tl_vault *t);
/* The same with create options, in t->dir (made by the caller). */
int tl_vault_setup_with(struct tl_vault *t, const vv_create_opts *o);
void tl_vault_teardown(struct tl_vault *t);
/* Closes and reopens t->v. */
int tl_vault_reopen(struct tl_vault *t);
/* cmocka setup and teardown of a fresh fixture vault in *state. */
int tl_setup_vault(void **state);
int tl_teardown_vault(void **state);
/* Reads one record with a token's session; returns the vv_err. */
/* A vv_record_fn that counts the records in the int at arg. */
int tl_count_record(void *arg, const vv_record *r);
/* Records the token's session finds by this phone (0 when none);
 * -vv_err on any other failure. */
int tl_phone_count(struct tl_vault *t, const char *token, const char *phone);
/* Writes text to a file named name in the vault's directory; returns its
 * path (malloc'd), or NULL. */
char *tl_write_csv(struct tl_vault *t, const char *name, const char *text);
int tl_read_as(struct tl_vault *t, const char *token, const char *id,
    vv_record **out);
/* Runs one SQL statement on the vault's database (for tamper tests). */
int tl_sql(struct tl_vault *t, const char *sql);
/* Reads one integer from a query. */
long long tl_sql_int(struct tl_vault *t, const char *sql);

/* ------------------------------------------------------ token fixture */

#include "hsm/p11.h"

#define TL_P11_LABEL	"vv-test"
#define TL_P11_URI_MAX	1024

/* The token of the hsm/p11 suites (test_p11, test_p11_keys): a SoftHSM2
 * development token in a fresh temporary directory, made once per group.
 * p and q hold the handles a test has open, so that the per-test
 * teardown frees them even after a failed assertion. */
struct tl_p11 {
	char *dir;		/* temporary root */
	char *hsm;		/* dir/hsm: the token */
	char uri[TL_P11_URI_MAX];
	char errmsg[256];
	const char *module;
	vv_p11 *p, *q;
};

/* Makes the token labelled TL_P11_LABEL; 0 on success. */
int tl_p11_setup(struct tl_p11 *t);
/* The token both p11 suites share, and cmocka-shaped wrappers around
 * tl_p11_setup / tl_p11_teardown / tl_p11_close for it. */
extern struct tl_p11 tl_p11_g;
int tl_p11_group_setup(void **state);
int tl_p11_group_teardown(void **state);
int tl_p11_close_handles(void **state);
/* Removes the token's directory. */
void tl_p11_teardown(struct tl_p11 *t);
/* Frees t->p and t->q and selects t's token again, so that a failed test
 * does not spread to later ones; 0 on success. */
int tl_p11_close(struct tl_p11 *t);
/* Opens uri; a failure fails the running cmocka test. */
vv_p11 *tl_p11_open_ok(const char *uri);

/*
 * A dual-control vault: the fixture above created with three key
 * managers (kate, leo, mia; threshold 2) on software FIDO2 tokens whose
 * state files sit beside the vault, plus a VIP-reading token for kate
 * (a manager who is also a CRM user).
 */
#define TL_MANAGERS 3
struct tl_dual {
	struct tl_vault t;
	char soft[TL_MANAGERS][512];
	char dev[TL_MANAGERS][520];
	char kate[VV_TOKEN_MAX];
};
const char *tl_manager(int i);
int tl_dual_setup(struct tl_dual *d);
void tl_dual_teardown(struct tl_dual *d);
/* Manager m approves id with his soft token. */
int tl_dual_approve(struct tl_dual *d, const char *id, int m, int *complete);
int tl_dual_group_setup(void **state);
int tl_dual_group_teardown(void **state);

#endif
