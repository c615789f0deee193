/*
 * jw.h: a streaming JSON writer for the record (internal to output/).
 *
 * Appends straight into one reusable buffer: no tree, no allocation per
 * value, integers and fixed-point numbers formatted by hand. The record is
 * the hot path (one per connection, thousands per second), diagnoses
 * included; jansson builds only the rare statistics records. Keys are
 * trusted ASCII literals. Text values are escaped as JSON
 * requires; wire bytes (jw_wire) are first made printable ASCII exactly as
 * text_escape does, so the output is valid JSON whatever the peer sent.
 */
#ifndef KW_JW_H
#define KW_JW_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JW_MAX_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	int err; /* allocation failed: the output is void */
	int depth;
	uint8_t count[JW_MAX_DEPTH]; /* 1 once a value was written at that level */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* jw_reset empties the buffer for the next record, keeping its memory. */
void jw_reset(struct jw *w);

/*
 * The writers below take the key's length too; call them through the inline
 * functions after them, which pass strlen(key), folded at compile time for
 * the literal keys of the record.
 */
void jw_put_open(struct jw *w, const char *key, size_t klen, char c);
void jw_put_close(struct jw *w, char c);

/* Where an optional object or array began, to take it back if it stays empty. */
struct jw_mark {
	size_t len;
	uint8_t had; /* the parent had a member before it */
};

struct jw_mark jw_put_open_opt(struct jw *w, const char *key, size_t klen, char c);
void jw_put_close_opt(struct jw *w, struct jw_mark m, char c, int keep_empty);
void jw_put_str(struct jw *w, const char *key, size_t klen, const char *s, size_t n);
void jw_put_wire(struct jw *w, const char *key, size_t klen, const uint8_t *p, size_t n);
void jw_put_raw(struct jw *w, const char *key, size_t klen, const char *json, size_t n);
void jw_put_real(struct jw *w, const char *key, size_t klen, double x);

/*
 * The writers of the short values (integers, booleans, times, our own
 * text) are inline below, forced so, with the wrappers that call them:
 * the literal keys' lengths then fold and each key is copied in a few
 * fixed-size moves, with no call per value. The rest is in jw.c.
 */

/* The longest a member's prefix can be besides its key: ',' '"' '"' ':'. */
#define JW_KEY_EXTRA 4

/* jw_grow makes room for n more bytes when there is not; 0, or -1 (w->err set). */
int jw_grow(struct jw *w, size_t n);
/* jw_is_plain: s[0..n) is printable ASCII without '"' or '\\' (for assertions). */
int jw_is_plain(const char *s, size_t n);
extern const char jw_digits2[201];

/* jw_room makes room for n more bytes; 0, or -1 (w->err set: the output is void). */
static inline int jw_room(struct jw *w, size_t n)
{
	if (!w->err && n <= w->cap - w->len)
		return 0;
	return jw_grow(w, n);
}

/*
 * The writes below go through a local cursor (o) and store w->len once at
 * the end: a byte written through w->buf may alias *w as far as the compiler
 * knows, so writing through w would reload w->buf and w->len after every
 * byte. They assume jw_room() said yes.
 */
static inline __attribute__((always_inline)) char *jw_copy(char *o, const char *s, size_t n)
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
 * jw_begin reserves JW_KEY_EXTRA + the key (kl bytes) + n bytes, then writes the
 * separator and, inside an object, "key":. Returns where the value goes
 * (finish it with jw_end()), or NULL when nothing can be written.
 */
static inline __attribute__((always_inline)) char *jw_begin(struct jw *w, const char *k, size_t kl,
                                                            size_t n)
{
	uint8_t *count;
	char *o;

	if (jw_room(w, JW_KEY_EXTRA + kl + n) != 0)
		return NULL;
	count = &w->count[w->depth];
	o = w->buf + w->len;
	if (*count)
		*o++ = ',';
	*count = 1;
	if (k != NULL) {
		*o++ = '"';
		o = jw_copy(o, k, kl);
		*o++ = '"';
		*o++ = ':';
	}
	return o;
}

/* jw_end: the value written by jw_begin()'s caller ends at o. */
static inline void jw_end(struct jw *w, const char *o)
{
	w->len = (size_t)(o - w->buf);
}

/*
 * jw_fmt_u64 writes v in decimal (at most 20 digits) at out, which has room
 * for JW_FMT_ROOM bytes (the bytes after the digits are scratch); returns the
 * end of the digits. The digits are made two a step at the end of a
 * buffer, then moved in one 24-byte copy: no count of them first.
 */
#define JW_FMT_ROOM 24
static inline char *jw_fmt_u64(char *out, uint64_t v)
{
	char tmp[2 * JW_FMT_ROOM], *t = tmp + JW_FMT_ROOM;
	size_t n;

	while (v >= 100) {
		t -= 2;
		memcpy(t, jw_digits2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, jw_digits2 + 2 * v, 2);
	} else {
		*--t = (char)('0' + v);
	}
	n = (size_t)(tmp + JW_FMT_ROOM - t);
	memcpy(out, t, JW_FMT_ROOM); /* t + JW_FMT_ROOM is within tmp */
	return out + n;
}

static inline __attribute__((always_inline)) void jw_put_int(struct jw *w, const char *k, size_t kl,
                                                             int64_t v)
{
	char *o = jw_begin(w, k, kl, 1 + JW_FMT_ROOM);

	if (o == NULL)
		return;
	if (v < 0)
		*o++ = '-';
	jw_end(w, jw_fmt_u64(o, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v));
}

static inline __attribute__((always_inline)) void jw_put_bool(struct jw *w, const char *k,
                                                              size_t kl, int v)
{
	char *o = jw_begin(w, k, kl, 5);

	if (o != NULL)
		jw_end(w, v ? jw_copy(o, "true", 4) : jw_copy(o, "false", 5));
}

/*
 * jw_fmt_ms writes d microseconds as milliseconds with the microseconds as
 * decimals, trailing zeros dropped but one: 6011.532, 0.1, 5.0 (as jansson
 * prints a real). At most 24 characters, in JW_FMT_ROOM + 5 bytes of room;
 * returns the end.
 */
static inline char *jw_fmt_ms(char *out, uint64_t d)
{
	uint64_t frac = d % 1000;
	char *o = jw_fmt_u64(out, d / 1000);
	unsigned tens = (unsigned)(frac % 100);

	*o++ = '.';
	*o++ = (char)('0' + frac / 100);
	if (tens != 0) {
		*o++ = jw_digits2[2 * tens];
		if (tens % 10 != 0)
			*o++ = jw_digits2[2 * tens + 1];
	}
	return o;
}

static inline __attribute__((always_inline)) void jw_put_ms(struct jw *w, const char *k, size_t kl,
                                                            uint64_t from, uint64_t to)
{
	uint64_t d = to >= from ? to - from : from - to;
	char *o = jw_begin(w, k, kl, 1 + JW_FMT_ROOM + 5);

	if (o == NULL)
		return;
	if (to < from && d != 0)
		*o++ = '-';
	jw_end(w, jw_fmt_ms(o, d));
}

static inline __attribute__((always_inline)) void jw_put_ascii(struct jw *w, const char *k,
                                                               size_t kl, const char *s, size_t n)
{
	char *o;

	assert(jw_is_plain(s, n)); /* the caller's promise */
	if (n > SIZE_MAX / 2) {
		w->err = 1;
		return;
	}
	if ((o = jw_begin(w, k, kl, 2 + n)) == NULL)
		return;
	*o++ = '"';
	o = jw_copy(o, s, n);
	*o++ = '"';
	jw_end(w, o);
}

static inline __attribute__((always_inline)) size_t jw_klen(const char *key)
{
	return key != NULL ? strlen(key) : 0;
}

/* key is NULL for array elements and the top-level value. */
static inline void jw_obj_open(struct jw *w, const char *key)
{
	jw_put_open(w, key, jw_klen(key), '{');
}

static inline void jw_obj_close(struct jw *w)
{
	jw_put_close(w, '}');
}

/*
 * jw_obj_open_opt / jw_obj_close_opt: an object written only if something
 * goes in it, or keep_empty (the record has no empty objects); likewise
 * the arrays.
 */
static inline struct jw_mark jw_obj_open_opt(struct jw *w, const char *key)
{
	return jw_put_open_opt(w, key, jw_klen(key), '{');
}

static inline void jw_obj_close_opt(struct jw *w, struct jw_mark m, int keep_empty)
{
	jw_put_close_opt(w, m, '}', keep_empty);
}

static inline struct jw_mark jw_arr_open_opt(struct jw *w, const char *key)
{
	return jw_put_open_opt(w, key, jw_klen(key), '[');
}

static inline void jw_arr_close_opt(struct jw *w, struct jw_mark m, int keep_empty)
{
	jw_put_close_opt(w, m, ']', keep_empty);
}

static inline void jw_arr_open(struct jw *w, const char *key)
{
	jw_put_open(w, key, jw_klen(key), '[');
}

static inline void jw_arr_close(struct jw *w)
{
	jw_put_close(w, ']');
}

/* jw_str: NUL-terminated text (UTF-8; invalid bytes become U+FFFD). */
static inline void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_put_str(w, key, jw_klen(key), s, strlen(s));
}

static inline void jw_strn(struct jw *w, const char *key, const char *s, size_t n)
{
	jw_put_str(w, key, jw_klen(key), s, n);
}

/*
 * jw_ascii: text of our own making that needs no escaping, copied as it
 * is: printable ASCII without '"' or '\\' (names from our tables, formatted
 * times, addresses, base64, hex). Never wire bytes or user input: those
 * go through jw_str or jw_wire. Debug builds check the promise.
 */
static inline __attribute__((always_inline)) void jw_ascii(struct jw *w, const char *key,
                                                           const char *s)
{
	jw_put_ascii(w, key, jw_klen(key), s, strlen(s));
}

static inline __attribute__((always_inline)) void jw_asciin(struct jw *w, const char *key,
                                                            const char *s, size_t n)
{
	jw_put_ascii(w, key, jw_klen(key), s, n);
}

/* jw_wire: wire bytes, escaped as text_escape does, then as JSON. */
static inline void jw_wire(struct jw *w, const char *key, const uint8_t *p, size_t n)
{
	jw_put_wire(w, key, jw_klen(key), p, n);
}

static inline __attribute__((always_inline)) void jw_int(struct jw *w, const char *key, int64_t v)
{
	jw_put_int(w, key, jw_klen(key), v);
}

static inline __attribute__((always_inline)) void jw_bool(struct jw *w, const char *key, int v)
{
	jw_put_bool(w, key, jw_klen(key), v);
}

/* jw_ms: (to - from) microseconds as milliseconds, e.g. 6011.532 or 5.0. */
static inline __attribute__((always_inline)) void jw_ms(struct jw *w, const char *key,
                                                        uint64_t from, uint64_t to)
{
	jw_put_ms(w, key, jw_klen(key), from, to);
}

/* jw_raw: a value already serialised (trusted, valid JSON). */
static inline void jw_raw(struct jw *w, const char *key, const char *json, size_t n)
{
	jw_put_raw(w, key, jw_klen(key), json, n);
}

/* jw_real: a number as jansson prints a real with JSON_REAL_PRECISION(10): 5.0, 6011.532. */
static inline void jw_real(struct jw *w, const char *key, double x)
{
	jw_put_real(w, key, jw_klen(key), x);
}

#endif
