/*
 * output.c: each flow's verdict written as a record, to the sinks.
 *
 * Responsible for the output stream: one whole line per record (a record is
 * formatted in memory, then written with one call, so a reader never sees
 * half of one), to the borrowed stream or to every sink, the text table,
 * the statistics records, and the end-of-run summary. Not responsible for
 * judging (verdict/), the record's fields (record.c), the sinks' transports
 * (sink*.c) or choosing the sinks (app/).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"
#include "err.h"
#include "record.h"
#include "tally.h"
#include "output.h"
#include "sink.h"

/* What the text summary counts (report_end). */
enum {
	SUM_SERVER,
	SUM_SERVER_FAILED,
	SUM_DIAGNOSIS,
	SUM_CLIENT_SOFTWARE,
	SUM_SERVER_SOFTWARE,
	SUM_HASSH,
	SUM_HASSH_SERVER,
	SUM_COUNT
};
#define SUM_MAX_KEYS 4096 /* per tally: bounded memory whatever the input */

struct report {
	struct report_config cfg;
	struct record_writer rw;      /* JSON records: buffer and side cache */
	struct tally *sum[SUM_COUNT]; /* text format only */
	uint64_t by_outcome[OUTCOME_COUNT];
	uint64_t written, failed_writes, anomalous;
	int header_done;
	char day[11]; /* the date heading the rows being written */
	int last_has_error;
	int last_selected;
	uint64_t shown[OUTCOME_COUNT]; /* connections that passed the filters */
	struct verdict_ctx judge;      /* failed logins, host keys, the verdict's strings */
	struct verdict v;              /* the verdict of the flow being reported */
};

struct report *report_new(const struct report_config *cfg)
{
	struct report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	record_writer_init(&r->rw);
	verdict_ctx_init(&r->judge, cfg->store);
	if (cfg->format == REPORT_TEXT) {
		for (int i = 0; i < SUM_COUNT; i++) {
			if ((r->sum[i] = tally_new(SUM_MAX_KEYS)) == NULL) {
				report_free(r);
				return NULL;
			}
		}
	}
	return r;
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < SUM_COUNT; i++)
		tally_free(r->sum[i]);
	record_writer_free(&r->rw);
	verdict_ctx_free(&r->judge);
	free(r);
}

/* summary_add counts one connection for the text summary. */
static void summary_add(struct report *r, const struct flow *f, const struct verdict *j,
                        const char *server)
{
	const struct ssh_dir *c = &f->ssh.dir[j->client_dir], *s = &f->ssh.dir[!j->client_dir];
	const struct ssh_dir *sides[2] = {c, s};
	struct ssh_banner_fields bf;

	tally_add(r->sum[SUM_SERVER], server, 1);
	if (j->outcome == OUTCOME_FAILED)
		tally_add(r->sum[SUM_SERVER_FAILED], server, 1);
	for (uint32_t i = 0; i < j->ndiag; i++)
		tally_add(r->sum[SUM_DIAGNOSIS], diag_rule(j->diag[i].code)->code, 1);
	for (int k = 0; k < 2; k++) {
		const struct ssh_dir *sd = sides[k];
		if (sd->banner != NULL && ssh_banner_split(sd->banner, sd->banner_len, &bf) == 0 &&
		    bf.software != NULL) {
			char *v = text_escape(bf.software, bf.software_len);
			if (v != NULL)
				tally_add(r->sum[k ? SUM_SERVER_SOFTWARE : SUM_CLIENT_SOFTWARE], v,
				          1);
			free(v);
		}
		if (sd->hassh[0] != '\0')
			tally_add(r->sum[k ? SUM_HASSH_SERVER : SUM_HASSH], sd->hassh, 1);
	}
}

/* write_sinks hands one record to every sink; KW_ERR_IO if one failed. */
static int write_sinks(struct report *r, const char *line, size_t n, int severity,
                       const char *msgid)
{
	int failed = 0, e = 0;

	for (uint32_t i = 0; i < r->cfg.nsinks; i++)
		if (sink_write(r->cfg.sinks[i], line, n, severity, msgid) != 0) {
			failed = 1;
			e = errno;
		}
	if (failed) {
		r->failed_writes++;
		errno = e;
		return KW_ERR_IO;
	}
	r->written++;
	return KW_OK;
}

static int write_line(struct report *r, const char *line, size_t n)
{
	if (r->cfg.nsinks > 0)
		return write_sinks(r, line, n, r->last_has_error ? SINK_SEV_WARNING : SINK_SEV_INFO,
		                   "ssh");
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

static const char *color_of(enum verdict_outcome o)
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

/* Errors red, warnings yellow: what the operator reads first. */
static const char *color_of_severity(enum verdict_severity s)
{
	return s == SEV_ERROR ? "\033[31m" : s == SEV_WARNING ? "\033[33m" : "";
}

/* first_problem: the most severe diagnosis that is an error or a warning, or NULL. */
static const struct diagnosis *first_problem(const struct verdict *v)
{
	for (int sev = SEV_ERROR; sev <= SEV_WARNING; sev++)
		for (uint32_t i = 0; i < v->ndiag; i++)
			if (v->diag[i].severity == (enum verdict_severity)sev)
				return &v->diag[i];
	return NULL;
}

/*
 * The table's columns. Narrower than 120 columns the client is shown by
 * address alone (its port is ephemeral) and the phase is left out; the
 * detail takes what remains. Every row is cut to the width, so a terminal
 * never wraps one.
 */
#define TEXT_TIME_W 8
#define TEXT_OUTCOME_W 11
#define TEXT_PHASE_W 15
#define TEXT_WIDE 120
#define TEXT_MAX_W 1024 /* a wider terminal gets rows this long at most */
#define TEXT_MAX_DIAG 4 /* problems explained under one row */

struct text_cols {
	unsigned width, client, server, detail;
	int wide;
};

static struct text_cols text_cols(unsigned width)
{
	struct text_cols c = {.width = width ? width : 80};
	unsigned fixed;

	if (c.width > TEXT_MAX_W)
		c.width = TEXT_MAX_W;
	c.wide = c.width >= TEXT_WIDE;
	/* IPv4 address:port is 21 characters; IPv6 is shortened in the middle. */
	c.client = c.wide ? 26 : 15;
	c.server = c.wide ? 26 : 21;
	fixed = TEXT_TIME_W + 1 + c.client + 1 + c.server + 1 + TEXT_OUTCOME_W + 1 +
	        (c.wide ? TEXT_PHASE_W + 1 : 0);
	c.detail = c.width > fixed ? c.width - fixed : 0;
	return c;
}

/*
 * fit copies s into buf (at least w + 1 bytes), at most w characters: a
 * longer text keeps its start and its end (an address's port) around "..".
 */
static void fit(char *buf, const char *s, unsigned w)
{
	size_t n = strlen(s), head, tail;

	if (n <= w) {
		memcpy(buf, s, n + 1);
		return;
	}
	if (w < 4) {
		memcpy(buf, s, w);
		buf[w] = '\0';
		return;
	}
	tail = (w - 2) / 2;
	head = w - 2 - tail;
	memcpy(buf, s, head);
	memcpy(buf + head, "..", 2);
	memcpy(buf + head + 2, s + n - tail, tail + 1);
}

/* fit_end: as fit, but a long text is cut at its end ("..."): a detail's start matters. */
static void fit_end(char *buf, const char *s, unsigned w)
{
	size_t n = strlen(s);

	if (n <= w) {
		memcpy(buf, s, n + 1);
		return;
	}
	if (w < 4) {
		memcpy(buf, s, w);
		buf[w] = '\0';
		return;
	}
	memcpy(buf, s, w - 3);
	memcpy(buf + w - 3, "...", 4);
}

/* unsuffix copies an algorithm name without its "@domain" part. */
static void unsuffix(char *buf, size_t size, const char *name)
{
	const char *at = strchr(name, '@');

	snprintf(buf, size, "%.*s", (int)(at != NULL ? (size_t)(at - name) : strlen(name)), name);
}

/* software: the banner's software version ("OpenSSH_9.2p1"), escaped, into
 * buf; "-" when the banner has none (as the record has no software_version). */
static void software(char *buf, size_t size, const struct ssh_dir *d)
{
	struct ssh_banner_fields f;
	char *e;

	snprintf(buf, size, "-");
	if (d->banner == NULL || ssh_banner_split(d->banner, d->banner_len, &f) != 0 ||
	    f.software == NULL || (e = text_escape(f.software, f.software_len)) == NULL)
		return;
	snprintf(buf, size, "%s", e);
	free(e);
}

/*
 * write_wrapped writes "<indent><label>text" word-wrapped to the width, the
 * lines after the first indented by cont; label is coloured by color
 * ("" for none).
 */
static void write_wrapped(struct report *r, unsigned width, unsigned indent, const char *label,
                          const char *color, const char *text, unsigned cont)
{
	char line[TEXT_MAX_W + 64];
	const char *p = text;
	unsigned lead = indent + (unsigned)strlen(label);
	int first = 1;

	if (cont >= width / 2)
		cont = width / 2;
	while (*p != '\0') {
		unsigned start = first ? lead : cont, room, take;
		size_t used = 0, rest = strlen(p);
		if (start >= width)
			start = width > 1 ? width - 1 : 0;
		room = width - start;
		take = rest <= room ? (unsigned)rest : room;
		if (rest > room) {
			/* Break at the last space that fits, else cut the word. */
			unsigned k = take;
			while (k > 0 && p[k] != ' ')
				k--;
			if (k > 0)
				take = k;
		}
		memset(line, ' ', first ? indent : start);
		used = first ? indent : start;
		if (first && label[0] != '\0') {
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s%s", color,
			                         label, color[0] ? "\033[0m" : "");
		}
		memcpy(line + used, p, take);
		used += take;
		line[used++] = '\n';
		write_line(r, line, used);
		p += take;
		while (*p == ' ')
			p++;
		first = 0;
	}
}

/*
 * write_problems writes, under a row, each error and warning: its summary,
 * what the client most likely printed, any text the server sent, and what
 * to check.
 */
static void write_problems(struct report *r, const struct verdict *j, unsigned width)
{
	unsigned shown = 0;

	for (uint32_t i = 0; i < j->ndiag && shown < TEXT_MAX_DIAG; i++) {
		const struct diagnosis *d = &j->diag[i];
		const struct diag_evidence *said = diagnosis_evidence(d, "server_text");
		const char *hint = diagnosis_hint(d), *color = "";
		char label[96], quoted[512];

		if (d->severity != SEV_ERROR && d->severity != SEV_WARNING)
			continue;
		shown++;
		if (r->cfg.color)
			color = color_of_severity(d->severity);
		snprintf(label, sizeof(label), "%s %s: ", verdict_severity_name(d->severity),
		         diag_rule(d->code)->code);
		write_wrapped(r, width, 2, label, color, d->summary != NULL ? d->summary : "", 4);
		if (d->symptom != NULL)
			write_wrapped(r, width, 4, "client sees: ", "", d->symptom, 6);
		if (said != NULL && said->type == EV_TEXT && said->v.s != NULL) {
			/* Quoted, without the line end the server ended it with. */
			size_t n = strlen(said->v.s);
			while (n >= 4 && (strncmp(said->v.s + n - 4, "\\x0a", 4) == 0 ||
			                  strncmp(said->v.s + n - 4, "\\x0d", 4) == 0))
				n -= 4;
			snprintf(quoted, sizeof(quoted), "\"%.*s\"", (int)n, said->v.s);
			write_wrapped(r, width, 4, "server said: ", "", quoted, 6);
		}
		if (hint != NULL && hint[0] != '\0')
			write_wrapped(r, width, 4, "check: ", "", hint, 6);
	}
}

static int write_text(struct report *r, const struct flow *f, const struct verdict *j)
{
	struct text_cols cols = text_cols(r->cfg.width);
	char ts[48], a[64], b[64], client[80], server[80], line[TEXT_MAX_W * 2];
	char cf[TEXT_MAX_W + 1], sf[TEXT_MAX_W + 1], df[TEXT_MAX_W + 1], detail[512];
	char sw_c[96], sw_s[96];
	const struct ssh_conn *s = &f->ssh;
	int c = j->client_dir, n;
	const char *cs = "", *ce = "", *ds = "";
	const struct diagnosis *problem;

	text_time(ts, sizeof(ts), f->t_first);
	if (!r->header_done || strncmp(ts, r->day, 10) != 0) {
		/* Rows show the time of day; the date heads each day's rows. */
		memcpy(r->day, ts, 10);
		r->day[10] = '\0';
		n = snprintf(line, sizeof(line), "%s%s (UTC)\n", r->header_done ? "\n" : "",
		             r->day);
		write_line(r, line, (size_t)n);
	}
	if (!r->header_done) {
		n = snprintf(line, sizeof(line), "%-*s %-*s %-*s %-*s %s%s%s", TEXT_TIME_W, "time",
		             cols.client, "client", cols.server, "server", TEXT_OUTCOME_W,
		             "outcome", cols.wide ? "phase" : "", cols.wide ? "           " : "",
		             "detail");
		if ((unsigned)n > cols.width)
			n = (int)cols.width;
		line[n++] = '\n';
		write_line(r, line, (size_t)n);
		r->header_done = 1;
	}
	memmove(ts, ts + 11, TEXT_TIME_W);
	ts[TEXT_TIME_W] = '\0';
	text_addr(a, sizeof(a), f->key.family, c == 0 ? f->key.src : f->key.dst);
	text_addr(b, sizeof(b), f->key.family, c == 0 ? f->key.dst : f->key.src);
	if (cols.wide)
		snprintf(client, sizeof(client), f->key.family == 6 ? "[%s]:%u" : "%s:%u", a,
		         c == 0 ? f->key.sport : f->key.dport);
	else
		snprintf(client, sizeof(client), "%s", a);
	snprintf(server, sizeof(server), f->key.family == 6 ? "[%s]:%u" : "%s:%u", b,
	         c == 0 ? f->key.dport : f->key.sport);
	fit(cf, client, cols.client);
	fit(sf, server, cols.server);
	summary_add(r, f, j, server);
	software(sw_c, sizeof(sw_c), &s->dir[c]);
	software(sw_s, sizeof(sw_s), &s->dir[!c]);
	if ((problem = first_problem(j)) != NULL) {
		size_t used = 0;
		/* Every problem's code: the row alone says what went wrong. */
		for (uint32_t i = 0; i < j->ndiag && used < sizeof(detail) - 64; i++)
			if (j->diag[i].severity <= SEV_WARNING)
				used += (size_t)snprintf(detail + used, sizeof(detail) - used,
				                         "%s%s", used ? ", " : "",
				                         diag_rule(j->diag[i].code)->code);
		if (r->cfg.color)
			ds = color_of_severity(problem->severity);
	} else if (s->negotiated_ok) {
		char kex[128], enc[128];
		/* The vendor suffixes say nothing here and cost a third of the room. */
		unsuffix(kex, sizeof(kex), s->neg.alg[KEX_CAT_KEX]);
		unsuffix(enc, sizeof(enc), s->neg.alg[KEX_CAT_ENC_C2S]);
		snprintf(detail, sizeof(detail), "%s %s %s -> %s", kex, enc, sw_c, sw_s);
	} else {
		snprintf(detail, sizeof(detail), "%s -> %s", sw_c, sw_s);
	}
	fit_end(df, detail, cols.detail);
	if (r->cfg.color) {
		cs = color_of(j->outcome);
		ce = "\033[0m";
	}
	/* Colour codes take no columns: the visible row is at most the width. */
	n = snprintf(line, sizeof(line), "%-*s %-*s %-*s %s%-*s%s %-*s%s%s%s\n", TEXT_TIME_W, ts,
	             cols.client, cf, cols.server, sf, cs, TEXT_OUTCOME_W,
	             verdict_outcome_name(j->outcome), ce, cols.wide ? TEXT_PHASE_W + 1 : 0,
	             cols.wide ? verdict_phase_name(j->phase) : "", ds, df, ds[0] ? ce : "");
	if (n < 0)
		return KW_ERR_BUG;
	if ((size_t)n >= sizeof(line)) {
		line[sizeof(line) - 2] = '\n';
		n = (int)sizeof(line) - 1;
	}
	if (cols.detail == 0) {
		/* A terminal too narrow for the columns: the row is cut, without colour. */
		n = snprintf(line, sizeof(line), "%s %s %s %s", ts, cf, sf,
		             verdict_outcome_name(j->outcome));
		if ((unsigned)n > cols.width)
			n = (int)cols.width;
		line[n++] = '\n';
	}
	n = write_line(r, line, (size_t)n);
	write_problems(r, j, cols.width);
	return n;
}

int report_flow(struct report *r, const struct flow *f, enum flow_report_why why)
{
	struct verdict *v = &r->v;
	int ret;

	(void)why;
	/* The KEXINIT lists were parsed long before and have left the cache:
	 * their loads overlap the judging and the diagnoses. */
	if (r->cfg.format != REPORT_TEXT)
		record_prefetch(f);
	verdict_judge(&r->judge, f, v);
	r->last_has_error = verdict_has_error(v);
	r->by_outcome[v->outcome]++;
	if (f->anomalies || f->decode_anomalies || f->ssh.dir[0].anomalies ||
	    f->ssh.dir[1].anomalies)
		r->anomalous++;
	/* Judged and counted above whatever the filters say: statistics stay true. */
	if (!(r->last_selected = report_filter_match(&r->cfg.filter, f, v)))
		return KW_OK;
	r->shown[v->outcome]++;
	if (r->cfg.format == REPORT_TEXT)
		return write_text(r, f, v);
	if ((ret = record_build(&r->rw, f, &r->cfg, v)) != KW_OK)
		return ret;
	return write_line(r, r->rw.out.buf, r->rw.out.len);
}

void report_forget_failed_writes(struct report *r)
{
	r->failed_writes = 0;
}

int report_last_has_error(const struct report *r)
{
	return r->last_has_error;
}

int report_last_selected(const struct report *r)
{
	return r->last_selected;
}

static json_t *json_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *stats_object(const struct report *r, const struct report_stats_input *in)
{
	const struct flow_stats *fs = in->flows;
	json_t *st = json_object(), *o, *a;

	json_object_set_new(st, "reason", json_string(in->reason));
	json_object_set_new(st, "uptime_s", json_u64(in->uptime_us / 1000000u));
	json_object_set_new(st, "frames", json_u64(in->decode->frames));
	json_object_set_new(st, "malformed_frames", json_u64(in->decode->malformed));
	json_object_set_new(st, "tso_frames", json_u64(in->decode->tso_frames));
	json_object_set_new(st, "packets", json_u64(fs->packets));
	json_object_set_new(st, "bytes", json_u64(fs->bytes));
	o = json_object();
	json_object_set_new(o, "open", json_u64(fs->open));
	json_object_set_new(o, "seen", json_u64(fs->flows));
	json_object_set_new(o, "reported", json_u64(fs->reported));
	json_object_set_new(o, "evicted", json_u64(fs->evicted));
	json_object_set_new(o, "evicted_packets", json_u64(fs->evicted_packets));
	json_object_set_new(o, "memcap_reached", json_u64(fs->memcap_reached));
	json_object_set_new(o, "timed_out", json_u64(fs->timeouts));
	json_object_set_new(o, "not_ssh", json_u64(fs->not_ssh));
	json_object_set_new(o, "records_lost", json_u64(fs->lost));
	json_object_set_new(o, "records_unsorted", json_u64(fs->unsorted));
	json_object_set_new(st, "connections", o);
	o = json_object();
	for (int i = 0; i < OUTCOME_COUNT; i++)
		json_object_set_new(o, verdict_outcome_name((enum verdict_outcome)i),
		                    json_u64(r->by_outcome[i]));
	json_object_set_new(st, "outcomes", o);
	json_object_set_new(st, "anomalies", json_u64(r->anomalous));
	o = json_object();
	json_object_set_new(o, "matched", json_u64(fs->icmp_matched));
	json_object_set_new(o, "unmatched", json_u64(fs->icmp_unmatched));
	json_object_set_new(st, "icmp_errors", o);
	a = json_array();
	for (uint32_t i = 0; i < in->nifaces; i++) {
		const struct report_iface_counters *c = &in->ifaces[i];
		o = json_object();
		json_object_set_new(o, "interface", json_string(c->name));
		if (c->valid) {
			json_object_set_new(o, "ps_recv", json_u64(c->recv));
			json_object_set_new(o, "ps_drop", json_u64(c->drop));
			json_object_set_new(o, "ps_ifdrop", json_u64(c->ifdrop));
		}
		json_array_append_new(a, o);
	}
	json_object_set_new(st, "capture", a);
	if (in->nworkers > 0) {
		a = json_array();
		for (uint32_t i = 0; i < in->nworkers; i++) {
			o = json_object();
			json_object_set_new(o, "packets", json_u64(in->workers[i].packets));
			json_object_set_new(o, "drops", json_u64(in->workers[i].drops));
			json_object_set_new(o, "flows", json_u64(in->workers[i].flows));
			json_array_append_new(a, o);
		}
		json_object_set_new(st, "workers", a);
	}
	a = json_array();
	for (uint32_t i = 0; i < r->cfg.nsinks; i++) {
		uint64_t w, l;
		sink_counts(r->cfg.sinks[i], &w, &l);
		o = json_object();
		json_object_set_new(o, "output", json_string(sink_name(r->cfg.sinks[i])));
		json_object_set_new(o, "written", json_u64(w));
		json_object_set_new(o, "lost", json_u64(l));
		json_array_append_new(a, o);
	}
	json_object_set_new(st, "outputs", a);
	if (in->evidence != NULL) {
		o = json_object();
		json_object_set_new(o, "connections", json_u64(in->evidence->connections));
		json_object_set_new(o, "frames", json_u64(in->evidence->frames));
		json_object_set_new(o, "frames_missed", json_u64(in->evidence->frames_missed));
		json_object_set_new(o, "buffered_bytes", json_u64(in->evidence->buffered_bytes));
		json_object_set_new(o, "write_errors", json_u64(in->evidence->write_errors));
		json_object_set_new(st, "evidence", o);
	}
	return st;
}

int report_stats(struct report *r, const struct report_stats_input *in)
{
	json_t *rec = json_object();
	char ts[48], *s, line[512];
	size_t n;
	int ret;

	if (rec == NULL)
		return KW_ERR_NOMEM;
	text_time(ts, sizeof(ts), in->now_us);
	json_object_set_new(rec, "timestamp", json_string(ts));
	json_object_set_new(rec, "event_type", json_string("stats"));
	json_object_set_new(rec, "stats", stats_object(r, in));
	if (r->cfg.format == REPORT_TEXT) {
		const struct flow_stats *fs = in->flows;
		int k =
		    snprintf(line, sizeof(line),
		             "# stats %s (%s): %llu packets, %llu bytes; connections %llu open, "
		             "%llu reported, %llu evicted\n",
		             ts, in->reason, (unsigned long long)fs->packets,
		             (unsigned long long)fs->bytes, (unsigned long long)fs->open,
		             (unsigned long long)fs->reported, (unsigned long long)fs->evicted);
		json_decref(rec);
		if (k < 0 || (size_t)k >= sizeof(line))
			return KW_ERR_BUG;
		s = strdup(line);
		n = (size_t)k;
	} else {
		s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(rec);
		if (s != NULL) {
			n = strlen(s);
			s[n++] = '\n'; /* json_dumps leaves room for its NUL */
		}
	}
	if (s == NULL)
		return KW_ERR_NOMEM;
	if (r->cfg.nsinks > 0) {
		ret = write_sinks(r, s, n, SINK_SEV_INFO, "stats");
		if (ret == KW_OK)
			r->written--; /* records counts connections; stats are apart */
		else
			r->failed_writes--;
	} else {
		ret = fwrite(s, 1, n, r->cfg.out) == n ? KW_OK : KW_ERR_IO;
		if (r->cfg.flush_each)
			fflush(r->cfg.out);
	}
	free(s);
	return ret;
}

int report_reopen(struct report *r)
{
	int ret = KW_OK;

	for (uint32_t i = 0; i < r->cfg.nsinks; i++)
		if (sink_reopen(r->cfg.sinks[i]) != 0)
			ret = KW_ERR_IO;
	return ret;
}

void report_tick(struct report *r)
{
	for (uint32_t i = 0; i < r->cfg.nsinks; i++)
		sink_tick(r->cfg.sinks[i]);
}

static void write_str(struct report *r, const char *line)
{
	write_line(r, line, strlen(line));
}

/* summary_top writes "title: key (n), key (n) ..." for the top entries of a tally. */
static void summary_top(struct report *r, const char *title, int which)
{
	const char *keys[5];
	uint64_t counts[5];
	size_t n = tally_top(r->sum[which], keys, counts, 5), used;
	char line[1024];

	if (n == 0)
		return;
	used = (size_t)snprintf(line, sizeof(line), "  %-22s", title);
	for (size_t i = 0; i < n && used < sizeof(line) - 2; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s (%llu)",
		                         i ? ", " : "", keys[i], (unsigned long long)counts[i]);
	if (used > sizeof(line) - 2)
		used = sizeof(line) - 2;
	if (used > text_cols(r->cfg.width).width)
		used = text_cols(r->cfg.width).width;
	line[used++] = '\n';
	write_line(r, line, used);
}

void report_end(struct report *r)
{
	const char *keys[20];
	uint64_t counts[20], total = 0;
	char line[512];
	unsigned width, server_w;
	size_t n;
	int len;

	if (r->cfg.format != REPORT_TEXT || r->sum[SUM_SERVER] == NULL)
		return;
	/* "  " key " nnnnnn connections  nnnnnn failed": 36 columns beside the key. */
	width = text_cols(r->cfg.width).width;
	server_w = width > 36 + 21 ? width - 36 : 21;
	if (server_w > 46)
		server_w = 46;
	for (int i = 0; i < OUTCOME_COUNT; i++)
		total += r->shown[i];
	len =
	    snprintf(line, sizeof(line),
	             "\n%llu connections: %llu established, %llu failed, %llu incomplete, %llu not "
	             "SSH\n",
	             (unsigned long long)total, (unsigned long long)r->shown[OUTCOME_ESTABLISHED],
	             (unsigned long long)r->shown[OUTCOME_FAILED],
	             (unsigned long long)r->shown[OUTCOME_INCOMPLETE],
	             (unsigned long long)r->shown[OUTCOME_NOT_SSH]);
	write_line(r, line, (size_t)len);
	if (r->cfg.filter.active) {
		uint64_t all = 0;
		for (int i = 0; i < OUTCOME_COUNT; i++)
			all += r->by_outcome[i];
		len = snprintf(line, sizeof(line), "(selected by the filters, of %llu analysed)\n",
		               (unsigned long long)all);
		write_line(r, line, (size_t)len);
	}
	if ((n = tally_top(r->sum[SUM_SERVER], keys, counts, 20)) > 0) {
		write_str(r, "\nby server (top 20):\n");
		for (size_t i = 0; i < n; i++) {
			char key[TEXT_MAX_W + 1];
			fit(key, keys[i], server_w);
			len = snprintf(
			    line, sizeof(line), "  %-*s %6llu connections  %6llu failed\n",
			    (int)server_w, key, (unsigned long long)counts[i],
			    (unsigned long long)tally_get(r->sum[SUM_SERVER_FAILED], keys[i]));
			write_line(r, line, (size_t)len);
		}
	}
	if ((n = tally_top(r->sum[SUM_DIAGNOSIS], keys, counts, 20)) > 0) {
		write_str(r, "\nby diagnosis:\n");
		for (size_t i = 0; i < n; i++) {
			len = snprintf(line, sizeof(line), "  %-30s %6llu\n", keys[i],
			               (unsigned long long)counts[i]);
			write_line(r, line, (size_t)len);
		}
	}
	write_str(r, "\ntop values:\n");
	summary_top(r, "client software", SUM_CLIENT_SOFTWARE);
	summary_top(r, "server software", SUM_SERVER_SOFTWARE);
	summary_top(r, "HASSH", SUM_HASSH);
	summary_top(r, "HASSHServer", SUM_HASSH_SERVER);
}

void report_summary(const struct report *r, FILE *err, const struct flow_stats *fs, uint64_t frames,
                    uint64_t anomalies_decode, uint64_t tso_frames)
{
	uint64_t total = 0;

	for (int i = 0; i < OUTCOME_COUNT; i++)
		total += r->by_outcome[i];
	fprintf(
	    err,
	    "kexwatch: %llu connections (%llu established, %llu failed, %llu incomplete, "
	    "%llu not_ssh); %llu frames, %llu TCP/ICMP packets, %llu payload bytes; %llu flows, "
	    "%llu evicted (%llu later packets counted), %llu memcap reached; %llu connections with "
	    "anomalies, %llu malformed frames",
	    (unsigned long long)total, (unsigned long long)r->by_outcome[OUTCOME_ESTABLISHED],
	    (unsigned long long)r->by_outcome[OUTCOME_FAILED],
	    (unsigned long long)r->by_outcome[OUTCOME_INCOMPLETE],
	    (unsigned long long)r->by_outcome[OUTCOME_NOT_SSH], (unsigned long long)frames,
	    (unsigned long long)fs->packets, (unsigned long long)fs->bytes,
	    (unsigned long long)fs->flows, (unsigned long long)fs->evicted,
	    (unsigned long long)fs->evicted_packets, (unsigned long long)fs->memcap_reached,
	    (unsigned long long)r->anomalous, (unsigned long long)anomalies_decode);
	/* Only when there were some: a capture taken on a sending host. */
	if (tso_frames)
		fprintf(err, "; %llu TSO frames", (unsigned long long)tso_frames);
	if (r->failed_writes)
		fprintf(err, "; %llu records could not be written",
		        (unsigned long long)r->failed_writes);
	/* Out of memory only: the statistics record has them too. */
	if (fs->lost)
		fprintf(err, "; %llu records lost (no memory)", (unsigned long long)fs->lost);
	if (fs->unsorted)
		fprintf(err, "; %llu records written out of order (no memory)",
		        (unsigned long long)fs->unsorted);
	fputc('\n', err);
}

const char *report_jansson_version(void)
{
	return jansson_version_str();
}
