/*
 * softhsm_dev.c - the development token: a SoftHSM2 token in a directory
 * of its own, reached through the same PKCS#11 path as a real HSM.
 *
 * Side effect: SOFTHSM2_CONF is set in this process's environment, since
 * SoftHSM2 offers no other way to name its configuration.  setenv is not
 * thread safe; call these before starting threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "hsm/p11_int.h"

#define DEV_PIN_BYTES 16u			/* 32 hex characters */
#define DEV_PIN_LEN   (2 * DEV_PIN_BYTES)

/* Paths of one development token, all absolute. */
struct dev {
	char	*dir;
	char	*conf;
	char	*tokens;
	char	*pinfile;
	char	*errmsg;
	size_t	 errlen;
};

static int
dev_fail(struct dev *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
dev_fail(struct dev *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (d->errmsg != NULL && d->errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(d->errmsg, d->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *
vv_softhsm_module_path(void)
{
	static const char *const paths[] = {
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

static void
dev_clear(struct dev *d)
{
	free(d->dir);
	free(d->conf);
	free(d->tokens);
	free(d->pinfile);
	d->dir = d->conf = d->tokens = d->pinfile = NULL;
}

static char *
join(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

/* Fills in the paths from the (existing) directory hsmdir. */
static int
dev_paths(struct dev *d, const char *hsmdir)
{
	if ((d->dir = realpath(hsmdir, NULL)) == NULL)
		return dev_fail(d, errno == ENOENT ? VV_ERR_NOT_FOUND :
		    VV_ERR_IO, "%s: %s", hsmdir, strerror(errno));
	/* The SoftHSM2 config format is one "name = value" per line. */
	if (strpbrk(d->dir, "\r\n") != NULL)
		return dev_fail(d, VV_ERR_INVALID, "%s: unusable directory "
		    "name", hsmdir);
	if ((d->conf = join(d->dir, "softhsm2.conf")) == NULL ||
	    (d->tokens = join(d->dir, "tokens")) == NULL ||
	    (d->pinfile = join(d->dir, "user.pin")) == NULL)
		return dev_fail(d, VV_ERR_NOMEM, "out of memory");
	return VV_OK;
}

/* Creates path (mode 0600, never an existing file) holding data. */
static int
write_excl(struct dev *d, const char *path, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;
	int fd, r = VV_OK;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return dev_fail(d, VV_ERR_IO, "%s: %s", path, strerror(errno));
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (len > 0 || fsync(fd) != 0)
		r = dev_fail(d, VV_ERR_IO, "%s: %s", path, strerror(errno));
	if (close(fd) != 0 && r == VV_OK)
		r = dev_fail(d, VV_ERR_IO, "%s: %s", path, strerror(errno));
	return r;
}

/* Makes the new names in hsmdir durable. */
static int
sync_dir(struct dev *d)
{
	int fd, r = VV_OK;

	if ((fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return dev_fail(d, VV_ERR_IO, "%s: %s", d->dir,
		    strerror(errno));
	if (fsync(fd) != 0)
		r = dev_fail(d, VV_ERR_IO, "%s: %s", d->dir, strerror(errno));
	(void)close(fd);
	return r;
}

static int
write_conf(struct dev *d)
{
	char *text = NULL;
	int len, r;

	len = asprintf(&text, "# vipvault development token\n"
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\n"
	    "log.level = ERROR\n"
	    "slots.removable = false\n", d->tokens);
	if (len < 0)
		return dev_fail(d, VV_ERR_NOMEM, "out of memory");
	r = write_excl(d, d->conf, text, (size_t)len);
	free(text);
	return r;
}

static int
dev_setenv(struct dev *d)
{
	if (setenv("SOFTHSM2_CONF", d->conf, 1) != 0)
		return dev_fail(d, VV_ERR_NOMEM, "setenv: %s", strerror(errno));
	return VV_OK;
}

/* A fresh random PIN of DEV_PIN_LEN hex characters in guarded memory. */
static char *
pin_new(void)
{
	unsigned char raw[DEV_PIN_BYTES];
	char *pin;

	if ((pin = sodium_malloc(DEV_PIN_LEN + 1)) == NULL)
		return NULL;
	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2hex(pin, DEV_PIN_LEN + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return pin;
}

static void
pin_free(char **pin)
{
	if (*pin == NULL)
		return;
	sodium_memzero(*pin, DEV_PIN_LEN + 1);
	sodium_free(*pin);
	*pin = NULL;
}

/*
 * The slot whose token is (initialised) or is not (blank) labelled
 * label.  SoftHSM2 keeps one blank token and renumbers a slot when its
 * token is initialised, hence the search after C_InitToken too.
 */
static int
find_slot(struct dev *d, CK_FUNCTION_LIST *mod, const unsigned char *label,
    CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = sizeof(slots) / sizeof(slots[0]), i;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	int inited;

	if ((rv = mod->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return dev_fail(d, VV_ERR_HSM, "C_GetSlotList: %s",
		    vv_p11_rv_name(rv));
	for (i = 0; i < n; i++) {
		if (mod->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		inited = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
		if ((label == NULL && !inited) || (label != NULL && inited &&
		    memcmp(ti.label, label, VV_P11_TOKLABEL) == 0)) {
			*slot = slots[i];
			return VV_OK;
		}
	}
	return dev_fail(d, VV_ERR_HSM, "SoftHSM2: no %s token in %s",
	    label == NULL ? "blank" : "new", d->tokens);
}

/* Sets the user PIN as the SO, on the freshly initialised token. */
static int
init_pin(struct dev *d, CK_FUNCTION_LIST *mod, CK_SLOT_ID slot,
    const char *so, const char *user)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;
	const char *what = "C_OpenSession";

	if ((rv = mod->C_OpenSession(slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK)
		goto fail;
	what = "C_Login (SO)";
	if ((rv = mod->C_Login(s, CKU_SO, (CK_UTF8CHAR *)(uintptr_t)so,
	    DEV_PIN_LEN)) == CKR_OK) {
		what = "C_InitPIN";
		rv = mod->C_InitPIN(s, (CK_UTF8CHAR *)(uintptr_t)user,
		    DEV_PIN_LEN);
		(void)mod->C_Logout(s);
	}
	(void)mod->C_CloseSession(s);
	if (rv == CKR_OK)
		return VV_OK;
fail:
	return dev_fail(d, VV_ERR_HSM, "SoftHSM2: %s: %s", what,
	    vv_p11_rv_name(rv));
}

static int
init_token(struct dev *d, CK_FUNCTION_LIST *mod, const char *label,
    const char *so, const char *user)
{
	unsigned char padded[VV_P11_TOKLABEL];
	CK_SLOT_ID slot;
	CK_RV rv;
	int r;

	if (vv_p11_label_pad(padded, label) != 0)
		return dev_fail(d, VV_ERR_INVALID, "token label too long");
	if ((r = find_slot(d, mod, NULL, &slot)) != VV_OK)
		return r;
	if ((rv = mod->C_InitToken(slot, (CK_UTF8CHAR *)(uintptr_t)so,
	    DEV_PIN_LEN, padded)) != CKR_OK)
		return dev_fail(d, VV_ERR_HSM, "SoftHSM2: C_InitToken: %s",
		    vv_p11_rv_name(rv));
	if ((r = find_slot(d, mod, padded, &slot)) != VV_OK)
		return r;
	return init_pin(d, mod, slot, so, user);
}

/*
 * Loads SoftHSM2 unmanaged, so that CKR_CRYPTOKI_ALREADY_INITIALIZED
 * tells us another handle in this process holds it: its configuration
 * (another tokendir) would then be the one in force.
 */
static int
make_token(struct dev *d, const char *module, const char *label)
{
	CK_FUNCTION_LIST *mod;
	char *so = NULL, *user = NULL;
	CK_RV rv;
	int r;

	if ((mod = p11_kit_module_load(module, P11_KIT_MODULE_UNMANAGED)) ==
	    NULL)
		return dev_fail(d, VV_ERR_HSM, "%s: cannot be loaded", module);
	if ((rv = p11_kit_module_initialize(mod)) != CKR_OK) {
		p11_kit_module_release(mod);
		return dev_fail(d, VV_ERR_HSM, "SoftHSM2: C_Initialize: %s%s",
		    vv_p11_rv_name(rv), rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ?
		    " (a token is still open in this process)" : "");
	}
	if ((so = pin_new()) == NULL || (user = pin_new()) == NULL) {
		r = dev_fail(d, VV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = init_token(d, mod, label, so, user)) != VV_OK)
		goto out;
	r = write_excl(d, d->pinfile, user, DEV_PIN_LEN);
out:
	pin_free(&so);
	pin_free(&user);
	(void)p11_kit_module_finalize(mod);
	p11_kit_module_release(mod);
	return r;
}

static int
build_uri(struct dev *d, const char *module, const char *label, char *uri,
    size_t urilen)
{
	size_t pos = 0;

	if (urilen == 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, "pkcs11:token=", ":=") != 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, label, NULL) != 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, "?module-path=", "?=") != 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, module, "/") != 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, "&pin-source=file:",
	    "&=:") != 0 ||
	    vv_p11_pct_append(uri, urilen, &pos, d->pinfile, "/") != 0) {
		if (urilen > 0)
			uri[0] = '\0';
		return dev_fail(d, VV_ERR_INVALID, "URI buffer too small");
	}
	return VV_OK;
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

static int
label_ok(struct dev *d, const char *label)
{
	size_t n;

	if (label == NULL || (n = strlen(label)) == 0 || n > VV_P11_TOKLABEL)
		return dev_fail(d, VV_ERR_INVALID, "token label must have 1 "
		    "to %u bytes", VV_P11_TOKLABEL);
	return VV_OK;
}

static int
dev_create(struct dev *d, const char *hsmdir, const char *label, char *uri,
    size_t urilen)
{
	const char *module;
	int r;

	if ((module = vv_softhsm_module_path()) == NULL)
		return dev_fail(d, VV_ERR_HSM, "SoftHSM2 is not installed "
		    "(libsofthsm2.so not found)");
	if ((r = dev_paths(d, hsmdir)) != VV_OK)
		return r;
	if (mkdir(d->tokens, 0700) != 0)
		return dev_fail(d, VV_ERR_IO, "%s: %s", d->tokens,
		    strerror(errno));
	if ((r = write_conf(d)) != VV_OK || (r = dev_setenv(d)) != VV_OK ||
	    (r = make_token(d, module, label)) != VV_OK ||
	    (r = sync_dir(d)) != VV_OK)
		return r;
	return build_uri(d, module, label, uri, urilen);
}

int
vv_softhsm_dev_create(const char *hsmdir, const char *label, char *uri,
    size_t urilen, char *errmsg, size_t errlen)
{
	struct dev d = { NULL, NULL, NULL, NULL, errmsg, errlen };
	int r;

	if (errmsg != NULL && errlen > 0)
		errmsg[0] = '\0';
	if (hsmdir == NULL || uri == NULL)
		return dev_fail(&d, VV_ERR_INVALID, "no directory or URI");
	if ((r = label_ok(&d, label)) != VV_OK)
		return r;
	if (mkdir(hsmdir, 0700) != 0)
		return dev_fail(&d, errno == EEXIST ? VV_ERR_EXISTS : VV_ERR_IO,
		    "%s: %s", hsmdir, strerror(errno));
	/* We made hsmdir, so on failure all of it goes. */
	if ((r = dev_create(&d, hsmdir, label, uri, urilen)) != VV_OK)
		(void)nftw(d.dir != NULL ? d.dir : hsmdir, rm_one, 16,
		    FTW_DEPTH | FTW_PHYS);
	dev_clear(&d);
	return r;
}

int
vv_softhsm_dev_uri(const char *hsmdir, const char *label, char *uri,
    size_t urilen)
{
	struct dev d = { NULL, NULL, NULL, NULL, NULL, 0 };
	const char *module;
	int r;

	if (hsmdir == NULL || uri == NULL)
		return VV_ERR_INVALID;
	if ((r = label_ok(&d, label)) != VV_OK)
		return r;
	if ((module = vv_softhsm_module_path()) == NULL)
		return VV_ERR_HSM;
	if ((r = dev_paths(&d, hsmdir)) == VV_OK &&
	    access(d.conf, R_OK) != 0)
		r = errno == ENOENT ? VV_ERR_NOT_FOUND : VV_ERR_IO;
	if (r == VV_OK)
		r = dev_setenv(&d);
	if (r == VV_OK)
		r = build_uri(&d, module, label, uri, urilen);
	dev_clear(&d);
	return r;
}
