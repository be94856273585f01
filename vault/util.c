/*
 * util.c - small helpers: hex, big-endian integers, dates, files.
 *
 * Files the vault owns are written whole or not at all: a temporary file
 * beside the target, fsync, rename, fsync of the directory.  A crash
 * leaves either the old or the new file, never a torn one.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vault/internal.h"
#include "vault/utf8.h"

void
vv_hex(char *out, const uint8_t *in, size_t len)
{
	(void)sodium_bin2hex(out, 2 * len + 1, in, len);
}

int
vv_unhex(uint8_t *out, size_t outlen, const char *in)
{
	size_t got = 0;
	const char *end = NULL;

	if (strlen(in) != 2 * outlen)
		return VV_ERR_INPUT;
	if (sodium_hex2bin(out, outlen, in, strlen(in), NULL, &got,
	    &end) != 0 || got != outlen || *end != '\0')
		return VV_ERR_INPUT;
	return VV_OK;
}

void
vv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
vv_put_be64(uint8_t *p, uint64_t v)
{
	vv_put_be32(p, (uint32_t)(v >> 32));
	vv_put_be32(p + 4, (uint32_t)v);
}

char *
vv_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int64_t
vv_now(void)
{
	return (int64_t)time(NULL);
}

/* Days from civil date, proleptic Gregorian (Howard Hinnant's method). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t
vv_parse_date(const char *s)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	unsigned y, m, d, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (unsigned)atoi(s);
	m = (unsigned)atoi(s + 5);
	d = (unsigned)atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return -1;
	if (d > mdays[m - 1] + (m == 2 && is_leap(y)))
		return -1;
	return days_from_civil((int64_t)y, m, d);
}

int64_t
vv_today(void)
{
	return vv_now() / 86400;
}

/* Whole years elapsed: compares month and day, not a 365-day count. */
int
vv_years_since(int64_t since, int64_t today)
{
	time_t a = (time_t)(since * 86400), b = (time_t)(today * 86400);
	struct tm ta, tb;
	int years;

	if (gmtime_r(&a, &ta) == NULL || gmtime_r(&b, &tb) == NULL)
		return 0;
	years = tb.tm_year - ta.tm_year;
	if (tb.tm_mon < ta.tm_mon ||
	    (tb.tm_mon == ta.tm_mon && tb.tm_mday < ta.tm_mday))
		years--;
	return years;
}

/* Names of roles, users and owners: printable, no spaces or controls, so
 * they are safe in tables, logs and HSM labels. */
uint64_t
vv_get_be64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

uint32_t
vv_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
vv_valid_external_id(const char *s)
{
	size_t i, len, n = strlen(s);

	if (n == 0 || n >= VV_EXTID_MAX)
		return 0;
	/* Well-formed UTF-8 too: an id goes into JSON and log entries. */
	for (i = 0; i < n; i += len)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f ||
		    (len = vv_utf8_len((const uint8_t *)s + i, n - i)) == 0)
			return 0;
	return 1;
}

int
vv_valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= VV_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

static int
fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = VV_ERR_IO;

	if (copy == NULL)
		return VV_ERR_NOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) == 0)
			r = VV_OK;
		(void)close(fd);
	}
	free(copy);
	return r;
}

int
vv_write_file(const char *path, const void *data, size_t len, int excl)
{
	char *tmp = NULL;
	int fd = -1, r = VV_ERR_IO;
	ssize_t n;

	if (excl && access(path, F_OK) == 0)
		return VV_ERR_EXISTS;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return VV_ERR_NOMEM;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto out;
	if (fchmod(fd, 0600) != 0)
		goto out;
	n = write(fd, data, len);
	if (n < 0 || (size_t)n != len || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link(2) fails if path exists: no window for a race. */
		if (link(tmp, path) != 0) {
			r = errno == EEXIST ? VV_ERR_EXISTS : VV_ERR_IO;
			goto out;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	r = fsync_dir_of(path);
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	return r;
}

int
vv_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, r = VV_ERR_IO;
	ssize_t n;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? VV_ERR_NOT_FOUND : VV_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size > max) {
		r = VV_ERR_INPUT;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = VV_ERR_NOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0 || n != st.st_size)
		goto out;
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
	r = VV_OK;
out:
	free(buf);
	(void)close(fd);
	return r;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	(void)remove(path);
	return 0;
}

void
vv_rmtree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
