/*
 * api_server.h - the server's own structures, shared by api_server.c
 * (workers, group commit, start and stop) and api_http.c (requests).
 */
#ifndef VV_API_SERVER_H
#define VV_API_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "cli/api.h"

#define API_SESSIONS	64	/* cached sessions per worker */
#define API_BATCH_MAX	1024	/* requests in one group commit */
#define API_CONN_LIMIT	1024
#define API_TIMEOUT_S	30
#define API_MEMORY_LIMIT (16u * 1024u)	/* per connection: headers */

struct api_server;

struct api_worker {
	struct api_server *srv;
	vv_vault *v;
	struct {
		uint8_t key[32];	/* keyed hash of the bearer token */
		vv_session *s;
		uint64_t used;
	} cache[API_SESSIONS];
	uint64_t tick;
	struct api_worker *next;
};

enum api_conn_state { API_CONN_NEW = 0, API_CONN_WAITING,
    API_CONN_COMMITTED };

/* One request, from its first header to its completion. */
struct api_conn {
	struct api_server *srv;
	struct api_req q;
	struct MHD_Connection *mc;
	int64_t start_us;
	char request_id[17];
	struct abuf body;
	int too_large;
	int state;
	int commit_failed;
	size_t bytes;		/* the response body's */
	struct api_conn *qnext;
};

struct api_server {
	struct api_server_view view;
	struct api_config cfg;
	struct MHD_Daemon *d;
	unsigned port;
	pthread_key_t wkey;
	pthread_mutex_t wlock;
	struct api_worker *workers;
	uint8_t cache_key[32];
	int log_fd;		/* -1: no access log */
	/* group commit */
	vv_vault *cv;
	pthread_t committer;
	int committer_started;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct api_conn *qhead, *qtail;
	int qstop;
	uint64_t inflight;	/* requests begun and not completed */
	/* Under qlock: connections suspended for the committer, and
	 * whether more may be (not once the daemon is about to stop:
	 * libmicrohttpd refuses to stop with one suspended). */
	unsigned suspended;
	int no_suspend;
	/* the mirror follower: its own vault handle and thread */
	vv_vault *mv;
	pthread_t mirror;
	int mirror_started;
	int mirror_dirty;	/* under qlock; signalled on mcond */
	pthread_cond_t mcond;
	char *tls_key, *tls_cert;	/* the key in guarded memory */
	size_t tls_len;			/* the key's length */
};

/* api_http.c: libmicrohttpd's callbacks. */
enum MHD_Result api_http_access(void *cls, struct MHD_Connection *mc,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls);
void api_http_completed(void *cls, struct MHD_Connection *mc,
    void **con_cls, enum MHD_RequestTerminationCode toe);

/* api_tls.c: reads --tls-cert and --tls-key into srv and checks that
 * they are a certificate and its unencrypted key.  A vv_err (VV_ERR_INPUT
 * for a file that is not what it should be), with err naming the file
 * and the problem. */
int api_tls_load(struct api_server *srv, char *err, size_t errlen);

/* api_server.c */
struct api_worker *api_server_worker(struct api_server *srv);
/* Suspends c and hands it to the committer: 0.  -1 when the server is
 * about to stop: the caller commits c's entries itself. */
int api_server_enqueue(struct api_server *srv, struct api_conn *c);

#endif /* VV_API_SERVER_H */
