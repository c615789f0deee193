/*
 * filter.c: which connections the records and the text summary show
 * (--only, --diagnosis, --severity, --host, --port).
 *
 * Responsible for parsing the filters and for testing one judged flow
 * against them. Not responsible for counting: every connection is judged
 * and counted in the statistics whether it is shown or not (output.c), so
 * a filtered run still says how many connections there were.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "output.h"

/* fail writes "<what> '<arg>'<tail>" into err; returns KW_ERR_MALFORMED. */
static int fail(char *err, size_t errlen, const char *what, const char *arg, const char *tail)
{
	snprintf(err, errlen, "%s '%s'%s", what, arg, tail);
	return KW_ERR_MALFORMED;
}

/* parse_diagnoses: a comma-separated list of codes into a bit set. */
static int parse_diagnoses(struct report_filter *f, const char *arg, char *err, size_t errlen)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int c, r = KW_OK;

	if (copy == NULL)
		return KW_ERR_NOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if ((c = diag_code_by_name(tok)) < 0) {
			r = fail(err, errlen, "unknown diagnosis code", tok, " (see --explain)");
			break;
		}
		f->diagnoses |= 1u << c;
	}
	free(copy);
	if (r == KW_OK && f->diagnoses == 0)
		r = fail(err, errlen, "no diagnosis code in", arg, "");
	return r;
}

/* parse_host: ADDR or ADDR/PREFIX, IPv4 or IPv6. */
static int parse_host(struct report_filter *f, const char *arg, char *err, size_t errlen)
{
	char buf[64], *slash, *end;
	unsigned long prefix;
	unsigned max;

	if (strlen(arg) >= sizeof(buf))
		return fail(err, errlen, "bad address", arg, "");
	strcpy(buf, arg);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(f->host, 0, sizeof(f->host));
	if (inet_pton(AF_INET, buf, f->host) == 1)
		f->host_family = 4;
	else if (inet_pton(AF_INET6, buf, f->host) == 1)
		f->host_family = 6;
	else
		return fail(err, errlen, "bad address", arg, " (ADDR or ADDR/PREFIX)");
	max = f->host_family == 4 ? 32 : 128;
	f->host_prefix = max;
	if (slash != NULL) {
		prefix = strtoul(slash, &end, 10);
		if (*slash < '0' || *slash > '9' || *end != '\0' || prefix > max)
			return fail(err, errlen, "bad prefix length in", arg, "");
		f->host_prefix = (unsigned)prefix;
	}
	return KW_OK;
}

int report_filter_set(struct report_filter *f, const char *name, const char *arg, char *err,
                      size_t errlen)
{
	char *end;
	unsigned long v;
	int r = KW_OK;

	if (!f->active)
		*f = (struct report_filter){.outcome = -1, .severity = -1, .port = -1};
	if (strcmp(name, "only") == 0) {
		if (strcmp(arg, "failed") == 0)
			f->outcome = OUTCOME_FAILED;
		else if (strcmp(arg, "established") == 0)
			f->outcome = OUTCOME_ESTABLISHED;
		else if (strcmp(arg, "incomplete") == 0)
			f->outcome = OUTCOME_INCOMPLETE;
		else
			r = fail(err, errlen, "unknown outcome", arg,
			         " (failed, established or incomplete)");
	} else if (strcmp(name, "diagnosis") == 0) {
		r = parse_diagnoses(f, arg, err, errlen);
	} else if (strcmp(name, "severity") == 0) {
		if (strcmp(arg, "error") == 0)
			f->severity = SEV_ERROR;
		else if (strcmp(arg, "warning") == 0)
			f->severity = SEV_WARNING;
		else
			r = fail(err, errlen, "unknown severity", arg, " (error or warning)");
	} else if (strcmp(name, "host") == 0) {
		r = parse_host(f, arg, err, errlen);
	} else if (strcmp(name, "port") == 0) {
		v = strtoul(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || v < 1 || v > 65535)
			r = fail(err, errlen, "bad port", arg, " (1 to 65535)");
		else
			f->port = (int)v;
	} else {
		r = fail(err, errlen, "unknown filter", name, "");
	}
	if (r == KW_OK)
		f->active = 1;
	return r;
}

/* in_prefix: the first bits of addr are the filter's. */
static int in_prefix(const struct report_filter *f, int family, const uint8_t *addr)
{
	unsigned bits = f->host_prefix, bytes = bits / 8;

	if (family != f->host_family || memcmp(addr, f->host, bytes) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	return ((addr[bytes] ^ f->host[bytes]) & (uint8_t)(0xff00u >> (bits % 8))) == 0;
}

int report_filter_match(const struct report_filter *f, const struct flow *fl,
                        const struct verdict *v)
{
	if (f == NULL || !f->active)
		return 1;
	if (f->outcome >= 0 && v->outcome != (enum verdict_outcome)f->outcome)
		return 0;
	if (f->port >= 0 && fl->key.sport != f->port && fl->key.dport != f->port)
		return 0;
	if (f->host_family != 0 && !in_prefix(f, fl->key.family, fl->key.src) &&
	    !in_prefix(f, fl->key.family, fl->key.dst))
		return 0;
	if (f->diagnoses != 0 || f->severity >= 0) {
		int code = f->diagnoses == 0, sev = f->severity < 0;
		for (uint32_t i = 0; i < v->ndiag; i++) {
			code |= (f->diagnoses >> v->diag[i].code) & 1u;
			sev |= (int)v->diag[i].severity <= f->severity;
		}
		if (!code || !sev)
			return 0;
	}
	return 1;
}
