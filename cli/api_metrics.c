/*
 * api_metrics.c - what GET /metrics shows, in Prometheus text format
 * 0.0.4: requests by route and status, latencies, denials, freezes and
 * group commits.  No client data and no token ids: labels come from
 * fixed sets.  No canary alerts either: /metrics needs no token, and a
 * reader watching a counter tick would learn which record was a canary.  Counters are relaxed atomics; a scrape
 * may see one request counted and its latency not yet, which Prometheus
 * tolerates.
 */
#include <stdio.h>
#include <string.h>

#include "cli/api.h"

#define NSTATUS 16
#define NBUCKET 10

static const int statuses[NSTATUS] = { 200, 201, 204, 400, 401, 403, 404,
    405, 409, 413, 423, 429, 500, 503, 431, 0 };
static const double bounds[NBUCKET] = { .0005, .001, .0025, .005, .01, .025,
    .05, .1, .25, 1 };
static const uint64_t bounds_us[NBUCKET] = { 500, 1000, 2500, 5000, 10000,
    25000, 50000, 100000, 250000, 1000000 };
static const uint64_t batch_bounds[NBUCKET] = { 1, 2, 4, 8, 16, 32, 64, 128,
    256, 512 };

static struct {
	uint64_t requests[API_R_COUNT][NSTATUS];
	uint64_t bucket[API_R_COUNT][NBUCKET];
	uint64_t count[API_R_COUNT];
	uint64_t sum_us[API_R_COUNT];
	uint64_t denials[API_D_COUNT];
	uint64_t freezes[API_B_COUNT];
	uint64_t commits;
	uint64_t batch_bucket[NBUCKET];
	uint64_t batch_sum;
} m;

static void
inc(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
api_metrics_request(int route, int status, uint64_t usec)
{
	int s, b;

	if (route < 0 || route >= API_R_COUNT)
		route = API_R_NONE;
	for (s = 0; s < NSTATUS - 1 && statuses[s] != status; s++)
		;
	inc(&m.requests[route][s], 1);
	for (b = 0; b < NBUCKET; b++)
		if (usec <= bounds_us[b])
			inc(&m.bucket[route][b], 1);
	inc(&m.count[route], 1);
	inc(&m.sum_us[route], usec);
}

void
api_metrics_denial(int reason)
{
	if (reason >= 0 && reason < API_D_COUNT)
		inc(&m.denials[reason], 1);
}

void
api_metrics_freeze(int kind)
{
	if (kind >= 0 && kind < API_B_COUNT)
		inc(&m.freezes[kind], 1);
}

void
api_metrics_commit(uint64_t requests)
{
	int b;

	inc(&m.commits, 1);
	inc(&m.batch_sum, requests);
	for (b = 0; b < NBUCKET; b++)
		if (requests <= batch_bounds[b])
			inc(&m.batch_bucket[b], 1);
}

static void
render_requests(struct abuf *b)
{
	int r, s, k;

	ab_puts(b, "# HELP vipvault_http_requests_total HTTP requests by "
	    "route and status.\n# TYPE vipvault_http_requests_total counter\n");
	for (r = 0; r < API_R_COUNT; r++)
		for (s = 0; s < NSTATUS; s++)
			if (get(&m.requests[r][s]) != 0)
				ab_printf(b, "vipvault_http_requests_total{route="
				    "\"%s\",status=\"%d\"} %llu\n",
				    api_route_name(r), statuses[s],
				    (unsigned long long)get(&m.requests[r][s]));
	ab_puts(b, "# HELP vipvault_http_request_duration_seconds Time from "
	    "request to response, group commit included.\n"
	    "# TYPE vipvault_http_request_duration_seconds histogram\n");
	for (r = 0; r < API_R_COUNT; r++) {
		if (get(&m.count[r]) == 0)
			continue;
		for (k = 0; k < NBUCKET; k++)
			ab_printf(b, "vipvault_http_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    api_route_name(r), bounds[k],
			    (unsigned long long)get(&m.bucket[r][k]));
		ab_printf(b, "vipvault_http_request_duration_seconds_bucket{"
		    "route=\"%s\",le=\"+Inf\"} %llu\n"
		    "vipvault_http_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\nvipvault_http_request_duration_seconds_count{route="
		    "\"%s\"} %llu\n", api_route_name(r),
		    (unsigned long long)get(&m.count[r]), api_route_name(r),
		    (double)get(&m.sum_us[r]) / 1e6, api_route_name(r),
		    (unsigned long long)get(&m.count[r]));
	}
}

void
api_metrics_render(struct abuf *b)
{
	static const char *const denials[API_D_COUNT] = { "unauthorized",
	    "forbidden", "not_found", "frozen", "throttled" };
	static const char *const budgets[API_B_COUNT] = { "reads_per_minute",
	    "records_per_hour", "pages_per_hour", "working_hours" };
	int k;

	render_requests(b);
	ab_puts(b, "# HELP vipvault_denials_total Requests refused, by "
	    "reason.\n# TYPE vipvault_denials_total counter\n");
	for (k = 0; k < API_D_COUNT; k++)
		ab_printf(b, "vipvault_denials_total{reason=\"%s\"} %llu\n",
		    denials[k], (unsigned long long)get(&m.denials[k]));
	ab_puts(b, "# HELP vipvault_freezes_total Tokens frozen, by budget "
	    "broken.\n# TYPE vipvault_freezes_total counter\n");
	for (k = 0; k < API_B_COUNT; k++)
		ab_printf(b, "vipvault_freezes_total{budget=\"%s\"} %llu\n",
		    budgets[k], (unsigned long long)get(&m.freezes[k]));
	ab_printf(b, "# HELP vipvault_throttled_total Requests answered 429.\n"
	    "# TYPE vipvault_throttled_total counter\n"
	    "vipvault_throttled_total %llu\n",
	    (unsigned long long)get(&m.denials[API_D_THROTTLED]));
	ab_printf(b, "# HELP vipvault_audit_commits_total Group commits of "
	    "read log entries.\n# TYPE vipvault_audit_commits_total counter\n"
	    "vipvault_audit_commits_total %llu\n",
	    (unsigned long long)get(&m.commits));
	ab_puts(b, "# HELP vipvault_audit_batch_requests Requests sharing one "
	    "commit.\n# TYPE vipvault_audit_batch_requests histogram\n");
	for (k = 0; k < NBUCKET; k++)
		ab_printf(b, "vipvault_audit_batch_requests_bucket{le=\"%llu\"} "
		    "%llu\n", (unsigned long long)batch_bounds[k],
		    (unsigned long long)get(&m.batch_bucket[k]));
	ab_printf(b, "vipvault_audit_batch_requests_bucket{le=\"+Inf\"} %llu\n"
	    "vipvault_audit_batch_requests_sum %llu\n"
	    "vipvault_audit_batch_requests_count %llu\n",
	    (unsigned long long)get(&m.commits),
	    (unsigned long long)get(&m.batch_sum),
	    (unsigned long long)get(&m.commits));
}
