/*
 * die_on_mirror.c - a fault injector for test_compliance.sh, loaded with
 * LD_PRELOAD: the process is killed (SIGKILL, as by a crash or an
 * operator) the moment it writes to a compliance mirror's entries file,
 * that is after the vault's log committed and before the mirror has the
 * entry.  Only the real binary runs; nothing in it is mocked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t n);

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	char link[64], target[PATH_MAX];
	ssize_t k;

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((k = readlink(link, target, sizeof(target) - 1)) > 0) {
		target[k] = '\0';
		if (strstr(target, "/mirror/entries") != NULL)
			(void)kill(getpid(), SIGKILL);
	}
	return real(fd, buf, n);
}
