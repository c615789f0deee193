/*
 * ux.c: the progress line and --explain (see ux.h).
 *
 * --explain knows the codes from the rule table (verdict/rules.c) and reads
 * their explanation from docs/diagnoses.md as embedded at build time
 * (cmake/embed.cmake), so the manual and the program say the same thing;
 * unit.rules checks that the two name the same codes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ux.h"
#include "verdict.h"

extern const char kw_diagnoses_md[];
extern const unsigned long kw_diagnoses_md_len;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int usage_hint(const char *sub)
{
	fprintf(stderr, "Try 'kexwatch%s%s --help' for more information.\n", sub ? " " : "",
	        sub ? sub : "");
	return 2;
}

int usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kexwatch%s%s: ", sub ? " " : "", sub ? sub : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_hint(sub);
}

int color_ok(int fd)
{
	const char *term = getenv("TERM");

	return isatty(fd) && getenv("NO_COLOR") == NULL && term != NULL && term[0] != '\0' &&
	       strcmp(term, "dumb") != 0;
}

unsigned term_width(int fd)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	unsigned long v;

	/* COLUMNS first, as ls(1) does: a user or a test can set the width. */
	if (cols != NULL && cols[0] >= '0' && cols[0] <= '9') {
		v = strtoul(cols, &end, 10);
		if (*end == '\0' && v >= 20 && v <= 1024)
			return (unsigned)v;
	}
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

void progress_start(struct progress *p, int on, const char *path)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->on = on && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
	p->name = path;
	p->total = p->on ? (uint64_t)st.st_size : 0;
	p->start_us = p->last_us = now_us();
}

static void human(char *buf, size_t n, double v, const char *unit)
{
	static const char *const pre[] = {"", "k", "M", "G", "T"};
	int i = 0;

	while (v >= 1000.0 && i < 4) {
		v /= 1000.0;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s%s" : "%.0f %s%s", v, pre[i], unit);
}

void progress_tick(struct progress *p, uint64_t bytes_read, uint64_t connections)
{
	uint64_t t;
	double secs, frac;
	char done[32], total[32], rate[32], left[32] = "?";

	p->frames++;
	if (!p->on || (p->frames & 1023) != 0 || (t = now_us()) - p->last_us < 250000)
		return;
	p->last_us = t;
	secs = (double)(t - p->start_us) / 1e6;
	frac = p->total ? (double)bytes_read / (double)p->total : 0.0;
	human(done, sizeof(done), (double)bytes_read, "B");
	human(total, sizeof(total), (double)p->total, "B");
	human(rate, sizeof(rate), secs > 0 ? (double)p->frames / secs : 0.0, "frames/s");
	if (frac > 0.01)
		snprintf(left, sizeof(left), "%.0f s", secs / frac - secs);
	fprintf(stderr, "\r\033[Kkexwatch: %s: %s of %s (%.0f%%), %s, %llu connections, %s left",
	        p->name, done, total, frac * 100.0, rate, (unsigned long long)connections, left);
	p->shown = 1;
}

void progress_end(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* memfind: the first n-byte needle in [p, end), or NULL. */
static const char *memfind(const char *p, const char *end, const char *needle, size_t n)
{
	for (; p != NULL && (size_t)(end - p) >= n; p++) {
		if ((p = memchr(p, needle[0], (size_t)(end - p) - n + 1)) == NULL)
			return NULL;
		if (memcmp(p, needle, n) == 0)
			return p;
	}
	return NULL;
}

/*
 * The text of docs/diagnoses.md about code: from the start of the paragraph
 * that names it in bold ("**code**") to the next paragraph that opens with
 * another code, or a heading.
 */
static const char *explain_find(const char *code, size_t *len)
{
	const char *doc = kw_diagnoses_md, *end = doc + kw_diagnoses_md_len, *hit, *start, *e;
	char needle[80];
	int n = snprintf(needle, sizeof(needle), "**%s**", code);

	if (n <= 4 || (size_t)n >= sizeof(needle) ||
	    (hit = memfind(doc, end, needle, (size_t)n)) == NULL)
		return NULL;
	for (start = hit;
	     start > doc && !(start[-1] == '\n' && start - 1 > doc && start[-2] == '\n');)
		start--;
	e = memfind(hit, end, "\n\n**", 4);
	if (e == NULL ||
	    (memfind(hit, end, "\n\n#", 3) != NULL && memfind(hit, end, "\n\n#", 3) < e))
		e = memfind(hit, end, "\n\n#", 3);
	*len = (size_t)((e ? e : end) - start);
	return start;
}

/* distance: the edit distance of a and b (short names), capped at 99. */
static unsigned distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 64 || lb >= 64)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0], up;
		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = a[i - 1] == b[j - 1]
			             ? diag
			             : 1 + (diag < up ? (diag < row[j - 1] ? diag : row[j - 1])
			                              : (up < row[j - 1] ? up : row[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

/* suggest names the codes closest to an unknown one (or, far from all, every code). */
static void suggest(FILE *err, const char *code)
{
	unsigned best = 99, d;
	int n = 0;

	for (int i = 0; i < DIAG_COUNT; i++)
		if ((d = distance(code, diag_rule((enum diag_code)i)->code)) < best)
			best = d;
	fprintf(err, "kexwatch: unknown diagnosis code '%s'", code);
	for (int i = 0; i < DIAG_COUNT; i++) {
		const char *name = diag_rule((enum diag_code)i)->code;
		int near = best <= 4 && distance(code, name) == best;
		if (near || best > 4 || strstr(name, code) != NULL)
			fprintf(err, "%s%s",
			        n++         ? ", "
			        : best <= 4 ? "; did you mean: "
			                    : "; codes: ",
			        name);
	}
	fprintf(err, "\nTry 'kexwatch --help' for more information.\n");
}

/*
 * Symptom search: the text a user pastes from a ticket or from `ssh -v`
 * against the client messages of every rule. Both are cut into words
 * (lower case letters, digits and '_'; numbers and one-letter words
 * dropped: addresses and ports differ from one ticket to the next); in a
 * rule's message, HOST, N, CODE and DESCRIPTION are placeholders and match
 * nothing. A message whose every word appears in the pasted text, in
 * order, matches fully; otherwise the score weighs the words they share,
 * rare words above common ones ("connection" is in half the messages).
 */
#define SYM_MAX_WORDS 64
#define SYM_WORD_LEN 48
#define SYM_MAX_MSGS (DIAG_COUNT * DIAG_MAX_SYMPTOMS)
#define SYM_SHOWN 5

struct sym_words {
	char w[SYM_MAX_WORDS][SYM_WORD_LEN];
	unsigned n;
};

/* is_placeholder: HOST, N, CODE, DESCRIPTION, unless they are words of an all-capitals message. */
static int is_placeholder(const char *word, size_t n, int prev_upper)
{
	static const char *const names[] = {"HOST", "N", "CODE", "DESCRIPTION"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(word, names[i], n) == 0)
			return !prev_upper;
	return 0;
}

/* words cuts text into out (see above); template: a rule's message, with placeholders. */
static void words(const char *text, int template, struct sym_words *out)
{
	const char *p = text;
	int prev_upper = 0;

	out->n = 0;
	while (*p != '\0' && out->n < SYM_MAX_WORDS) {
		const char *start;
		size_t n, digits = 0, upper = 0;

		while (*p != '\0' && !isalnum((unsigned char)*p) && *p != '_')
			p++;
		for (start = p; isalnum((unsigned char)*p) || *p == '_'; p++) {
			digits += isdigit((unsigned char)*p) != 0;
			upper += isupper((unsigned char)*p) != 0;
		}
		n = (size_t)(p - start);
		if (n == 0)
			break;
		if (template && is_placeholder(start, n, prev_upper))
			continue;
		prev_upper = upper == n && n > 1;
		if (n < 2 || digits == n || n >= SYM_WORD_LEN)
			continue;
		for (size_t i = 0; i < n; i++)
			out->w[out->n][i] = (char)tolower((unsigned char)start[i]);
		out->w[out->n++][n] = '\0';
	}
}

static int has_word(const struct sym_words *s, const char *w)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->w[i], w) == 0)
			return 1;
	return 0;
}

/* in_order: every word of t appears in p, in t's order. */
static int in_order(const struct sym_words *t, const struct sym_words *p)
{
	unsigned j = 0;

	for (unsigned i = 0; i < t->n; i++) {
		while (j < p->n && strcmp(p->w[j], t->w[i]) != 0)
			j++;
		if (j++ >= p->n)
			return 0;
	}
	return t->n > 0;
}

struct sym_hit {
	int code, msg; /* the rule, and which of its messages matched best */
	unsigned score;
};

/* wrap_print writes text word-wrapped to 78 columns, every line indented by indent. */
static void wrap_print(FILE *out, const char *text, unsigned indent)
{
	const char *p = text;
	const unsigned width = 78;

	while (*p != '\0') {
		size_t rest = strlen(p), take = rest, room = width - indent;
		if (rest > room) {
			take = room;
			while (take > 0 && p[take] != ' ')
				take--;
			if (take == 0)
				take = room;
		}
		fprintf(out, "%*s%.*s\n", (int)indent, "", (int)take, p);
		p += take;
		while (*p == ' ')
			p++;
	}
}

int explain_symptom(FILE *out, const char *text)
{
	static struct sym_words msg[SYM_MAX_MSGS], pasted;
	int code_of[SYM_MAX_MSGS], idx_of[SYM_MAX_MSGS];
	unsigned nmsg = 0, df, weight[SYM_MAX_MSGS][SYM_MAX_WORDS], shown = 0, known = 0;
	unsigned best_of[SYM_MAX_WORDS];
	struct sym_hit hits[DIAG_COUNT];
	int nhits = 0;

	for (int c = 0; c < DIAG_COUNT; c++) {
		const struct diag_rule *r = diag_rule((enum diag_code)c);
		for (int k = 0; k < DIAG_MAX_SYMPTOMS && r->symptoms[k] != NULL; k++) {
			words(r->symptoms[k], 1, &msg[nmsg]);
			code_of[nmsg] = c;
			idx_of[nmsg++] = k;
		}
	}
	/* A word's weight: rarer across the messages, heavier. */
	for (unsigned m = 0; m < nmsg; m++)
		for (unsigned i = 0; i < msg[m].n; i++) {
			df = 0;
			for (unsigned o = 0; o < nmsg; o++)
				df += has_word(&msg[o], msg[m].w[i]);
			weight[m][i] = 1200 / (df ? df : 1);
		}
	words(text, 0, &pasted);
	/* Each pasted word's weight where some message knows it (not
	 * addresses, not debug1), and their sum. */
	for (unsigned i = 0; i < pasted.n; i++) {
		best_of[i] = 0;
		for (unsigned o = 0; o < nmsg; o++)
			for (unsigned k = 0; k < msg[o].n; k++)
				if (strcmp(msg[o].w[k], pasted.w[i]) == 0 &&
				    weight[o][k] > best_of[i])
					best_of[i] = weight[o][k];
		known += best_of[i];
	}
	for (unsigned m = 0; m < nmsg; m++) {
		unsigned total = 0, shared = 0, known_shared = 0, score, rarest = 0;
		for (unsigned i = 0; i < msg[m].n; i++) {
			total += weight[m][i];
			if (has_word(&pasted, msg[m].w[i])) {
				shared += weight[m][i];
				if (weight[m][i] > rarest)
					rarest = weight[m][i];
			}
		}
		for (unsigned i = 0; i < pasted.n; i++)
			if (has_word(&msg[m], pasted.w[i]))
				known_shared += best_of[i];
		if (total == 0 || known == 0)
			continue;
		/* Per mille: half for how much of the message, half for how much
		 * of the pasted text; a full in-order match outranks any partial. */
		score = 500 * shared / total + 500 * known_shared / known;
		if (in_order(&msg[m], &pasted))
			score = 2000 + msg[m].n;
		/* Unless a quarter of the message is there, or a word that at
		 * most two messages have, a shared word is chance. */
		if (score < 500 || (score < 2000 && 4 * shared < total && rarest < 600))
			continue;
		int h;
		for (h = 0; h < nhits && hits[h].code != code_of[m]; h++)
			;
		if (h == nhits)
			hits[nhits++] = (struct sym_hit){code_of[m], idx_of[m], score};
		else if (score > hits[h].score)
			hits[h] = (struct sym_hit){code_of[m], idx_of[m], score};
	}
	/* Best first; on a tie the rule's own first message, then the table's order. */
	for (int i = 1; i < nhits; i++)
		for (int j = i; j > 0; j--) {
			struct sym_hit a = hits[j - 1], b = hits[j];
			if (b.score > a.score || (b.score == a.score && b.msg < a.msg)) {
				hits[j - 1] = b;
				hits[j] = a;
			}
		}
	if (nhits == 0) {
		fprintf(stderr,
		        "kexwatch: no diagnosis has a client message like '%s'; codes:", text);
		for (int c = 0; c < DIAG_COUNT; c++)
			fprintf(stderr, "%s%s", c ? ", " : " ", diag_rule((enum diag_code)c)->code);
		fprintf(stderr, "\nTry 'kexwatch --explain CODE'.\n");
		return 1;
	}
	fprintf(out, "Diagnoses whose client message matches, best first:\n");
	for (int i = 0; i < nhits && shown < SYM_SHOWN; i++, shown++) {
		const struct diag_rule *r = diag_rule((enum diag_code)hits[i].code);
		fprintf(out, "\n%s (%s): %s\n", r->code, verdict_severity_name(r->severity),
		        r->title);
		fprintf(out, "  client prints:\n");
		wrap_print(out, r->symptoms[hits[i].msg], 4);
		fprintf(out, "  check:\n");
		wrap_print(out, r->hints[0], 4);
	}
	fprintf(out, "\nMore: kexwatch --explain CODE\n");
	return 0;
}

/* looks_like_code: lower-case letters, digits and '_' only, as every code is. */
static int looks_like_code(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

int explain_code(FILE *out, const char *code)
{
	const struct diag_rule *r;
	const char *p;
	size_t len, i;
	int c = diag_code_by_name(code);

	if (c < 0 && !looks_like_code(code))
		return explain_symptom(out, code);
	if (c < 0 || (p = explain_find(code, &len)) == NULL) {
		suggest(stderr, code);
		return 2;
	}
	r = diag_rule((enum diag_code)c);
	/* Plain text: drop the Markdown emphasis and code marks. */
	for (i = 0; i < len; i++)
		if (p[i] != '*' && p[i] != '`')
			fputc(p[i], out);
	fputc('\n', out);
	if (r->symptoms[0] != NULL) {
		fprintf(out, "\nWhat the OpenSSH client prints:\n");
		for (int k = 0; k < DIAG_MAX_SYMPTOMS && r->symptoms[k] != NULL; k++)
			fprintf(out, "  %s\n", r->symptoms[k]);
	}
	return 0;
}
