/*
 * api_handlers.c - one function per endpoint, run on a worker's own
 * vault connection.
 *
 * Order of checks: route, method, token, budget (burst, hours), the
 * call, then the budget again with what was read.  A request that
 * crosses a budget gets 423 and nothing it read: its records are logged
 * as read (the server did read them).  The freeze is committed at once
 * and the reads with the next group commit, so in the log the freeze
 * may come just before them.  Status codes follow the library's errors
 * one to one, and a record the reader may not know of is 404, never 403
 * (a tier the role does not read is 403, as docs/api.md says).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "cli/api.h"

#define MAX_READS API_PAGE_MAX

/* What a handler read, for the budget. */
struct reads {
	uint64_t h[MAX_READS];
	size_t n;
	const uint8_t *key;
};

static void
note_read(struct reads *rd, const char *external_id)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	size_t i;

	if (rd->n == MAX_READS)
		return;
	(void)crypto_shorthash(out, (const uint8_t *)external_id,
	    strlen(external_id), rd->key);
	for (i = 0; i < sizeof(out); i++)
		h = h << 8 | out[i];
	rd->h[rd->n++] = h;
}

void
api_fail(struct api_req *q, int status, const char *code,
    const char *message)
{
	ab_free(&q->out);
	q->status = status;
	q->content_type = NULL;
	api_error_json(&q->out, code, message);
}

void
api_fail_vault(struct api_req *q, vv_vault *v, int err)
{
	const char *msg = vv_vault_errmsg(v);

	switch (err) {
	case VV_ERR_INVALID:
	case VV_ERR_INPUT:
		api_fail(q, 400, "invalid_field", msg);
		break;
	case VV_ERR_DENIED:
		api_metrics_denial(API_D_FORBIDDEN);
		api_fail(q, 403, "forbidden", msg);
		break;
	case VV_ERR_NOT_FOUND:
		api_metrics_denial(API_D_NOT_FOUND);
		api_fail(q, 404, "not_found", "no such record or request");
		break;
	case VV_ERR_EXISTS:
		api_fail(q, 409, "exists", msg);
		break;
	case VV_ERR_FROZEN:
		api_metrics_denial(API_D_FROZEN);
		api_fail(q, 423, "frozen", msg);
		break;
	case VV_ERR_HSM:
	case VV_ERR_TOKEN:
		api_fail(q, 503, "unavailable", "the HSM is unavailable");
		break;
	case VV_ERR_INTEGRITY:
		api_fail(q, 500, "integrity", msg);
		break;
	default:
		api_fail(q, 500, "internal", vv_strerror(err));
		break;
	}
}

void
api_ok(struct api_req *q, int status)
{
	q->status = status;
	if (q->out.oom)
		api_fail(q, 500, "internal", "out of memory");
}

/* ---------------------------------------------------------- clients */

static void
get_client(struct api_req *q, vv_vault *v, vv_session *s, struct reads *rd)
{
	vv_record *rec = NULL;
	int r;

	if ((r = vv_get(s, q->param, &rec)) != VV_OK) {
		/* A refusal counts like a read: probing ids for which tier
		 * (403) or segment (404) they are in runs into the budgets. */
		if (r == VV_ERR_DENIED || r == VV_ERR_NOT_FOUND)
			note_read(rd, q->param);
		api_fail_vault(q, v, r);
		return;
	}
	note_read(rd, q->param);
	api_record_json(&q->out, rec);
	ab_puts(&q->out, "\n");
	vv_record_free(&rec);
	api_ok(q, 200);
}

static void
put_client(struct api_req *q, vv_vault *v, vv_session *s)
{
	struct api_put p;
	char err[160];
	int r, created = 0, tier = 0;

	r = api_parse_put(q->body, q->bodylen, q->param, &p, err, sizeof(err));
	if (r != API_BODY_OK) {
		api_fail(q, 400, r == API_BODY_JSON ? "invalid_json" :
		    "invalid_field", err);
		goto out;
	}
	if ((r = vv_session_put(s, &p.in, &created, &tier)) != VV_OK) {
		api_fail_vault(q, v, r);
		goto out;
	}
	ab_puts(&q->out, "{\"external_id\":");
	ab_jstr(&q->out, q->param);
	ab_printf(&q->out, ",\"tier\":\"%s\",\"created\":%s}\n",
	    vv_tier_name(tier), created ? "true" : "false");
	api_ok(q, created ? 201 : 200);
out:
	api_put_clear(&p);
}

struct page_out {
	struct api_req *q;
	struct reads *rd;
	size_t n;
	char last[API_PARAM_MAX];
};

static int
page_record(void *arg, const vv_record *r)
{
	struct page_out *po = arg;

	if (po->n++ > 0)
		ab_puts(&po->q->out, ",");
	api_record_json(&po->q->out, r);
	note_read(po->rd, vv_record_external_id(r));
	(void)snprintf(po->last, sizeof(po->last), "%s",
	    vv_record_external_id(r));
	return po->q->out.oom;
}

static void
list_clients(struct api_req *q, vv_vault *v, vv_session *s, struct reads *rd)
{
	char after[API_PARAM_MAX], cursor[API_CURSOR_MAX];
	struct page_out po;
	size_t limit = API_PAGE_DEFAULT;
	int r, tier = 0, more = 0;

	memset(&po, 0, sizeof(po));
	po.q = q;
	po.rd = rd;
	after[0] = '\0';
	if (q->q_tier != NULL && api_parse_tier(q->q_tier, &tier) != 0)
		return api_fail(q, 400, "invalid_field", "tier: basic, standard "
		    "or vip");
	if (q->q_limit != NULL && api_parse_limit(q->q_limit, &limit) != 0)
		return api_fail(q, 400, "invalid_field", "limit: 1 to 100");
	if (q->q_cursor != NULL && api_cursor_decode(q->q_cursor, after,
	    sizeof(after)) != 0)
		return api_fail(q, 400, "invalid_field", "cursor: not one this "
		    "server gave");
	if (q->q_owner != NULL && (q->q_owner[0] == '\0' ||
	    strlen(q->q_owner) >= 64))
		return api_fail(q, 400, "invalid_field", "owner: a user name");
	ab_puts(&q->out, "{\"clients\":[");
	if ((r = vv_list_page(s, tier, q->q_owner, after, limit, page_record,
	    &po, &more)) != VV_OK)
		return api_fail_vault(q, v, r);
	ab_puts(&q->out, "],\"next_cursor\":");
	if (more && api_cursor_encode(po.last, cursor, sizeof(cursor)) == 0)
		ab_jstr(&q->out, cursor);
	else
		ab_puts(&q->out, "null");
	ab_puts(&q->out, "}\n");
	sodium_memzero(po.last, sizeof(po.last));
	api_ok(q, 200);
}

struct lookup_out {
	struct api_req *q;
	struct reads *rd;
	const char *key;
	size_t n;
};

static int
lookup_match(void *arg, const char *external_id, int tier,
    const char *masked)
{
	struct lookup_out *lo = arg;

	ab_puts(&lo->q->out, lo->n++ > 0 ? ",{\"external_id\":" :
	    "{\"external_id\":");
	ab_jstr(&lo->q->out, external_id);
	ab_printf(&lo->q->out, ",\"tier\":\"%s\",\"%s\":",
	    vv_tier_name(tier), lo->key);
	ab_jstr(&lo->q->out, masked);
	ab_puts(&lo->q->out, "}");
	note_read(lo->rd, external_id);
	return lo->q->out.oom || lo->n >= MAX_READS;
}

static void
lookup(struct api_req *q, vv_vault *v, vv_session *s, struct reads *rd)
{
	struct lookup_out lo = { q, rd, NULL, 0 };
	int r, kind;

	if ((q->q_phone == NULL) == (q->q_email == NULL))
		return api_fail(q, 400, "bad_request", "give exactly one of "
		    "phone and email");
	kind = q->q_phone != NULL ? 0 : 1;
	lo.key = kind == 0 ? "phone" : "email";
	ab_puts(&q->out, "{\"matches\":[");
	r = vv_lookup(s, kind, kind == 0 ? q->q_phone : q->q_email,
	    lookup_match, &lo);
	/* A miss counts too, as a read of what was asked for: probing a
	 * list of phone numbers runs into the budgets like reading does. */
	if (r == VV_ERR_NOT_FOUND)
		note_read(rd, kind == 0 ? q->q_phone : q->q_email);
	if (r != VV_OK)
		return api_fail_vault(q, v, r);
	ab_puts(&q->out, "]}\n");
	api_ok(q, 200);
}

/* ---------------------------------------------------------- dispatch */

static void
health(struct api_server *srv, struct api_req *q)
{
	if (api_server_view(srv)->stopping) {
		q->status = 503;
		ab_puts(&q->out, "{\"status\":\"stopping\"}\n");
	} else {
		q->status = 200;
		ab_puts(&q->out, "{\"status\":\"ok\",\"version\":\""
		    VV_VERSION_STRING "\"}\n");
	}
}

/* The token of an "Authorization: Bearer ..." header, or NULL. */
static const char *
bearer(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h != '\0' ? h : NULL;
}

static int
local_hour(void)
{
	struct tm tm;
	time_t now = time(NULL);

	if (localtime_r(&now, &tm) == NULL)
		return 0;
	return tm.tm_hour;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Freezes the session's token for crossing budget kind. */
static void
freeze(struct api_req *q, vv_vault *v, vv_session *s, int kind)
{
	char reason[160], msg[320];
	vv_budget b;
	unsigned limit;

	vv_session_budget(s, &b);
	limit = kind == API_B_READS ? b.reads_per_minute : kind ==
	    API_B_RECORDS ? b.records_per_hour : kind == API_B_PAGES ?
	    b.pages_per_hour : 0;
	if (kind == API_B_HOURS)
		(void)snprintf(reason, sizeof(reason), "read outside working "
		    "hours %02d-%02d (API)", b.hours_from, b.hours_to);
	else
		(void)snprintf(reason, sizeof(reason), "over its budget of %u "
		    "%s (API)", limit, api_budget_name(kind));
	api_metrics_freeze(kind);
	api_metrics_denial(API_D_FROZEN);
	/* A freeze that cannot be stored is still refused now; the count
	 * stays over budget, so every later request tries again. */
	if (vv_token_freeze(v, q->token_id, reason) != VV_OK)
		(void)fprintf(stderr, "vipvault serve: freezing token %s: "
		    "%s\n", q->token_id, vv_vault_errmsg(v));
	(void)snprintf(msg, sizeof(msg), "token %s is frozen: %s; an "
	    "administrator must unfreeze it (vipvault token unfreeze %s)",
	    q->token_id, reason, q->token_id);
	api_fail(q, 423, "frozen", msg);
}

static void
dispatch(struct api_req *q, vv_vault *v, vv_session *s, const char *token,
    struct reads *rd)
{
	switch (q->route) {
	case API_R_CLIENT:
		if (q->method == API_PUT)
			put_client(q, v, s);
		else
			get_client(q, v, s, rd);
		break;
	case API_R_CLIENTS:
		list_clients(q, v, s, rd);
		break;
	case API_R_LOOKUP:
		lookup(q, v, s, rd);
		break;
	case API_R_UNSEAL_NEW:
		api_unseal_new(q, v, s, token);
		break;
	case API_R_UNSEAL:
		api_unseal_get(q, v, s);
		break;
	case API_R_UNSEAL_RESULT:
		api_unseal_result(q, v, s, token);
		break;
	default:
		api_fail(q, 404, "not_found", "no such endpoint");
	}
}

/* One message for a token missing, malformed, unknown, revoked or expired
 * (docs/api.md): the answer does not say which. */
#define API_UNAUTHORIZED "a valid bearer token is required " \
    "(Authorization: Bearer vv_...)"

static int
authenticate(struct api_req *q, struct api_worker *w, const char **token,
    vv_session **s)
{
	int r;

	if ((*token = bearer(q->authorization)) == NULL) {
		api_metrics_denial(API_D_UNAUTHORIZED);
		api_fail(q, 401, "unauthorized", API_UNAUTHORIZED);
		return -1;
	}
	if ((r = api_worker_session(w, *token, s)) == VV_OK) {
		(void)snprintf(q->token_id, sizeof(q->token_id), "%s",
		    vv_session_token_id(*s));
		(void)snprintf(q->user, sizeof(q->user), "%s",
		    vv_session_user(*s));
		(void)snprintf(q->role, sizeof(q->role), "%s",
		    vv_session_role(*s));
		return 0;
	}
	/* A frozen token is a good one: its public id goes in the log. */
	if (r == VV_ERR_FROZEN && strncmp(*token, "vv_", 3) == 0 &&
	    strlen(*token) > 19 && (*token)[19] == '_')
		(void)snprintf(q->token_id, sizeof(q->token_id), "%.16s",
		    *token + 3);
	if (r == VV_ERR_DENIED) {
		api_metrics_denial(API_D_UNAUTHORIZED);
		api_fail(q, 401, "unauthorized", API_UNAUTHORIZED);
	} else
		api_fail_vault(q, api_worker_vault(w), r);
	return -1;
}

void
api_handle(struct api_server *srv, struct api_worker *w, struct api_req *q)
{
	struct api_server_view *sv = api_server_view(srv);
	vv_vault *v = NULL;
	vv_session *s = NULL;
	struct reads rd;
	const char *token = NULL;
	vv_budget b;
	int kind = 0, verdict;

	memset(&rd, 0, sizeof(rd));
	rd.key = sv->hash_key;
	if (q->route == API_R_NONE)
		return api_fail(q, 404, "not_found", "no such endpoint");
	if ((api_route_methods(q->route) & (unsigned)q->method) == 0) {
		q->allow = api_route_methods(q->route);
		return api_fail(q, 405, "method_not_allowed", "this endpoint "
		    "does not take that method");
	}
	if (q->route == API_R_HEALTH)
		return health(srv, q);
	if (q->route == API_R_METRICS) {
		q->status = 200;
		q->content_type = "text/plain; version=0.0.4";
		return api_metrics_render(&q->out);
	}
	v = api_worker_vault(w);
	if (authenticate(q, w, &token, &s) != 0)
		return;
	vv_session_budget(s, &b);
	verdict = api_guard_begin(sv->guard, q->token_id, &b, now_ms(),
	    local_hour(), &kind);
	if (verdict == API_THROTTLE) {
		api_metrics_denial(API_D_THROTTLED);
		q->retry_after = 1;
		return api_fail(q, 429, "rate_limited", "too many requests "
		    "this second; retry after a second");
	}
	if (verdict == API_FREEZE)
		return freeze(q, v, s, kind);
	dispatch(q, v, s, token, &rd);
	/* What was read is logged whatever the answer. */
	if (vv_session_take_audit(s, &q->audit) != VV_OK)
		return api_fail(q, 500, "internal", "out of memory");
	if (api_guard_count(sv->guard, q->token_id, &b, now_ms(), rd.h, rd.n,
	    q->route == API_R_CLIENTS && q->status == 200, &kind) ==
	    API_FREEZE)
		freeze(q, v, s, kind);
	sodium_memzero(&rd, sizeof(rd));
}
