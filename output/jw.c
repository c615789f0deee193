/*
 * jw.c: the streaming JSON writer (see jw.h).
 *
 * Each value reserves its worst case once (separator, key and the value
 * escaped at its longest), then writes without further checks: one test of
 * the buffer per member rather than one per byte or run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "jw.h"

static const char hexdig[] = "0123456789abcdef";

/* "00" to "99": two digits a step, half the divisions of one a step. */
const char jw_digits2[201] = "00010203040506070809"
                             "10111213141516171819"
                             "20212223242526272829"
                             "30313233343536373839"
                             "40414243444546474849"
                             "50515253545556575859"
                             "60616263646566676869"
                             "70717273747576777879"
                             "80818283848586878889"
                             "90919293949596979899";

/* The longest escape of one input byte: \u00XX, \ufffd; jw_wire's \\xHH is 5. */
#define ESC_MAX 6

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

/* jw_grow makes room for n more bytes when there is not; 0, or -1 (w->err set). */
int jw_grow(struct jw *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return -1;
	if (n <= w->cap - w->len)
		return 0;
	if (n > SIZE_MAX / 4 - w->len) {
		w->err = 1; /* our bug: no record is this large */
		return -1;
	}
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

void jw_put_open(struct jw *w, const char *k, size_t kl, char c)
{
	char *o = jw_begin(w, k, kl, 1);

	if (o != NULL) {
		*o++ = c;
		jw_end(w, o);
	}
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->count[++w->depth] = 0;
	else
		w->err = 1; /* our bug: records are not this deep */
}

void jw_put_close(struct jw *w, char c)
{
	if (jw_room(w, 1) == 0)
		w->buf[w->len++] = c;
	if (w->depth > 0)
		w->depth--;
}

struct jw_mark jw_put_open_opt(struct jw *w, const char *k, size_t kl, char c)
{
	struct jw_mark m = {.len = w->len, .had = w->count[w->depth]};

	jw_put_open(w, k, kl, c);
	return m;
}

void jw_put_close_opt(struct jw *w, struct jw_mark m, char c, int keep_empty)
{
	if (keep_empty || w->count[w->depth] != 0 || w->depth == 0 || w->err) {
		jw_put_close(w, c);
		return;
	}
	/* Nothing inside: take back the key and the separator too. */
	w->depth--;
	w->len = m.len;
	w->count[w->depth] = m.had;
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

/*
 * Bytes copied as they are: printable ASCII but '"' and '\\' (jw_strn,
 * jw_wire: plain[c] & 1), and also every byte from 0x7f up (jansson's
 * dump, which leaves UTF-8 alone: plain[c] & 2).
 */
static const uint8_t plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    3, 3, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x20 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x30 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x40 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3, 3, /* 0x50 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

/*
 * is_special: whether a word of 8 bytes holds a byte without the bits of
 * want in plain[] (the word tests of "Bit Twiddling Hacks": a byte below
 * 0x20, equal to '"' or '\\', and for want 1 above 0x7e).
 */
static inline int is_special(uint64_t x, uint8_t want)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	uint64_t special = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);

	if (want & 1)
		special |= (x + ones) | x;
	return (special & high) != 0;
}

/*
 * run_of: how many bytes from p (at most n) have all the bits of want in
 * plain[]. Eight bytes a step while none of them is special; the last
 * under eight are tested as the word that ends at p + n (it overlaps bytes
 * already known plain), and only a word that has a special byte is
 * finished byte by byte.
 */
static inline size_t run_of(const unsigned char *p, size_t n, uint8_t want)
{
	uint64_t x;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		memcpy(&x, p + i, 8);
		if (is_special(x, want))
			break;
	}
	if (i < n && n - i < 8 && n >= 8) {
		memcpy(&x, p + n - 8, 8);
		if (!is_special(x, want))
			return n;
	}
	while (i < n && (plain[p[i]] & want))
		i++;
	return i;
}

int jw_is_plain(const char *s, size_t n)
{
	return run_of((const unsigned char *)s, n, 1) == n;
}

void jw_put_str(struct jw *w, const char *k, size_t kl, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	char *o;

	if (n > SIZE_MAX / (2 * ESC_MAX)) {
		w->err = 1;
		return;
	}
	if ((o = jw_begin(w, k, kl, 2 + n * ESC_MAX)) == NULL)
		return;
	*o++ = '"';
	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		run = run_of(p + i, n - i, 1);
		o = jw_copy(o, s + i, run);
		if ((i += run) == n)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)p[i];
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			o = jw_copy(o, "\\u00", 4);
			*o++ = hexdig[p[i] >> 4];
			*o++ = hexdig[p[i] & 15];
			i++;
		} else {
			size_t ul = utf8_len(p + i, n - i);
			if (ul == 0) {
				o = jw_copy(o, "\\ufffd", 6);
				i++;
			} else {
				o = jw_copy(o, s + i, ul);
				i += ul;
			}
		}
	}
	*o++ = '"';
	jw_end(w, o);
}

void jw_put_wire(struct jw *w, const char *k, size_t kl, const uint8_t *p, size_t n)
{
	size_t i = 0, run;
	char *o;

	if (n > SIZE_MAX / (2 * ESC_MAX)) {
		w->err = 1;
		return;
	}
	if ((o = jw_begin(w, k, kl, 2 + n * 5)) == NULL)
		return;
	*o++ = '"';
	while (i < n) {
		run = run_of(p + i, n - i, 1);
		o = jw_copy(o, (const char *)p + i, run);
		if ((i += run) == n)
			break;
		if (p[i] == '"') {
			o = jw_copy(o, "\\\"", 2);
		} else {
			/* text_escape's \xHH, whose backslash JSON escapes again */
			o = jw_copy(o, "\\\\x", 3);
			*o++ = hexdig[p[i] >> 4];
			*o++ = hexdig[p[i] & 15];
		}
		i++;
	}
	*o++ = '"';
	jw_end(w, o);
}

void jw_put_raw(struct jw *w, const char *k, size_t kl, const char *json, size_t n)
{
	char *o = jw_begin(w, k, kl, n);

	if (o != NULL)
		jw_end(w, jw_copy(o, json, n));
}

/*
 * jw_put_real writes x as jansson's dump with JSON_REAL_PRECISION(10) does,
 * the form the record's evidence has always had: "%.10g", ".0" added when
 * that reads as an integer, no '+' and no leading zeros in an exponent.
 * Milliseconds with microsecond decimals below 10^7 ms have at most ten
 * significant digits, so fmt_ms prints them exactly and faster.
 */
void jw_put_real(struct jw *w, const char *k, size_t kl, double x)
{
	char buf[40], *e, *o;
	uint64_t us;
	int n;

	if ((o = jw_begin(w, k, kl, sizeof(buf))) == NULL)
		return;
	if (x >= 0 && x < 1e7 && !signbit(x)) {
		us = (uint64_t)(x * 1000.0 + 0.5);
		if ((double)us / 1000.0 == x) {
			jw_end(w, jw_fmt_ms(o, us));
			return;
		}
	}
	n = snprintf(buf, sizeof(buf) - 2, "%.10g", x);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		jw_end(w, o); /* the key stays: the output is void anyway */
		w->err = 1;
		return;
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL && isfinite(x)) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(buf, 'e')) != NULL) {
		char *from = e + 1, *to = e + 1;
		if (*from == '+')
			from++;
		else if (*from == '-')
			from = ++to;
		while (*from == '0' && from[1] != '\0')
			from++;
		memmove(to, from, strlen(from) + 1);
		n = (int)strlen(buf);
	}
	jw_end(w, jw_copy(o, buf, (size_t)n));
}
