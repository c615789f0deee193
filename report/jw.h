/*
 * jw.h: a streaming JSON writer for the record (internal to report/).
 *
 * Appends straight into one reusable buffer: no tree, no allocation per
 * value, integers and fixed-point numbers formatted by hand. The record is
 * the hot path (one per connection, thousands per second); jansson builds
 * the smaller, rarer objects (diagnoses, statistics), which jw_json splices
 * in. Keys are trusted ASCII literals. Text values are escaped as JSON
 * requires; wire bytes (jw_wire) are first made printable ASCII exactly as
 * report_escape does, so the output is valid JSON whatever the peer sent.
 */
#ifndef KW_JW_H
#define KW_JW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	int err;                       /* allocation failed: the output is void */
	int depth;
	uint8_t count[JW_MAX_DEPTH];   /* 1 once a value was written at that level */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* jw_reset empties the buffer for the next record, keeping its memory. */
void jw_reset(struct jw *w);

/* key is NULL for array elements and the top-level value. */
void jw_obj_open(struct jw *w, const char *key);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w, const char *key);
void jw_arr_close(struct jw *w);
/* jw_str: NUL-terminated text (UTF-8; invalid bytes become U+FFFD). */
void jw_str(struct jw *w, const char *key, const char *s);
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
/* jw_wire: wire bytes, escaped as report_escape does, then as JSON. */
void jw_wire(struct jw *w, const char *key, const uint8_t *p, size_t n);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, int v);
/* jw_ms: (to - from) microseconds as milliseconds, e.g. 6011.532 or 5.0. */
void jw_ms(struct jw *w, const char *key, uint64_t from, uint64_t to);
/* jw_raw: a value already serialised (trusted, valid JSON). */
void jw_raw(struct jw *w, const char *key, const char *json, size_t n);
/* jw_json: a jansson value, written compactly in place, byte for byte as
 * json_dumpb(JSON_COMPACT | JSON_REAL_PRECISION(10)) writes it. */
void jw_json(struct jw *w, const char *key, const json_t *v);

#endif
