/*
 * jw.c: the streaming JSON writer (see jw.h).
 *
 * Each value reserves its worst case once (separator, key and the value
 * escaped at its longest), then writes without further checks: one test of
 * the buffer per member rather than one per byte or run.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "jw.h"

static const char hexdig[] = "0123456789abcdef";

/* The longest a member's prefix can be besides its key: ',' '"' '"' ':'. */
#define KEY_EXTRA 4
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

/* grow makes room for n more bytes when there is not; 0, or -1 (w->err set). */
static int grow(struct jw *w, size_t n)
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

/* room makes room for n more bytes; 0, or -1 (w->err set: the output is void). */
static inline int room(struct jw *w, size_t n)
{
	if (!w->err && n <= w->cap - w->len)
		return 0;
	return grow(w, n);
}

/*
 * The writes below go through a local cursor (o) and store w->len once at
 * the end: a byte written through w->buf may alias *w as far as the compiler
 * knows, so writing through w would reload w->buf and w->len after every
 * byte. They assume room() said yes.
 */
static inline char *put(char *o, const char *s, size_t n)
{
	/* Keys, names and numbers are short: copied in a few fixed-size moves
	 * that overlap where they must, rather than by a call to memcpy. */
	if (n >= 8 && n <= 32) {
		for (size_t i = 0; i + 8 < n; i += 8)
			memcpy(o + i, s + i, 8);
		memcpy(o + n - 8, s + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(o, s, 4);
		memcpy(o + n - 4, s + n - 4, 4);
	} else if (n > 0 && n < 4) {
		o[0] = s[0];
		o[n / 2] = s[n / 2];
		o[n - 1] = s[n - 1];
	} else if (n > 32) {
		memcpy(o, s, n);
	}
	return o + n;
}

/*
 * begin reserves KEY_EXTRA + the key (kl bytes) + n bytes, then writes the
 * separator and, inside an object, "key":. Returns where the value goes
 * (finish it with end()), or NULL when nothing can be written.
 */
static inline char *begin(struct jw *w, const char *k, size_t kl, size_t n)
{
	uint8_t *count;
	char *o;

	if (room(w, KEY_EXTRA + kl + n) != 0)
		return NULL;
	count = &w->count[w->depth];
	o = w->buf + w->len;
	if (*count)
		*o++ = ',';
	*count = 1;
	if (k != NULL) {
		*o++ = '"';
		o = put(o, k, kl);
		*o++ = '"';
		*o++ = ':';
	}
	return o;
}

/* end: the value written by begin()'s caller ends at o. */
static inline void end(struct jw *w, const char *o)
{
	w->len = (size_t)(o - w->buf);
}

void jw_put_open(struct jw *w, const char *k, size_t kl, char c)
{
	char *o = begin(w, k, kl, 1);

	if (o != NULL) {
		*o++ = c;
		end(w, o);
	}
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->count[++w->depth] = 0;
	else
		w->err = 1; /* our bug: records are not this deep */
}

void jw_put_close(struct jw *w, char c)
{
	if (room(w, 1) == 0)
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

void jw_put_str(struct jw *w, const char *k, size_t kl, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	char *o;

	if (n > SIZE_MAX / (2 * ESC_MAX)) {
		w->err = 1;
		return;
	}
	if ((o = begin(w, k, kl, 2 + n * ESC_MAX)) == NULL)
		return;
	*o++ = '"';
	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		run = run_of(p + i, n - i, 1);
		o = put(o, s + i, run);
		if ((i += run) == n)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)p[i];
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			o = put(o, "\\u00", 4);
			*o++ = hexdig[p[i] >> 4];
			*o++ = hexdig[p[i] & 15];
			i++;
		} else {
			size_t ul = utf8_len(p + i, n - i);
			if (ul == 0) {
				o = put(o, "\\ufffd", 6);
				i++;
			} else {
				o = put(o, s + i, ul);
				i += ul;
			}
		}
	}
	*o++ = '"';
	end(w, o);
}

void jw_put_ascii(struct jw *w, const char *k, size_t kl, const char *s, size_t n)
{
	char *o;

	assert(run_of((const unsigned char *)s, n, 1) == n); /* the caller's promise */
	if (n > SIZE_MAX / 2) {
		w->err = 1;
		return;
	}
	if ((o = begin(w, k, kl, 2 + n)) == NULL)
		return;
	*o++ = '"';
	o = put(o, s, n);
	*o++ = '"';
	end(w, o);
}

void jw_put_wire(struct jw *w, const char *k, size_t kl, const uint8_t *p, size_t n)
{
	size_t i = 0, run;
	char *o;

	if (n > SIZE_MAX / (2 * ESC_MAX)) {
		w->err = 1;
		return;
	}
	if ((o = begin(w, k, kl, 2 + n * 5)) == NULL)
		return;
	*o++ = '"';
	while (i < n) {
		run = run_of(p + i, n - i, 1);
		o = put(o, (const char *)p + i, run);
		if ((i += run) == n)
			break;
		if (p[i] == '"') {
			o = put(o, "\\\"", 2);
		} else {
			/* text_escape's \xHH, whose backslash JSON escapes again */
			o = put(o, "\\\\x", 3);
			*o++ = hexdig[p[i] >> 4];
			*o++ = hexdig[p[i] & 15];
		}
		i++;
	}
	*o++ = '"';
	end(w, o);
}

/* "00" to "99": two digits a step, half the divisions of one a step. */
static const char digits2[201] = "00010203040506070809"
                                 "10111213141516171819"
                                 "20212223242526272829"
                                 "30313233343536373839"
                                 "40414243444546474849"
                                 "50515253545556575859"
                                 "60616263646566676869"
                                 "70717273747576777879"
                                 "80818283848586878889"
                                 "90919293949596979899";

/*
 * fmt_u64 writes v in decimal (at most 20 digits) at out, which has room
 * for FMT_ROOM bytes (the bytes after the digits are scratch); returns the
 * end of the digits. The digits are made two a step at the end of a
 * buffer, then moved in three fixed-size copies: no count of them first.
 */
#define FMT_ROOM 24
static inline char *fmt_u64(char *out, uint64_t v)
{
	char tmp[2 * FMT_ROOM], *t = tmp + FMT_ROOM;
	size_t n;

	while (v >= 100) {
		t -= 2;
		memcpy(t, digits2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, digits2 + 2 * v, 2);
	} else {
		*--t = (char)('0' + v);
	}
	n = (size_t)(tmp + FMT_ROOM - t);
	memcpy(out, t, FMT_ROOM); /* t + FMT_ROOM is within tmp */
	return out + n;
}

void jw_put_int(struct jw *w, const char *k, size_t kl, int64_t v)
{
	char *o = begin(w, k, kl, 1 + FMT_ROOM);

	if (o == NULL)
		return;
	if (v < 0)
		*o++ = '-';
	end(w, fmt_u64(o, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v));
}

void jw_put_bool(struct jw *w, const char *k, size_t kl, int v)
{
	char *o = begin(w, k, kl, 5);

	if (o != NULL)
		end(w, v ? put(o, "true", 4) : put(o, "false", 5));
}

/*
 * fmt_ms writes d microseconds as milliseconds with the microseconds as
 * decimals, trailing zeros dropped but one: 6011.532, 0.1, 5.0 (as jansson
 * prints a real). At most 24 characters, in FMT_ROOM + 5 bytes of room;
 * returns the end.
 */
static char *fmt_ms(char *out, uint64_t d)
{
	uint64_t frac = d % 1000;
	char *o = fmt_u64(out, d / 1000);
	unsigned tens = (unsigned)(frac % 100);

	*o++ = '.';
	*o++ = (char)('0' + frac / 100);
	if (tens != 0) {
		*o++ = digits2[2 * tens];
		if (tens % 10 != 0)
			*o++ = digits2[2 * tens + 1];
	}
	return o;
}

void jw_put_ms(struct jw *w, const char *k, size_t kl, uint64_t from, uint64_t to)
{
	uint64_t d = to >= from ? to - from : from - to;
	char *o = begin(w, k, kl, 1 + FMT_ROOM + 5);

	if (o == NULL)
		return;
	if (to < from && d != 0)
		*o++ = '-';
	end(w, fmt_ms(o, d));
}

void jw_put_raw(struct jw *w, const char *k, size_t kl, const char *json, size_t n)
{
	char *o = begin(w, k, kl, n);

	if (o != NULL)
		end(w, put(o, json, n));
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

	if ((o = begin(w, k, kl, sizeof(buf))) == NULL)
		return;
	if (x >= 0 && x < 1e7 && !signbit(x)) {
		us = (uint64_t)(x * 1000.0 + 0.5);
		if ((double)us / 1000.0 == x) {
			end(w, fmt_ms(o, us));
			return;
		}
	}
	n = snprintf(buf, sizeof(buf) - 2, "%.10g", x);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		end(w, o); /* the key stays: the output is void anyway */
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
	end(w, put(o, buf, (size_t)n));
}
