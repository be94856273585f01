/*
 * session_audit.c - reads into the compliance log, group-committed.
 *
 * Every record a session reads is noted in a pending entry of its kind
 * (get, list, find), as a pseudonym with the field classes seen; an
 * entry holds 255 records, then the next one starts.  vv_session_flush
 * writes the pending entries in one transaction: many reads share an
 * entry and thousands share one fsync, which is what keeps logged reads
 * nearly as fast as unlogged ones.  The caller must flush before a
 * response leaves (the CLI and the API server do); VV_AUDIT_PENDING full
 * entries are flushed on the spot, and vv_session_free flushes what is
 * left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/clog.h"
#include "vault/session_int.h"

static int
kind(int type)
{
	return type == VV_EV_RECORD_READ ? 0 : type == VV_EV_RECORD_LIST ? 1 :
	    2;
}

/* The entry this kind of read goes into: the current one while it has
 * room, else a new one; a full set of entries is flushed first. */
static int
pending(vv_session *s, int type, struct vv_event **out)
{
	struct vv_event *e;
	int k = kind(type), r, c = s->current[k];

	if (c >= 0 && (size_t)c < s->npending && s->pending[c] != NULL &&
	    s->pending[c]->nrefs < VV_EVENT_REFS_MAX) {
		*out = s->pending[c];
		return VV_OK;
	}
	if (s->npending == VV_AUDIT_PENDING &&
	    (r = vv_session_flush(s)) != VV_OK)
		return r;
	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(s->v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, type);
	(void)snprintf(e->actor, sizeof(e->actor), "%s", s->ti.user);
	(void)snprintf(e->role, sizeof(e->role), "%s", s->ti.role);
	(void)snprintf(e->token_id, sizeof(e->token_id), "%s", s->ti.id);
	e->has_count = 1;
	s->current[k] = (int)s->npending;
	s->pending[s->npending++] = e;
	*out = e;
	return VV_OK;
}

int
vv_audit_read(vv_session *s, int type, const vv_record *rec)
{
	struct vv_event *e = NULL;
	unsigned cls;
	int r;

	if (s->audit_off)
		return VV_OK;
	if ((r = pending(s, type, &e)) != VV_OK)
		return r;
	cls = 1u << VV_CLASS_IDENTITY | 1u << VV_CLASS_PROFILE |
	    (vv_record_masked(rec, VV_FIELD_PHONE) ? 1u << VV_CLASS_MASKED :
	    1u << VV_CLASS_CONTACT);
	e->has_classes = 1;
	e->classes |= (uint8_t)cls;
	e->count++;
	vv_clog_ref(s->v, vv_record_external_id(rec), e->refs[e->nrefs++]);
	return VV_OK;
}

void
vv_audit_drop(vv_session *s)
{
	size_t i;

	for (i = 0; i < s->npending; i++) {
		free(s->pending[i]);
		s->pending[i] = NULL;
	}
	s->npending = 0;
	for (i = 0; i < VV_AUDIT_KINDS; i++)
		s->current[i] = -1;
}

int
vv_session_flush(vv_session *s)
{
	vv_vault *v = s->v;
	size_t i;
	int r;

	if (s->npending == 0)
		return VV_OK;
	if ((r = vv_store_begin(v)) != VV_OK)
		return r;
	for (i = 0; i < s->npending && r == VV_OK; i++)
		r = vv_clog_append(v, s->pending[i]);
	if (r != VV_OK || (r = vv_store_commit(v)) != VV_OK) {
		vv_store_rollback(v);
		return r;
	}
	vv_audit_drop(s);
	return VV_OK;
}

void
vv_session_set_audit(vv_session *s, int on)
{
	s->audit_off = !on;
}
