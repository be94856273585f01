/*
 * event.c - the canonical encoding of compliance log entries.
 *
 * The hash chain, the Merkle tree and the tree-head signatures cover
 * these bytes, so a byte string names at most one event and an event
 * has exactly one encoding.  Both directions apply the same rules to the
 * same wire bytes (check_value), so the encoder refuses whatever the
 * decoder would, and encode(decode(b)) == b.
 *
 *   "VVEV" version(1) type(u16) seq(u64) time_ms(i64) outcome(u8)
 *   { tag(u8) len(u16) value }, tags strictly ascending
 *
 * A field is either absent or valid: an empty value is never encoded,
 * so there is no second way to say "absent".  Messages name the field,
 * never its value: entries carry credentials and signatures.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vault/event.h"
#include "vault/internal.h"
#include "vault/utf8.h"

#define MAGIC "VVEV"
#define HEADER_LEN (4 + 1 + 2 + 8 + 8 + 1)
#define TLV_LEN 3
#define CLASS_BITS ((1u << VV_CLASS_COUNT) - 2u)	/* 1 << 1 .. 1 << 4 */
#define COSE_ES256 (-7)
#define COSE_EDDSA (-8)

static const struct {
	int type;
	const char *name;
} types[] = {
	{ VV_EV_VAULT_CREATED, "vault-created" },
	{ VV_EV_HEARTBEAT, "heartbeat" },
	{ VV_EV_TREE_HEAD, "tree-head" },
	{ VV_EV_MIRROR_CAUGHT_UP, "mirror-caught-up" },
	{ VV_EV_IMPORT, "import" },
	{ VV_EV_RECORD_PUT, "record-put" },
	{ VV_EV_RECORD_PIN, "record-pin" },
	{ VV_EV_POLICY_SET, "policy-set" },
	{ VV_EV_ROLE_ADDED, "role-added" },
	{ VV_EV_TOKEN_ISSUED, "token-issued" },
	{ VV_EV_TOKEN_REVOKED, "token-revoked" },
	{ VV_EV_MANAGER_ENROLLED, "manager-enrolled" },
	{ VV_EV_DUAL_SETUP, "dual-setup" },
	{ VV_EV_RESHARE_DONE, "reshare-done" },
	{ VV_EV_UNSEAL_REQUEST, "unseal-request" },
	{ VV_EV_APPROVAL, "approval" },
	{ VV_EV_DENIAL, "denial" },
	{ VV_EV_EXPIRY, "expiry" },
	{ VV_EV_UNSEAL_COMPLETE, "unseal-complete" },
	{ VV_EV_RELEASE, "release" },
	{ VV_EV_RELEASE_REFUSED, "release-refused" },
	{ VV_EV_RECORD_READ, "record-read" },
	{ VV_EV_RECORD_LIST, "record-list" },
	{ VV_EV_RECORD_FIND, "record-find" },
	{ VV_EV_FREEZE, "freeze" },
	{ VV_EV_CANARY, "canary" },
	{ VV_EV_UNFREEZE, "unfreeze" },
	{ VV_EV_ROLE_CHANGED, "role-changed" },
	{ VV_EV_KEY_OPERATION, "key-operation" },
};

static const char *const outcomes[] = { "ok", "denied", "failed" };

const char *
vv_event_type_name(int type)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
}

int
vv_event_type_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0)
			return types[i].type;
	return 0;
}

const char *
vv_event_outcome_name(int outcome)
{
	if (outcome < 0 || (size_t)outcome >= sizeof(outcomes) /
	    sizeof(outcomes[0]))
		return NULL;
	return outcomes[outcome];
}

/* ------------------------------------------------------------ fields */

/* How struct vv_event holds a field. */
enum held {
	H_STR,		/* char[], NUL-terminated; "" is absent */
	H_BLOB,		/* uint8_t[], its size_t length at aux; 0 is absent */
	H_REFS,		/* refs[][16], nrefs at aux */
	H_BYTES,	/* uint8_t[max], its int has_* at aux */
	H_INT		/* a max-byte integer, its int has_* at aux */
};

/* What a value must be, beyond its length. */
enum rule {
	R_ANY, R_NAME, R_HEX, R_TEXT, R_REFS, R_CLASSES, R_ALG, R_THRESHOLD
};

struct field {
	const char *name;	/* in messages */
	uint8_t held;
	uint8_t rule;
	uint16_t min, max;	/* bytes of the value on the wire */
	size_t off, aux;	/* in struct vv_event */
};

#define OFF(m) offsetof(struct vv_event, m)
#define STR(n, r, lo, hi, m) { n, H_STR, r, lo, hi, OFF(m), 0 }
#define BLOB(n, m) { n, H_BLOB, R_ANY, 1, VV_EVENT_BLOB_MAX, OFF(m), \
	OFF(m ## _len) }
#define BYTES(n, len, m) { n, H_BYTES, R_ANY, len, len, OFF(m), \
	OFF(has_ ## m) }
#define INT(n, r, len, m) { n, H_INT, r, len, len, OFF(m), OFF(has_ ## m) }

/* Indexed by tag; the table's order is the encoding's order. */
static const struct field fields[VV_TAG_MAX + 1] = {
	[VV_TAG_ACTOR] = STR("actor", R_NAME, 1, VV_EVENT_NAME_MAX - 1,
	    actor),
	[VV_TAG_ROLE] = STR("role", R_NAME, 1, VV_EVENT_NAME_MAX - 1, role),
	[VV_TAG_TOKEN_ID] = STR("token id", R_HEX, 16, 16, token_id),
	[VV_TAG_REQUEST_ID] = STR("request id", R_HEX, 32, 32, request_id),
	[VV_TAG_MANAGER] = STR("manager", R_NAME, 1, VV_EVENT_NAME_MAX - 1,
	    manager),
	[VV_TAG_CLASSES] = INT("classes", R_CLASSES, 1, classes),
	[VV_TAG_REFS] = { "refs", H_REFS, R_REFS, VV_EVENT_REF_LEN,
	    VV_EVENT_REFS_MAX * VV_EVENT_REF_LEN, OFF(refs), OFF(nrefs) },
	[VV_TAG_COUNT] = INT("count", R_ANY, 8, count),
	[VV_TAG_DETAIL] = STR("detail", R_TEXT, 1, VV_EVENT_TEXT_MAX, detail),
	[VV_TAG_CRED_ID] = BLOB("credential id", cred_id),
	[VV_TAG_AAGUID] = BYTES("aaguid", 16, aaguid),
	[VV_TAG_SIGN_COUNT] = INT("sign count", R_ANY, 4, sign_count),
	[VV_TAG_AUTHDATA] = BLOB("authdata", authdata),
	[VV_TAG_SIG] = BLOB("signature", sig),
	[VV_TAG_CHALLENGE] = BYTES("challenge", 32, challenge),
	[VV_TAG_PUBKEY] = BLOB("public key", pubkey),
	[VV_TAG_ALG] = INT("alg", R_ALG, 4, alg),
	[VV_TAG_DIGEST] = BYTES("digest", 32, digest),
	[VV_TAG_EPOCH] = INT("epoch", R_ANY, 4, epoch),
	[VV_TAG_THRESHOLD] = INT("threshold", R_THRESHOLD, 1, threshold),
	[VV_TAG_EXPIRES] = INT("expires", R_ANY, 8, expires),
	[VV_TAG_TREE_SIZE] = INT("tree size", R_ANY, 8, tree_size),
	[VV_TAG_ROOT] = BYTES("root", 32, root),
};

/* The table's lengths must fit the structure's arrays: a string's max
 * plus its NUL, a blob's or a fixed field's max bytes. */
#define FITS(m, n) _Static_assert(sizeof(((struct vv_event *)0)->m) >= (n), \
	#m " too small")
FITS(actor, VV_EVENT_NAME_MAX);
FITS(role, VV_EVENT_NAME_MAX);
FITS(manager, VV_EVENT_NAME_MAX);
FITS(token_id, 17);
FITS(request_id, 33);
FITS(detail, VV_EVENT_TEXT_MAX + 1);
FITS(refs, VV_EVENT_REFS_MAX * VV_EVENT_REF_LEN);
FITS(cred_id, VV_EVENT_BLOB_MAX);
FITS(authdata, VV_EVENT_BLOB_MAX);
FITS(sig, VV_EVENT_BLOB_MAX);
FITS(pubkey, VV_EVENT_BLOB_MAX);
FITS(aaguid, 16);
FITS(challenge, 32);
FITS(digest, 32);
FITS(root, 32);
_Static_assert(VV_EVENT_NAME_MAX <= VV_NAME_MAX, "names outgrow "
    "vv_valid_name");

static uint64_t
get_be(const uint8_t *p, size_t n)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x = x << 8 | p[i];
	return x;
}

static void
put_be(uint8_t *p, uint64_t x, size_t n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)x;
		x >>= 8;
	}
}

/* One line of printable UTF-8: no C0 or C1 controls, no DEL.  The rule
 * request.c applies to a request's reason, which becomes a detail. */
static const char *
check_text(const uint8_t *p, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		if ((l = vv_utf8_len(p + i, n - i)) == 0)
			return "not UTF-8";
		if (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			return "control character";
		if (l == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return "control character";	/* U+0080..U+009F */
		i += l;
	}
	return NULL;
}

static const char *
check_name(const uint8_t *p, size_t n)
{
	char s[VV_EVENT_NAME_MAX];

	memcpy(s, p, n);	/* n < VV_EVENT_NAME_MAX: checked */
	s[n] = '\0';
	return vv_valid_name(s) ? NULL : "bad character";
}

static const char *
check_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return "not lowercase hex";
	return NULL;
}

/* The rules of a field's value; the wire bytes are all it looks at. */
static const char *
check_value(const struct field *f, const uint8_t *p, size_t n)
{
	uint32_t alg;

	if (n < f->min || n > f->max)
		return "bad length";
	if (f->held == H_STR && memchr(p, '\0', n) != NULL)
		return "embedded NUL";
	switch (f->rule) {
	case R_NAME:
		return check_name(p, n);
	case R_HEX:
		return check_hex(p, n);
	case R_TEXT:
		return check_text(p, n);
	case R_REFS:
		return n % VV_EVENT_REF_LEN != 0 ? "bad length" : NULL;
	case R_CLASSES:
		return p[0] == 0 || (p[0] & ~CLASS_BITS) != 0 ?
		    "unknown class" : NULL;
	case R_ALG:
		/* Compared as the wire's bits: no signed conversion. */
		alg = (uint32_t)get_be(p, 4);
		return alg != (uint32_t)COSE_ES256 &&
		    alg != (uint32_t)COSE_EDDSA ?
		    "unsupported algorithm" : NULL;
	case R_THRESHOLD:
		return p[0] < 2 ? "below 2" : NULL;
	default:
		return NULL;
	}
}

/*
 * The signed fields (alg, expires) are read and written through the
 * unsigned type of their width, which C allows (C11 6.5p7) and which
 * keeps their two's complement bits as they are on the wire.
 */
static uint64_t
load_int(const uint8_t *p, size_t n)
{
	if (n == 1)
		return *p;
	if (n == 4)
		return *(const uint32_t *)(const void *)p;
	return *(const uint64_t *)(const void *)p;
}

static void
store_int(uint8_t *p, size_t n, uint64_t x)
{
	if (n == 1)
		*p = (uint8_t)x;
	else if (n == 4)
		*(uint32_t *)(void *)p = (uint32_t)x;
	else
		*(uint64_t *)(void *)p = x;
}

/*
 * The wire bytes of field f as e holds it, in *p and *n; *n == 0 when it
 * is absent.  Lengths are not trusted here: check_value refuses one over
 * the field's max before anything reads the value.
 */
static void
view(const struct vv_event *e, const struct field *f, uint8_t tmp[8],
    const uint8_t **p, size_t *n)
{
	const uint8_t *base = (const uint8_t *)e;
	size_t nrefs;

	*p = base + f->off;
	switch (f->held) {
	case H_STR:
		/* At most max + 1 bytes, all inside the array. */
		*n = strnlen((const char *)*p, (size_t)f->max + 1);
		break;
	case H_BLOB:
		*n = *(const size_t *)(const void *)(base + f->aux);
		break;
	case H_REFS:
		nrefs = *(const size_t *)(const void *)(base + f->aux);
		/* Too many is too long, and must not wrap to "absent". */
		*n = nrefs > VV_EVENT_REFS_MAX ? (size_t)f->max + 1 :
		    nrefs * VV_EVENT_REF_LEN;
		break;
	case H_BYTES:
		*n = *(const int *)(const void *)(base + f->aux) ? f->max : 0;
		break;
	default:	/* H_INT */
		*n = *(const int *)(const void *)(base + f->aux) ? f->max : 0;
		if (*n != 0)
			put_be(tmp, load_int(*p, *n), *n);
		*p = tmp;
		break;
	}
}

/* Puts a checked value into e (zeroed by the caller). */
static void
store(struct vv_event *e, const struct field *f, const uint8_t *p,
    size_t n)
{
	uint8_t *base = (uint8_t *)e;

	if (f->held == H_INT)
		store_int(base + f->off, n, get_be(p, n));
	else
		memcpy(base + f->off, p, n);
	if (f->held == H_BLOB)
		*(size_t *)(void *)(base + f->aux) = n;
	else if (f->held == H_REFS)
		*(size_t *)(void *)(base + f->aux) = n / VV_EVENT_REF_LEN;
	else if (f->held == H_BYTES || f->held == H_INT)
		*(int *)(void *)(base + f->aux) = 1;
}

/* The header's rules, both directions. */
static const char *
check_header(const struct vv_event *e)
{
	if (vv_event_type_name(e->type) == NULL)
		return "unknown type";
	if (e->time_ms < 0)
		return "negative time";
	if (vv_event_outcome_name(e->outcome) == NULL)
		return "unknown outcome";
	return NULL;
}

/* ------------------------------------------------------------ encode */

struct wbuf {
	uint8_t *p;
	size_t len;
	int full;
};

/* VV_EVENT_ENC_MAX bounds the largest valid event; the check is a
 * second line should a rule and that bound ever disagree. */
static void
put(struct wbuf *w, const void *d, size_t n)
{
	if (w->full || VV_EVENT_ENC_MAX - w->len < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void
put_header(struct wbuf *w, const struct vv_event *e)
{
	uint8_t b[HEADER_LEN];

	memcpy(b, MAGIC, 4);
	b[4] = VV_EVENT_VERSION;
	put_be(b + 5, e->type, 2);
	put_be(b + 7, e->seq, 8);
	put_be(b + 15, (uint64_t)e->time_ms, 8);
	b[23] = e->outcome;
	put(w, b, sizeof(b));
}

int
vv_event_encode(const struct vv_event *e, uint8_t *out, size_t *outlen)
{
	struct wbuf w = { out, 0, 0 };
	const uint8_t *p;
	uint8_t tmp[8], tl[TLV_LEN];
	size_t tag, n;

	*outlen = 0;
	if (check_header(e) != NULL)
		return VV_ERR_INPUT;
	put_header(&w, e);
	for (tag = 1; tag <= VV_TAG_MAX; tag++) {
		view(e, &fields[tag], tmp, &p, &n);
		if (n == 0)
			continue;
		if (check_value(&fields[tag], p, n) != NULL)
			return VV_ERR_INPUT;
		tl[0] = (uint8_t)tag;
		put_be(tl + 1, n, 2);
		put(&w, tl, sizeof(tl));
		put(&w, p, n);
	}
	if (w.full)
		return VV_ERR_INPUT;
	*outlen = w.len;
	return VV_OK;
}

/* ------------------------------------------------------------ decode */

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	const char *field;	/* where it broke; NULL: the header */
	const char *bad;	/* why */
};

static int
fail(struct rbuf *r, const char *field, const char *bad)
{
	r->field = field;
	r->bad = bad;
	return -1;
}

static int
take_header(struct rbuf *r, struct vv_event *e)
{
	const uint8_t *p = r->p;

	if (r->len < HEADER_LEN)
		return fail(r, NULL, "truncated header");
	if (memcmp(p, MAGIC, 4) != 0 || p[4] != VV_EVENT_VERSION)
		return fail(r, NULL, "not a version 1 log entry");
	e->type = (uint16_t)get_be(p + 5, 2);
	e->seq = get_be(p + 7, 8);
	e->time_ms = (int64_t)get_be(p + 15, 8);
	e->outcome = p[23];
	r->off = HEADER_LEN;
	if ((r->bad = check_header(e)) != NULL)
		return -1;
	return 0;
}

/* One field: its tag above the last one's, whole, and valid. */
static int
take_field(struct rbuf *r, struct vv_event *e, unsigned *last)
{
	const struct field *f;
	const uint8_t *p;
	const char *bad;
	unsigned tag;
	size_t n;

	if (r->len - r->off < TLV_LEN)
		return fail(r, NULL, "truncated field header");
	p = r->p + r->off;
	tag = p[0];
	n = (size_t)get_be(p + 1, 2);
	r->off += TLV_LEN;
	if (tag == 0 || tag > VV_TAG_MAX)
		return fail(r, NULL, "unknown field tag");
	f = &fields[tag];
	if (tag <= *last)
		return fail(r, f->name, "out of order or repeated");
	*last = tag;
	if (r->len - r->off < n)
		return fail(r, f->name, "truncated");
	if ((bad = check_value(f, r->p + r->off, n)) != NULL)
		return fail(r, f->name, bad);
	store(e, f, r->p + r->off, n);
	r->off += n;
	return 0;
}

int
vv_event_decode(const uint8_t *in, size_t len, struct vv_event *e,
    char *err, size_t errlen)
{
	struct rbuf r = { in, len, 0, NULL, NULL };
	unsigned last = 0;

	memset(e, 0, sizeof(*e));
	if (take_header(&r, e) == 0)
		while (r.off < r.len && take_field(&r, e, &last) == 0)
			continue;
	if (r.bad == NULL)
		return VV_OK;
	memset(e, 0, sizeof(*e));
	if (err == NULL || errlen == 0)
		return VV_ERR_INPUT;
	if (r.field != NULL)
		(void)snprintf(err, errlen, "malformed log entry: %s: %s",
		    r.field, r.bad);
	else
		(void)snprintf(err, errlen, "malformed log entry: %s", r.bad);
	return VV_ERR_INPUT;
}
