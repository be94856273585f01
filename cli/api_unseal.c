/*
 * api_unseal.c - unseal requests over the API: made with the requester's
 * token, seen only by its user (anyone else's request does not exist
 * for him: 404), and the result handed over once, after the key
 * managers' approvals, through vv_unseal_fetch: its release is durable
 * in the vault log and the compliance mirror before a byte is sent.
 * Only GET takes the result: a HEAD would release it unseen.
 */
#include <stdio.h>
#include <string.h>

#include "cli/api.h"

struct unseal_view {
	const char *user;
	int found;
	char state[16];
	struct abuf *out;
};

static int
unseal_info(void *arg, const vv_unseal_info *i)
{
	struct unseal_view *uv = arg;
	size_t k;

	/* Someone else's request, or a re-split, does not exist here. */
	if (strcmp(i->kind, "unseal") != 0 || strcmp(i->requester,
	    uv->user) != 0)
		return 1;
	uv->found = 1;
	(void)snprintf(uv->state, sizeof(uv->state), "%s", i->state);
	if (uv->out == NULL)
		return 1;
	ab_puts(uv->out, "{\"id\":");
	ab_jstr(uv->out, i->id);
	ab_puts(uv->out, ",\"state\":");
	ab_jstr(uv->out, i->state);
	ab_puts(uv->out, ",\"reason\":");
	ab_jstr(uv->out, i->reason);
	ab_puts(uv->out, ",\"records\":[");
	for (k = 0; k < i->nrecords; k++) {
		if (k > 0)
			ab_puts(uv->out, ",");
		ab_jstr(uv->out, i->records[k]);
	}
	ab_printf(uv->out, "],\"approvals\":%zu,\"threshold\":%u,"
	    "\"created\":%lld,\"expires\":%lld}\n", i->napproved,
	    i->threshold, (long long)i->created, (long long)i->expires);
	return 1;
}

static int
show_request(vv_vault *v, const char *id, vv_session *s, struct abuf *out,
    struct unseal_view *uv)
{
	int r;

	memset(uv, 0, sizeof(*uv));
	uv->user = vv_session_user(s);
	uv->out = out;
	r = vv_unseal_show(v, id, unseal_info, uv);
	if (r == VV_OK && !uv->found)
		r = VV_ERR_NOT_FOUND;
	return r;
}

void
api_unseal_new(struct api_req *q, vv_vault *v, vv_session *s,
    const char *token)
{
	struct api_unseal_body u;
	struct unseal_view uv;
	char id[VV_REQ_ID_HEX], err[160];
	int r;

	r = api_parse_unseal(q->body, q->bodylen, &u, err, sizeof(err));
	if (r != API_BODY_OK) {
		api_fail(q, 400, r == API_BODY_JSON ? "invalid_json" :
		    "invalid_field", err);
		goto out;
	}
	if ((r = vv_unseal_request(v, token, u.records, u.n, u.reason, u.ttl,
	    id)) != VV_OK || (r = show_request(v, id, s, &q->out, &uv)) !=
	    VV_OK) {
		api_fail_vault(q, v, r);
		goto out;
	}
	api_ok(q, 201);
out:
	api_unseal_clear(&u);
}

void
api_unseal_get(struct api_req *q, vv_vault *v, vv_session *s)
{
	struct unseal_view uv;
	int r;

	if ((r = show_request(v, q->param, s, &q->out, &uv)) != VV_OK)
		return api_fail_vault(q, v, r);
	api_ok(q, 200);
}

struct contacts_out {
	struct abuf *out;
	size_t n;
};

static int
contact(void *arg, const vv_contact *c)
{
	struct contacts_out *co = arg;

	ab_puts(co->out, co->n++ > 0 ? ",{\"external_id\":" :
	    "{\"external_id\":");
	ab_jstr(co->out, c->external_id);
	ab_puts(co->out, ",\"phone\":");
	ab_jstr(co->out, c->phone);
	ab_puts(co->out, ",\"email\":");
	ab_jstr(co->out, c->email);
	ab_puts(co->out, ",\"address\":");
	ab_jstr(co->out, c->address);
	ab_puts(co->out, "}");
	return 0;
}

void
api_unseal_result(struct api_req *q, vv_vault *v, vv_session *s,
    const char *token)
{
	struct contacts_out co = { &q->out, 0 };
	struct unseal_view uv;
	int r;

	if ((r = show_request(v, q->param, s, NULL, &uv)) != VV_OK)
		return api_fail_vault(q, v, r);
	if (strcmp(uv.state, "approved") != 0)
		return api_fail(q, 409, strcmp(uv.state, "pending") == 0 ?
		    "not_approved" : strcmp(uv.state, "fetched") == 0 ?
		    "already_fetched" : strcmp(uv.state, "denied") == 0 ?
		    "denied" : "expired", strcmp(uv.state, "pending") == 0 ?
		    "the request is waiting for key managers' approvals" :
		    "the request is closed; its contacts are not available");
	ab_puts(&q->out, "{\"id\":");
	ab_jstr(&q->out, q->param);
	ab_puts(&q->out, ",\"contacts\":[");
	r = vv_unseal_fetch(v, token, q->param, contact, &co);
	/* Not the vault's message: it names the mirror's path. */
	if (r == VV_ERR_IO)
		return api_fail(q, 503, "compliance_unavailable", "the "
		    "release could not be logged to the compliance mirror; "
		    "the request stays approved: retry later");
	if (r != VV_OK)
		return api_fail_vault(q, v, r);
	ab_puts(&q->out, "]}\n");
	api_ok(q, 200);
}

