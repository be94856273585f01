/*
 * api_guard.c - per-token budgets: when to slow a token down (429) and
 * when to freeze it (423).
 *
 * Reads per minute and pages per hour are counted in a sliding window
 * estimated from two fixed windows (the previous window's count weighted
 * by how much of it still overlaps): O(1) per request, and within a few
 * percent of the exact count, which is all a budget needs.  Distinct
 * records per hour are counted exactly: a table of the records seen in
 * the last hour (keyed hashes of their ids, with when they were last
 * seen), never larger than the budget plus one.  Counts live in this
 * process; a freeze lives in the vault.  One lock: the work under it is a
 * few comparisons.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/api.h"

#define SLOTS 1024u		/* tokens tracked at once (LRU beyond) */

struct window {
	int64_t start;		/* ms, start of the current fixed window */
	uint64_t cur, prev;
};

struct seen {
	uint64_t *key;		/* 0: empty */
	int64_t *at;
	size_t cap, n;
};

struct tracker {
	char id[17];
	int64_t used;		/* ms, for eviction */
	int64_t burst_sec;
	uint32_t burst_n;
	struct window reads, pages;
	struct seen records;
};

struct api_guard {
	pthread_mutex_t lock;
	struct tracker t[SLOTS];
};

const char *
api_budget_name(int kind)
{
	static const char *const names[API_B_COUNT] = { "reads per minute",
	    "distinct records per hour", "list pages per hour",
	    "working hours" };

	return kind >= 0 && kind < API_B_COUNT ? names[kind] : "budget";
}

int
api_guard_new(struct api_guard **out)
{
	struct api_guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		free(g);
		return -1;
	}
	*out = g;
	return 0;
}

static void
seen_free(struct seen *s)
{
	free(s->key);
	free(s->at);
	memset(s, 0, sizeof(*s));
}

void
api_guard_free(struct api_guard **gp)
{
	struct api_guard *g;
	size_t i;

	if (gp == NULL || (g = *gp) == NULL)
		return;
	for (i = 0; i < SLOTS; i++)
		seen_free(&g->t[i].records);
	(void)pthread_mutex_destroy(&g->lock);
	free(g);
	*gp = NULL;
}

/* The token's tracker; the least recently used one is recycled.  A
 * recycled token starts its counts afresh, so SLOTS must exceed the
 * tokens active in an hour (1024 CRM users per server process). */
static struct tracker *
tracker(struct api_guard *g, const char *id, int64_t now)
{
	struct tracker *lru = &g->t[0];
	size_t i;

	for (i = 0; i < SLOTS; i++) {
		if (strcmp(g->t[i].id, id) == 0) {
			g->t[i].used = now;
			return &g->t[i];
		}
		if (g->t[i].used < lru->used)
			lru = &g->t[i];
	}
	seen_free(&lru->records);
	memset(lru, 0, sizeof(*lru));
	memcpy(lru->id, id, strnlen(id, sizeof(lru->id) - 1));
	lru->used = now;
	return lru;
}

/* Adds n to the window of length len ms; returns the sliding estimate. */
static uint64_t
window_add(struct window *w, int64_t now, int64_t len, uint64_t n)
{
	int64_t elapsed;

	if (now - w->start >= 2 * len) {
		w->prev = 0;
		w->cur = 0;
		w->start = now - now % len;
	} else if (now - w->start >= len) {
		w->prev = w->cur;
		w->cur = 0;
		w->start += len;
	}
	w->cur += n;
	elapsed = now - w->start;
	/* Rounded up: three reads just before a minute turns and three
	 * just after are six, not five. */
	return w->cur + (w->prev * (uint64_t)(len - elapsed) +
	    (uint64_t)len - 1) / (uint64_t)len;
}

static int
seen_rebuild(struct seen *s, size_t cap, int64_t cutoff)
{
	uint64_t *key = calloc(cap, sizeof(*key));
	int64_t *at = calloc(cap, sizeof(*at));
	size_t i, j;

	if (key == NULL || at == NULL) {
		free(key);
		free(at);
		return -1;
	}
	s->n = 0;
	for (i = 0; i < s->cap; i++) {
		if (s->key[i] == 0 || s->at[i] < cutoff)
			continue;
		for (j = s->key[i] & (cap - 1); key[j] != 0; j = (j + 1) &
		    (cap - 1))
			;
		key[j] = s->key[i];
		at[j] = s->at[i];
		s->n++;
	}
	free(s->key);
	free(s->at);
	s->key = key;
	s->at = at;
	s->cap = cap;
	return 0;
}

/* Notes record h at now; returns 1 when it would be distinct record
 * number budget + 1 within the hour, -1 when out of memory. */
static int
seen_add(struct seen *s, uint64_t h, int64_t now, uint32_t budget)
{
	const int64_t hour = 3600 * 1000;
	size_t j;

	h |= 1;		/* 0 marks an empty slot */
	if (s->cap == 0 && seen_rebuild(s, 64, 0) != 0)
		return -1;
	for (j = h & (s->cap - 1); s->key[j] != 0; j = (j + 1) & (s->cap - 1))
		if (s->key[j] == h) {
			s->at[j] = now;
			return 0;
		}
	if (s->n + 1 > budget) {
		if (seen_rebuild(s, s->cap, now - hour) != 0)
			return -1;
		if (s->n + 1 > budget)
			return 1;
		for (j = h & (s->cap - 1); s->key[j] != 0;
		    j = (j + 1) & (s->cap - 1))
			;
	}
	s->key[j] = h;
	s->at[j] = now;
	s->n++;
	if (s->n * 2 > s->cap && seen_rebuild(s, s->cap * 2, now - hour) != 0)
		return -1;
	return 0;
}

static int
in_hours(const vv_budget *b, int hour)
{
	if (b->hours_from < 0)
		return 1;
	if (b->hours_from < b->hours_to)
		return hour >= b->hours_from && hour < b->hours_to;
	return hour >= b->hours_from || hour < b->hours_to;	/* night */
}

int
api_guard_begin(struct api_guard *g, const char *token_id,
    const vv_budget *b, int64_t now_ms, int local_hour, int *kind)
{
	struct tracker *t;
	int v = API_PASS;

	if (!in_hours(b, local_hour)) {
		*kind = API_B_HOURS;
		return API_FREEZE;
	}
	if (b->burst_per_second == 0)
		return API_PASS;
	(void)pthread_mutex_lock(&g->lock);
	t = tracker(g, token_id, now_ms);
	if (t->burst_sec != now_ms / 1000) {
		t->burst_sec = now_ms / 1000;
		t->burst_n = 0;
	}
	if (++t->burst_n > b->burst_per_second)
		v = API_THROTTLE;
	(void)pthread_mutex_unlock(&g->lock);
	return v;
}

int
api_guard_count(struct api_guard *g, const char *token_id,
    const vv_budget *b, int64_t now_ms, const uint64_t *records, size_t n,
    int page, int *kind)
{
	struct tracker *t;
	size_t i;
	int v = API_PASS, s;

	if (b->reads_per_minute == 0 && b->records_per_hour == 0 &&
	    b->pages_per_hour == 0)
		return API_PASS;
	(void)pthread_mutex_lock(&g->lock);
	t = tracker(g, token_id, now_ms);
	if (b->reads_per_minute != 0 && window_add(&t->reads, now_ms, 60000,
	    n) > b->reads_per_minute) {
		*kind = API_B_READS;
		v = API_FREEZE;
	}
	if (page && b->pages_per_hour != 0 && window_add(&t->pages, now_ms,
	    3600000, 1) > b->pages_per_hour && v == API_PASS) {
		*kind = API_B_PAGES;
		v = API_FREEZE;
	}
	for (i = 0; i < n && b->records_per_hour != 0; i++) {
		s = seen_add(&t->records, records[i], now_ms,
		    b->records_per_hour);
		/* Out of memory: fail closed, as a budget crossed. */
		if (s != 0 && v == API_PASS) {
			*kind = API_B_RECORDS;
			v = API_FREEZE;
		}
		if (s != 0)
			break;
	}
	(void)pthread_mutex_unlock(&g->lock);
	return v;
}
