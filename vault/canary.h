/*
 * canary.h - making up canary clients (canary_fake.c), for canary.c.
 *
 * A fake client is a pure function of random bytes and the tier policy:
 * nothing here touches the database, so the caller redraws a phone or
 * e-mail that the vault already holds.  Its text is client-like data and
 * is wiped by the caller (sodium_memzero of the struct).
 */
#ifndef VV_CANARY_H
#define VV_CANARY_H

#include <stdint.h>

#include "vault/internal.h"
#include "vault/normalize.h"

struct vv_fake {
	char name[96];
	char phone[VV_PHONE_MAX];	/* E.164, as the writer stores it */
	char email[VV_EMAIL_MAX];	/* normalised */
	char address[128];
	char since[16];			/* YYYY-MM-DD */
	int64_t spend;			/* minor units */
	const char *preferences;	/* static, may be "" */
	unsigned first, last, place;	/* which name and city were drawn */
};

/* A random integer in [0, n) from randombytes; 0 when n < 2. */
uint64_t vv_rand_below(uint64_t n);

/*
 * Draws a person: name, city and address, a spend and a client-since date
 * one to twelve years before today that the policy tiers basic or
 * standard, never VIP (a VIP canary's contacts would be under dual
 * control).  VV_ERR_INVALID when the policy makes every client VIP.
 */
int vv_fake_person(struct vv_fake *f, const vv_policy *pol, int64_t today);

/* Draws a phone in the person's city (a NANP number) and an e-mail from
 * the person's name; attempt 0, 1, ... adds more digits to the e-mail.
 * VV_ERR_INTERNAL if one does not normalise (a bug). */
int vv_fake_phone(struct vv_fake *f);
int vv_fake_email(struct vv_fake *f, int attempt);

#endif /* VV_CANARY_H */
