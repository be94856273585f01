/*
 * testlib.c - see testlib.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "testlib.h"

char *
tl_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/vvtest-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
tl_rmrf(const char *path)
{
	if (path != NULL)
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tl_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

int
tl_write_file(const char *path, const void *data, size_t len)
{
	int fd;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	if (close(fd) != 0 || n < 0 || (size_t)n != len)
		return -1;
	return 0;
}

char *
tl_read_file(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	long size;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		goto out;
	if ((buf = malloc((size_t)size + 1)) == NULL)
		goto out;
	if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = '\0';
	if (len != NULL)
		*len = (size_t)size;
out:
	fclose(fp);
	return buf;
}

int
tl_hash_file(const char *path, uint8_t out[32])
{
	size_t len;
	char *buf = tl_read_file(path, &len);

	if (buf == NULL)
		return -1;
	crypto_generichash(out, 32, (const unsigned char *)buf, len, NULL, 0);
	free(buf);
	return 0;
}

static const void *g_needle;
static size_t g_needle_len;
static const char *g_skip;
static int g_found;

static int
scan_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t len;
	char *buf;

	(void)sb;
	if (flag != FTW_F)
		return 0;
	if (g_skip != NULL && strcmp(path + ftw->base, g_skip) == 0)
		return 0;
	if ((buf = tl_read_file(path, &len)) == NULL)
		return 0;
	if (len >= g_needle_len && memmem(buf, len, g_needle,
	    g_needle_len) != NULL)
		g_found = 1;
	free(buf);
	return g_found;
}

int
tl_dir_contains(const char *dir, const void *needle, size_t len,
    const char *skip)
{
	g_needle = needle;
	g_needle_len = len;
	g_skip = skip;
	g_found = 0;
	(void)nftw(dir, scan_one, 16, FTW_PHYS);
	return g_found;
}

int
tl_copy_dir(const char *src, const char *dst)
{
	char *cmd;
	int r;

	if (asprintf(&cmd, "cp -a '%s' '%s'", src, dst) < 0)
		return -1;
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}
