/*
 * test_memo.c: unit.memo — the memo of recent results (dissect/memo.h).
 * A hit returns exactly the value put for exactly that key; keys that share
 * length and sampled words but differ elsewhere never answer for each
 * other; the least recently used way of a set is the one replaced; a key
 * over max_key is not kept; and over many random operations every answer
 * agrees with a plain table of everything ever put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memo.h"
#include "tap.h"

static int has(struct memo *m, const char *key, const char *want)
{
	size_t len;
	const char *v = memo_get(m, key, strlen(key), &len);

	if (want == NULL)
		return v == NULL;
	return v != NULL && len == strlen(want) && memcmp(v, want, len) == 0;
}

static void test_basics(void)
{
	struct memo *m = memo_new(1, 2, 64); /* one set of two ways: replacement is visible */
	char a[41], b[41];

	CHECK(m != NULL, "memo_new");
	if (m == NULL)
		return;
	CHECK(has(m, "kex", NULL), "empty memo: a miss");
	memo_put(m, "kex", 3, "one", 3);
	memo_put(m, "mac", 3, "two", 3);
	CHECK(has(m, "kex", "one") && has(m, "mac", "two"), "both kept");
	CHECK(has(m, "ke", NULL) && has(m, "kexx", NULL), "a prefix or a longer key is a miss");
	/* "kex", put first, is now the most recent: "mac" gives way to "enc". */
	CHECK(has(m, "mac", "two") && has(m, "kex", "one"), "touch mac, then kex");
	memo_put(m, "enc", 3, "three", 5);
	CHECK(has(m, "mac", NULL), "the least recently used way was replaced");
	CHECK(has(m, "kex", "one") && has(m, "enc", "three"), "the others stay");
	/* Same length, same first, middle and last words, one byte apart. */
	memset(a, 'x', 40);
	memset(b, 'x', 40);
	a[40] = b[40] = '\0';
	b[5] = 'y';
	memo_put(m, a, 40, "A", 1);
	CHECK(has(m, a, "A") && has(m, b, NULL), "a key one byte apart is a miss");
	memo_put(m, "long key over the maximum of sixty-four bytes ...................", 66, "v",
	         1);
	CHECK(has(m, "long key over the maximum of sixty-four bytes ...................", NULL),
	      "a key over max_key is not kept");
	memo_free(m);
}

static void test_random(void)
{
	enum { KEYS = 40, OPS = 20000 };
	struct memo *m = memo_new(4, 3, 256);
	char keys[KEYS][32], vals[KEYS][16];
	int put[KEYS] = {0}, bad = 0, hits = 0;
	unsigned seed = 7;

	if (m == NULL) {
		CHECK(0, "memo_new");
		return;
	}
	for (int i = 0; i < KEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%0*d", 8 + i % 20, i);
		snprintf(vals[i], sizeof(vals[i]), "value-%d", i);
	}
	for (int op = 0; op < OPS; op++) {
		int i;
		size_t len;
		const char *v;
		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) % KEYS);
		if ((seed >> 8) % 3 == 0) {
			memo_put(m, keys[i], strlen(keys[i]), vals[i], strlen(vals[i]));
			put[i] = 1;
			continue;
		}
		v = memo_get(m, keys[i], strlen(keys[i]), &len);
		if (v != NULL) {
			hits++;
			if (!put[i] || len != strlen(vals[i]) || memcmp(v, vals[i], len) != 0)
				bad++;
		}
	}
	CHECK(bad == 0, "every hit is the value put for that key (%d wrong)", bad);
	CHECK(hits > 0, "the memo hits at all (%d hits)", hits);
	memo_free(m);
}

int main(void)
{
	test_basics();
	test_random();
	return tap_done();
}
