/*
 * clog_dual.c - the log entries of dual control: enrolments, requests,
 * decisions (with the assertion itself, so that compliance can verify
 * it offline against the enrolled credential), completions, expiries
 * and releases.  Records appear as pseudonyms; contacts never.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/clog.h"
#include "vault/dual.h"

static struct vv_event *
new_event(vv_vault *v, int type)
{
	struct vv_event *e;

	if ((e = malloc(sizeof(*e))) == NULL) {
		(void)vv_fail(v, VV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	vv_clog_event(e, type);
	return e;
}

static int
append_free(vv_vault *v, struct vv_event *e)
{
	int r = vv_clog_append(v, e);

	sodium_memzero(e, sizeof(*e));
	free(e);
	return r;
}

static void
set_str(char *dst, size_t n, const char *src)
{
	(void)snprintf(dst, n, "%s", src != NULL ? src : "");
}

int
vv_clog_manager(vv_vault *v, const struct vv_manager *m)
{
	struct vv_event *e;

	if ((e = new_event(v, VV_EV_MANAGER_ENROLLED)) == NULL)
		return VV_ERR_NOMEM;
	set_str(e->actor, sizeof(e->actor), VV_ACTOR_ADMIN);
	set_str(e->manager, sizeof(e->manager), m->name);
	memcpy(e->cred_id, m->cred.id, m->cred.id_len);
	e->cred_id_len = m->cred.id_len;
	memcpy(e->pubkey, m->cred.pk, m->cred.pk_len);
	e->pubkey_len = m->cred.pk_len;
	e->has_alg = 1;
	e->alg = m->cred.alg;
	e->has_aaguid = 1;
	memcpy(e->aaguid, m->cred.aaguid, 16);
	e->has_sign_count = 1;
	e->sign_count = m->cred.sign_count;
	return append_free(v, e);
}

int
vv_clog_dual(vv_vault *v, int type, unsigned k, size_t n, uint32_t epoch)
{
	struct vv_event *e;

	if ((e = new_event(v, type)) == NULL)
		return VV_ERR_NOMEM;
	set_str(e->actor, sizeof(e->actor), VV_ACTOR_ADMIN);
	e->has_threshold = 1;
	e->threshold = (uint8_t)k;
	e->has_count = 1;
	e->count = n;
	e->has_epoch = 1;
	e->epoch = epoch;
	return append_free(v, e);
}

/* What every request entry carries: who, which request, its digest. */
static void
request_fields(vv_vault *v, struct vv_event *e, const struct vv_request *q,
    const uint8_t digest[32])
{
	size_t i;

	vv_hex(e->request_id, q->id, VV_REQ_ID_LEN);
	e->has_digest = 1;
	memcpy(e->digest, digest, 32);
	set_str(e->actor, sizeof(e->actor), q->requester);
	if (q->kind == VV_REQ_UNSEAL) {
		set_str(e->role, sizeof(e->role), q->role);
		set_str(e->token_id, sizeof(e->token_id), q->token_id);
	}
	for (i = 0; i < q->nrecords && i < VV_EVENT_REFS_MAX; i++)
		vv_clog_ref(v, q->records[i], e->refs[i]);
	e->nrefs = i;
}

int
vv_clog_request(vv_vault *v, const struct vv_request *q,
    const uint8_t digest[32])
{
	struct vv_event *e;
	const char *pre;
	size_t pl, rl;

	if ((e = new_event(v, VV_EV_UNSEAL_REQUEST)) == NULL)
		return VV_ERR_NOMEM;
	request_fields(v, e, q, digest);
	/* A re-split names no records; its reason says what it is (and
	 * is kept short enough for the prefix: vv_manager_reshare). */
	pre = q->kind == VV_REQ_RESHARE ? VV_RESHARE_PREFIX : "";
	pl = strlen(pre);
	rl = strlen(q->reason);
	if (pl + rl > VV_EVENT_TEXT_MAX) {
		sodium_memzero(e, sizeof(*e));
		free(e);
		return vv_fail(v, VV_ERR_INVALID, "the reason is too long");
	}
	memcpy(e->detail, pre, pl);
	memcpy(e->detail + pl, q->reason, rl + 1);
	e->has_expires = 1;
	e->expires = q->expires;
	return append_free(v, e);
}

int
vv_clog_decision(vv_vault *v, const struct vv_req *q, const char *manager,
    const char *decision, const struct vv_fido_assertion *a,
    const uint8_t cdh[32], uint32_t epoch, int outcome, const char *why)
{
	struct vv_event *e;
	int type = strcmp(decision, "approve") == 0 ? VV_EV_APPROVAL :
	    VV_EV_DENIAL;

	if ((e = new_event(v, type)) == NULL)
		return VV_ERR_NOMEM;
	vv_hex(e->request_id, q->req->id, VV_REQ_ID_LEN);
	e->has_digest = 1;
	memcpy(e->digest, q->digest, 32);
	set_str(e->actor, sizeof(e->actor), manager);
	set_str(e->manager, sizeof(e->manager), manager);
	e->outcome = (uint8_t)outcome;
	if (why != NULL)
		set_str(e->detail, sizeof(e->detail), why);
	if (a != NULL && a->authdata_len > 0 && a->sig_len > 0) {
		memcpy(e->authdata, a->authdata, a->authdata_len);
		e->authdata_len = a->authdata_len;
		memcpy(e->sig, a->sig, a->sig_len);
		e->sig_len = a->sig_len;
		e->has_sign_count = 1;
		e->sign_count = a->sign_count;
	}
	if (cdh != NULL) {
		e->has_challenge = 1;
		memcpy(e->challenge, cdh, 32);
	}
	e->has_epoch = 1;
	e->epoch = epoch;
	return append_free(v, e);
}

int
vv_clog_request_event(vv_vault *v, int type, const struct vv_req *q,
    int outcome, uint64_t count, const char *why)
{
	struct vv_event *e;

	if ((e = new_event(v, type)) == NULL)
		return VV_ERR_NOMEM;
	request_fields(v, e, q->req, q->digest);
	e->outcome = (uint8_t)outcome;
	if (type == VV_EV_RELEASE || type == VV_EV_RELEASE_REFUSED) {
		e->has_classes = 1;
		e->classes = 1u << VV_CLASS_CONTACT;
	}
	if (type == VV_EV_EXPIRY || type == VV_EV_UNSEAL_COMPLETE) {
		/* The records were named when the request was made. */
		e->nrefs = 0;
		set_str(e->actor, sizeof(e->actor), VV_ACTOR_ADMIN);
		e->role[0] = e->token_id[0] = '\0';
	}
	if (count > 0) {
		e->has_count = 1;
		e->count = count;
	}
	if (why != NULL)
		set_str(e->detail, sizeof(e->detail), why);
	return append_free(v, e);
}
