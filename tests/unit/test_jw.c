/*
 * test_jw.c: unit.jw — the streaming JSON writer. Every output is parsed
 * back with jansson and compared value by value: escaping of text (quotes,
 * backslashes, control bytes, valid and invalid UTF-8), wire bytes (as
 * text_escape then JSON), integers at their limits, milliseconds, arrays
 * longer than 255 elements, nesting, and spliced jansson values, which must
 * come out byte for byte as json_dumpb writes them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "jw.h"
#include "output.h"
#include "tap.h"

static json_t *parse(const struct jw *w)
{
	json_error_t e;
	json_t *v = json_loadb(w->buf, w->len, JSON_DECODE_ANY, &e);

	CHECK(v != NULL, "valid JSON: %s (%.*s)", e.text, (int)(w->len > 200 ? 200 : w->len),
	      w->buf);
	return v;
}

static void test_text(void)
{
	static const char *const texts[] = {
	    "plain",
	    "quote \" and backslash \\",
	    "tab\tnewline\ncr\r",
	    "\x01\x1f\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	    "",
	};
	struct jw w;

	jw_init(&w);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *v;
		jw_reset(&w);
		jw_str(&w, NULL, texts[i]);
		if ((v = parse(&w)) != NULL)
			CHECK_EQ_STR(json_string_value(v), texts[i]);
		json_decref(v);
	}
	/* Invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate,
	 * a truncated sequence) becomes U+FFFD, never invalid JSON. */
	jw_reset(&w);
	jw_str(&w, NULL,
	       "a\x80"
	       "b\xc0\xaf"
	       "c\xed\xa0\x80"
	       "d\xe2\x82");
	json_decref(parse(&w));
	CHECK(strstr(w.buf, "\\ufffd") != NULL, "replacement character used");
	jw_free(&w);
}

static void test_wire(void)
{
	uint8_t bytes[256];
	struct jw w;
	json_t *v;
	char *esc;

	for (int i = 0; i < 256; i++)
		bytes[i] = (uint8_t)i;
	jw_init(&w);
	jw_wire(&w, NULL, bytes, sizeof(bytes));
	esc = text_escape(bytes, sizeof(bytes));
	if ((v = parse(&w)) != NULL)
		CHECK_EQ_STR(json_string_value(v), esc);
	json_decref(v);
	free(esc);
	jw_free(&w);
}

/* Every byte at every offset of a word, among plain ones: the escapes do not
 * depend on where in the string a byte falls. */
static void test_positions(void)
{
	uint8_t s[24];
	struct jw w;
	json_t *v;
	char *esc;
	int bad = 0;

	jw_init(&w);
	for (int c = 0; c < 256; c++) {
		for (size_t k = 0; k < 17; k++) {
			memset(s, 'a', sizeof(s));
			s[k] = (uint8_t)c;
			jw_reset(&w);
			jw_wire(&w, NULL, s, sizeof(s));
			esc = text_escape(s, sizeof(s));
			v = json_loadb(w.buf, w.len, JSON_DECODE_ANY, NULL);
			if (v == NULL || esc == NULL || strcmp(json_string_value(v), esc) != 0)
				bad++;
			json_decref(v);
			free(esc);
			jw_reset(&w);
			jw_strn(&w, NULL, (const char *)s, sizeof(s));
			v = json_loadb(w.buf, w.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			/* Bytes that are not UTF-8 alone become U+FFFD (three bytes). */
			if (v == NULL || json_string_length(v) != sizeof(s) + (c >= 0x80 ? 2 : 0))
				bad++;
			json_decref(v);
		}
	}
	CHECK_EQ_INT(bad, 0);
	jw_free(&w);
}

static void test_numbers_and_nesting(void)
{
	struct jw w;
	json_t *v, *arr;

	jw_init(&w);
	jw_obj_open(&w, NULL);
	jw_int(&w, "max", INT64_MAX);
	jw_int(&w, "min", INT64_MIN);
	jw_int(&w, "zero", 0);
	jw_ms(&w, "a", 1000000, 1000000 + 6011532);
	jw_ms(&w, "b", 0, 100);
	jw_ms(&w, "c", 0, 5000);
	jw_ms(&w, "d", 0, 36640);
	jw_ms(&w, "neg", 500, 0);
	jw_bool(&w, "t", 1);
	jw_arr_open(&w, "many");
	for (int i = 0; i < 1000; i++)
		jw_int(&w, NULL, i);
	jw_arr_close(&w);
	jw_obj_open(&w, "empty");
	jw_obj_close(&w);
	jw_obj_close(&w);
	CHECK_EQ_INT(w.err, 0);
	if ((v = parse(&w)) != NULL) {
		CHECK(json_integer_value(json_object_get(v, "max")) == INT64_MAX, "INT64_MAX");
		CHECK(json_integer_value(json_object_get(v, "min")) == INT64_MIN, "INT64_MIN");
		CHECK(strstr(w.buf, "\"a\":6011.532,") != NULL, "ms with microseconds");
		CHECK(strstr(w.buf, "\"b\":0.1,") != NULL, "trailing zeros dropped");
		CHECK(strstr(w.buf, "\"c\":5.0,") != NULL, "whole ms keep one decimal");
		CHECK(strstr(w.buf, "\"d\":36.64,") != NULL, "two decimals");
		CHECK(strstr(w.buf, "\"neg\":-0.5,") != NULL, "negative");
		arr = json_object_get(v, "many");
		CHECK_EQ_INT(json_array_size(arr), 1000);
		CHECK_EQ_INT(json_integer_value(json_array_get(arr, 999)), 999);
		CHECK_EQ_INT(json_object_size(json_object_get(v, "empty")), 0);
	}
	json_decref(v);
	jw_free(&w);
}

/* jw_real writes a real exactly as json_dumpb does with JSON_REAL_PRECISION(10):
 * the diagnoses' evidence has kept these bytes since they were built with jansson. */
static void test_real_bytes(void)
{
	static const double reals[] = {0.0,
	                               0.1,
	                               0.001,
	                               5.0,
	                               6011.532,
	                               9999999.999,
	                               1e7,
	                               12345678.9,
	                               1e10,
	                               1e300,
	                               123.4567,
	                               -2.5,
	                               1e-5,
	                               0.3,
	                               86400000.5,
	                               1234567890123.0,
	                               3.1415926535897};
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10);
	char ref[64];
	struct jw w;

	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		json_t *r = json_real(reals[i]);
		size_t n = json_dumpb(r, ref, sizeof(ref), flags);

		jw_init(&w);
		jw_real(&w, NULL, reals[i]);
		CHECK_EQ_INT(w.err, 0);
		CHECK(n > 0 && n < sizeof(ref) && w.len == n && memcmp(w.buf, ref, n) == 0,
		      "%g as json_dumpb: %.*s / %.*s", reals[i], (int)w.len, w.buf, (int)n, ref);
		jw_free(&w);
		json_decref(r);
	}
}

/*
 * Every length from 0 to 40 with one special byte (a quote, a control byte,
 * DEL, an invalid UTF-8 byte) at every position, or none: the word loop,
 * the overlapping last word and the byte loop must agree on where a plain
 * run ends, and the short copies must copy every byte.
 */
static void test_lengths(void)
{
	static const uint8_t special[] = {'"', '\\', 0x01, 0x7f, 0x80, 'x'};
	char s[48], want[64];
	struct jw w;
	int bad = 0;

	jw_init(&w);
	for (size_t n = 0; n <= 40; n++) {
		for (size_t at = 0; at <= n; at++) {
			for (size_t c = 0; c < sizeof(special); c++) {
				size_t wl = 0;

				for (size_t i = 0; i < n; i++)
					s[i] = (char)('a' + i % 26);
				if (at < n)
					s[at] = (char)special[c];
				want[wl++] = '"';
				for (size_t i = 0; i < n; i++) {
					uint8_t b = (uint8_t)s[i];
					if (b == '"' || b == '\\') {
						want[wl++] = '\\';
						want[wl++] = (char)b;
					} else if (b == 0x01 || b == 0x7f) {
						memcpy(want + wl, b == 1 ? "\\u0001" : "\\u007f",
						       6);
						wl += 6;
					} else if (b == 0x80) {
						memcpy(want + wl, "\\ufffd", 6);
						wl += 6;
					} else {
						want[wl++] = (char)b;
					}
				}
				want[wl++] = '"';
				jw_reset(&w);
				jw_strn(&w, NULL, s, n);
				if (w.err || w.len != wl || memcmp(w.buf, want, wl) != 0)
					bad++;
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	jw_free(&w);
}

/* Integers around every power of ten, as printf writes them. */
static void test_int_digits(void)
{
	char want[32];
	struct jw w;
	int bad = 0;
	uint64_t p = 1;

	jw_init(&w);
	for (int e = 0; e < 19; e++, p *= 10) { /* 10^19 is beyond int64_t */
		const int64_t vs[] = {(int64_t)p - 1, (int64_t)p, (int64_t)p + 1, -(int64_t)p};

		for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
			snprintf(want, sizeof(want), "%lld", (long long)vs[i]);
			jw_reset(&w);
			jw_int(&w, NULL, vs[i]);
			if (w.len != strlen(want) || memcmp(w.buf, want, w.len) != 0)
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	jw_free(&w);
}

/* jw_ascii copies trusted text as it is: the same bytes jw_str writes for it. */
static void test_ascii(void)
{
	static const char *const texts[] = {
	    "",
	    "a",
	    "TCP",
	    "established",
	    "2026-01-01T00:00:00.132524+0000",
	    "SHA256:y3SG1AySYCk76SKUT+olsK2owQg3oPBq/QMq0/MkphM",
	    "2001:db8::1",
	};
	struct jw a, b;
	int bad = 0;

	jw_init(&a);
	jw_init(&b);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		jw_reset(&a);
		jw_reset(&b);
		jw_obj_open(&a, NULL);
		jw_obj_open(&b, NULL);
		jw_ascii(&a, "k", texts[i]);
		jw_ascii(&a, "second", texts[i]);
		jw_str(&b, "k", texts[i]);
		jw_str(&b, "second", texts[i]);
		jw_obj_close(&a);
		jw_obj_close(&b);
		if (a.err || a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	jw_reset(&a);
	jw_ascii(&a, NULL, "ssh");
	CHECK(a.len == 5 && memcmp(a.buf, "\"ssh\"", 5) == 0, "a bare value");
	jw_free(&a);
	jw_free(&b);
}

int main(void)
{
	test_text();
	test_wire();
	test_positions();
	test_lengths();
	test_int_digits();
	test_ascii();
	test_numbers_and_nesting();
	test_real_bytes();
	return tap_done();
}
