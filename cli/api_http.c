/*
 * api_http.c - libmicrohttpd's side of a request: its body, the values a
 * handler needs, the response and its headers, the access log line.
 *
 * The access log names the route's template, never the path (which
 * holds a client id) or a query (which may hold a phone number), and the
 * token's public id, never the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "cli/api.h"
#include "cli/api_server.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
conn_free(struct api_conn *c)
{
	ab_free(&c->body);
	ab_free(&c->q.out);
	vv_audit_free(&c->q.audit);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* Appends upload data, up to API_BODY_MAX; beyond it, drops the rest
 * and remembers to answer 413.  The buffer wipes what it held as it
 * grows: a body carries client data. */
static void
body_append(struct api_conn *c, const char *data, size_t n)
{
	if (c->too_large || c->body.len + n > API_BODY_MAX) {
		c->too_large = 1;
		return;
	}
	ab_put(&c->body, data, n);
	if (c->body.oom)
		c->too_large = 1;
}

static const char *
arg(struct MHD_Connection *mc, const char *key)
{
	return MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result
respond(struct api_conn *c)
{
	struct api_req *q = &c->q;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char allow[64];
	size_t len = q->out.len;
	char *body = ab_take(&q->out);

	c->bytes = len;
	resp = MHD_create_response_from_buffer_with_free_callback(len,
	    body != NULL ? body : (char *)"", body != NULL ? ab_release :
	    NULL);
	if (resp == NULL) {
		ab_release(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, "Content-Type",
	    q->content_type != NULL ? q->content_type :
	    "application/json; charset=utf-8");
	(void)MHD_add_response_header(resp, "X-Request-Id", c->request_id);
	(void)MHD_add_response_header(resp, "Cache-Control", "no-store");
	(void)MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff");
	if (q->status == 405) {
		api_allow_header(q->allow, allow, sizeof(allow));
		(void)MHD_add_response_header(resp, "Allow", allow);
	}
	if (q->status == 401)
		(void)MHD_add_response_header(resp, "WWW-Authenticate",
		    "Bearer realm=\"vipvault\"");
	if (q->retry_after > 0)
		(void)MHD_add_response_header(resp, "Retry-After", "1");
	/* Stopping: one answer per connection, then it closes. */
	if (c->srv->view.stopping)
		(void)MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(c->mc, (unsigned)q->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
fill_request(struct api_conn *c)
{
	struct api_req *q = &c->q;
	struct MHD_Connection *mc = c->mc;

	q->authorization = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	q->q_tier = arg(mc, "tier");
	q->q_owner = arg(mc, "owner");
	q->q_limit = arg(mc, "limit");
	q->q_cursor = arg(mc, "cursor");
	q->q_phone = arg(mc, "phone");
	q->q_email = arg(mc, "email");
	q->body = c->body.p;
	q->bodylen = c->body.len;
}

/* Adds a header line's length ("Key: value\r\n") to *cls. */
static enum MHD_Result
header_bytes(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* The first call for a request: its context, an early 431 when the
 * headers are over API_HEADERS_MAX (libmicrohttpd's own limit is its
 * per-connection memory, which is larger), and an early 413 when the
 * declared length is already too much. */
static enum MHD_Result
begin(struct api_server *srv, struct MHD_Connection *mc, const char *url,
    const char *method, void **con_cls)
{
	struct api_conn *c;
	uint8_t rid[8];
	const char *len;
	size_t hbytes = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return MHD_NO;
	c->mc = mc;
	c->start_us = now_us();
	randombytes_buf(rid, sizeof(rid));
	(void)sodium_bin2hex(c->request_id, sizeof(c->request_id), rid,
	    sizeof(rid));
	c->srv = srv;
	c->q.method = api_method(method);
	c->q.route = api_route(url, c->q.param);
	__atomic_fetch_add(&srv->inflight, 1, __ATOMIC_SEQ_CST);
	*con_cls = c;
	/* A request that began after SIGTERM is not one under way. */
	if (srv->view.stopping && c->q.route != API_R_HEALTH) {
		api_fail(&c->q, 503, "unavailable", "the server is stopping; "
		    "retry against another instance");
		return respond(c);
	}
	(void)MHD_get_connection_values(mc, MHD_HEADER_KIND, header_bytes,
	    &hbytes);
	if (hbytes > API_HEADERS_MAX) {
		api_fail(&c->q, 431, "bad_request", "the request headers are "
		    "over 8 KiB");
		return respond(c);
	}
	len = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (len != NULL && strtoull(len, NULL, 10) > API_BODY_MAX) {
		api_fail(&c->q, 413, "payload_too_large", "the body is over "
		    "64 KiB");
		return respond(c);
	}
	return MHD_YES;
}

enum MHD_Result
api_http_access(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_conn *c = *con_cls;
	struct api_worker *w;

	(void)version;
	if (c == NULL)
		return begin(srv, mc, url, method, con_cls);
	if (c->q.status != 0 && c->state == API_CONN_NEW) {
		*upload_data_size = 0;	/* answered already; drop the rest */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		body_append(c, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->state == API_CONN_COMMITTED) {
		if (c->commit_failed)
			api_fail(&c->q, 503, "compliance_unavailable", "the "
			    "read could not be logged for compliance; nothing "
			    "was released");
		return respond(c);
	}
	if (c->too_large) {
		api_fail(&c->q, 413, "payload_too_large", "the body is over "
		    "64 KiB");
		return respond(c);
	}
	fill_request(c);
	/* Health, metrics and unknown paths need no vault: they answer
	 * even while the HSM is out of reach. */
	w = NULL;
	if (c->q.route != API_R_NONE && c->q.route != API_R_HEALTH &&
	    c->q.route != API_R_METRICS && (w = api_server_worker(srv)) ==
	    NULL)
		api_fail(&c->q, 503, "unavailable", "the vault cannot be "
		    "opened (is the HSM reachable?)");
	else
		api_handle(srv, w, &c->q);
	if (c->q.audit == NULL)
		return respond(c);
	c->state = API_CONN_WAITING;
	if (api_server_enqueue(srv, c) == 0)
		return MHD_YES;
	/* The server is stopping: this worker commits the entries itself,
	 * before the response leaves, as the committer would. */
	c->state = API_CONN_COMMITTED;
	if (vv_audit_commit(api_worker_vault(w), &c->q.audit, 1) != VV_OK)
		api_fail(&c->q, 503, "compliance_unavailable", "the read "
		    "could not be logged for compliance; nothing was released");
	vv_audit_free(&c->q.audit);
	return respond(c);
}

static void
access_log(struct api_server *srv, struct api_conn *c, int64_t usec)
{
	static const char *const methods[] = { "GET", "PUT", "POST", "HEAD",
	    "OTHER" };
	char line[512], when[32];
	struct timespec ts;
	struct tm tm;
	int n, m = c->q.method == API_GET ? 0 : c->q.method == API_PUT ? 1 :
	    c->q.method == API_POST ? 2 : c->q.method == API_HEAD ? 3 : 4;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\","
	    "\"request_id\":\"%s\",\"method\":\"%s\",\"route\":\"%s\","
	    "\"status\":%d,\"duration_us\":%lld,\"token_id\":%s%s%s,"
	    "\"user\":%s%s%s,\"role\":%s%s%s,\"bytes\":%zu}\n", when,
	    ts.tv_nsec / 1000000, c->request_id, methods[m],
	    api_route_name(c->q.route), c->q.status, (long long)usec,
	    c->q.token_id[0] ? "\"" : "", c->q.token_id[0] ? c->q.token_id :
	    "null", c->q.token_id[0] ? "\"" : "", c->q.user[0] ? "\"" : "",
	    c->q.user[0] ? c->q.user : "null", c->q.user[0] ? "\"" : "",
	    c->q.role[0] ? "\"" : "", c->q.role[0] ? c->q.role : "null",
	    c->q.role[0] ? "\"" : "", c->bytes);
	/* One write per line: O_APPEND keeps concurrent lines whole. */
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(srv->log_fd, line, (size_t)n);
}

void
api_http_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct api_conn *c = *con_cls;
	int64_t usec;

	(void)mc;
	if (c == NULL)
		return;
	usec = now_us() - c->start_us;
	/* The client went away, or timed out, before the response was
	 * through: it did not get what the status says. */
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || c->q.status == 0)
		c->q.status = 499;
	api_metrics_request(c->q.route, c->q.status, (uint64_t)usec);
	if (srv->log_fd >= 0)
		access_log(srv, c, usec);
	conn_free(c);
	*con_cls = NULL;
	__atomic_fetch_sub(&srv->inflight, 1, __ATOMIC_SEQ_CST);
}
