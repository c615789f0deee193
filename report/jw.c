/*
 * jw.c: the streaming JSON writer (see jw.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"

static const char hexdig[] = "0123456789abcdef";

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->err = 0;
	w->depth = 0;
	w->count[0] = 0;
}

/* jw_room makes room for n more bytes; 0, or -1 (w->err set). */
static int jw_room(struct jw *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return -1;
	if (n <= w->cap - w->len)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap - w->len < n)
		cap *= 2;
	if ((nb = realloc(w->buf, cap)) == NULL) {
		w->err = 1;
		return -1;
	}
	w->buf = nb;
	w->cap = cap;
	return 0;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (jw_room(w, n) == 0) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

static void putc1(struct jw *w, char c)
{
	if (jw_room(w, 1) == 0)
		w->buf[w->len++] = c;
}

/* key writes the separator and, inside an object, "key":. */
static void key(struct jw *w, const char *k)
{
	if (w->count[w->depth])
		putc1(w, ',');
	w->count[w->depth] = 1;
	if (k != NULL) {
		putc1(w, '"');
		put(w, k, strlen(k));
		put(w, "\":", 2);
	}
}

static void open_(struct jw *w, const char *k, char c)
{
	key(w, k);
	putc1(w, c);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->count[++w->depth] = 0;
	else
		w->err = 1; /* our bug: records are not this deep */
}

static void close_(struct jw *w, char c)
{
	putc1(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj_open(struct jw *w, const char *k)
{
	open_(w, k, '{');
}

void jw_obj_close(struct jw *w)
{
	close_(w, '}');
}

void jw_arr_open(struct jw *w, const char *k)
{
	open_(w, k, '[');
}

void jw_arr_close(struct jw *w)
{
	close_(w, ']');
}

/* utf8_len: length of a valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = p[0] & (0x3f >> (len - 1));
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void jw_strn(struct jw *w, const char *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	key(w, k);
	putc1(w, '"');
	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
			      p[run] != '\\';
		     run++)
			;
		put(w, s + i, run - i);
		if ((i = run) == n)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			char e[2] = {'\\', (char)p[i]};
			put(w, e, 2);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hexdig[p[i] >> 4], hexdig[p[i] & 15]};
			put(w, e, 6);
			i++;
		} else {
			size_t ul = utf8_len(p + i, n - i);
			if (ul == 0) {
				put(w, "\\ufffd", 6);
				i++;
			} else {
				put(w, s + i, ul);
				i += ul;
			}
		}
	}
	putc1(w, '"');
}

void jw_str(struct jw *w, const char *k, const char *s)
{
	jw_strn(w, k, s, strlen(s));
}

void jw_wire(struct jw *w, const char *k, const uint8_t *p, size_t n)
{
	size_t i = 0, run;

	key(w, k);
	putc1(w, '"');
	while (i < n) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '\\' &&
			      p[run] != '"';
		     run++)
			;
		put(w, (const char *)p + i, run - i);
		if ((i = run) == n)
			break;
		if (p[i] == '"') {
			put(w, "\\\"", 2);
		} else {
			/* report_escape's \xHH, whose backslash JSON escapes again */
			char e[5] = {'\\', '\\', 'x', hexdig[p[i] >> 4], hexdig[p[i] & 15]};
			put(w, e, 5);
		}
		i++;
	}
	putc1(w, '"');
}

static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void jw_int(struct jw *w, const char *k, int64_t v)
{
	char buf[24];
	size_t n = 0;

	key(w, k);
	if (v < 0)
		buf[n++] = '-';
	n += fmt_u64(buf + n, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
	put(w, buf, n);
}

void jw_bool(struct jw *w, const char *k, int v)
{
	key(w, k);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

/*
 * fmt_ms writes d microseconds as milliseconds with the microseconds as
 * decimals, trailing zeros dropped but one: 6011.532, 0.1, 5.0 (as jansson
 * prints a real).
 */
static size_t fmt_ms(char *out, uint64_t d)
{
	uint64_t frac = d % 1000;
	size_t n = fmt_u64(out, d / 1000);

	out[n++] = '.';
	out[n++] = (char)('0' + frac / 100);
	if (frac % 100 != 0) {
		out[n++] = (char)('0' + frac / 10 % 10);
		if (frac % 10 != 0)
			out[n++] = (char)('0' + frac % 10);
	}
	return n;
}

void jw_ms(struct jw *w, const char *k, uint64_t from, uint64_t to)
{
	uint64_t d = to >= from ? to - from : from - to;
	char buf[32];
	size_t n = 0;

	key(w, k);
	if (to < from && d != 0)
		buf[n++] = '-';
	n += fmt_ms(buf + n, d);
	put(w, buf, n);
}

void jw_raw(struct jw *w, const char *k, const char *json, size_t n)
{
	key(w, k);
	put(w, json, n);
}

/*
 * jstr writes a jansson string as jansson's dump does without flags: \\ \"
 * \b \f \n \r \t, other control characters as \u00XX (upper-case hex),
 * everything else as it is (json_string took only valid UTF-8).
 */
static void jstr(struct jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	putc1(w, '"');
	while (i < n) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\'; run++)
			;
		put(w, s + i, run - i);
		if ((i = run) == n)
			break;
		switch (p[i]) {
		case '"':
			put(w, "\\\"", 2);
			break;
		case '\\':
			put(w, "\\\\", 2);
			break;
		case '\b':
			put(w, "\\b", 2);
			break;
		case '\f':
			put(w, "\\f", 2);
			break;
		case '\n':
			put(w, "\\n", 2);
			break;
		case '\r':
			put(w, "\\r", 2);
			break;
		case '\t':
			put(w, "\\t", 2);
			break;
		default: {
			static const char up[] = "0123456789ABCDEF";
			char e[6] = {'\\', 'u', '0', '0', up[p[i] >> 4], up[p[i] & 15]};
			put(w, e, 6);
			break;
		}
		}
		i++;
	}
	putc1(w, '"');
}

/*
 * jreal writes a real as json_dumpb with JSON_REAL_PRECISION(10) does. The
 * reals of a record are milliseconds with microsecond decimals; those below
 * 10^7 ms have at most ten significant digits, which "%.10g" prints exactly,
 * so they are formatted by hand; any other value goes through jansson.
 */
static void jreal(struct jw *w, const json_t *v, size_t flags)
{
	double x = json_real_value(v);
	char buf[32];
	uint64_t us;
	size_t n;

	if (x >= 0 && x < 1e7 && !signbit(x)) {
		us = (uint64_t)(x * 1000.0 + 0.5);
		if ((double)us / 1000.0 == x) {
			n = fmt_ms(buf, us);
			put(w, buf, n);
			return;
		}
	}
	if ((n = json_dumpb(v, buf, sizeof(buf), flags)) == 0 || n > sizeof(buf)) {
		w->err = 1;
		return;
	}
	put(w, buf, n);
}

/* jvalue writes v compactly, object members in their order, as json_dumpb would. */
static void jvalue(struct jw *w, const json_t *v, size_t flags)
{
	const char *k;
	json_t *e;
	int first = 1;
	size_t i;
	char buf[24];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		putc1(w, '{');
		json_object_foreach((json_t *)v, k, e)
		{
			if (!first)
				putc1(w, ',');
			first = 0;
			jstr(w, k, strlen(k));
			putc1(w, ':');
			jvalue(w, e, flags);
		}
		putc1(w, '}');
		break;
	case JSON_ARRAY:
		putc1(w, '[');
		json_array_foreach(v, i, e)
		{
			if (i > 0)
				putc1(w, ',');
			jvalue(w, e, flags);
		}
		putc1(w, ']');
		break;
	case JSON_STRING:
		jstr(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		json_int_t x = json_integer_value(v);
		size_t n = 0;

		if (x < 0)
			buf[n++] = '-';
		n += fmt_u64(buf + n, x < 0 ? (uint64_t)(-(x + 1)) + 1 : (uint64_t)x);
		put(w, buf, n);
		break;
	}
	case JSON_REAL:
		jreal(w, v, flags);
		break;
	case JSON_TRUE:
		put(w, "true", 4);
		break;
	case JSON_FALSE:
		put(w, "false", 5);
		break;
	case JSON_NULL:
		put(w, "null", 4);
		break;
	}
}

void jw_json(struct jw *w, const char *k, const json_t *v)
{
	key(w, k);
	if (v == NULL) {
		w->err = 1;
		return;
	}
	/* Walked here rather than by json_dumpb, whose loop check formats every
	 * container's address with snprintf and allocates. */
	jvalue(w, v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}
