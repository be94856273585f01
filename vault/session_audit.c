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

/* A new pending entry of type for this session's reader; a full set of
 * entries is flushed first. */
static int
new_entry(vv_session *s, int type, struct vv_event **out)
{
	struct vv_event *e;
	int r;

	if (s->npending == VV_AUDIT_PENDING) {
		if ((r = vv_session_flush(s)) != VV_OK)
			return r;
	}
	if ((e = malloc(sizeof(*e))) == NULL)
		return vv_fail(s->v, VV_ERR_NOMEM, "out of memory");
	vv_clog_event(e, type);
	(void)snprintf(e->actor, sizeof(e->actor), "%s", s->ti.user);
	(void)snprintf(e->role, sizeof(e->role), "%s", s->ti.role);
	(void)snprintf(e->token_id, sizeof(e->token_id), "%s", s->ti.id);
	s->pending[s->npending++] = e;
	*out = e;
	return VV_OK;
}

/* The entry this kind of read goes into: the current one while it has
 * room, else a new one. */
static int
pending(vv_session *s, int type, struct vv_event **out)
{
	int k = kind(type), r, c = s->current[k];

	if (c >= 0 && (size_t)c < s->npending && s->pending[c] != NULL &&
	    s->pending[c]->nrefs < VV_EVENT_REFS_MAX) {
		*out = s->pending[c];
		return VV_OK;
	}
	if ((r = new_entry(s, type, out)) != VV_OK)
		return r;
	(*out)->has_count = 1;
	/* After new_entry: a flush in it resets current[]. */
	s->current[k] = (int)s->npending - 1;
	return VV_OK;
}

int
vv_audit_ref(vv_session *s, int type, const char *external_id,
    unsigned classes)
{
	struct vv_event *e = NULL;
	int r;

	if (s->audit_off)
		return VV_OK;
	if ((r = pending(s, type, &e)) != VV_OK)
		return r;
	e->has_classes = 1;
	e->classes |= (uint8_t)classes;
	e->count++;
	vv_clog_ref(s->v, external_id, e->refs[e->nrefs++]);
	return VV_OK;
}

int
vv_audit_read(vv_session *s, int type, const vv_record *rec)
{
	unsigned cls;

	cls = 1u << VV_CLASS_IDENTITY | 1u << VV_CLASS_PROFILE |
	    (vv_record_masked(rec, VV_FIELD_PHONE) ? 1u << VV_CLASS_MASKED :
	    1u << VV_CLASS_CONTACT);
	return vv_audit_ref(s, type, vv_record_external_id(rec), cls);
}

/* Never merged with other reads, and logged even in the benchmark's
 * unlogged mode: an alert is not an access record. */
int
vv_audit_canary(vv_session *s, int type, const char *external_id)
{
	struct vv_event *e = NULL;
	int r;

	if ((r = new_entry(s, VV_EV_CANARY, &e)) != VV_OK)
		return r;
	e->outcome = VV_OUT_DENIED;
	e->nrefs = 1;
	vv_clog_ref(s->v, external_id, e->refs[0]);
	(void)snprintf(e->detail, sizeof(e->detail), "canary client %s by "
	    "token %s of user %s", type == VV_EV_RECORD_READ ? "read" :
	    type == VV_EV_RECORD_LIST ? "listed" : "looked up", s->ti.id,
	    s->ti.user);
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

int
vv_audit_miss(vv_session *s, const char *kind)
{
	struct vv_event *e = NULL;
	int r;

	if (s->audit_off)
		return VV_OK;
	if ((r = new_entry(s, VV_EV_RECORD_FIND, &e)) != VV_OK)
		return r;
	e->has_count = 1;
	(void)snprintf(e->detail, sizeof(e->detail), "lookup by %s: no match",
	    kind);
	return VV_OK;
}

/* ---------------------------------------------------------- group commit */

struct vv_audit {
	size_t n;
	struct vv_event *e[VV_AUDIT_PENDING];
};

void
vv_audit_free(vv_audit **ap)
{
	vv_audit *a;
	size_t i;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->e[i]);
	free(a);
	*ap = NULL;
}

size_t
vv_audit_alerts(const vv_audit *a)
{
	size_t i, n = 0;

	for (i = 0; a != NULL && i < a->n; i++)
		n += a->e[i]->type == VV_EV_CANARY;
	return n;
}

int
vv_session_take_audit(vv_session *s, vv_audit **out)
{
	vv_audit *a;
	size_t i;

	*out = NULL;
	if (s->npending == 0)
		return VV_OK;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return vv_fail(s->v, VV_ERR_NOMEM, "out of memory");
	for (i = 0; i < s->npending; i++) {
		a->e[i] = s->pending[i];
		s->pending[i] = NULL;
	}
	a->n = s->npending;
	s->npending = 0;
	for (i = 0; i < VV_AUDIT_KINDS; i++)
		s->current[i] = -1;
	*out = a;
	return VV_OK;
}

/* Whether b's records can join entry a: reads of one kind by one token,
 * with room left.  Canary alerts and everything else stay apart. */
static int
mergeable(const struct vv_event *a, const struct vv_event *b)
{
	if (a->type != b->type || (a->type != VV_EV_RECORD_READ &&
	    a->type != VV_EV_RECORD_LIST && a->type != VV_EV_RECORD_FIND))
		return 0;
	/* An entry with a detail (a lookup that found nothing) says
	 * something the merged one would not. */
	if (a->detail[0] != '\0' || b->detail[0] != '\0')
		return 0;
	return strcmp(a->token_id, b->token_id) == 0 &&
	    strcmp(a->actor, b->actor) == 0 && strcmp(a->role, b->role) == 0 &&
	    a->nrefs + b->nrefs <= VV_EVENT_REFS_MAX;
}

static void
merge(struct vv_event *a, const struct vv_event *b)
{
	memcpy(a->refs[a->nrefs], b->refs, b->nrefs * VV_EVENT_REF_LEN);
	a->nrefs += b->nrefs;
	a->count += b->count;
	a->classes |= b->classes;
}

/*
 * Entries are merged into the latest open entry of the same reader and
 * kind; with many workers' requests in one batch, that keeps one entry
 * per token and kind instead of one per request.
 */
int
vv_audit_commit(vv_vault *v, vv_audit **batches, size_t n)
{
	struct vv_event **open = NULL;
	size_t i, j, k, nopen = 0, total = 0;
	int r;

	for (i = 0; i < n; i++)
		total += batches[i] != NULL ? batches[i]->n : 0;
	if (total == 0)
		return VV_OK;
	if ((open = calloc(total, sizeof(*open))) == NULL)
		return vv_fail(v, VV_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		for (j = 0; batches[i] != NULL && j < batches[i]->n; j++) {
			struct vv_event *e = batches[i]->e[j];

			for (k = nopen; k > 0; k--)
				if (mergeable(open[k - 1], e))
					break;
			if (k > 0)
				merge(open[k - 1], e);
			else
				open[nopen++] = e;
		}
	}
	if ((r = vv_store_begin(v)) != VV_OK)
		goto out;
	for (k = 0; k < nopen && r == VV_OK; k++)
		r = vv_clog_append(v, open[k]);
	v->mirror_defer = 1;
	if (r != VV_OK || (r = vv_store_commit(v)) != VV_OK)
		vv_store_rollback(v);
	v->mirror_defer = 0;
out:
	free(open);
	return r;
}

int
vv_compliance_sync(vv_vault *v)
{
	int r = vv_mirror_sync(v);

	return r == VV_ERR_NOT_FOUND ? VV_OK : r;
}
