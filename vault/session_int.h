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
	struct vv_token_info ti;
	struct vv_keys *keys;
	sqlite3_stmt *get;	/* prepared once: a CRM reads one by one */
	struct vv_event *pending[VV_AUDIT_PENDING];
	size_t npending;
	int current[VV_AUDIT_KINDS];	/* index in pending, or -1 */
	int audit_off;
};

/* Notes that rec was read (type VV_EV_RECORD_READ, _LIST or _FIND). */
int vv_audit_read(vv_session *s, int type, const vv_record *rec);
/* Forgets pending entries. */
void vv_audit_drop(vv_session *s);
/* Benchmarks only, to measure reads with and without their log: not in
 * the public header and not exported by the shared library. */
void vv_session_set_audit(vv_session *s, int on);

#endif /* VV_SESSION_INT_H */
