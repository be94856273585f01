/*
 * bench_http.c - the API under load: wrk against `vipvault serve` on
 * loopback, reading records by id through a token whose role has no
 * budget (a service account), next to the in-process get rate measured
 * in the same run.  The server, wrk and this process share the machine:
 * on two cores the figure is what a two-core host serves with its load
 * generator on board, a floor rather than a ceiling.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vipvault.h"
#include "bench.h"

#define WRK_SECONDS "10"
#define WRK_CONNS "128"

struct wrk_result {
	double rps;
	double p50_ms, p99_ms;
	unsigned long errors;
};

static char *
join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static int
write_script(const char *path, const char *ids, const char *token)
{
	FILE *fp;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	/* The token goes in this file (mode 0600), not in wrk's argv. */
	(void)fprintf(fp,
	    "local ids = {}\n"
	    "for line in io.lines(\"%s\") do ids[#ids + 1] = line end\n"
	    "local i = 0\n"
	    "wrk.headers[\"Authorization\"] = \"Bearer %s\"\n"
	    "init = function(args) math.randomseed(os.time() + "
	    "tonumber(tostring({}):sub(8), 16)); i = math.random(#ids) end\n"
	    "request = function()\n"
	    "  i = i %% #ids + 1\n"
	    "  return wrk.format(\"GET\", \"/v1/clients/\" .. ids[i])\n"
	    "end\n", ids, token);
	return fclose(fp) == 0 ? 0 : -1;
}

static int
write_ids(const char *path, char (*seq)[ID_MAX], size_t n)
{
	FILE *fp = fopen(path, "we");
	size_t i;

	if (fp == NULL)
		return -1;
	for (i = 0; i < n; i++)
		(void)fprintf(fp, "%s\n", seq[i]);
	return fclose(fp) == 0 ? 0 : -1;
}

static pid_t
start_server(const char *vipvault, const char *vdir, const char *portfile)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	pid_t pid;
	int i;

	(void)fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(vipvault, vipvault, "--vault", vdir, "serve", "--listen",
		    "127.0.0.1:0", "--port-file", portfile, "--access-log",
		    "off", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if (access(portfile, R_OK) == 0)
			return pid;
		(void)nanosleep(&ts, NULL);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	return -1;
}

/* "1.23ms", "850.00us", "1.01s" in milliseconds. */
static double
wrk_ms(const char *s)
{
	char *end;
	double x = strtod(s, &end);

	if (strncmp(end, "us", 2) == 0)
		return x / 1000;
	if (strncmp(end, "ms", 2) == 0)
		return x;
	if (*end == 's')
		return x * 1000;
	return -1;
}

static int
run_wrk(const char *script, unsigned port, const char *seconds,
    struct wrk_result *res)
{
	char cmd[1024], line[512], *p;
	FILE *fp;

	memset(res, 0, sizeof(*res));
	(void)snprintf(cmd, sizeof(cmd), "wrk -t2 -c" WRK_CONNS " -d%ss "
	    "--latency -s '%s' http://127.0.0.1:%u 2>&1", seconds, script,
	    port);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		for (p = line; *p == ' '; p++)
			;
		if (strncmp(p, "Requests/sec:", 13) == 0)
			res->rps = strtod(p + 13, NULL);
		else if (strncmp(p, "50%", 3) == 0)
			res->p50_ms = wrk_ms(p + 3 + strspn(p + 3, " "));
		else if (strncmp(p, "99%", 3) == 0)
			res->p99_ms = wrk_ms(p + 3 + strspn(p + 3, " "));
		else if (strncmp(p, "Non-2xx or 3xx responses:", 25) == 0)
			res->errors += strtoul(p + 25, NULL, 10);
		else if (strncmp(p, "Socket errors:", 14) == 0)
			res->errors += 1;
	}
	return pclose(fp) == 0 && res->rps > 0 ? 0 : -1;
}

static int
issue_token(vv_vault *v, char *tok)
{
	vv_budget none;
	int r;

	memset(&none, 0, sizeof(none));
	none.hours_from = none.hours_to = -1;
	if ((r = vv_role_add_with(v, "bench-http", VV_TIER_MASK(VV_TIER_BASIC)
	    | VV_TIER_MASK(VV_TIER_STANDARD), 0, &none)) != VV_OK ||
	    (r = vv_token_issue(v, "bench-http", "crm-service", 0, tok,
	    VV_TOKEN_MAX)) != VV_OK) {
		fprintf(stderr, "bench: http token: %s (%s)\n", vv_strerror(r),
		    vv_vault_errmsg(v));
		return -1;
	}
	return 0;
}

int
bench_http(vv_vault *v, const char *vdir, const char *tmp,
    char (*seq)[ID_MAX], size_t n, double inproc_rate)
{
	const char *vipvault = getenv("BENCH_VIPVAULT");
	char tok[VV_TOKEN_MAX], portbuf[16];
	char *ids = join(tmp, "ids.txt"), *script = join(tmp, "wrk.lua"),
	    *portfile = join(tmp, "port");
	struct wrk_result warm, res;
	unsigned port = 0;
	pid_t pid = -1;
	FILE *fp;
	int rc = -1;

	if (vipvault == NULL || access(vipvault, X_OK) != 0 ||
	    system("command -v wrk >/dev/null 2>&1") != 0) {
		printf("\nHTTP: skipped (needs wrk and BENCH_VIPVAULT)\n");
		rc = 0;
		goto out;
	}
	if (ids == NULL || script == NULL || portfile == NULL ||
	    issue_token(v, tok) != 0 || write_ids(ids, seq, n) != 0 ||
	    write_script(script, ids, tok) != 0)
		goto out;
	if ((pid = start_server(vipvault, vdir, portfile)) < 0) {
		fprintf(stderr, "bench: vipvault serve did not start\n");
		goto out;
	}
	if ((fp = fopen(portfile, "re")) == NULL ||
	    fgets(portbuf, sizeof(portbuf), fp) == NULL) {
		if (fp != NULL)
			(void)fclose(fp);
		goto out;
	}
	(void)fclose(fp);
	port = (unsigned)strtoul(portbuf, NULL, 10);
	/* Warm up: every worker opens its vault and session first. */
	if (run_wrk(script, port, "2", &warm) != 0 ||
	    run_wrk(script, port, WRK_SECONDS, &res) != 0) {
		fprintf(stderr, "bench: wrk failed\n");
		goto out;
	}
	printf("\nHTTP API, wrk -t2 -c" WRK_CONNS " -d" WRK_SECONDS "s, GET "
	    "/v1/clients/{id} over %zu ids, basic and standard\n", n);
	printf("%-34s %12.0f %14.0f %7.2f   (in-process vv_get)\n",
	    "get by id over HTTP (/s)", res.rps, inproc_rate,
	    res.rps / inproc_rate);
	printf("%-34s %12.2f\n%-34s %12.2f\n%-34s %12lu\n",
	    "latency p50 (ms)", res.p50_ms, "latency p99 (ms)", res.p99_ms,
	    "non-200 responses, socket errors", res.errors);
	printf("goal: 27000/s with p99 < 5 ms: %s\n", res.rps >= 27000 &&
	    res.p99_ms < 5 ? "met" : "not met");
	rc = res.errors == 0 ? 0 : -1;
out:
	if (pid > 0) {
		(void)kill(pid, SIGTERM);
		(void)waitpid(pid, NULL, 0);
	}
	sodium_memzero(tok, sizeof(tok));
	if (script != NULL)
		(void)unlink(script);
	free(ids);
	free(script);
	free(portfile);
	return rc;
}
