/*
 * vault.c - creating, opening and closing a vault.
 *
 * Creation writes vault.conf last: until it exists there is no vault, and
 * a failed creation removes everything it made.  Opening reads in the
 * order of trust: configuration, HSM, key file, database; it writes
 * nothing until all of them have been authenticated.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/internal.h"
#include "vault/lookups.h"
#include "vault/clog.h"

#define HSM_DIR "hsm"

static vv_vault *
vault_new(const char *dir)
{
	vv_vault *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((v->dir = strdup(dir)) == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

void
vv_vault_free(vv_vault **vp)
{
	vv_vault *v;

	if (vp == NULL || (v = *vp) == NULL)
		return;
	vv_lookups_close(v);
	if (v->db != NULL)
		(void)sqlite3_close_v2(v->db);
	vv_p11_free(&v->p11);
	if (v->index_state != NULL)
		sodium_free(v->index_state);	/* wipes */
	if (v->log_keys != NULL)
		sodium_free(v->log_keys);
	free(v->clog_cache);
	free(v->hsm_uri);
	free(v->dir);
	sodium_memzero(v, sizeof(*v));
	free(v);
	*vp = NULL;
}

const char *
vv_vault_id(const vv_vault *v)
{
	return v->id_hex;
}

static void
copy_msg(char *errmsg, size_t errlen, const vv_vault *v)
{
	if (errmsg != NULL && errlen > 0)
		(void)snprintf(errmsg, errlen, "%s", vv_vault_errmsg(v));
}

/* Connects to the HSM named by the configuration. */
static int
connect_hsm(vv_vault *v)
{
	char uri[1024], msg[256] = "";
	char *hsmdir = NULL, label[64];
	const char *use = v->hsm_uri;
	int r;

	if (strcmp(v->hsm_uri, "dev") == 0) {
		(void)snprintf(label, sizeof(label), "vipvault-%.16s",
		    v->id_hex);
		if ((hsmdir = vv_path(v->dir, HSM_DIR)) == NULL)
			return vv_fail(v, VV_ERR_NOMEM, "out of memory");
		r = vv_softhsm_dev_uri(hsmdir, label, uri, sizeof(uri));
		free(hsmdir);
		if (r != VV_OK)
			return vv_fail(v, VV_ERR_HSM, "the development HSM in "
			    "%s/%s is missing or unusable", v->dir, HSM_DIR);
		use = uri;
	}
	if ((r = vv_p11_open(&v->p11, use, msg, sizeof(msg))) != VV_OK)
		return vv_fail(v, r, "HSM: %s", msg);
	return VV_OK;
}

static int
open_files(vv_vault *v)
{
	char *keypath = NULL, *dbpath = NULL;
	uint8_t *dbkey = NULL;
	int r;

	keypath = vv_path(v->dir, "vault.key");
	dbpath = vv_path(v->dir, "vault.db");
	dbkey = sodium_malloc(VV_KEY_LEN);
	if (keypath == NULL || dbpath == NULL || dbkey == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = vv_keyring_open(v, keypath, dbkey)) != VV_OK)
		goto out;
	if (access(dbpath, F_OK) != 0) {
		r = vv_fail(v, VV_ERR_INTEGRITY, "vault.db is missing");
		goto out;
	}
	if ((r = vv_store_open(v, dbpath, dbkey)) != VV_OK ||
	    (r = vv_domain_load(v)) != VV_OK)
		goto out;
	r = vv_policy_load(v);
out:
	if (dbkey != NULL)
		sodium_free(dbkey);
	free(keypath);
	free(dbpath);
	return r;
}

int
vv_vault_open(vv_vault **out, const char *dir, char *errmsg, size_t errlen)
{
	struct vv_conf conf;
	vv_vault *v;
	char *confpath;
	int r;

	*out = NULL;
	if ((v = vault_new(dir)) == NULL)
		return VV_ERR_NOMEM;
	if ((confpath = vv_path(dir, "vault.conf")) == NULL) {
		r = VV_ERR_NOMEM;
		goto fail;
	}
	r = vv_conf_read(confpath, &conf, v->errmsg, sizeof(v->errmsg));
	free(confpath);
	if (r != VV_OK)
		goto fail;
	memcpy(v->id, conf.id, VV_ID_LEN);
	vv_hex(v->id_hex, v->id, VV_ID_LEN);
	v->hsm_uri = conf.hsm;
	conf.hsm = NULL;
	if ((r = connect_hsm(v)) != VV_OK || (r = open_files(v)) != VV_OK)
		goto fail;
	v->errmsg[0] = '\0';
	*out = v;
	return VV_OK;
fail:
	copy_msg(errmsg, errlen, v);
	vv_vault_free(&v);
	return r;
}

/* ------------------------------------------------------------ create */

static int
prepare_dir(vv_vault *v, int *made)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	*made = 0;
	if (mkdir(v->dir, 0700) == 0) {
		*made = 1;
		return VV_OK;
	}
	if (errno != EEXIST)
		return vv_fail(v, VV_ERR_IO, "cannot create %s: %s", v->dir,
		    strerror(errno));
	if ((d = opendir(v->dir)) == NULL)
		return vv_fail(v, VV_ERR_IO, "cannot read %s: %s", v->dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	(void)closedir(d);
	if (!empty)
		return vv_fail(v, VV_ERR_EXISTS, "%s is not empty: a vault is "
		    "created in a new or empty directory", v->dir);
	return VV_OK;
}

static int
create_hsm(vv_vault *v, const char *pkcs11_uri, int *made)
{
	char uri[1024], msg[256] = "", label[64];
	char *hsmdir;
	int r;

	if (pkcs11_uri != NULL) {
		if ((v->hsm_uri = strdup(pkcs11_uri)) == NULL)
			return vv_fail(v, VV_ERR_NOMEM, "out of memory");
		return connect_hsm(v);
	}
	if ((v->hsm_uri = strdup("dev")) == NULL ||
	    (hsmdir = vv_path(v->dir, HSM_DIR)) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	(void)snprintf(label, sizeof(label), "vipvault-%.16s", v->id_hex);
	r = vv_softhsm_dev_create(hsmdir, label, uri, sizeof(uri), msg,
	    sizeof(msg));
	free(hsmdir);
	if (r != VV_OK)	/* it removed what it made */
		return vv_fail(v, r, "creating the development HSM: %s", msg);
	*made = 1;
	return connect_hsm(v);
}

/* What this call created, so that a failure removes that and nothing
 * else: a concurrent init of the same directory keeps what it made. */
struct made {
	int dir, hsm, master, key, db, dev_compliance;
	char *mirror;		/* a mirror directory this call made */
};

static int
create_store(vv_vault *v, struct made *m)
{
	char *keypath = vv_path(v->dir, "vault.key");
	char *dbpath = vv_path(v->dir, "vault.db");
	char created[32];
	uint8_t *dbkey = sodium_malloc(VV_KEY_LEN);
	vv_policy p;
	int r;

	if (keypath == NULL || dbpath == NULL || dbkey == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	vv_policy_default(&p);
	v->policy = p;
	(void)snprintf(created, sizeof(created), "%lld", (long long)vv_now());
	if ((r = vv_keyring_create(v, keypath, dbkey)) != VV_OK)
		goto out;
	m->key = 1;
	r = vv_store_create(v, dbpath, dbkey);
	m->db = r != VV_ERR_EXISTS;
	if (r != VV_OK || (r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = vv_meta_set(v, "vault_id", v->id_hex)) != VV_OK ||
	    (r = vv_meta_set(v, "created", created)) != VV_OK ||
	    (r = vv_policy_store(v, &p)) != VV_OK ||
	    (r = vv_domain_create_all(v)) != VV_OK ||
	    (r = vv_clog_note(v, VV_EV_VAULT_CREATED, NULL, NULL,
	    v->hsm_uri != NULL && strcmp(v->hsm_uri, "dev") == 0 ?
	    "development HSM" : "PKCS#11 HSM", NULL, 0, 0)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	r = vv_domain_load(v);
out:
	if (dbkey != NULL)
		sodium_free(dbkey);
	free(keypath);
	free(dbpath);
	return r;
}

/* The compliance mirror and, on a development vault without one, a
 * development officer key beside the vault. */
static int
create_compliance(vv_vault *v, const vv_create_opts *o, struct made *m)
{
	char *dir = NULL, *sec = NULL, *pub = NULL, msg[256];
	uint8_t cpk[32];
	int r;

	if (o->syslog_socket != NULL && (o->syslog_socket[0] != '/' ||
	    (r = vv_meta_set(v, "syslog_socket", o->syslog_socket)) != VV_OK))
		return vv_fail(v, VV_ERR_INVALID, "--syslog: an absolute path "
		    "to a local socket");
	if (o->compliance_pg != NULL &&
	    ((r = vv_pgsink_setup(v, o->compliance_pg)) != VV_OK ||
	    ((r = vv_pgsink_sync(v)) != VV_OK)))
		return r;
	if (o->compliance_dir == NULL && strcmp(v->hsm_uri, "dev") != 0)
		return VV_OK;
	if (o->compliance_dir != NULL) {
		if (o->compliance_pub == NULL)
			return vv_fail(v, VV_ERR_INVALID, "a compliance mirror "
			    "needs the officer's public key");
		if ((r = vv_compliance_public_read(o->compliance_pub, cpk, msg,
		    sizeof(msg))) != VV_OK)
			return vv_fail(v, r, "%s", msg);
		dir = strdup(o->compliance_dir);
	} else {
		dir = vv_path(v->dir, "mirror");
		sec = vv_path(v->dir, "compliance.key");
		pub = vv_path(v->dir, "compliance.pub");
		if (sec == NULL || pub == NULL ||
		    (r = vv_compliance_keygen(sec, pub)) != VV_OK ||
		    (r = vv_compliance_public_read(pub, cpk, msg,
		    sizeof(msg))) != VV_OK) {
			r = vv_fail(v, VV_ERR_IO, "making the development "
			    "compliance key");
			goto out;
		}
		m->dev_compliance = 1;
	}
	if (dir == NULL) {
		r = vv_fail(v, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	if ((r = vv_mirror_create(v, dir, cpk)) != VV_OK ||
	    (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		goto out;
	}
	m->mirror = dir;
	dir = NULL;
	r = vv_mirror_sync(v);
out:
	free(dir);
	free(sec);
	free(pub);
	return r;
}

static void
remove_file(const vv_vault *v, const char *name)
{
	char *p;

	if ((p = vv_path(v->dir, name)) != NULL) {
		(void)unlink(p);
		free(p);
	}
}

/* Only the files a new mirror holds: the directory may be compliance's. */
static void
remove_mirror(const char *dir)
{
	static const char *const names[] = { "header", "entries", "heads" };
	char *p;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((p = vv_path(dir, names[i])) != NULL) {
			(void)unlink(p);
			free(p);
		}
	(void)rmdir(dir);
}

static void
remove_created(vv_vault *v, struct made *m)
{
	char label[VV_P11_LABEL_MAX], *p;

	vv_lookups_close(v);
	if (v->db != NULL) {
		(void)sqlite3_close_v2(v->db);
		v->db = NULL;
	}
	if (v->p11 != NULL && m->master) {
		vv_label_master(v, label);
		(void)vv_p11_key_destroy(v->p11, label);
	}
	vv_p11_free(&v->p11);
	if (m->key)
		remove_file(v, "vault.key");
	if (m->db) {
		remove_file(v, "vault.db");
		remove_file(v, "vault.db-wal");
		remove_file(v, "vault.db-shm");
	}
	if (m->mirror != NULL) {
		remove_mirror(m->mirror);
		free(m->mirror);
		m->mirror = NULL;
	}
	if (m->dev_compliance) {
		remove_file(v, "compliance.key");
		remove_file(v, "compliance.pub");
	}
	if (m->hsm && (p = vv_path(v->dir, HSM_DIR)) != NULL) {
		vv_rmtree(p);
		free(p);
	}
	if (m->dir)
		(void)rmdir(v->dir);
}

int
vv_vault_create(vv_vault **out, const char *dir, const char *pkcs11_uri,
    char *errmsg, size_t errlen)
{
	vv_create_opts o;

	memset(&o, 0, sizeof(o));
	o.pkcs11_uri = pkcs11_uri;
	return vv_vault_create_with(out, dir, &o, errmsg, errlen);
}

int
vv_vault_create_with(vv_vault **out, const char *dir,
    const vv_create_opts *o, char *errmsg, size_t errlen)
{
	const char *pkcs11_uri = o->pkcs11_uri;
	char label[VV_P11_LABEL_MAX], *confpath = NULL;
	struct vv_conf conf;
	struct made m;
	vv_vault *v;
	int r;

	*out = NULL;
	memset(&m, 0, sizeof(m));
	if ((v = vault_new(dir)) == NULL)
		return VV_ERR_NOMEM;
	if ((r = prepare_dir(v, &m.dir)) != VV_OK)
		goto fail_early;
	randombytes_buf(v->id, VV_ID_LEN);
	vv_hex(v->id_hex, v->id, VV_ID_LEN);
	if ((r = create_hsm(v, pkcs11_uri, &m.hsm)) != VV_OK)
		goto fail;
	vv_label_master(v, label);
	if ((r = vv_p11_key_generate(v->p11, label)) != VV_OK) {
		r = vv_fail(v, r, "creating the master key: %s",
		    vv_p11_errmsg(v->p11));
		goto fail;
	}
	m.master = 1;
	if ((r = create_store(v, &m)) != VV_OK ||
	    (r = create_compliance(v, o, &m)) != VV_OK)
		goto fail;
	/* Managers before vault.conf: a vault that exists is complete. */
	if (o->nmanagers > 0 && (r = vv_dual_setup(v, o->managers, o->fido,
	    o->nmanagers, &o->dual)) != VV_OK)
		goto fail;
	memcpy(conf.id, v->id, VV_ID_LEN);
	conf.hsm = v->hsm_uri;
	if ((confpath = vv_path(dir, "vault.conf")) == NULL ||
	    (r = vv_conf_write(confpath, &conf)) != VV_OK) {
		r = vv_fail(v, confpath == NULL ? VV_ERR_NOMEM : r,
		    "writing vault.conf");
		goto fail;
	}
	free(confpath);
	free(m.mirror);
	v->errmsg[0] = '\0';
	*out = v;
	return VV_OK;
fail:
	free(confpath);
	remove_created(v, &m);
fail_early:
	copy_msg(errmsg, errlen, v);
	vv_vault_free(&v);
	return r;
}
