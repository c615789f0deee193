/*
 * ux.c: the progress line and --explain (see ux.h).
 *
 * --explain knows the codes from the rule table (verdict/rules.c) and reads
 * their explanation from docs/diagnoses.md as embedded at build time
 * (cmake/embed.cmake), so the manual and the program say the same thing;
 * unit.rules checks that the two name the same codes.
 */
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

int explain_code(FILE *out, const char *code)
{
	const struct diag_rule *r;
	const char *p;
	size_t len, i;
	int c = diag_code_by_name(code);

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
