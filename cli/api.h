/*
 * api.h - the HTTP API server (vipvault serve): what its modules share.
 *
 *   api_route.c    method, path and query values to a route (pure)
 *   api_body.c     JSON request bodies to library inputs (pure)
 *   api_out.c      JSON responses, built in buffers wiped when freed
 *   api_guard.c    per-token budgets: throttle and freeze decisions
 *   api_metrics.c  counters and histograms in Prometheus text
 *   api_handlers.c one function per endpoint, on a worker's vault
 *   api_unseal.c   the unseal endpoints
 *   api_server.c   libmicrohttpd, workers, group commit, access log
 *   cmd_serve.c    the command: options, signals, graceful stop
 * docs/api.md documents the API for integrators.
 */
#ifndef VV_API_H
#define VV_API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vipvault.h"

#define API_BODY_MAX	(64u * 1024u)	/* 413 beyond */
#define API_HEADERS_MAX	(8u * 1024u)	/* 431 beyond, all together */
#define API_PAGE_DEFAULT 50u
#define API_PAGE_MAX	100u
#define API_UNSEAL_MAX	20u
#define API_REASON_MAX	500u
#define API_PARAM_MAX	128u		/* an external id, with its NUL */
#define API_CURSOR_MAX	176u		/* base64url of an external id */

/* ------------------------------------------------------------- routes */

enum api_route {
	API_R_NONE = 0,		/* no such path: 404 */
	API_R_HEALTH,
	API_R_METRICS,
	API_R_CLIENT,		/* /v1/clients/{id}: GET, PUT */
	API_R_CLIENTS,		/* /v1/clients: GET */
	API_R_LOOKUP,		/* /v1/clients/lookup: GET */
	API_R_UNSEAL_NEW,	/* /v1/unseal-requests: POST */
	API_R_UNSEAL,		/* /v1/unseal-requests/{id}: GET */
	API_R_UNSEAL_RESULT,	/* /v1/unseal-requests/{id}/result: GET */
	API_R_COUNT
};

enum api_method { API_GET = 1, API_PUT = 2, API_POST = 4, API_HEAD = 8,
    API_OTHER = 16 };

int api_method(const char *name);
/* Routes a decoded path: the route, and its parameter into param
 * (API_PARAM_MAX bytes).  API_R_NONE for anything else, including a
 * parameter that cannot be an external id or request id. */
int api_route(const char *path, char *param);
/* The methods a route answers (a mask of enum api_method), and its
 * template for logs and metrics ("/v1/clients/{id}"). */
unsigned api_route_methods(int route);
const char *api_route_name(int route);
/* "GET, PUT" for an Allow header. */
void api_allow_header(unsigned methods, char *out, size_t outlen);

/* Query values; each returns 0, or -1 when the value is not acceptable. */
int api_parse_limit(const char *s, size_t *out);	/* 1..API_PAGE_MAX */
int api_parse_tier(const char *s, int *tier);
int api_cursor_encode(const char *external_id, char *out, size_t outlen);
int api_cursor_decode(const char *cursor, char *external_id, size_t len);

/* -------------------------------------------------------------- bodies */

/* Makes jansson wipe what it frees: request bodies carry client data.
 * Call once, before any thread parses. */
void api_json_init(void);

enum api_body_err { API_BODY_OK = 0, API_BODY_JSON = 1, API_BODY_FIELD = 2 };

/* A PUT body as a record; strings point into the parsed document. */
struct api_put {
	vv_record_input in;
	char spend_text[32];
	void *doc;		/* json_t * */
};
int api_parse_put(const char *body, size_t len, const char *external_id,
    struct api_put *p, char *err, size_t errlen);
void api_put_clear(struct api_put *p);

struct api_unseal_body {
	const char *records[API_UNSEAL_MAX];
	size_t n;
	const char *reason;
	int64_t ttl;		/* 0: the library's default */
	void *doc;
};
int api_parse_unseal(const char *body, size_t len, struct api_unseal_body *u,
    char *err, size_t errlen);
void api_unseal_clear(struct api_unseal_body *u);

/* ------------------------------------------------------------- output */

/* A growable text buffer; its memory is wiped when it grows or is freed
 * (responses carry client data).  oom is set on allocation failure and
 * further writes are dropped. */
struct abuf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};
void ab_put(struct abuf *b, const char *s, size_t n);
void ab_puts(struct abuf *b, const char *s);
void ab_printf(struct abuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string, quoted and escaped; NULL gives null. */
void ab_jstr(struct abuf *b, const char *s);
/* Hands the buffer over: the pointer to give libmicrohttpd with
 * ab_release as its free callback; b is emptied. */
char *ab_take(struct abuf *b);
void ab_release(void *p);
void ab_free(struct abuf *b);

void api_record_json(struct abuf *b, const vv_record *r);
void api_error_json(struct abuf *b, const char *code, const char *message);
/* "12345.67" for 1234567 minor units. */
void api_amount(char *out, size_t outlen, int64_t minor);

/* --------------------------------------------------------------- guard */

enum api_budget_kind { API_B_READS = 0, API_B_RECORDS, API_B_PAGES,
    API_B_HOURS, API_B_COUNT };
const char *api_budget_name(int kind);

enum api_verdict { API_PASS = 0, API_THROTTLE = 1, API_FREEZE = 2 };

struct api_guard;
int api_guard_new(struct api_guard **out);
void api_guard_free(struct api_guard **g);
/* Before a request: the burst limit (throttle) and working hours
 * (freeze); *kind names the budget broken. */
int api_guard_begin(struct api_guard *g, const char *token_id,
    const vv_budget *b, int64_t now_ms, int local_hour, int *kind);
/* After it: n records read (their keyed hashes, for the distinct count)
 * and whether it was a list page. */
int api_guard_count(struct api_guard *g, const char *token_id,
    const vv_budget *b, int64_t now_ms, const uint64_t *records, size_t n,
    int page, int *kind);

/* ------------------------------------------------------------ metrics */

enum api_denial { API_D_UNAUTHORIZED = 0, API_D_FORBIDDEN, API_D_NOT_FOUND,
    API_D_FROZEN, API_D_THROTTLED, API_D_COUNT };
void api_metrics_request(int route, int status, uint64_t usec);
void api_metrics_denial(int reason);
void api_metrics_freeze(int kind);
void api_metrics_commit(uint64_t requests);
void api_metrics_render(struct abuf *b);

/* ----------------------------------------------------------- handlers */

struct api_server;
struct api_worker;

/* One request, as the server hands it to a handler and gets it back. */
struct api_req {
	/* in */
	int method;
	int route;
	char param[API_PARAM_MAX];
	const char *authorization;	/* the header, or NULL */
	const char *q_tier, *q_owner, *q_limit, *q_cursor, *q_phone,
	    *q_email;
	const char *body;
	size_t bodylen;
	/* out */
	int status;
	struct abuf out;
	const char *content_type;	/* NULL: application/json */
	unsigned allow;			/* for 405 */
	int retry_after;		/* seconds, for 429; 0: none */
	vv_audit *audit;		/* entries to commit before sending */
	char token_id[17];
	char user[64];
	char role[64];
};

/* A library error on v as an HTTP answer; a built answer's status. */
void api_fail_vault(struct api_req *q, vv_vault *v, int err);
void api_ok(struct api_req *q, int status);

/* api_unseal.c: POST /v1/unseal-requests, GET .../{id}, GET .../result. */
void api_unseal_new(struct api_req *q, vv_vault *v, vv_session *s,
    const char *token);
void api_unseal_get(struct api_req *q, vv_vault *v, vv_session *s);
void api_unseal_result(struct api_req *q, vv_vault *v, vv_session *s,
    const char *token);

/* Runs the request on worker w's vault. */
void api_handle(struct api_server *srv, struct api_worker *w,
    struct api_req *q);
/* Sets an error response. */
void api_fail(struct api_req *q, int status, const char *code,
    const char *message);

/* ------------------------------------------------------------- server */

struct api_config {
	const char *vault_dir;
	const char *listen;		/* "127.0.0.1:8200" */
	const char *tls_cert, *tls_key;	/* both or neither */
	const char *access_log;		/* NULL: stderr; "-": stdout; "off" */
	unsigned threads;		/* 0: one per core */
	int quiet;
};

/* The server's shared state, as handlers see it. */
struct api_server_view {
	struct api_guard *guard;
	volatile int stopping;
	uint8_t hash_key[16];		/* record ids to guard hashes */
};
struct api_server_view *api_server_view(struct api_server *srv);

/* A worker: a thread's own vault connection and its sessions. */
vv_vault *api_worker_vault(struct api_worker *w);
/* The session of a bearer token (cached per worker, rechecked each
 * time); a vv_err, with the vault's message for a frozen token. */
int api_worker_session(struct api_worker *w, const char *token,
    vv_session **out);

/* VV_OK, or a vv_err with the reason in err. */
int api_server_start(const struct api_config *cfg, struct api_server **out,
    char *err, size_t errlen);
/* The port it listens on (for --listen 127.0.0.1:0). */
unsigned api_server_port(const struct api_server *srv);
/* Stops accepting, lets in-flight requests finish (at most grace_ms),
 * commits what is pending, closes every vault. */
void api_server_stop(struct api_server **srv, unsigned grace_ms);

#endif /* VV_API_H */
