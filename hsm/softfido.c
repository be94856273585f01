/*
 * softfido.c - the soft authenticator behind libfido2's transport hooks.
 *
 * libfido2 calls tx(cmd, request) then rx(cmd, buffer) with raw CTAPHID
 * commands, no HID framing (src/nfc.c is its own transport of that
 * shape).  fido_dev_open's open(path) loads the state file: that is the
 * authenticator's power-up; close is its power-down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <sodium.h>

#include "hsm/softfido_int.h"

#define CTAPHID_INIT	0x06
#define CTAPHID_CBOR	0x10
#define CTAPHID_CANCEL	0x11
#define CAPABILITY_CBOR	0x04
#define CAPABILITY_NMSG	0x08	/* no CTAP1/U2F messages */
#define INIT_REPLY_LEN	17u

const uint8_t vv_softfido_aaguid[16] = {
	0x35, 0x8e, 0x21, 0x08, 0x66, 0xea, 0x57, 0xb5,
	0x24, 0x74, 0x85, 0xcc, 0xf6, 0xcf, 0x50, 0x4e
};

int
vv_sf_presence(const struct vv_softfido *sf)
{
	/* What a real token says when no one touches it before its
	 * timeout; the wait itself would only slow tests down. */
	return sf->st->presence == SF_PRESENCE_DENY ?
	    CTAP2_ERR_USER_ACTION_TIMEOUT : CTAP2_OK;
}

void
vv_softfido_free(struct vv_softfido **sfp)
{
	struct vv_softfido *sf;

	if (sfp == NULL || (sf = *sfp) == NULL)
		return;
	EVP_PKEY_free(sf->ka);
	free(sf->path);
	sodium_free(sf->g);	/* wipes the secret and the PIN token */
	sodium_memzero(sf, sizeof(*sf));
	free(sf);
	*sfp = NULL;
}

int
vv_sf_load(const char *path, struct vv_softfido **out, char *err,
    size_t errlen)
{
	struct vv_softfido *sf = NULL;
	size_t pl = strlen(VV_SOFTFIDO_PREFIX);

	*out = NULL;
	if (path == NULL) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "no state file");
		return -1;
	}
	if (strncmp(path, VV_SOFTFIDO_PREFIX, pl) == 0)
		path += pl;
	if (sodium_init() < 0 || (sf = calloc(1, sizeof(*sf))) == NULL)
		goto nomem;
	if ((sf->g = sodium_malloc(sizeof(*sf->g))) == NULL)
		goto nomem;
	memset(sf->g, 0, sizeof(*sf->g));
	sf->st = &sf->g->st;
	sf->token = sf->g->token;
	if (vv_sf_state_read(path, sf->st, err, errlen) != 0)
		goto fail;
	if ((sf->path = strdup(path)) == NULL ||
	    (sf->ka = vv_sf_p256_new()) == NULL)
		goto nomem;
	*out = sf;
	return 0;
nomem:
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "out of memory");
fail:
	vv_softfido_free(&sf);
	return -1;
}

int
vv_softfido_load(const char *path, struct vv_softfido **out)
{
	return vv_sf_load(path, out, NULL, 0);
}

int
vv_softfido_check(const char *path, char *err, size_t errlen)
{
	struct vv_softfido *sf = NULL;
	int r;

	r = vv_sf_load(path, &sf, err, errlen);
	vv_softfido_free(&sf);
	return r;
}

/* { 1: versions, 2: extensions, 3: aaguid, 4: options, 5: maxMsgSize,
 * 6: pinUvAuthProtocols, 8: maxCredentialIdLength, 10: algorithms },
 * every map in CTAP2 canonical order, which libfido2 checks. */
static cbor_item_t *
info_versions(const struct vv_softfido *sf)
{
	cbor_item_t *a, *v;

	if ((a = cbor_new_definite_array(2)) == NULL)
		return NULL;
	if ((v = cbor_build_string("FIDO_2_0")) == NULL ||
	    !cbor_array_push(a, cbor_move(v)))
		goto fail;
	if (sf->st->ctap21 && ((v = cbor_build_string("FIDO_2_1")) == NULL ||
	    !cbor_array_push(a, cbor_move(v))))
		goto fail;
	return a;
fail:
	cbor_decref(&a);
	return NULL;
}

/* pinUvAuthToken: true makes libfido2 ask for tokens with permissions
 * (subcommand 9) rather than with getPinToken (5). */
static cbor_item_t *
info_options(const struct vv_softfido *sf)
{
	const struct {
		const char	*name;
		int		 value, shown;
	} opt[] = {					/* canonical order */
		{ "rk", 0, 1 },
		{ "up", 1, 1 },
		{ "plat", 0, 1 },
		{ "clientPin", sf->st->has_pin, 1 },
		{ "pinUvAuthToken", 1, sf->st->ctap21 },
	};
	cbor_item_t *m;
	size_t i;

	if ((m = cbor_new_definite_map(5)) == NULL)
		return NULL;
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i].shown && vv_sf_put(m, cbor_build_string(opt[i].name),
		    cbor_build_bool(opt[i].value)) != 0) {
			cbor_decref(&m);
			return NULL;
		}
	return m;
}

static cbor_item_t *
info_protocols(const struct vv_softfido *sf)
{
	cbor_item_t *a, *v;
	size_t i;

	if ((a = cbor_new_definite_array(sf->st->nprotocols)) == NULL)
		return NULL;
	for (i = 0; i < sf->st->nprotocols; i++)
		if ((v = cbor_build_uint8(sf->st->protocols[i])) == NULL ||
		    !cbor_array_push(a, cbor_move(v))) {
			cbor_decref(&a);
			return NULL;
		}
	return a;
}

static cbor_item_t *
info_algorithms(void)
{
	static const int algs[] = { COSE_ES256, COSE_EDDSA };
	cbor_item_t *a, *m = NULL;
	size_t i;

	if ((a = cbor_new_definite_array(2)) == NULL)
		return NULL;
	for (i = 0; i < 2; i++) {
		if ((m = cbor_new_definite_map(2)) == NULL ||
		    vv_sf_put(m, cbor_build_string("alg"),
		    vv_sf_build_int(algs[i])) != 0 ||
		    vv_sf_put(m, cbor_build_string("type"),
		    cbor_build_string("public-key")) != 0 ||
		    !cbor_array_push(a, m))
			goto fail;
		cbor_decref(&m);
	}
	return a;
fail:
	if (m != NULL)
		cbor_decref(&m);
	cbor_decref(&a);
	return NULL;
}

static int
get_info(const struct vv_softfido *sf, cbor_item_t **resp)
{
	cbor_item_t *m, *ext = NULL, *s;

	if ((m = cbor_new_definite_map(8)) == NULL)
		return CTAP1_ERR_OTHER;
	*resp = m;
	if ((ext = cbor_new_definite_array(1)) == NULL ||
	    (s = cbor_build_string("hmac-secret")) == NULL ||
	    !cbor_array_push(ext, cbor_move(s))) {
		if (ext != NULL)
			cbor_decref(&ext);
		return CTAP1_ERR_OTHER;
	}
	if (vv_sf_put(m, cbor_build_uint8(1), info_versions(sf)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(2), ext) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(3), cbor_build_bytestring(
	    vv_softfido_aaguid, sizeof(vv_softfido_aaguid))) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(4), info_options(sf)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(5),
	    vv_sf_build_int(VV_SOFTFIDO_MSG_MAX)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(6), info_protocols(sf)) != 0 ||
	    vv_sf_put(m, cbor_build_uint8(8),
	    cbor_build_uint8(SF_ID_LEN)) != 0 ||
	    (sf->st->ctap21 && vv_sf_put(m, cbor_build_uint8(10),
	    info_algorithms()) != 0))
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

static int
dispatch(struct vv_softfido *sf, uint8_t cmd, const uint8_t *p, size_t len,
    cbor_item_t **resp)
{
	struct cbor_load_result res;
	cbor_item_t *req;
	int r;

	if (cmd == CTAP_GET_INFO)
		return len == 0 ? get_info(sf, resp) : CTAP1_ERR_INVALID_LENGTH;
	if (cmd != CTAP_MAKE_CREDENTIAL && cmd != CTAP_GET_ASSERTION &&
	    cmd != CTAP_CLIENT_PIN)
		return CTAP1_ERR_INVALID_COMMAND;
	if (len == 0)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (vv_sf_cbor_check(p, len) != 0 ||
	    (req = cbor_load(p, len, &res)) == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	if (!cbor_isa_map(req))
		r = CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	else if (cmd == CTAP_MAKE_CREDENTIAL)
		r = vv_sf_make_credential(sf, req, resp);
	else if (cmd == CTAP_GET_ASSERTION)
		r = vv_sf_get_assertion(sf, req, resp);
	else
		r = vv_sf_client_pin(sf, req, resp);
	cbor_decref(&req);
	return r;
}

size_t
vv_softfido_cbor(struct vv_softfido *sf, const uint8_t *req, size_t len,
    uint8_t *reply, size_t replymax)
{
	cbor_item_t *resp = NULL;
	size_t n;
	int r;

	if (replymax == 0)
		return 0;
	if (len == 0 || len > VV_SOFTFIDO_MSG_MAX)
		r = CTAP1_ERR_INVALID_LENGTH;
	else
		r = dispatch(sf, req[0], req + 1, len - 1, &resp);
	n = vv_sf_frame(reply, replymax, (uint8_t)r, resp);
	if (resp != NULL)
		cbor_decref(&resp);
	return n;
}

/* ------------------------------------------------------- libfido2 hooks */

static void *
io_open(const char *path)
{
	struct vv_softfido *sf = NULL;

	return vv_softfido_load(path, &sf) == 0 ? sf : NULL;
}

static void
io_close(void *handle)
{
	struct vv_softfido *sf = handle;

	vv_softfido_free(&sf);
}

/* With a transport set, libfido2 never reads or writes HID reports; it
 * only insists that these exist. */
static int
io_read(void *handle, unsigned char *buf, size_t len, int ms)
{
	(void)handle;
	(void)buf;
	(void)len;
	(void)ms;
	return -1;
}

static int
io_write(void *handle, const unsigned char *buf, size_t len)
{
	(void)handle;
	(void)buf;
	(void)len;
	return -1;
}

static int
tx(fido_dev_t *dev, uint8_t cmd, const unsigned char *buf, size_t len)
{
	struct vv_softfido *sf = fido_dev_io_handle(dev);

	if (sf == NULL || len > INT32_MAX)
		return -1;
	sodium_memzero(sf->reply, sizeof(sf->reply));
	sf->reply_len = 0;
	sf->init_pending = 0;
	switch (cmd) {
	case CTAPHID_INIT:
		if (len != sizeof(sf->nonce))
			return -1;
		memcpy(sf->nonce, buf, sizeof(sf->nonce));
		sf->init_pending = 1;
		break;
	case CTAPHID_CBOR:
		sf->reply_len = vv_softfido_cbor(sf, buf, len, sf->reply,
		    sizeof(sf->reply));
		break;
	case CTAPHID_CANCEL:
		break;	/* nothing runs in the background to cancel */
	default:
		return -1;
	}
	return (int)len;
}

/* nonce, channel id, CTAPHID version 2, device version 1.0.0, caps. */
static int
rx_init(struct vv_softfido *sf, unsigned char *buf, size_t len)
{
	static const uint8_t tail[] = { 0x00, 0x5f, 0x74, 0x01, 2, 1, 0, 0,
	    CAPABILITY_CBOR | CAPABILITY_NMSG };

	if (!sf->init_pending || len != INIT_REPLY_LEN)
		return -1;
	memcpy(buf, sf->nonce, sizeof(sf->nonce));
	memcpy(buf + sizeof(sf->nonce), tail, sizeof(tail));
	sf->init_pending = 0;
	return (int)INIT_REPLY_LEN;
}

static int
rx(fido_dev_t *dev, uint8_t cmd, unsigned char *buf, size_t len, int ms)
{
	struct vv_softfido *sf = fido_dev_io_handle(dev);
	size_t n;

	(void)ms;
	if (sf == NULL)
		return -1;
	if (cmd == CTAPHID_INIT)
		return rx_init(sf, buf, len);
	if (cmd != CTAPHID_CBOR || (n = sf->reply_len) == 0 || n > len)
		return -1;
	memcpy(buf, sf->reply, n);
	sodium_memzero(sf->reply, sizeof(sf->reply));
	sf->reply_len = 0;
	return (int)n;
}

int
vv_softfido_attach(fido_dev_t *dev)
{
	static const fido_dev_io_t io = { io_open, io_close, io_read,
	    io_write };
	static const fido_dev_transport_t t = { rx, tx };
	int r;

	if (dev == NULL)
		return FIDO_ERR_INVALID_ARGUMENT;
	if ((r = fido_dev_set_io_functions(dev, &io)) != FIDO_OK)
		return r;
	return fido_dev_set_transport_functions(dev, &t);
}
