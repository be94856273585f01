/*
 * syslog_fwd.c - best-effort copies of log entries to syslog (RFC 5424)
 * for a SIEM.  A datagram per entry to a local socket (/dev/log, or a
 * forwarder's), sent after the entry is committed; nothing waits for
 * it, nothing fails because of it, and a release never depends on it:
 * the vault log and the mirror are the record, syslog is a courtesy.
 *
 *   <PRI>1 TIMESTAMP HOST vipvault PID TYPE [vipvault@32473 seq="N"
 *   outcome="O" actor="A" ...] DETAIL
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vault/clog.h"

#define FACILITY_AUTHPRIV 10
#define SEV_NOTICE 5
#define SEV_WARNING 4
#define MSG_MAX 2048
#define SD_ID "vipvault@32473"	/* an example private enterprise number */

/* An SD-PARAM value: ", \ and ] escaped (RFC 5424 section 6.3.3). */
static size_t
put_param(char *out, size_t at, size_t max, const char *name,
    const char *value)
{
	int n;

	if (value == NULL || *value == '\0' || at >= max)
		return at;
	n = snprintf(out + at, max - at, " %s=\"", name);
	if (n < 0 || (size_t)n >= max - at)
		return max;
	at += (size_t)n;
	for (; *value != '\0' && at + 2 < max; value++) {
		if (*value == '"' || *value == '\\' || *value == ']')
			out[at++] = '\\';
		out[at++] = *value;
	}
	if (at + 1 >= max)
		return max;
	out[at++] = '"';
	out[at] = '\0';
	return at;
}

static size_t
format(const vv_vault *v, const struct vv_event *e, char *out, size_t max)
{
	char when[40], host[64], seq[24];
	time_t t = (time_t)(e->time_ms / 1000);
	struct tm tm;
	size_t at;
	int n, sev = e->outcome == VV_OUT_OK ? SEV_NOTICE : SEV_WARNING;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		(void)snprintf(when, sizeof(when), "-");
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		(void)snprintf(host, sizeof(host), "-");
	host[sizeof(host) - 1] = '\0';
	n = snprintf(out, max, "<%d>1 %s.%03dZ %s vipvault %ld %s [%s",
	    FACILITY_AUTHPRIV * 8 + sev, when, (int)(e->time_ms % 1000), host,
	    (long)getpid(), vv_event_type_name(e->type), SD_ID);
	if (n < 0 || (size_t)n >= max)
		return 0;
	at = (size_t)n;
	(void)snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	at = put_param(out, at, max, "seq", seq);
	at = put_param(out, at, max, "vault", v->id_hex);
	at = put_param(out, at, max, "outcome",
	    vv_event_outcome_name(e->outcome));
	at = put_param(out, at, max, "actor", e->actor);
	at = put_param(out, at, max, "role", e->role);
	at = put_param(out, at, max, "token", e->token_id);
	at = put_param(out, at, max, "request", e->request_id);
	at = put_param(out, at, max, "manager", e->manager);
	if (at + 2 >= max)
		return 0;
	out[at++] = ']';
	out[at] = '\0';
	if (e->detail[0] != '\0') {
		n = snprintf(out + at, max - at, " %s", e->detail);
		at = n < 0 || (size_t)n >= max - at ? max - 1 : at + (size_t)n;
	}
	return at;
}

/* Sends entries first..last (committed) to the configured socket. */
void
vv_syslog_forward(vv_vault *v, uint64_t first, uint64_t last)
{
	struct sockaddr_un sa;
	struct vv_event *e = NULL;
	sqlite3_stmt *st = NULL;
	char *path = NULL, msg[MSG_MAX], err[64];
	size_t len;
	int fd = -1;

	if (first == 0 || last < first ||
	    vv_meta_get(v, "syslog_socket", &path) != VV_OK) {
		v->errmsg[0] = '\0';	/* not configured is not an error */
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path) || (e = malloc(sizeof(*e))) ==
	    NULL || (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		goto out;
	memcpy(sa.sun_path, path, strlen(path));
	if (vv_prepare(v, "SELECT entry FROM clog WHERE seq BETWEEN ? AND ? "
	    "ORDER BY seq", &st) != VV_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, (int64_t)first);
	(void)sqlite3_bind_int64(st, 2, (int64_t)last);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (vv_event_decode(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), e, err,
		    sizeof(err)) != VV_OK ||
		    (len = format(v, e, msg, sizeof(msg))) == 0)
			continue;
		(void)sendto(fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&sa,
		    sizeof(sa));
	}
out:
	sqlite3_finalize(st);
	if (fd >= 0)
		(void)close(fd);
	free(e);
	free(path);
}
