/*
 * api_server.c - the HTTP server: libmicrohttpd with a thread pool, one
 * vault connection per pool thread, and a committer thread that writes
 * the read log entries of many requests in one transaction.
 *
 * Group commit: a request that read records is suspended with its
 * response ready; the committer takes every waiting request, commits
 * their log entries together (one fsync for all) and resumes them.  So
 * no response leaves before its log entry is durable, and the cost of a
 * durable write is shared by whatever arrived while the last one ran.
 * If the commit fails, every request in it gets 503 and nothing it read.
 *
 * Why libmicrohttpd: it is in Debian, small, audited by years of use in
 * GNUnet and others, does keep-alive, limits, TLS (GnuTLS) and
 * suspend/resume, which is what group commit needs.
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "cli/api.h"
#include "cli/api_server.h"

/* ------------------------------------------------------------ workers */

static int
cache_slot(struct api_worker *w, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < API_SESSIONS; i++)
		if (w->cache[i].s != NULL &&
		    sodium_memcmp(w->cache[i].key, key, 32) == 0)
			return (int)i;
	return -1;
}

static void
cache_drop(struct api_worker *w, size_t i)
{
	vv_session_free(&w->cache[i].s);
	sodium_memzero(w->cache[i].key, sizeof(w->cache[i].key));
	w->cache[i].used = 0;
}

int
api_worker_session(struct api_worker *w, const char *token, vv_session **out)
{
	vv_session *s = NULL;
	uint8_t key[32];
	size_t i, lru = 0;
	int slot, r;

	*out = NULL;
	(void)crypto_generichash(key, sizeof(key), (const uint8_t *)token,
	    strlen(token), w->srv->cache_key, sizeof(w->srv->cache_key));
	w->tick++;
	if ((slot = cache_slot(w, key)) >= 0) {
		/* Revoked, expired or frozen since it was cached? */
		if ((r = vv_session_check(w->cache[slot].s)) != VV_OK) {
			cache_drop(w, (size_t)slot);
			goto out;
		}
		w->cache[slot].used = w->tick;
		*out = w->cache[slot].s;
		r = VV_OK;
		goto out;
	}
	/* Open first: a flood of bad tokens must not push good sessions
	 * out of the cache (each would cost an HSM unwrap to reopen). */
	if ((r = vv_session_open(w->v, token, &s)) != VV_OK)
		goto out;
	for (i = 1; i < API_SESSIONS; i++)
		if (w->cache[i].used < w->cache[lru].used)
			lru = i;
	if (w->cache[lru].s != NULL)
		cache_drop(w, lru);
	w->cache[lru].s = s;
	memcpy(w->cache[lru].key, key, sizeof(key));
	w->cache[lru].used = w->tick;
	*out = s;
out:
	sodium_memzero(key, sizeof(key));
	return r;
}

vv_vault *
api_worker_vault(struct api_worker *w)
{
	return w->v;
}

/* The calling pool thread's worker, opened on its first request. */
struct api_worker *
api_server_worker(struct api_server *srv)
{
	struct api_worker *w = pthread_getspecific(srv->wkey);
	char err[256];

	if (w != NULL)
		return w;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->srv = srv;
	if (vv_vault_open(&w->v, srv->cfg.vault_dir, err, sizeof(err)) !=
	    VV_OK) {
		(void)fprintf(stderr, "vipvault serve: a worker cannot open "
		    "the vault: %s\n", err);
		free(w);
		return NULL;
	}
	(void)pthread_setspecific(srv->wkey, w);
	(void)pthread_mutex_lock(&srv->wlock);
	w->next = srv->workers;
	srv->workers = w;
	(void)pthread_mutex_unlock(&srv->wlock);
	return w;
}

static void
worker_free(struct api_worker *w)
{
	size_t i;

	for (i = 0; i < API_SESSIONS; i++)
		if (w->cache[i].s != NULL)
			cache_drop(w, i);
	vv_vault_free(&w->v);
	free(w);
}

struct api_server_view *
api_server_view(struct api_server *srv)
{
	return &srv->view;
}

/* ---------------------------------------------------------- committer */

int
api_server_enqueue(struct api_server *srv, struct api_conn *c)
{
	(void)pthread_mutex_lock(&srv->qlock);
	if (srv->no_suspend) {
		(void)pthread_mutex_unlock(&srv->qlock);
		return -1;
	}
	/* Suspended under the lock: the stop sees every suspension. */
	MHD_suspend_connection(c->mc);
	srv->suspended++;
	c->qnext = NULL;
	if (srv->qtail != NULL)
		srv->qtail->qnext = c;
	else
		srv->qhead = c;
	srv->qtail = c;
	(void)pthread_cond_signal(&srv->qcond);
	(void)pthread_mutex_unlock(&srv->qlock);
	return 0;
}

static void
commit_batch(struct api_server *srv, struct api_conn *list)
{
	vv_audit *batch[API_BATCH_MAX];
	struct api_conn *c, *next;
	size_t n = 0;
	int r = VV_OK;

	for (c = list; c != NULL; c = c->qnext)
		batch[n++] = c->q.audit;
	if (n > 0 && (r = vv_audit_commit(srv->cv, batch, n)) != VV_OK)
		(void)fprintf(stderr, "vipvault serve: logging reads failed, "
		    "%zu responses withheld: %s\n", n,
		    vv_vault_errmsg(srv->cv));
	api_metrics_commit(n);
	for (c = list; c != NULL; c = next) {
		next = c->qnext;
		vv_audit_free(&c->q.audit);
		c->commit_failed = r != VV_OK;
		c->state = API_CONN_COMMITTED;
		MHD_resume_connection(c->mc);
	}
	/* Resumed: the stop may go on once none is left suspended. */
	(void)pthread_mutex_lock(&srv->qlock);
	srv->suspended -= (unsigned)n;
	(void)pthread_cond_broadcast(&srv->qcond);
	(void)pthread_mutex_unlock(&srv->qlock);
	/* Off the responses' path: the mirror follower copies the entries
	 * to the compliance mirror while the next batch commits. */
	(void)pthread_mutex_lock(&srv->qlock);
	srv->mirror_dirty = 1;
	(void)pthread_cond_signal(&srv->mcond);
	(void)pthread_mutex_unlock(&srv->qlock);
}

/* Copies committed entries to the mirror, as often as they come and no
 * more: many batches committed during one sync are one sync.  A failed
 * sync is retried with the next batch (the entries wait in the vault's
 * log; a release checks the mirror for itself). */
static void *
mirror_follower(void *arg)
{
	struct api_server *srv = arg;
	int stop;

	for (;;) {
		(void)pthread_mutex_lock(&srv->qlock);
		while (!srv->mirror_dirty && !srv->qstop)
			(void)pthread_cond_wait(&srv->mcond, &srv->qlock);
		stop = srv->qstop && !srv->mirror_dirty;
		srv->mirror_dirty = 0;
		(void)pthread_mutex_unlock(&srv->qlock);
		if (stop)
			break;
		if (vv_compliance_sync(srv->mv) != VV_OK)
			(void)fprintf(stderr, "vipvault serve: the compliance "
			    "mirror is behind: %s\n", vv_vault_errmsg(srv->mv));
	}
	/* Whatever the last batches committed goes out before we stop. */
	(void)vv_compliance_sync(srv->mv);
	return NULL;
}

static void *
committer(void *arg)
{
	struct api_server *srv = arg;
	struct api_conn *list, *c;
	size_t n;

	for (;;) {
		(void)pthread_mutex_lock(&srv->qlock);
		while (srv->qhead == NULL && !srv->qstop)
			(void)pthread_cond_wait(&srv->qcond, &srv->qlock);
		if (srv->qhead == NULL) {
			(void)pthread_mutex_unlock(&srv->qlock);
			break;
		}
		/* At most API_BATCH_MAX at a time; the rest wait a turn. */
		list = srv->qhead;
		for (c = list, n = 1; c->qnext != NULL && n < API_BATCH_MAX;
		    c = c->qnext, n++)
			;
		srv->qhead = c->qnext;
		if (srv->qhead == NULL)
			srv->qtail = NULL;
		c->qnext = NULL;
		(void)pthread_mutex_unlock(&srv->qlock);
		commit_batch(srv, list);
	}
	return NULL;
}

/* ------------------------------------------------------- start, stop */

/* "HOST:PORT" or "[V6]:PORT", numeric host only: a name could resolve
 * to a public address. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res = NULL;
	char host[64];
	const char *colon, *h = s;
	size_t hl;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
open_log(struct api_server *srv, char *err, size_t errlen)
{
	const char *path = srv->cfg.access_log;

	if (path == NULL) {
		srv->log_fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(path, "off") == 0) {
		srv->log_fd = -1;
		return 0;
	}
	if (strcmp(path, "-") == 0) {
		srv->log_fd = STDOUT_FILENO;
		return 0;
	}
	srv->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600);
	if (srv->log_fd < 0) {
		(void)snprintf(err, errlen, "access log %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* libmicrohttpd's messages, without their arguments: those can hold the
 * request's path, which holds a client id. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	size_t n = strcspn(fmt, "\n");

	(void)cls;
	(void)ap;
	(void)fprintf(stderr, "vipvault serve: libmicrohttpd: %.*s\n",
	    (int)(n > 200 ? 200 : n), fmt);
}

static unsigned
pool_size(const struct api_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->threads != 0)
		return cfg->threads;
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int
start_daemon(struct api_server *srv, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	MHD_LogCallback logger = mhd_log;
	unsigned threads = pool_size(&srv->cfg);

	if (parse_listen(srv->cfg.listen, &ss, &sslen) != 0) {
		(void)snprintf(err, errlen, "--listen: HOST:PORT with a "
		    "numeric address, e.g. 127.0.0.1:8200");
		return VV_ERR_INVALID;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls_cert != NULL)
		flags |= MHD_USE_TLS;
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, api_http_access, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_MEMORY_LIMIT,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_NOTIFY_COMPLETED, api_http_completed, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, logger, NULL,
	    srv->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    srv->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key,
	    MHD_OPTION_END);
	if (srv->d == NULL) {
		(void)snprintf(err, errlen, "cannot listen on %s (in use, or "
		    "not an address of this host?%s)", srv->cfg.listen,
		    srv->tls_cert != NULL ? " Or GnuTLS refused the "
		    "certificate or key" : "");
		return VV_ERR_IO;
	}
	info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info != NULL ? info->port : 0;
	return VV_OK;
}

/* A vv_err: the vault's own for a vault that does not open (an HSM out
 * of reach is VV_ERR_HSM), VV_ERR_INVALID for a bad address. */
static int
setup(struct api_server *srv, char *err, size_t errlen)
{
	int r;

	if (srv->cfg.tls_cert != NULL &&
	    (r = api_tls_load(srv, err, errlen)) != VV_OK)
		return r;
	if (open_log(srv, err, errlen) != 0)
		return VV_ERR_IO;
	if ((r = vv_vault_open(&srv->cv, srv->cfg.vault_dir, err, errlen)) !=
	    VV_OK || (r = vv_vault_open(&srv->mv, srv->cfg.vault_dir, err,
	    errlen)) != VV_OK)
		return r;
	if (pthread_create(&srv->committer, NULL, committer, srv) != 0) {
		(void)snprintf(err, errlen, "cannot start a thread");
		return VV_ERR_IO;
	}
	srv->committer_started = 1;
	if (pthread_create(&srv->mirror, NULL, mirror_follower, srv) != 0) {
		(void)snprintf(err, errlen, "cannot start a thread");
		return VV_ERR_IO;
	}
	srv->mirror_started = 1;
	return start_daemon(srv, err, errlen);
}

int
api_server_start(const struct api_config *cfg, struct api_server **out,
    char *err, size_t errlen)
{
	struct api_server *srv;
	int r;

	*out = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return VV_ERR_NOMEM;
	}
	srv->cfg = *cfg;
	srv->log_fd = -1;
	randombytes_buf(srv->cache_key, sizeof(srv->cache_key));
	randombytes_buf(srv->view.hash_key, sizeof(srv->view.hash_key));
	api_json_init();
	if (pthread_key_create(&srv->wkey, NULL) != 0 ||
	    pthread_mutex_init(&srv->wlock, NULL) != 0 ||
	    pthread_mutex_init(&srv->qlock, NULL) != 0 ||
	    pthread_cond_init(&srv->qcond, NULL) != 0 ||
	    pthread_cond_init(&srv->mcond, NULL) != 0 ||
	    api_guard_new(&srv->view.guard) != 0) {
		(void)snprintf(err, errlen, "out of resources");
		api_server_stop(&srv, 0);
		return VV_ERR_NOMEM;
	}
	if ((r = setup(srv, err, errlen)) != VV_OK) {
		api_server_stop(&srv, 0);
		return r;
	}
	*out = srv;
	return VV_OK;
}

unsigned
api_server_port(const struct api_server *srv)
{
	return srv->port;
}

static void
wait_inflight(struct api_server *srv, unsigned grace_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned waited = 0;

	while (__atomic_load_n(&srv->inflight, __ATOMIC_SEQ_CST) > 0 &&
	    waited < grace_ms) {
		(void)nanosleep(&ts, NULL);
		waited += 10;
	}
}

void
api_server_stop(struct api_server **sp, unsigned grace_ms)
{
	struct api_server *srv;
	struct api_worker *w, *next;
	MHD_socket ls;

	if (sp == NULL || (srv = *sp) == NULL)
		return;
	srv->view.stopping = 1;
	if (srv->d != NULL) {
		/* No new connections; requests under way run to the end,
		 * their log entries committed, before the daemon stops. */
		/* Refuse new connections at once (a kernel backlog nobody
		 * accepts from would leave clients hanging), but keep the
		 * descriptor: libmicrohttpd's threads may still hold it. */
		if ((ls = MHD_quiesce_daemon(srv->d)) != MHD_INVALID_SOCKET)
			(void)shutdown(ls, SHUT_RDWR);
		wait_inflight(srv, grace_ms);
		/* libmicrohttpd aborts if stopped with a connection
		 * suspended: no more suspensions (a late request commits its
		 * own entries), and the committer resumes the last ones. */
		(void)pthread_mutex_lock(&srv->qlock);
		srv->no_suspend = 1;
		while (srv->suspended > 0)
			(void)pthread_cond_wait(&srv->qcond, &srv->qlock);
		(void)pthread_mutex_unlock(&srv->qlock);
		MHD_stop_daemon(srv->d);
		/* Ours to close once the daemon is gone, not before. */
		if (ls != MHD_INVALID_SOCKET)
			(void)close(ls);
	}
	if (srv->committer_started) {
		(void)pthread_mutex_lock(&srv->qlock);
		srv->qstop = 1;
		(void)pthread_cond_signal(&srv->qcond);
		(void)pthread_mutex_unlock(&srv->qlock);
		(void)pthread_join(srv->committer, NULL);
	}
	if (srv->mirror_started) {
		(void)pthread_mutex_lock(&srv->qlock);
		srv->qstop = 1;
		(void)pthread_cond_signal(&srv->mcond);
		(void)pthread_mutex_unlock(&srv->qlock);
		(void)pthread_join(srv->mirror, NULL);
	}
	for (w = srv->workers; w != NULL; w = next) {
		next = w->next;
		worker_free(w);
	}
	vv_vault_free(&srv->cv);
	vv_vault_free(&srv->mv);
	api_guard_free(&srv->view.guard);
	(void)pthread_key_delete(srv->wkey);
	(void)pthread_mutex_destroy(&srv->wlock);
	(void)pthread_mutex_destroy(&srv->qlock);
	(void)pthread_cond_destroy(&srv->qcond);
	(void)pthread_cond_destroy(&srv->mcond);
	if (srv->log_fd > STDERR_FILENO)
		(void)close(srv->log_fd);
	if (srv->tls_key != NULL)
		sodium_free(srv->tls_key);
	free(srv->tls_cert);
	sodium_memzero(srv->cache_key, sizeof(srv->cache_key));
	free(srv);
	*sp = NULL;
}
