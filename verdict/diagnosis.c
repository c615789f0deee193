/*
 * diagnosis.c: one diagnosis as the rules build it and output/ reads it.
 *
 * Responsible for appending a diagnosis to a verdict, its typed evidence in
 * order, and looking up its hint and evidence. Not responsible for when a
 * code applies (diagnose.c, hostkey.c) or for its fixed text (rules.c).
 */
#include <string.h>

#include "diagnose.h"

struct diagnosis *diagnosis_add(struct verdict *v, struct diagnosis *spare, enum diag_code code,
                                enum verdict_severity severity)
{
	struct diagnosis *d = spare;

	if (v->ndiag < VERDICT_MAX_DIAGNOSES)
		d = &v->diag[v->ndiag++];
	else
		v->dropped++;
	memset(d, 0, sizeof(*d));
	d->code = code;
	d->severity = severity;
	return d;
}

/* Evidence, in the order the record shows it. A full list drops the rest. */
static void ev_put(struct diagnosis *d, struct diag_evidence e)
{
	if (d->nev < DIAG_MAX_EVIDENCE)
		d->ev[d->nev++] = e;
}

void diag_ev_int(struct diagnosis *d, const char *key, int64_t i)
{
	ev_put(d, (struct diag_evidence){.key = key, .type = EV_INT, .v.i = i});
}

void diag_ev_bool(struct diagnosis *d, const char *key, int b)
{
	ev_put(d, (struct diag_evidence){.key = key, .type = EV_BOOL, .v.i = b != 0});
}

void diag_ev_text(struct diagnosis *d, const char *key, const char *s)
{
	if (s != NULL)
		ev_put(d, (struct diag_evidence){.key = key, .type = EV_TEXT, .v.s = s});
}

void diag_ev_ms(struct diagnosis *d, const char *key, uint64_t from, uint64_t to)
{
	ev_put(d, (struct diag_evidence){.key = key, .type = EV_MS, .v.ms = {from, to}});
}

void diag_ev_names(struct diagnosis *d, const char *key, const char *list)
{
	if (list != NULL)
		ev_put(d, (struct diag_evidence){.key = key, .type = EV_NAMES, .v.s = list});
}

void diag_ev_texts(struct diagnosis *d, const char *key, const char *const *v, uint32_t n)
{
	ev_put(d, (struct diag_evidence){.key = key, .type = EV_TEXTS, .v.list = {v, n}});
}

const char *diagnosis_hint(const struct diagnosis *d)
{
	const struct diag_rule *r = diag_rule(d->code);

	return d->hint < DIAG_MAX_HINTS && r->hints[d->hint] != NULL ? r->hints[d->hint]
	                                                             : r->hints[0];
}

const struct diag_evidence *diagnosis_evidence(const struct diagnosis *d, const char *key)
{
	for (uint8_t i = 0; i < d->nev; i++)
		if (strcmp(d->ev[i].key, key) == 0)
			return &d->ev[i];
	return NULL;
}
