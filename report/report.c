/*
 * report.c: judging flows and writing their records to the sink.
 *
 * Responsible for the output stream: one whole line per record (a record is
 * formatted in memory, then written with one call, so a reader never sees
 * half of one), the text table, and the end-of-run summary. Not responsible
 * for the record's fields (record.c) or for opening the sink (app/).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "record.h"
#include "report.h"

struct report {
	struct report_config cfg;
	uint64_t by_outcome[OUTCOME_COUNT];
	uint64_t written, failed_writes, anomalous;
	int header_done;
};

struct report *report_new(const struct report_config *cfg)
{
	struct report *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->cfg = *cfg;
	return r;
}

void report_free(struct report *r)
{
	free(r);
}

static void judge(const struct flow *f, struct record_judgment *j)
{
	uint64_t last = f->dir[0].t_last > f->dir[1].t_last ? f->dir[0].t_last : f->dir[1].t_last;

	j->client_dir = f->ssh.client_dir >= 0 && f->ssh.role_source != SSH_ROLE_ASSUMED
				? f->ssh.client_dir
				: flow_src_dir(f);
	j->t0 = f->t_syn ? f->t_syn : f->t_first;
	j->t_close = (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST)
			     ? f->t_close
			     : last;
	j->outcome = report_outcome(f);
	j->phase = report_phase_at(f, UINT64_MAX);
	j->close_phase = report_phase_at(f, j->t_close);
}

static int write_line(struct report *r, const char *line, size_t n)
{
	/* One fwrite per record: with a line-buffered or unbuffered sink the
	 * record reaches the file whole. */
	if (fwrite(line, 1, n, r->cfg.out) != n || (r->cfg.flush_each && fflush(r->cfg.out) != 0)) {
		r->failed_writes++;
		clearerr(r->cfg.out);
		return KW_ERR_IO;
	}
	r->written++;
	return KW_OK;
}

static const char *color_of(enum report_outcome o)
{
	switch (o) {
	case OUTCOME_ESTABLISHED:
		return "\033[32m";
	case OUTCOME_FAILED:
		return "\033[31m";
	case OUTCOME_INCOMPLETE:
		return "\033[33m";
	default:
		return "\033[2m";
	}
}

static int write_text(struct report *r, const struct flow *f, const struct record_judgment *j)
{
	char ts[48], a[64], b[64], client[80], server[80], line[1024];
	const struct ssh_conn *s = &f->ssh;
	int c = j->client_dir, src = flow_src_dir(f), n;
	const char *cs = "", *ce = "", *sw_c = "-", *sw_s = "-";
	char *esc_c = NULL, *esc_s = NULL, detail[256] = "";

	if (!r->header_done) {
		n = snprintf(line, sizeof(line), "%-26s %-40s %-40s %-11s %-15s %s\n", "time",
			     "client", "server", "outcome", "phase", "detail");
		write_line(r, line, (size_t)n);
		r->header_done = 1;
	}
	record_time(ts, sizeof(ts), f->t_first);
	ts[19] = '\0';
	record_addr(a, sizeof(a), f->key.family, c == 0 ? f->key.src : f->key.dst);
	record_addr(b, sizeof(b), f->key.family, c == 0 ? f->key.dst : f->key.src);
	snprintf(client, sizeof(client), f->key.family == 6 ? "[%s]:%u" : "%s:%u", a,
		 c == 0 ? f->key.sport : f->key.dport);
	snprintf(server, sizeof(server), f->key.family == 6 ? "[%s]:%u" : "%s:%u", b,
		 c == 0 ? f->key.dport : f->key.sport);
	(void)src;
	if (s->dir[c].banner)
		sw_c = esc_c = report_escape(s->dir[c].banner, s->dir[c].banner_len);
	if (s->dir[!c].banner)
		sw_s = esc_s = report_escape(s->dir[!c].banner, s->dir[!c].banner_len);
	if (s->negotiated_ok && s->neg.failed_cat >= 0)
		snprintf(detail, sizeof(detail), "no common %s; %s -> %s",
			 kex_cat_name(s->neg.failed_cat), sw_c ? sw_c : "-", sw_s ? sw_s : "-");
	else if (s->negotiated_ok)
		snprintf(detail, sizeof(detail), "%s %s %s; %s -> %s", s->neg.alg[KEX_CAT_KEX],
			 s->neg.alg[KEX_CAT_HOSTKEY], s->neg.alg[KEX_CAT_ENC_C2S], sw_c ? sw_c : "-",
			 sw_s ? sw_s : "-");
	else
		snprintf(detail, sizeof(detail), "%s -> %s", sw_c ? sw_c : "-", sw_s ? sw_s : "-");
	if (r->cfg.color) {
		cs = color_of(j->outcome);
		ce = "\033[0m";
	}
	n = snprintf(line, sizeof(line), "%-26s %-40s %-40s %s%-11s%s %-15s %s\n", ts, client,
		     server, cs, report_outcome_name(j->outcome), ce, report_phase_name(j->phase),
		     detail);
	free(esc_c);
	free(esc_s);
	if (n < 0)
		return KW_ERR_BUG;
	if ((size_t)n >= sizeof(line)) {
		line[sizeof(line) - 2] = '\n';
		n = (int)sizeof(line) - 1;
	}
	return write_line(r, line, (size_t)n);
}

int report_flow(struct report *r, const struct flow *f, enum flow_report_why why)
{
	struct record_judgment j;
	json_t *rec;
	char *s;
	size_t n;
	int ret;

	(void)why;
	judge(f, &j);
	r->by_outcome[j.outcome]++;
	if (f->anomalies || f->decode_anomalies || f->ssh.dir[0].anomalies ||
	    f->ssh.dir[1].anomalies)
		r->anomalous++;
	if (r->cfg.format == REPORT_TEXT)
		return write_text(r, f, &j);
	if ((rec = record_build(f, &r->cfg, &j)) == NULL)
		return KW_ERR_NOMEM;
	s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(rec);
	if (s == NULL)
		return KW_ERR_NOMEM;
	n = strlen(s);
	s[n] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
	ret = write_line(r, s, n + 1);
	free(s);
	return ret;
}

void report_end(struct report *r)
{
	(void)r;
}

void report_summary(const struct report *r, FILE *err, const struct flow_stats *fs,
		    uint64_t frames, uint64_t anomalies_decode)
{
	uint64_t total = 0;

	for (int i = 0; i < OUTCOME_COUNT; i++)
		total += r->by_outcome[i];
	fprintf(err,
		"kexwatch: %llu connections (%llu established, %llu failed, %llu incomplete, "
		"%llu not_ssh); %llu frames, %llu TCP/ICMP packets, %llu payload bytes; %llu flows, "
		"%llu evicted; %llu connections with anomalies, %llu malformed frames",
		(unsigned long long)total, (unsigned long long)r->by_outcome[OUTCOME_ESTABLISHED],
		(unsigned long long)r->by_outcome[OUTCOME_FAILED],
		(unsigned long long)r->by_outcome[OUTCOME_INCOMPLETE],
		(unsigned long long)r->by_outcome[OUTCOME_NOT_SSH], (unsigned long long)frames,
		(unsigned long long)fs->packets, (unsigned long long)fs->bytes,
		(unsigned long long)fs->flows, (unsigned long long)fs->evicted,
		(unsigned long long)r->anomalous, (unsigned long long)anomalies_decode);
	if (r->failed_writes)
		fprintf(err, "; %llu records could not be written",
			(unsigned long long)r->failed_writes);
	fputc('\n', err);
}

const char *report_jansson_version(void)
{
	return jansson_version_str();
}
