/*
 * session_int.h - a reader's session, shared by session.c (reads) and
 * session_audit.c (their compliance log entries).
 */
#ifndef VV_SESSION_INT_H
#define VV_SESSION_INT_H

#include "vault/internal.h"

#define VV_AUDIT_KINDS 3	/* get, list, find */
#define VV_AUDIT_PENDING 32	/* entries (of 255 reads) before a flush */

struct vv_event;

struct vv_session {
	vv_vault *v;
	struct vv_auth ti;
	struct vv_keys *keys;
	sqlite3_stmt *get;	/* prepared once: a CRM reads one by one */
	sqlite3_stmt *check;	/* vv_session_check's, prepared at first use */
	struct vv_event *pending[VV_AUDIT_PENDING];
	size_t npending;
	int current[VV_AUDIT_KINDS];	/* index in pending, or -1 */
	int audit_off;
};

/* Notes that rec was read (type VV_EV_RECORD_READ, _LIST or _FIND). */
int vv_audit_read(vv_session *s, int type, const vv_record *rec);
/* The same for a record known by id only, with the field classes seen
 * (bits 1 << vv_class). */
int vv_audit_ref(vv_session *s, int type, const char *external_id,
    unsigned classes);
/* A lookup (by kind: "phone", "email") that found nothing: an entry of
 * its own, so that probing a list of contacts leaves a trace. */
int vv_audit_miss(vv_session *s, const char *kind);
/* A canary was read (by a read of type): an alert entry of its own. */
int vv_audit_canary(vv_session *s, int type, const char *external_id);

/* Calls fn for each row of st (VV_RECORD_COLUMNS) the session may read,
 * decrypted and logged as reads of type; rows in tiers the role does not
 * read, or that it may not see, are skipped. */
int vv_session_walk(vv_session *s, sqlite3_stmt *st, int type,
    vv_record_fn *fn, void *arg);
/* 1 for an own-clients-only role. */
int vv_session_own_only(const vv_session *s);
/* Whether the row st (owner and canary flag in those columns) exists for
 * this session: in its segment, and not another owner's canary. */
int vv_session_sees(const vv_session *s, sqlite3_stmt *st, int owner_col,
    int canary_col);
/* Forgets pending entries. */
void vv_audit_drop(vv_session *s);
/* Benchmarks only, to measure reads with and without their log: not in
 * the public header and not exported by the shared library. */
void vv_session_set_audit(vv_session *s, int on);

#endif /* VV_SESSION_INT_H */
