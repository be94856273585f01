/*
 * progress.c - a progress bar for long work, only on a terminal.
 *
 * Redrawn at most ten times a second so that drawing never costs more
 * than the work it reports; erased before the final summary is printed.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define BAR_WIDTH 40

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
progress_init(struct progress *p, const char *label)
{
	p->tty = isatty(STDOUT_FILENO);
	p->label = label;
	p->last_ms = 0;
	p->drawn = 0;
}

void
progress_update(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	char bar[BAR_WIDTH + 1];
	unsigned pct, fill, i;
	long long t;

	if (!p->tty || total == 0)
		return;
	t = now_ms();
	if (done < total && t - p->last_ms < 100)
		return;
	p->last_ms = t;
	if (done > total)
		done = total;
	pct = (unsigned)(done * 100 / total);
	fill = (unsigned)(done * BAR_WIDTH / total);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	(void)printf("\r%s [%s] %3u%%", p->label, bar, pct);
	(void)fflush(stdout);
	p->drawn = 1;
}

void
progress_done(struct progress *p)
{
	if (p->drawn) {
		(void)printf("\r\033[K");
		(void)fflush(stdout);
	}
	p->drawn = 0;
}
