/*
 * p11.c - opening a token named by an RFC 7512 URI: module loading
 * through p11-kit, token matching and user login.  Keys and sealing are
 * in p11_key.c.
 *
 * Modules are loaded in p11-kit's managed mode, which reference-counts
 * C_Initialize/C_Finalize per module: a handle's initialisation is undone
 * by vv_p11_free, and when the last handle on a module goes the module
 * is really finalised (SoftHSM2 then re-reads SOFTHSM2_CONF at the next
 * C_Initialize).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vipvault.h"
#include "hsm/p11.h"
#include "hsm/p11_int.h"

struct match {
	CK_FUNCTION_LIST	*mod;
	CK_SLOT_ID		 slot;
	size_t			 n;
};

static int
uri_parse(struct vv_p11 *p, const char *s, P11KitUri **out)
{
	P11KitUri *uri;
	int rc, r;

	*out = NULL;
	if ((uri = p11_kit_uri_new()) == NULL)
		return vv_p11_fail(p, VV_ERR_NOMEM, "PKCS#11 URI: out of memory");
	if ((rc = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, uri)) !=
	    P11_KIT_URI_OK) {
		r = vv_p11_fail(p, VV_ERR_INVALID, "PKCS#11 URI: %s",
		    p11_kit_uri_message(rc));
		goto fail;
	}
	/* A PIN in a URI ends up in config files and process listings. */
	if (p11_kit_uri_get_pin_value(uri) != NULL) {
		r = vv_p11_fail(p, VV_ERR_INVALID, "PKCS#11 URI: pin-value is "
		    "refused; use pin-source=file:/path");
		goto fail;
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		r = vv_p11_fail(p, VV_ERR_INVALID,
		    "PKCS#11 URI: unrecognised path attribute");
		goto fail;
	}
	if (p11_kit_uri_get_pin_source(uri) == NULL) {
		r = vv_p11_fail(p, VV_ERR_INVALID,
		    "PKCS#11 URI: no pin-source attribute");
		goto fail;
	}
	*out = uri;
	return VV_OK;
fail:
	p11_kit_uri_free(uri);
	return r;
}

/* The URI's token label, for messages. */
static void
uri_label(P11KitUri *uri, char *out, size_t outlen)
{
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);

	vv_p11_label_str(ti->label, sizeof(ti->label), out, outlen);
	if (out[0] == '\0')
		(void)snprintf(out, outlen, "(any)");
}

static int
load_path(struct vv_p11 *p, const char *path)
{
	const char *msg;
	CK_RV rv;

	/* p11-kit's own message repeats the path several times. */
	if (path[0] == '/' && access(path, R_OK) != 0)
		return vv_p11_fail(p, VV_ERR_HSM, "PKCS#11 module %s: %s",
		    path, strerror(errno));
	if ((p->mod = p11_kit_module_load(path, 0)) == NULL) {
		msg = p11_kit_message();
		return vv_p11_fail(p, VV_ERR_HSM, "PKCS#11 module %s: %s",
		    path, msg != NULL ? msg : "cannot be loaded");
	}
	if ((rv = p11_kit_module_initialize(p->mod)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "PKCS#11 module %s: "
		    "C_Initialize: %s", path, vv_p11_rv_name(rv));
	p->initialized = 1;
	return VV_OK;
}

static int
load_registered(struct vv_p11 *p)
{
	const char *msg;

	if ((p->mods = p11_kit_modules_load_and_initialize(0)) == NULL) {
		msg = p11_kit_message();
		return vv_p11_fail(p, VV_ERR_HSM, "p11-kit modules: %s",
		    msg != NULL ? msg : "cannot be loaded");
	}
	p->initialized = 1;
	return VV_OK;
}

/*
 * RFC 7512 module-name: the library's name without "lib" and suffix; we
 * also accept p11-kit's configured module name.
 */
static int
module_named(CK_FUNCTION_LIST *mod, const char *want)
{
	char *name = p11_kit_module_get_name(mod);
	char *file = p11_kit_module_get_filename(mod);
	const char *base;
	size_t n = strlen(want);
	int ok = 0;

	if (name != NULL && strcmp(name, want) == 0)
		ok = 1;
	if (!ok && file != NULL) {
		base = strrchr(file, '/');
		base = base != NULL ? base + 1 : file;
		if (strncmp(base, "lib", 3) == 0 && strncmp(want, "lib", 3))
			base += 3;
		ok = strncmp(base, want, n) == 0 &&
		    (base[n] == '\0' || base[n] == '.');
	}
	free(name);
	free(file);
	return ok;
}

static int
slot_matches(CK_FUNCTION_LIST *mod, P11KitUri *uri, CK_SLOT_ID slot)
{
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri);

	if (want != (CK_SLOT_ID)-1 && want != slot)
		return 0;
	if (mod->C_GetSlotInfo(slot, &si) != CKR_OK ||
	    !p11_kit_uri_match_slot_info(uri, &si))
		return 0;
	/* A blank (uninitialised) token can hold no keys. */
	if (mod->C_GetTokenInfo(slot, &ti) != CKR_OK ||
	    (ti.flags & CKF_TOKEN_INITIALIZED) == 0)
		return 0;
	return p11_kit_uri_match_token_info(uri, &ti);
}

/* The slots with a token present; *slots is malloc'd (NULL if none). */
static int
slot_list(struct vv_p11 *p, CK_FUNCTION_LIST *mod, CK_SLOT_ID **slots,
    CK_ULONG *n)
{
	CK_RV rv;

	*slots = NULL;
	*n = 0;
	if ((rv = mod->C_GetSlotList(CK_TRUE, NULL, n)) != CKR_OK)
		goto fail;
	if (*n == 0)
		return VV_OK;
	if ((*slots = calloc(*n, sizeof(**slots))) == NULL)
		return vv_p11_fail(p, VV_ERR_NOMEM, "out of memory");
	if ((rv = mod->C_GetSlotList(CK_TRUE, *slots, n)) != CKR_OK)
		goto fail;
	return VV_OK;
fail:
	free(*slots);
	*slots = NULL;
	return vv_p11_fail(p, VV_ERR_HSM, "C_GetSlotList: %s",
	    vv_p11_rv_name(rv));
}

static int
scan_module(struct vv_p11 *p, P11KitUri *uri, CK_FUNCTION_LIST *mod,
    struct match *m)
{
	CK_INFO info;
	CK_SLOT_ID *slots;
	CK_ULONG n, i;
	CK_RV rv;
	int r;

	if ((rv = mod->C_GetInfo(&info)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_GetInfo: %s",
		    vv_p11_rv_name(rv));
	if (!p11_kit_uri_match_module_info(uri, &info))
		return VV_OK;
	if ((r = slot_list(p, mod, &slots, &n)) != VV_OK)
		return r;
	for (i = 0; i < n; i++) {
		if (!slot_matches(mod, uri, slots[i]))
			continue;
		if (m->n++ == 0) {
			m->mod = mod;
			m->slot = slots[i];
		}
	}
	free(slots);
	return VV_OK;
}

/* Finds the one token matching uri; sets p->mod when searching mods. */
static int
find_token(struct vv_p11 *p, P11KitUri *uri, CK_SLOT_ID *slot)
{
	const char *name = p11_kit_uri_get_module_name(uri);
	struct match m = { NULL, 0, 0 };
	char label[VV_P11_TOKLABEL + 1];
	size_t i;
	int r;

	if (p->mods == NULL) {
		if ((r = scan_module(p, uri, p->mod, &m)) != VV_OK)
			return r;
	} else {
		for (i = 0; p->mods[i] != NULL; i++) {
			if (name != NULL && !module_named(p->mods[i], name))
				continue;
			if ((r = scan_module(p, uri, p->mods[i], &m)) != VV_OK)
				return r;
		}
	}
	uri_label(uri, label, sizeof(label));
	if (m.n == 0)
		return vv_p11_fail(p, VV_ERR_HSM, "no token matches the "
		    "PKCS#11 URI (token '%s')", label);
	if (m.n > 1)
		return vv_p11_fail(p, VV_ERR_HSM, "%zu tokens match the "
		    "PKCS#11 URI (token '%s'); name one", m.n, label);
	p->mod = m.mod;
	*slot = m.slot;
	return VV_OK;
}

static int
login(struct vv_p11 *p, P11KitUri *uri, CK_SLOT_ID slot)
{
	char label[VV_P11_TOKLABEL + 1];
	char *pin = NULL;
	size_t pinlen = 0;
	CK_RV rv;
	int r;

	uri_label(uri, label, sizeof(label));
	if ((rv = p->mod->C_OpenSession(slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &p->sess)) != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_OpenSession (token '%s'): "
		    "%s", label, vv_p11_rv_name(rv));
	p->has_sess = 1;
	/* Read the PIN only now, so it lives in memory as briefly as can be. */
	r = vv_p11_pin_read(p, p11_kit_uri_get_pin_source(uri), &pin, &pinlen);
	if (r != VV_OK)
		return r;
	rv = p->mod->C_Login(p->sess, CKU_USER, (CK_UTF8CHAR *)pin, pinlen);
	vv_p11_pin_free(&pin);
	/*
	 * Login state belongs to the application, not the session: another
	 * handle of this process on the same token has already logged in.
	 * The token then checks no PIN, but this process holds it anyway.
	 */
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv != CKR_OK)
		return vv_p11_fail(p, VV_ERR_HSM, "C_Login (token '%s'): %s",
		    label, vv_p11_rv_name(rv));
	return VV_OK;
}

static int
open_uri(struct vv_p11 *p, const char *s)
{
	P11KitUri *uri = NULL;
	const char *path;
	CK_SLOT_ID slot = 0;
	int r;

	if ((r = uri_parse(p, s, &uri)) != VV_OK)
		return r;
	if ((path = p11_kit_uri_get_module_path(uri)) != NULL)
		r = load_path(p, path);
	else
		r = load_registered(p);
	if (r == VV_OK)
		r = find_token(p, uri, &slot);
	if (r == VV_OK)
		r = login(p, uri, slot);
	p11_kit_uri_free(uri);
	return r;
}

int
vv_p11_open(vv_p11 **out, const char *uri, char *errmsg, size_t errlen)
{
	struct vv_p11 *p;
	int r;

	if (errmsg != NULL && errlen > 0)
		errmsg[0] = '\0';
	if (out == NULL)
		return VV_ERR_INVALID;
	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		if (errmsg != NULL && errlen > 0)
			(void)snprintf(errmsg, errlen, "out of memory");
		return VV_ERR_NOMEM;
	}
	if (uri == NULL)
		r = vv_p11_fail(p, VV_ERR_INVALID, "no PKCS#11 URI");
	else
		r = open_uri(p, uri);
	if (r != VV_OK) {
		if (errmsg != NULL && errlen > 0)
			(void)snprintf(errmsg, errlen, "%s", p->errmsg);
		vv_p11_free(&p);
		return r;
	}
	*out = p;
	return VV_OK;
}

/*
 * Closing our session logs the token out once no other session of this
 * process is left on it; an explicit C_Logout would also log out other
 * handles on the same token.
 */
void
vv_p11_free(vv_p11 **pp)
{
	struct vv_p11 *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	if (p->has_sess)
		(void)p->mod->C_CloseSession(p->sess);
	if (p->mods != NULL)
		p11_kit_modules_finalize_and_release(p->mods);
	else if (p->mod != NULL) {
		if (p->initialized)
			(void)p11_kit_module_finalize(p->mod);
		p11_kit_module_release(p->mod);
	}
	sodium_memzero(p, sizeof(*p));
	free(p);
	*pp = NULL;
}

const char *
vv_p11_errmsg(const vv_p11 *p)
{
	if (p == NULL)
		return "no PKCS#11 handle";
	return p->errmsg[0] != '\0' ? p->errmsg : "no error";
}

void *
vv_p11_module(vv_p11 *p)
{
	return p->mod;
}

unsigned long
vv_p11_session(vv_p11 *p)
{
	return p->sess;
}
