/*
 * canary_fake.c - made-up clients that pass for real ones; see canary.h.
 *
 * A canary is only worth planting if nobody can tell it from a client:
 * an international mix of names, a phone whose area code belongs to the
 * city of the address, an e-mail made of the name at a business domain,
 * a spend and a client-since date like the vault's other basic and
 * standard clients.  Phone numbers follow the NANP rules (exchange 2-9XX,
 * never N11) and avoid 555, which films use and people recognise.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vault/canary.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A name as written, and as it goes in an e-mail address. */
struct name {
	const char *text, *ascii;
};

static const struct name first_names[] = {
	{ "Olivia", "olivia" }, { "Liam", "liam" }, { "Sofía", "sofia" },
	{ "Mateo", "mateo" }, { "Amara", "amara" }, { "Kwame", "kwame" },
	{ "Yuki", "yuki" }, { "Haruto", "haruto" }, { "Priya", "priya" },
	{ "Arjun", "arjun" }, { "Fatima", "fatima" }, { "Omar", "omar" },
	{ "Chloé", "chloe" }, { "Lucas", "lucas" }, { "Ingrid", "ingrid" },
	{ "Lars", "lars" }, { "Anna", "anna" }, { "Dmitri", "dmitri" },
	{ "Elena", "elena" }, { "Mei", "mei" }, { "Wei", "wei" },
	{ "Ji-woo", "jiwoo" }, { "Min-jun", "minjun" }, { "Aisha", "aisha" },
	{ "Tariq", "tariq" }, { "Zoë", "zoe" }, { "Noah", "noah" },
	{ "Isabela", "isabela" }, { "João", "joao" }, { "Freya", "freya" },
	{ "Mikael", "mikael" }, { "Leila", "leila" }, { "Rafael", "rafael" },
	{ "Nadia", "nadia" }, { "Tomás", "tomas" }, { "Emma", "emma" },
	{ "Daniel", "daniel" }, { "Grace", "grace" }, { "Samuel", "samuel" },
	{ "Hannah", "hannah" }, { "Kofi", "kofi" }, { "Ananya", "ananya" },
};

static const struct name last_names[] = {
	{ "Smith", "smith" }, { "García", "garcia" }, { "Müller", "mueller" },
	{ "Rossi", "rossi" }, { "Tanaka", "tanaka" }, { "Kim", "kim" },
	{ "Nguyen", "nguyen" }, { "Patel", "patel" }, { "Okafor", "okafor" },
	{ "Mensah", "mensah" }, { "Kowalski", "kowalski" }, { "Novak", "novak" },
	{ "Johansson", "johansson" }, { "Andersen", "andersen" },
	{ "Dubois", "dubois" }, { "Moreau", "moreau" }, { "Silva", "silva" },
	{ "Santos", "santos" }, { "Haddad", "haddad" }, { "Khan", "khan" },
	{ "Cohen", "cohen" }, { "O'Brien", "obrien" }, { "Murphy", "murphy" },
	{ "Schmidt", "schmidt" }, { "Costa", "costa" },
	{ "Fernández", "fernandez" }, { "López", "lopez" }, { "Wang", "wang" },
	{ "Chen", "chen" }, { "Singh", "singh" }, { "Sato", "sato" },
	{ "Yılmaz", "yilmaz" }, { "Nakamura", "nakamura" },
	{ "Brown", "brown" }, { "Taylor", "taylor" }, { "Martin", "martin" },
	{ "Bianchi", "bianchi" }, { "Jensen", "jensen" }, { "Park", "park" },
	{ "Hughes", "hughes" },
};

/* Made up, and not ours: a domain the vault's owner runs would mark its
 * canaries to anyone who knows that. */
static const char *const domains[] = {
	"northwind-partners.com", "bluecrestgroup.com", "meridian-hold.net",
	"alderway-consulting.com", "harborline-capital.com", "quillfield.io",
	"stonebridge-advisory.com", "brightmoor-trading.com",
	"vantacore-systems.com", "oakridge-ventures.net",
};

/* A city, its ZIP codes and area codes, so that a canary's phone and
 * address agree as a real client's usually do. */
static const struct place {
	const char *city, *state;
	unsigned zip_lo, zip_hi;
	unsigned area[3];
} places[] = {
	{ "New York", "NY", 10001, 10292, { 212, 646, 917 } },
	{ "Brooklyn", "NY", 11201, 11256, { 718, 347, 929 } },
	{ "Boston", "MA", 2108, 2137, { 617, 857, 617 } },
	{ "Chicago", "IL", 60601, 60661, { 312, 773, 872 } },
	{ "San Francisco", "CA", 94102, 94134, { 415, 628, 415 } },
	{ "Los Angeles", "CA", 90001, 90089, { 213, 323, 310 } },
	{ "Seattle", "WA", 98101, 98199, { 206, 206, 206 } },
	{ "Austin", "TX", 78701, 78759, { 512, 737, 512 } },
	{ "Houston", "TX", 77002, 77099, { 713, 832, 281 } },
	{ "Dallas", "TX", 75201, 75287, { 214, 469, 972 } },
	{ "Miami", "FL", 33125, 33199, { 305, 786, 305 } },
	{ "Atlanta", "GA", 30303, 30363, { 404, 678, 470 } },
	{ "Denver", "CO", 80202, 80239, { 303, 720, 303 } },
	{ "Phoenix", "AZ", 85003, 85054, { 602, 480, 623 } },
	{ "Portland", "OR", 97201, 97239, { 503, 971, 503 } },
	{ "Philadelphia", "PA", 19102, 19154, { 215, 267, 215 } },
	{ "Minneapolis", "MN", 55401, 55488, { 612, 612, 612 } },
};

static const char *const streets[] = {
	"Main Street", "Oak Street", "Maple Avenue", "Cedar Lane",
	"Park Place", "Elm Street", "Lakeview Drive", "Highland Avenue",
	"Church Street", "Pine Street", "River Road", "Madison Avenue",
	"Franklin Street", "Spring Street", "Union Street", "Willow Way",
	"Chestnut Street", "Grand Avenue",
};

/* Most clients have no preferences on file. */
static const char *const prefs[] = {
	"", "", "", "", "prefers e-mail", "no calls before 10:00",
	"quarterly review in person", "paper statements",
};

uint64_t
vv_rand_below(uint64_t n)
{
	uint64_t x, limit;

	if (n < 2)
		return 0;
	if (n <= UINT32_MAX)
		return randombytes_uniform((uint32_t)n);
	/* Rejection sampling: the top, uneven stretch is drawn again. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		randombytes_buf(&x, sizeof(x));
	while (x >= limit);
	return x % n;
}

static unsigned
pick(size_t n)
{
	return randombytes_uniform((uint32_t)n);
}

/* Spend under the VIP minimum (or, when that is 0, years under the VIP
 * minimum), half the time in the basic range. */
static int
fake_value(struct vv_fake *f, const vv_policy *pol, int64_t today)
{
	int64_t hi = pol->vip_min_spend, std = pol->standard_min_spend, lo;
	int64_t max_days = 12 * 365, days;
	time_t t;
	struct tm tm;

	if (hi <= 0) {
		if (pol->vip_min_years < 2)
			return VV_ERR_INVALID;
		if (pol->vip_min_years < 12)
			max_days = 365 * (int64_t)pol->vip_min_years;
		hi = 100000000;		/* 1,000,000.00 */
	}
	if (std > 0 && std < hi && pick(2) == 0) {
		lo = std / 5;
		hi = std;
	} else if (std > 0 && std < hi)
		lo = std;
	else
		lo = hi / 5;
	f->spend = lo + (int64_t)vv_rand_below((uint64_t)(hi - lo));
	/* 366 days or more ago, less than max_days: 1 to 11 whole years,
	 * under the VIP minimum of years when max_days came from it. */
	days = today - 366 - (int64_t)vv_rand_below((uint64_t)(max_days -
	    366));
	t = (time_t)(days * 86400);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(f->since, sizeof(f->since), "%Y-%m-%d", &tm) == 0)
		return VV_ERR_INTERNAL;
	return VV_OK;
}

int
vv_fake_person(struct vv_fake *f, const vv_policy *pol, int64_t today)
{
	const struct place *pl;

	memset(f, 0, sizeof(*f));
	f->first = pick(COUNT(first_names));
	f->last = pick(COUNT(last_names));
	f->place = pick(COUNT(places));
	pl = &places[f->place];
	(void)snprintf(f->name, sizeof(f->name), "%s %s",
	    first_names[f->first].text, last_names[f->last].text);
	(void)snprintf(f->address, sizeof(f->address), "%u %s, %s, %s %05u",
	    1 + pick(2400), streets[pick(COUNT(streets))], pl->city, pl->state,
	    pl->zip_lo + pick(pl->zip_hi - pl->zip_lo + 1));
	f->preferences = prefs[pick(COUNT(prefs))];
	return fake_value(f, pol, today);
}

int
vv_fake_phone(struct vv_fake *f)
{
	const struct place *pl = &places[f->place];
	char raw[24];
	unsigned ex;
	int r;

	do
		ex = 200 + pick(800);
	while (ex % 100 == 11 || ex == 555);
	(void)snprintf(raw, sizeof(raw), "+1%u%u%04u", pl->area[pick(3)], ex,
	    pick(10000));
	/* Stored as the writer normalises it; that it does is checked. */
	r = vv_phone_normalize(raw, f->phone, sizeof(f->phone), NULL);
	sodium_memzero(raw, sizeof(raw));
	return r == VV_OK ? VV_OK : VV_ERR_INTERNAL;
}

int
vv_fake_email(struct vv_fake *f, int attempt)
{
	char raw[VV_EMAIL_MAX], digits[8] = "";
	int r;

	/* Mostly the bare name, as people pick first; digits when taken. */
	if (attempt > 0 || pick(3) == 0)
		(void)snprintf(digits, sizeof(digits), "%u",
		    pick(attempt < 8 ? 100 : 10000));
	(void)snprintf(raw, sizeof(raw), "%s.%s%s@%s",
	    first_names[f->first].ascii, last_names[f->last].ascii, digits,
	    domains[pick(COUNT(domains))]);
	r = vv_email_normalize(raw, f->email, sizeof(f->email), NULL);
	sodium_memzero(raw, sizeof(raw));
	return r == VV_OK ? VV_OK : VV_ERR_INTERNAL;
}
