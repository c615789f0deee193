/*
 * test_memo.c: unit.memo — the memo of recent results (dissect/memo.h).
 * A hit returns exactly the value put for exactly that key; keys that share
 * length and sampled words but differ elsewhere never answer for each
 * other; the least recently used way of a set is the one replaced; a key
 * over max_key is not kept; and over many random operations every answer
 * agrees with a plain table of everything ever put. A key given in parts
 * is their concatenation, however it is cut, and one byte apart in any
 * part is a miss.
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

/* hasv: has() with the key cut into parts at the offsets cuts[0..ncuts). */
static int hasv(struct memo *m, const char *key, const size_t *cuts, int ncuts, const char *want)
{
	struct memo_part parts[8];
	size_t len, at = 0, n = strlen(key);
	const char *v;
	int np = 0;

	for (int i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		parts[np++] = (struct memo_part){key + at, end - at};
		at = end;
	}
	v = memo_getv(m, parts, np, &len);
	if (want == NULL)
		return v == NULL;
	return v != NULL && len == strlen(want) && memcmp(v, want, len) == 0;
}

static void test_parts(void)
{
	struct memo *m = memo_new(1, 4, 64); /* room for every key below */
	const char *key = "header|client lists|server lists";
	const size_t at5[] = {5}, at0[] = {0, 0}, at3[] = {7, 20, 32}, edge[] = {1, 31};
	const size_t at1[] = {1};
	const struct memo_part two[] = {{"header|", 7}, {"client lists|server lists", 25}};
	const struct memo_part empty[] = {{NULL, 0}};
	const struct memo_part over[] = {{key, 32}, {key, 32}, {"x", 1}};
	char other[40];

	CHECK(m != NULL, "memo_new");
	if (m == NULL)
		return;
	memo_putv(m, two, 2, "neg", 3);
	CHECK(has(m, key, "neg"), "a key put in parts is found whole");
	CHECK(hasv(m, key, at5, 1, "neg") && hasv(m, key, at0, 2, "neg") &&
	          hasv(m, key, at3, 3, "neg") && hasv(m, key, edge, 2, "neg"),
	      "and cut anywhere, empty parts included");
	/* One byte apart in the last part, then in the first: a miss either way. */
	strcpy(other, key);
	other[30] = 'S';
	CHECK(hasv(m, other, at3, 3, NULL) && has(m, other, NULL), "a last part one byte apart");
	strcpy(other, key);
	other[0] = 'H';
	CHECK(hasv(m, other, at5, 1, NULL), "a first part one byte apart");
	memo_put(m, "abc", 3, "whole", 5);
	CHECK(hasv(m, "abc", at0, 2, "whole") && hasv(m, "abc", at1, 1, "whole"),
	      "a key put whole is found in parts");
	/* The empty key, from no bytes at all, and one over max_key in parts. */
	memo_putv(m, empty, 1, "e", 1);
	{
		size_t len;
		const char *v = memo_getv(m, empty, 1, &len);
		CHECK(v != NULL && len == 1 && v[0] == 'e', "the empty key");
		memo_putv(m, over, 3, "o", 1);
		CHECK(memo_getv(m, over, 3, &len) == NULL, "parts over max_key are not kept");
	}
	memo_free(m);
}

/*
 * The random test again with every lookup's key cut at random places:
 * answers agree with a plain table whatever the cuts.
 */
static void test_parts_random(void)
{
	enum { KEYS = 30, OPS = 20000 };
	struct memo *m = memo_new(4, 3, 256);
	char keys[KEYS][48];
	int put[KEYS] = {0}, bad = 0, hits = 0;
	unsigned seed = 11;

	if (m == NULL) {
		CHECK(0, "memo_new");
		return;
	}
	/* 46 bytes each; in groups of three, the sampled words (bytes 0-7, 15-22,
	 * 30-45) are the same and bytes 24-25 differ. */
	for (int i = 0; i < KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "%024d%c.%020d", 0, 'a' + i % 3, i / 3);
	for (int op = 0; op < OPS; op++) {
		size_t cuts[3], n, len;
		const char *v;
		int i;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) % KEYS);
		n = strlen(keys[i]);
		cuts[0] = (seed >> 4) % (n + 1);
		cuts[1] = cuts[0] + (seed >> 9) % (n - cuts[0] + 1);
		cuts[2] = cuts[1] + (seed >> 13) % (n - cuts[1] + 1);
		if ((seed >> 8) % 3 == 0) {
			struct memo_part parts[4] = {{keys[i], cuts[0]},
			                             {keys[i] + cuts[0], cuts[1] - cuts[0]},
			                             {keys[i] + cuts[1], cuts[2] - cuts[1]},
			                             {keys[i] + cuts[2], n - cuts[2]}};
			memo_putv(m, parts, 4, &i, sizeof(i));
			put[i] = 1;
			continue;
		}
		{
			struct memo_part parts[4] = {{keys[i], cuts[0]},
			                             {keys[i] + cuts[0], cuts[1] - cuts[0]},
			                             {keys[i] + cuts[1], cuts[2] - cuts[1]},
			                             {keys[i] + cuts[2], n - cuts[2]}};
			v = memo_getv(m, parts, 4, &len);
		}
		if (v != NULL) {
			int got;
			hits++;
			memcpy(&got, v, sizeof(got));
			if (!put[i] || len != sizeof(got) || got != i)
				bad++;
		}
	}
	CHECK(bad == 0, "every hit in parts is the value put for that key (%d wrong)", bad);
	CHECK(hits > 0, "the memo hits at all (%d hits)", hits);
	memo_free(m);
}

int main(void)
{
	test_basics();
	test_random();
	test_parts();
	test_parts_random();
	return tap_done();
}
