/*
 * fuzz_kexinit.c: KEXINIT parsing, negotiation and HASSH.
 *
 * Input: a KEXINIT payload as ssh.c hands it over (message number first,
 * padding excluded). Parsed with the default name-list limit and with a
 * small one; when it parses, it is negotiated against itself (both roles)
 * and HASSH and HASSHServer are computed. Checks what must hold for any
 * input: a failed parse leaves nothing owned; a parsed list is a C string of
 * at most its recorded length (shorter only with KEX_ANOM_BAD_NAME: a NUL)
 * and within the limit; negotiated names fit their arrays;
 * HASSH is 32 lower-case hex digits, or "" and no string on failure. The
 * memos of a kex_ctx kept across inputs, as a packet loop keeps it, never
 * change a result: each input is parsed through them twice (the second
 * time recalled) and negotiated through them, against itself and against
 * the fresh parse, with the same answers as without.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "kex.h"

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_kexinit: %s\n", what);
		abort();
	}
}

/* The packet loop's memos, kept for the whole run (reachable, so never a leak). */
static struct kex_ctx *ctx;

/* run_memo: parse and negotiate through ctx's memos; k is the fresh parse (r its result). */
static void run_memo(const uint8_t *p, size_t n, uint32_t namelist_max, int r,
                     const struct kex_init *k, const struct kex_negotiated *neg)
{
	struct kex_init m;
	struct kex_negotiated mneg;

	if (ctx == NULL && (ctx = kex_ctx_new()) == NULL)
		return;
	for (int pass = 0; pass < 2; pass++) {
		check(kex_init_parse_in(ctx, p, n, namelist_max, NULL, &m) == r,
		      "the memo changed the parse's result");
		if (r != 0) {
			check(m.list[0] == NULL, "failed parse through the memo left a list");
			continue;
		}
		check(kex_init_is_equal(k, &m), "the memo changed a parsed fact");
		for (int with = 0; with < 2; with++) {
			kex_negotiate(ctx, with ? k : &m, &m, &mneg);
			check(memcmp(&mneg, neg, sizeof(mneg)) == 0,
			      "the memo changed a negotiation");
		}
		kex_init_free(&m);
	}
}

static void run(const uint8_t *p, size_t n, uint32_t namelist_max)
{
	struct kex_init k;
	struct kex_negotiated neg;
	char hash[33], *str;
	int r;

	r = kex_init_parse(p, n, namelist_max, &k);
	if (r != 0) {
		for (int l = 0; l < KEX_NLISTS; l++)
			check(k.list[l] == NULL, "failed parse left a list");
		kex_init_free(&k); /* must be harmless on a zeroed kex_init */
		run_memo(p, n, namelist_max, r, NULL, NULL);
		return;
	}
	for (int l = 0; l < KEX_NLISTS; l++) {
		check(k.list[l] != NULL, "parsed list is NULL");
		/* A NUL inside a list ends the C string early: only with the anomaly. */
		check(strlen(k.list[l]) == k.list_len[l] || (k.anomalies & KEX_ANOM_BAD_NAME),
		      "NUL inside a name-list without KEX_ANOM_BAD_NAME");
		check(strlen(k.list[l]) <= k.list_len[l], "list longer than list_len");
		check(k.list_len[l] <= namelist_max, "list over namelist_max accepted");
	}
	kex_negotiate(NULL, &k, &k, &neg);
	for (int c = 0; c < KEX_NCATS; c++)
		check(strlen(neg.alg[c]) <= KEX_NAME_MAX, "negotiated name too long");
	run_memo(p, n, namelist_max, r, &k, &neg);
	(void)kex_cat_name(neg.failed_cat);
	for (int c = 0; c < KEX_NCATS; c++) {
		(void)kex_cipher_is_aead(neg.alg[c]);
		(void)kex_is_gex(neg.alg[c]);
		(void)kex_cat_name(c);
	}
	for (int server = 0; server < 2; server++) {
		str = NULL;
		r = kex_hassh(NULL, &k, server, hash, &str);
		if (r == 0) {
			check(str != NULL && strlen(hash) == 32, "hassh");
			check(strspn(hash, "0123456789abcdef") == 32, "hassh not lower-case hex");
		} else {
			check(str == NULL, "hassh failed but left a string");
		}
		free(str);
	}
	for (int l = 0; l < KEX_NLISTS; l++)
		(void)kex_list_has(k.list[l], k.list[(l + 1) % KEX_NLISTS]);
	kex_init_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so ASan sees a read past the payload. */
	uint8_t *p = malloc(size);

	if (p == NULL && size > 0)
		return 0;
	if (size > 0)
		memcpy(p, data, size);
	run(p, size, 65536);
	run(p, size, 32);
	free(p);
	return 0;
}
