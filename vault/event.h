/*
 * event.h - compliance log entries and their canonical encoding.
 *
 * Every security-relevant act is an event.  Its encoding is what the
 * hash chain, the Merkle tree and the signatures cover, so there is
 * exactly one encoding of any event (encode(decode(b)) == b), and the
 * decoder refuses everything else.  No client data in clear: records
 * appear as keyed pseudonyms (16 bytes), contacts never.
 *
 *   "VVEV" version(1) type(u16) seq(u64) time_ms(i64) outcome(u8)
 *   then fields: tag(u8) len(u16) value, tags strictly ascending,
 *   each at most once, no trailing bytes.  Integers big-endian.
 */
#ifndef VV_EVENT_H
#define VV_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define VV_EVENT_VERSION   1
#define VV_EVENT_NAME_MAX  64u	/* strings of names: < 64 bytes */
#define VV_EVENT_TEXT_MAX  500u	/* detail: bytes of printable UTF-8 */
#define VV_EVENT_REF_LEN   16u	/* a record pseudonym */
#define VV_EVENT_REFS_MAX  255u
#define VV_EVENT_BLOB_MAX  1024u	/* credential id, authdata, sig, ... */
#define VV_EVENT_ENC_MAX   (32u + 64u * 8u + VV_EVENT_TEXT_MAX + \
	VV_EVENT_REFS_MAX * VV_EVENT_REF_LEN + 4u * VV_EVENT_BLOB_MAX)

/* Event types; numbers are never reused. */
enum vv_event_type {
	VV_EV_VAULT_CREATED = 1,
	VV_EV_HEARTBEAT = 2,	/* the log is alive while idle */
	VV_EV_TREE_HEAD = 3,	/* a signed tree head was made */
	VV_EV_MIRROR_CAUGHT_UP = 4,
	VV_EV_IMPORT = 10,	/* count records; detail: file name */
	VV_EV_RECORD_PUT = 11,	/* refs: the record */
	VV_EV_RECORD_PIN = 12,
	VV_EV_POLICY_SET = 13,	/* detail: the policy; count: records moved */
	VV_EV_ROLE_ADDED = 20,
	VV_EV_TOKEN_ISSUED = 21,
	VV_EV_TOKEN_REVOKED = 22,
	VV_EV_ROLE_CHANGED = 23,	/* detail: the new budget */
	VV_EV_MANAGER_ENROLLED = 30,	/* credential, alg, pubkey, aaguid */
	VV_EV_DUAL_SETUP = 31,	/* threshold, count managers, epoch */
	VV_EV_RESHARE_DONE = 32,
	VV_EV_UNSEAL_REQUEST = 40,	/* request id, digest, refs, detail =
					 * reason, expires */
	VV_EV_APPROVAL = 41,	/* manager, credential, aaguid, sign
				 * count, authdata, sig, challenge */
	VV_EV_DENIAL = 42,
	VV_EV_EXPIRY = 43,
	VV_EV_UNSEAL_COMPLETE = 44,	/* key recombined, release sealed */
	VV_EV_RELEASE = 45,	/* refs, classes, to whom */
	VV_EV_RELEASE_REFUSED = 46,	/* the mirror could not be written */
	VV_EV_RECORD_READ = 50,	/* refs, classes, token, user, role */
	VV_EV_RECORD_LIST = 51,	/* count records returned */
	VV_EV_RECORD_FIND = 52,
	VV_EV_FREEZE = 60,
	VV_EV_CANARY = 61,	/* a canary read (refs), or planted */
	VV_EV_UNFREEZE = 62,
	VV_EV_KEY_OPERATION = 70	/* detail names it */
};

enum vv_event_outcome {
	VV_OUT_OK = 0,
	VV_OUT_DENIED = 1,	/* refused by a rule */
	VV_OUT_FAILED = 2	/* an error */
};

/* Field tags, in encoding order. */
enum vv_event_tag {
	VV_TAG_ACTOR = 1,	/* user, manager or "administrator" */
	VV_TAG_ROLE = 2,
	VV_TAG_TOKEN_ID = 3,	/* 16 hex */
	VV_TAG_REQUEST_ID = 4,	/* 32 hex */
	VV_TAG_MANAGER = 5,
	VV_TAG_CLASSES = 6,	/* u8: bit 1 << vv_class */
	VV_TAG_REFS = 7,	/* n * 16 bytes */
	VV_TAG_COUNT = 8,	/* u64 */
	VV_TAG_DETAIL = 9,	/* printable UTF-8, one line */
	VV_TAG_CRED_ID = 10,
	VV_TAG_AAGUID = 11,	/* 16 bytes */
	VV_TAG_SIGN_COUNT = 12,	/* u32 */
	VV_TAG_AUTHDATA = 13,
	VV_TAG_SIG = 14,
	VV_TAG_CHALLENGE = 15,	/* 32 bytes: the clientDataHash signed */
	VV_TAG_PUBKEY = 16,
	VV_TAG_ALG = 17,	/* i32, COSE */
	VV_TAG_DIGEST = 18,	/* 32 bytes: SHA-256 of a request */
	VV_TAG_EPOCH = 19,	/* u32 */
	VV_TAG_THRESHOLD = 20,	/* u8 */
	VV_TAG_EXPIRES = 21,	/* i64, Unix seconds */
	VV_TAG_TREE_SIZE = 22,	/* u64 */
	VV_TAG_ROOT = 23,	/* 32 bytes */
	VV_TAG_MAX = 23
};

/*
 * An event as the code builds it.  Strings are NUL-terminated; an empty
 * string, a zero length or has_* == 0 means "absent" (not encoded).
 */
struct vv_event {
	uint16_t type;
	uint64_t seq;
	int64_t time_ms;
	uint8_t outcome;
	char actor[VV_EVENT_NAME_MAX];
	char role[VV_EVENT_NAME_MAX];
	char token_id[17];
	char request_id[33];
	char manager[VV_EVENT_NAME_MAX];
	int has_classes;
	uint8_t classes;
	size_t nrefs;
	uint8_t refs[VV_EVENT_REFS_MAX][VV_EVENT_REF_LEN];
	int has_count;
	uint64_t count;
	char detail[VV_EVENT_TEXT_MAX + 1];
	size_t cred_id_len;
	uint8_t cred_id[VV_EVENT_BLOB_MAX];
	int has_aaguid;
	uint8_t aaguid[16];
	int has_sign_count;
	uint32_t sign_count;
	size_t authdata_len;
	uint8_t authdata[VV_EVENT_BLOB_MAX];
	size_t sig_len;
	uint8_t sig[VV_EVENT_BLOB_MAX];
	int has_challenge;
	uint8_t challenge[32];
	size_t pubkey_len;
	uint8_t pubkey[VV_EVENT_BLOB_MAX];
	int has_alg;
	int32_t alg;
	int has_digest;
	uint8_t digest[32];
	int has_epoch;
	uint32_t epoch;
	int has_threshold;
	uint8_t threshold;
	int has_expires;
	int64_t expires;
	int has_tree_size;
	uint64_t tree_size;
	int has_root;
	uint8_t root[32];
};

/* Canonical bytes of e into out (VV_EVENT_ENC_MAX bytes); VV_ERR_INPUT
 * when e breaks a rule the decoder enforces (a bad string, too many
 * refs, an unknown type). */
int vv_event_encode(const struct vv_event *e, uint8_t *out, size_t *outlen);

/* Parses and validates; VV_ERR_INPUT with a message naming the field in
 * err.  e is zeroed first. */
int vv_event_decode(const uint8_t *in, size_t len, struct vv_event *e,
    char *err, size_t errlen);

/* "unseal-request", "approval", ...; NULL for an unknown type.  And
 * back: 0 for an unknown name. */
const char *vv_event_type_name(int type);
int vv_event_type_from_name(const char *name);
const char *vv_event_outcome_name(int outcome);

#endif /* VV_EVENT_H */
