/*
 * bench_gen.c - the benchmark's synthetic CRM export.
 *
 * Records look like ../shared/data/clients-10k.csv (names in three
 * scripts, phones in national and international formats, quoted
 * addresses and multi-line notes), so the import does the same work as on
 * real data, at any size.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vipvault.h"
#include "bench.h"

static const char csv_header[] = "external_id,name,phone,email,address,"
    "annual_spend,client_since,owner,notes\n";

/* splitmix64: small, fast and the same on every machine. */
uint64_t
bench_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

unsigned
bench_rndn(uint64_t *s, unsigned n)
{
	return (unsigned)(bench_rnd(s) % n);
}

/* ---------------------------------------------------------- generator */

struct person {
	const char *name;	/* native script */
	const char *latin;	/* for the e-mail address */
};

static const struct person ru_first[] = {
	{ "Анна", "anna" }, { "Мария", "maria" }, { "Елена", "elena" },
	{ "Ольга", "olga" }, { "Ирина", "irina" }, { "Наталья", "natalia" },
	{ "Екатерина", "ekaterina" }, { "Дмитрий", "dmitry" },
	{ "Сергей", "sergey" }, { "Алексей", "alexey" },
	{ "Андрей", "andrey" }, { "Михаил", "mikhail" },
};
static const char *const ru_last[] = { "Смирнова", "Козлов", "Соколов",
    "Попова", "Новикова", "Волкова", "Кузнецов", "Лебедева", "Морозов",
    "Петров", "Васильева", "Фёдоров" };
static const char *const ru_street[] = { "ул. Тверская", "ул. Ленина",
    "Невский пр.", "ул. Арбат", "Ленинградский пр.", "ул. Пушкина" };
static const char *const ru_city[] = { "Москва", "Санкт-Петербург",
    "Казань", "Новосибирск" };

static const char *const en_first[] = { "Olivia", "Liam", "Emma", "Noah",
    "Ava", "Lucas", "Sophia", "James", "Mia", "Ethan", "Charlotte",
    "Benjamin" };
static const char *const en_last[] = { "Lewis", "Taylor", "Smith",
    "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore" };
static const char *const en_street[] = { "Market St", "Main St",
    "Broadway", "Elm Ave", "Mission St", "Lake Shore Dr" };
static const char *const en_city[] = { "San Francisco, CA", "New York, NY",
    "Chicago, IL", "Austin, TX" };

static const char *const cn_last[] = { "王", "李", "张", "刘", "陈", "杨",
    "赵", "黄", "周", "吴" };
static const char *const cn_first[] = { "伟", "芳", "娜", "秀英", "敏",
    "静", "丽", "强", "磊", "洋", "建华", "晓明" };

static const char *const notes[] = { "", "", "prefers calls after 18:00",
    "Предпочитает WhatsApp", "需要发票", "wholesale; pays by invoice",
    "said \"call me Sasha\"", "multi-line\nnote with, commas",
    "VIP: birthday in March",
    "Просит не звонить по понедельникам, только e-mail",
    "renewal due Q3; discount 5%, approved by bob",
    "联系人: 王经理, 周一至周五" };
static const char *const owners[] = { "alice", "bob", "carol", "dmitry",
    "elena", "li.wei" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(s, a) ((a)[bench_rndn((s), (unsigned)NELEM(a))])

/* Writes one CSV field, quoted when RFC 4180 requires it. */
static int
put_field(FILE *fp, const char *s, int last)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		if (fputs(s, fp) == EOF)
			return -1;
	} else {
		if (putc('"', fp) == EOF)
			return -1;
		for (p = s; *p != '\0'; p++)
			if ((*p == '"' && putc('"', fp) == EOF) ||
			    putc(*p, fp) == EOF)
				return -1;
		if (putc('"', fp) == EOF)
			return -1;
	}
	return putc(last ? '\n' : ',', fp) == EOF ? -1 : 0;
}

static void
fmt_date(char out[11], int64_t days)
{
	time_t t = (time_t)(days * 86400);
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)strftime(out, 11, "%Y-%m-%d", &tm);
}

/*
 * Spend (cents) and client_since for a tier under the default policy,
 * with a month's margin on the five-year line.  A sixth of the standard
 * records spend like VIPs but are too recent.
 */
static void
gen_value(uint64_t *s, int64_t today, uint8_t *tier, int64_t *spend,
    int64_t *since)
{
	unsigned roll = bench_rndn(s, 1000);

	if (roll < 50) {
		*tier = VV_TIER_VIP;
		*spend = 10000000 + (int64_t)bench_rndn(s, 190000000);
		*since = today - (5 * 365 + 30) - bench_rndn(s, 20 * 365);
	} else if (roll < 100) {
		*tier = VV_TIER_STANDARD;
		*spend = 10000000 + (int64_t)bench_rndn(s, 40000000);
		*since = today - bench_rndn(s, 4 * 365);
	} else if (roll < 350) {
		*tier = VV_TIER_STANDARD;
		*spend = 1000000 + (int64_t)bench_rndn(s, 9000000);
		*since = today - bench_rndn(s, 25 * 365);
	} else {
		*tier = VV_TIER_BASIC;
		*spend = (int64_t)bench_rndn(s, 1000000);
		*since = today - bench_rndn(s, 25 * 365);
	}
}

/* The text of one generated record. */
#define GEN_LEN 160
struct gen_text {
	char name[GEN_LEN];
	char phone[GEN_LEN];
	char email[GEN_LEN];
	char addr[GEN_LEN];
};

static void
gen_ru(uint64_t *s, size_t i, struct gen_text *g)
{
	const struct person *f = &PICK(s, ru_first);
	const char *street;
	unsigned a = bench_rndn(s, 100), b = bench_rndn(s, 1000), c = bench_rndn(s, 100),
	    d = bench_rndn(s, 100), house, flat;

	(void)snprintf(g->name, GEN_LEN, "%s %s", f->name, PICK(s, ru_last));
	switch (bench_rndn(s, 3)) {
	case 0:
		(void)snprintf(g->phone, GEN_LEN, "+7 (9%02u) %03u-%02u-%02u",
		    a, b, c, d);
		break;
	case 1:
		(void)snprintf(g->phone, GEN_LEN, "+79%02u%03u%02u%02u",
		    a, b, c, d);
		break;
	default:
		(void)snprintf(g->phone, GEN_LEN, "8 9%02u %03u %02u %02u",
		    a, b, c, d);
		break;
	}
	if (bench_rndn(s, 8) == 0)
		(void)snprintf(g->email, GEN_LEN, "%c%s.%zu@Mail.RU",
		    f->latin[0] - 'a' + 'A', f->latin + 1, i);
	else
		(void)snprintf(g->email, GEN_LEN, "%s.%zu@example.ru",
		    f->latin, i);
	street = PICK(s, ru_street);
	house = 1 + bench_rndn(s, 120);
	flat = 1 + bench_rndn(s, 300);
	(void)snprintf(g->addr, GEN_LEN, "%s, д. %u, кв. %u, %s", street,
	    house, flat, PICK(s, ru_city));
}

static void
gen_en(uint64_t *s, size_t i, struct gen_text *g)
{
	const char *first = PICK(s, en_first), *last = PICK(s, en_last);
	const char *street, *city;
	unsigned line = bench_rndn(s, 10000), house;

	(void)snprintf(g->name, GEN_LEN, "%s %s", first, last);
	switch (bench_rndn(s, 3)) {
	case 0:
		(void)snprintf(g->phone, GEN_LEN, "+1-415-555-%04u", line);
		break;
	case 1:
		(void)snprintf(g->phone, GEN_LEN, "+1 (212) 555-%04u", line);
		break;
	default:
		(void)snprintf(g->phone, GEN_LEN, "+1 312.555.%04u", line);
		break;
	}
	(void)snprintf(g->email, GEN_LEN, "%s.%s%zu@example.com", first,
	    last, i);
	house = 1 + bench_rndn(s, 9000);
	street = PICK(s, en_street);
	city = PICK(s, en_city);
	(void)snprintf(g->addr, GEN_LEN, "%u %s, %s %05u", house, street,
	    city, 10000 + bench_rndn(s, 89999));
}

static void
gen_cn(uint64_t *s, size_t i, struct gen_text *g)
{
	const char *last = PICK(s, cn_last);
	unsigned a = 30 + bench_rndn(s, 60), b = bench_rndn(s, 10000), c = bench_rndn(s, 10000);
	unsigned house = 1 + bench_rndn(s, 2000), room = 100 + bench_rndn(s, 3000);

	(void)snprintf(g->name, GEN_LEN, "%s%s", last, PICK(s, cn_first));
	switch (bench_rndn(s, 3)) {
	case 0:
		(void)snprintf(g->phone, GEN_LEN, "+86 1%02u %04u %04u",
		    a, b, c);
		break;
	case 1:
		(void)snprintf(g->phone, GEN_LEN, "+861%02u%04u%04u", a, b, c);
		break;
	default:
		(void)snprintf(g->phone, GEN_LEN, "0086 1%02u-%04u-%04u",
		    a, b, c);
		break;
	}
	(void)snprintf(g->email, GEN_LEN, "user%zu@example.cn", i);
	switch (bench_rndn(s, 3)) {
	case 0:
		(void)snprintf(g->addr, GEN_LEN, "上海市浦东新区世纪大道%u号, "
		    "%u室", house, room);
		break;
	case 1:
		(void)snprintf(g->addr, GEN_LEN, "北京市朝阳区建国路%u号, %u室",
		    house, room);
		break;
	default:
		(void)snprintf(g->addr, GEN_LEN, "%u Nanjing Rd, Shanghai",
		    house);
		break;
	}
}

static int
gen_record(FILE *fp, uint64_t *s, size_t i, int64_t today, uint8_t *tier)
{
	struct gen_text g;
	char id[ID_MAX], spend[32], since[11];
	int64_t cents, days;
	unsigned loc = bench_rndn(s, 10);

	gen_value(s, today, tier, &cents, &days);
	if (loc < 5)
		gen_ru(s, i, &g);
	else if (loc < 8)
		gen_en(s, i, &g);
	else
		gen_cn(s, i, &g);
	if (bench_rndn(s, 30) == 0)
		g.email[0] = '\0';	/* some CRMs have no e-mail */
	(void)snprintf(id, sizeof(id), "C%07zu", i);
	(void)snprintf(spend, sizeof(spend), "%lld.%02lld",
	    (long long)(cents / 100), (long long)(cents % 100));
	fmt_date(since, days);
	if (put_field(fp, id, 0) != 0 || put_field(fp, g.name, 0) != 0 ||
	    put_field(fp, g.phone, 0) != 0 || put_field(fp, g.email, 0) != 0 ||
	    put_field(fp, g.addr, 0) != 0 || put_field(fp, spend, 0) != 0 ||
	    put_field(fp, since, 0) != 0 ||
	    put_field(fp, PICK(s, owners), 0) != 0 ||
	    put_field(fp, PICK(s, notes), 1) != 0)
		return -1;
	return 0;
}

int
bench_gen_csv(const char *path, size_t nrec, uint8_t *tier,
    size_t counts[4], uint64_t *bytes)
{
	int64_t today = (int64_t)(time(NULL) / 86400);
	uint64_t s = BENCH_SEED;
	struct stat sb;
	FILE *fp;
	size_t i;
	int r = -1;

	if ((fp = fopen(path, "w")) == NULL) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fputs(csv_header, fp) == EOF)
		goto out;
	for (i = 0; i < nrec; i++) {
		if (gen_record(fp, &s, i, today, &tier[i]) != 0)
			goto out;
		counts[tier[i]]++;
	}
	r = 0;
out:
	if (fclose(fp) != 0)
		r = -1;
	if (r != 0)
		fprintf(stderr, "bench: writing %s failed\n", path);
	else if (stat(path, &sb) == 0)
		*bytes = (uint64_t)sb.st_size;
	return r;
}
