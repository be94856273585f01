/*
 * testlib.c - see testlib.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "testlib.h"

char *
tl_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/vvtest-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
tl_rmrf(const char *path)
{
	if (path != NULL)
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tl_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

int
tl_write_file(const char *path, const void *data, size_t len)
{
	int fd;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	if (close(fd) != 0 || n < 0 || (size_t)n != len)
		return -1;
	return 0;
}

char *
tl_read_file(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	long size;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		goto out;
	if ((buf = malloc((size_t)size + 1)) == NULL)
		goto out;
	if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = '\0';
	if (len != NULL)
		*len = (size_t)size;
out:
	fclose(fp);
	return buf;
}

int
tl_hash_file(const char *path, uint8_t out[32])
{
	size_t len;
	char *buf = tl_read_file(path, &len);

	if (buf == NULL)
		return -1;
	crypto_generichash(out, 32, (const unsigned char *)buf, len, NULL, 0);
	free(buf);
	return 0;
}

static const void *g_needle;
static size_t g_needle_len;
static const char *g_skip;
static int g_found;

static int
scan_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t len;
	char *buf;

	(void)sb;
	if (flag != FTW_F)
		return 0;
	if (g_skip != NULL && strcmp(path + ftw->base, g_skip) == 0)
		return 0;
	if ((buf = tl_read_file(path, &len)) == NULL)
		return 0;
	if (len >= g_needle_len && memmem(buf, len, g_needle,
	    g_needle_len) != NULL)
		g_found = 1;
	free(buf);
	return g_found;
}

int
tl_dir_contains(const char *dir, const void *needle, size_t len,
    const char *skip)
{
	g_needle = needle;
	g_needle_len = len;
	g_skip = skip;
	g_found = 0;
	(void)nftw(dir, scan_one, 16, FTW_PHYS);
	return g_found;
}

int
tl_copy_dir(const char *src, const char *dst)
{
	char *cmd;
	int r;

	if (asprintf(&cmd, "cp -a '%s' '%s'", src, dst) < 0)
		return -1;
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

/* ------------------------------------------------------ vault fixture */

#include "vault/internal.h"
#include "hsm/softfido.h"

/* Dates are "n years ago, January 1st", so that a record's whole years
 * as a client are exactly n whatever day the tests run. */
const char *
tl_years_ago(int n)
{
	static char buf[8][11];
	static int next;
	time_t now = time(NULL);
	struct tm tm;
	char *b = buf[next++ % 8];

	(void)gmtime_r(&now, &tm);
	(void)snprintf(b, 11, "%04d-01-01", tm.tm_year + 1900 - n);
	return b;
}

const char *
tl_fixture_csv(void)
{
	static char csv[1024];

	(void)snprintf(csv, sizeof(csv),
	    "external_id,name,phone,email,address,annual_spend,client_since,"
	    "owner,notes\r\n"
	    "B1,Boris Basic,+7 (901) 111-22-33,boris@example.ru,\"ul. Lenina, "
	    "1\",500.00,%s,alice,basic note\r\n"
	    "S1,Sofia Standard,8 902 222 33 44,Sofia.S@Example.RU,\"1 Market "
	    "St, SF\",20000.50,%s,alice,\"multi\nline, note\"\r\n"
	    "S2,Stan Second,+1-415-555-0101,stan@example.com,2 Main St,15000,"
	    "%s,bob,\r\n"
	    "V1,Vera Vip,+79031234567,vera.vip@example.ru,\"Tverskaya 7, kv. "
	    "12\",250000.00,%s,alice,\"said \"\"call me Vera\"\"\"\r\n"
	    "V2,Victor Vip,+86 150 7787 5488,victor@example.cn,Beijing,180000,"
	    "%s,bob,vip note\r\n", tl_years_ago(2), tl_years_ago(1),
	    tl_years_ago(3), tl_years_ago(16), tl_years_ago(14));
	return csv;
}

static int
issue(vv_vault *v, const char *role, unsigned tiers, unsigned flags,
    const char *user, char *tok)
{
	if (vv_role_add(v, role, tiers, flags) != VV_OK)
		return -1;
	return vv_token_issue(v, role, user, 0, tok, VV_TOKEN_MAX) == VV_OK ?
	    0 : -1;
}

int
tl_vault_setup(struct tl_vault *t)
{
	vv_create_opts o;

	memset(t, 0, sizeof(*t));
	if (vv_global_init() != VV_OK || (t->dir = tl_tmpdir("vault")) == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	return tl_vault_setup_with(t, &o);
}

int
tl_vault_setup_with(struct tl_vault *t, const vv_create_opts *o)
{
	char msg[512], *csv = NULL;
	int r = -1;

	if (vv_vault_create_with(&t->v, t->dir, o, msg, sizeof(msg)) != VV_OK) {
		fprintf(stderr, "fixture: create: %s\n", msg);
		return -1;
	}
	if (asprintf(&csv, "%s.csv", t->dir) < 0) {
		csv = NULL;
		goto out;
	}
	if (tl_write_file(csv, tl_fixture_csv(), strlen(tl_fixture_csv())) != 0 ||
	    vv_import_csv(t->v, csv, NULL, NULL, NULL) != VV_OK) {
		fprintf(stderr, "fixture: import: %s\n",
		    vv_vault_errmsg(t->v));
		goto out;
	}
	if (issue(t->v, "crm", VV_TIER_MASK(VV_TIER_BASIC) |
	    VV_TIER_MASK(VV_TIER_STANDARD), 0, "crmapp", t->crm) != 0 ||
	    issue(t->v, "vipdesk", VV_TIERS_ALL, 0, "desk", t->vipdesk) != 0 ||
	    issue(t->v, "sales", VV_TIERS_ALL, VV_ROLE_OWN_CLIENTS_ONLY,
	    "alice", t->sales) != 0) {
		fprintf(stderr, "fixture: roles: %s\n", vv_vault_errmsg(t->v));
		goto out;
	}
	r = 0;
out:
	if (csv != NULL) {
		(void)unlink(csv);
		free(csv);
	}
	return r;
}

void
tl_vault_teardown(struct tl_vault *t)
{
	vv_vault_free(&t->v);
	tl_rmrf(t->dir);
	free(t->dir);
	memset(t, 0, sizeof(*t));
}

int
tl_vault_reopen(struct tl_vault *t)
{
	char msg[512];

	vv_vault_free(&t->v);
	if (vv_vault_open(&t->v, t->dir, msg, sizeof(msg)) != VV_OK) {
		fprintf(stderr, "reopen: %s\n", msg);
		return -1;
	}
	return 0;
}

int
tl_sql(struct tl_vault *t, const char *sql)
{
	return sqlite3_exec(t->v->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    0 : -1;
}

long long
tl_sql_int(struct tl_vault *t, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(t->v->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
tl_setup_vault(void **state)
{
	struct tl_vault *t = calloc(1, sizeof(*t));

	if (t == NULL || tl_vault_setup(t) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int
tl_teardown_vault(void **state)
{
	struct tl_vault *t = *state;

	tl_vault_teardown(t);
	free(t);
	return 0;
}

int
tl_count_record(void *arg, const vv_record *r)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

int
tl_phone_count(struct tl_vault *t, const char *token, const char *phone)
{
	vv_session *s = NULL;
	int n = 0, r;

	if ((r = vv_session_open(t->v, token, &s)) != VV_OK)
		return -r;
	r = vv_find_phone(s, phone, tl_count_record, &n);
	vv_session_free(&s);
	if (r == VV_ERR_NOT_FOUND)
		return 0;
	return r == VV_OK ? n : -r;
}

char *
tl_write_csv(struct tl_vault *t, const char *name, const char *text)
{
	char *p = tl_join(t->dir, name);

	if (p != NULL && tl_write_file(p, text, strlen(text)) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}

int
tl_read_as(struct tl_vault *t, const char *token, const char *id,
    vv_record **out)
{
	vv_session *s = NULL;
	int r;

	*out = NULL;
	if ((r = vv_session_open(t->v, token, &s)) != VV_OK)
		return r;
	r = vv_get(s, id, out);
	vv_session_free(&s);
	return r;
}

/* ------------------------------------------------------ token fixture */

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

int
tl_p11_setup(struct tl_p11 *t)
{
	if (sodium_init() < 0 || (t->module = vv_softhsm_module_path()) == NULL)
		return -1;
	if ((t->dir = tl_tmpdir("p11")) == NULL ||
	    (t->hsm = tl_join(t->dir, "hsm")) == NULL)
		return -1;
	if (vv_softhsm_dev_create(t->hsm, TL_P11_LABEL, t->uri, sizeof(t->uri),
	    t->errmsg, sizeof(t->errmsg)) != VV_OK) {
		fprintf(stderr, "dev_create: %s\n", t->errmsg);
		return -1;
	}
	return 0;
}

void
tl_p11_teardown(struct tl_p11 *t)
{
	tl_rmrf(t->dir);
	free(t->dir);
	free(t->hsm);
}

int
tl_p11_close(struct tl_p11 *t)
{
	char uri[TL_P11_URI_MAX];

	vv_p11_free(&t->p);
	vv_p11_free(&t->q);
	return vv_softhsm_dev_uri(t->hsm, TL_P11_LABEL, uri, sizeof(uri)) ==
	    VV_OK && strcmp(uri, t->uri) == 0 ? 0 : -1;
}

vv_p11 *
tl_p11_open_ok(const char *uri)
{
	vv_p11 *p = NULL;
	char err[256];
	int r;

	r = vv_p11_open(&p, uri, err, sizeof(err));
	if (r != VV_OK)
		fprintf(stderr, "vv_p11_open: %s\n", err);
	assert_int_equal(r, VV_OK);
	assert_non_null(p);
	return p;
}

struct tl_p11 tl_p11_g;

int
tl_p11_group_setup(void **state)
{
	(void)state;
	return tl_p11_setup(&tl_p11_g);
}

int
tl_p11_group_teardown(void **state)
{
	(void)state;
	tl_p11_teardown(&tl_p11_g);
	return 0;
}

/* Frees what a test left open and selects the group's token again. */
int
tl_p11_close_handles(void **state)
{
	(void)state;
	return tl_p11_close(&tl_p11_g);
}

/* ------------------------------------------------- dual-control vault */

static const char *const tl_manager_names[TL_MANAGERS] = { "kate", "leo",
    "mia" };

const char *
tl_manager(int i)
{
	return tl_manager_names[i];
}

int
tl_dual_setup(struct tl_dual *d)
{
	vv_fido_opts fido[TL_MANAGERS];
	vv_create_opts o;
	char err[256];
	int i;

	memset(d, 0, sizeof(*d));
	if (vv_global_init() != VV_OK ||
	    (d->t.dir = tl_tmpdir("dual")) == NULL)
		return -1;
	for (i = 0; i < TL_MANAGERS; i++) {
		(void)snprintf(d->soft[i], sizeof(d->soft[i]), "%s.%s.soft",
		    d->t.dir, tl_manager_names[i]);
		(void)snprintf(d->dev[i], sizeof(d->dev[i]), "soft:%s",
		    d->soft[i]);
		if (vv_softfido_create(d->soft[i], NULL, err, sizeof(err)) !=
		    0) {
			fprintf(stderr, "fixture: soft token: %s\n", err);
			return -1;
		}
		memset(&fido[i], 0, sizeof(fido[i]));
		fido[i].device = d->dev[i];
	}
	memset(&o, 0, sizeof(o));
	o.nmanagers = TL_MANAGERS;
	o.managers = tl_manager_names;
	o.fido = fido;
	o.dual.threshold = 2;
	if (tl_vault_setup_with(&d->t, &o) != 0)
		return -1;
	/* A key manager who is also a CRM user. */
	return vv_token_issue(d->t.v, "vipdesk", "kate", 0, d->kate,
	    sizeof(d->kate)) == VV_OK ? 0 : -1;
}

void
tl_dual_teardown(struct tl_dual *d)
{
	int i;

	for (i = 0; i < TL_MANAGERS; i++)
		if (d->soft[i][0] != '\0')
			(void)unlink(d->soft[i]);
	tl_vault_teardown(&d->t);
	memset(d, 0, sizeof(*d));
}

int
tl_dual_approve(struct tl_dual *d, const char *id, int m, int *complete)
{
	vv_fido_opts o;

	memset(&o, 0, sizeof(o));
	o.device = d->dev[m];
	return vv_unseal_approve(d->t.v, id, tl_manager_names[m], &o,
	    complete);
}

int
tl_dual_group_setup(void **state)
{
	struct tl_dual *d = calloc(1, sizeof(*d));

	if (d == NULL || tl_dual_setup(d) != 0) {
		if (d != NULL)
			tl_dual_teardown(d);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

int
tl_dual_group_teardown(void **state)
{
	tl_dual_teardown(*state);
	free(*state);
	return 0;
}
