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
void jw_put_ascii(struct jw *w, const char *key, size_t klen, const char *s, size_t n);
void jw_put_int(struct jw *w, const char *key, size_t klen, int64_t v);
void jw_put_bool(struct jw *w, const char *key, size_t klen, int v);
void jw_put_ms(struct jw *w, const char *key, size_t klen, uint64_t from, uint64_t to);
void jw_put_raw(struct jw *w, const char *key, size_t klen, const char *json, size_t n);
void jw_put_real(struct jw *w, const char *key, size_t klen, double x);

static inline size_t jw_klen(const char *key)
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
static inline void jw_ascii(struct jw *w, const char *key, const char *s)
{
	jw_put_ascii(w, key, jw_klen(key), s, strlen(s));
}

static inline void jw_asciin(struct jw *w, const char *key, const char *s, size_t n)
{
	jw_put_ascii(w, key, jw_klen(key), s, n);
}

/* jw_wire: wire bytes, escaped as text_escape does, then as JSON. */
static inline void jw_wire(struct jw *w, const char *key, const uint8_t *p, size_t n)
{
	jw_put_wire(w, key, jw_klen(key), p, n);
}

static inline void jw_int(struct jw *w, const char *key, int64_t v)
{
	jw_put_int(w, key, jw_klen(key), v);
}

static inline void jw_bool(struct jw *w, const char *key, int v)
{
	jw_put_bool(w, key, jw_klen(key), v);
}

/* jw_ms: (to - from) microseconds as milliseconds, e.g. 6011.532 or 5.0. */
static inline void jw_ms(struct jw *w, const char *key, uint64_t from, uint64_t to)
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
