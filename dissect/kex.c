/*
 * kex.c: the algorithm side of an SSH handshake (see kex.h).
 *
 * Responsible for: parsing a complete SSH_MSG_KEXINIT payload (RFC 4253
 * section 7.1), negotiating the algorithms both sides would agree on with
 * OpenSSH's rules (kex.c kex_choose_conf, match.c match_list), HASSH and
 * HASSHServer (salesforce/hassh), and decoding public host-key blobs into
 * type, size and the fingerprint OpenSSH prints.
 *
 * Not responsible for: finding packets in a byte stream (ssh.c), deciding
 * which side is the client (ssh.c), or judging algorithms (verdict/policy.c).
 * Every read of wire bytes goes through struct cursor.
 *
 * Known gaps, on purpose:
 *  - RFC 4253 section 7.1 also asks that the chosen kex method be compatible
 *    with a host-key algorithm both sides support; OpenSSH does not check
 *    this (all its methods need a signature-capable key and all its key
 *    types are), so neither do we.
 *  - Certificates are parsed for their structure, not verified.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cursor.h"
#include "err.h"
#include "kex.h"
#include "memo.h"

/* Longest host-key type we accept (RFC 4251 section 6: names are <= 64). */
#define KEX_CERT_SUFFIX "-cert-v01@openssh.com"

/*
 * The digest state of one packet loop (see kex.h). OpenSSL 3 looks an
 * algorithm up on every use of EVP_md5()/EVP_sha256(), which cost more than
 * hashing a KEXINIT: each context fetches MD5 and SHA-256 once. Each
 * connection hashes two KEXINITs and a host key; a digest context made and
 * freed per hash cost as much as the hashing, so each context keeps one per
 * algorithm. Hashing each ~1 KB HASSH string was a tenth of the packet loop:
 * the memo (memo.h) keeps recent ones; strings over 4 KiB are hashed every
 * time, so it holds at most 64 x 4 KiB.
 */
struct kex_ctx {
	EVP_MD *md[2];         /* fetched MD5 (0) and SHA-256 (1); NULL: EVP_md5()/EVP_sha256() */
	EVP_MD_CTX *mdctx[2];  /* reused for md[0] and md[1] */
	struct memo *hassh;    /* HASSH string -> 33-byte hex digest */
	struct memo *lists;    /* a KEXINIT's ten name-lists as sent -> struct kex_lists_seen */
	struct memo *neg;      /* both offers (kex_offer_key) -> struct kex_negotiated */
	struct memo *hostkeys; /* a host-key blob -> struct kex_hostkey_seen */
};

#define KEX_HASSH_MEMO_SETS 16
#define KEX_HASSH_MEMO_WAYS 4
#define KEX_HASSH_MEMO_KEY_MAX 4096

/*
 * Checking the ten name-lists of a KEXINIT byte by byte and finding its
 * markers took 6% of the instructions of a run over a capture of
 * handshakes (callgrind), yet a KEXINIT's lists are the same for every
 * connection of one software version. The memo keeps, for recent lists as sent, whether a name was
 * bad and the markers: 64 entries of at most 4 KiB of lists each (an
 * OpenSSH offer is 1-2 KiB), 256 KiB at most; longer lists are checked
 * every time.
 */
#define KEX_LISTS_MEMO_SETS 16
#define KEX_LISTS_MEMO_WAYS 4
#define KEX_LISTS_MEMO_KEY_MAX 4096

/*
 * Negotiating cut both offers into names and compared them, 3% of those
 * instructions (3,400 a connection), for pairs of offers that repeat as
 * the versions do. The memo keeps recent negotiations, keyed by what
 * kex_negotiate reads of both offers (kex_offer_key): 64 entries of at most
 * two 4 KiB blocks of lists and their headers each, and a struct
 * kex_negotiated (528 bytes), about 560 KiB at most; longer offers are
 * negotiated every time.
 */
#define KEX_NEG_MEMO_SETS 16
#define KEX_NEG_MEMO_WAYS 4
#define KEX_NEG_MEMO_BLOCK_MAX 4096

/*
 * A server shows the same host key on every connection, and hashing it
 * for its fingerprint (SHA-256) was 4.5% of the instructions of a run over
 * handshakes: the memo keeps the decoded key of recent blobs, 64 of at most
 * 4 KiB each (an RSA-4096 key is 535 bytes, a certificate 1-2 KiB), about
 * 270 KiB at most; longer blobs are decoded every time.
 */
#define KEX_HOSTKEY_MEMO_SETS 16
#define KEX_HOSTKEY_MEMO_WAYS 4
#define KEX_HOSTKEY_MEMO_KEY_MAX 4096

/*
 * kex_namelist_is_valid checks every element of a name-list (RFC 4251
 * sections 5 and 6): non-empty, at most 64 characters, printable US-ASCII
 * without whitespace, 0x21..0x7e. The list is already bounded (it is a
 * complete string of the packet), so plain indexing of [0, n) is within it.
 * KEXINITs are a kilobyte or more and this runs over all of them, so it
 * reads 16 bytes at a time with SSE2 (every x86-64), else eight ("Bit
 * Twiddling Hacks": hasless and hasmore, exact as yes/no answers, for the
 * characters; an exact zero-byte mask for the commas), in one pass: the
 * commas' positions give the elements' lengths. A memchr per element cost
 * more than the test of the bytes. Loads are unaligned (loadu, memcpy).
 */
static int kex_namelist_is_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, start = 0; /* start: offset of the element being read */

	/* An empty name-list is legal: it has no elements (RFC 4251 5). */
	if (n == 0)
		return 1;
#if defined(__SSE2__)
	{
		const __m128i low = _mm_set1_epi8(0x20), high = _mm_set1_epi8(0x7f);
		const __m128i comma = _mm_set1_epi8(',');

		for (; n - i >= 16; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			/* signed: bytes from 0x80 are negative, so not above 0x20 */
			__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, low), _mm_cmplt_epi8(v, high));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma));

			if (_mm_movemask_epi8(ok) != 0xffff)
				return 0;
			for (; m != 0; m &= m - 1) {
				size_t at = i + (size_t)__builtin_ctz(m);
				if (at == start || at - start > KEX_NAME_MAX)
					return 0;
				start = at + 1;
			}
		}
	}
#else
	{
		const uint64_t ones = UINT64_C(0x0101010101010101);
		const uint64_t highs = UINT64_C(0x8080808080808080);
		const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f), commas = ones * ',';
		uint64_t w, x, m, bad = 0;

		for (; n - i >= 8; i += 8) {
			memcpy(&w, p + i, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
			w = __builtin_bswap64(w); /* the first byte in the lowest bits */
#endif
			/* a byte below 0x21, or a byte above 0x7e */
			bad |= ((w - ones * 0x21) & ~w) | ((w + ones) | w);
			/* 0x80 in each byte that is a comma, and nowhere else */
			x = w ^ commas;
			m = ~(((x & low7) + low7) | x | low7);
			for (; m != 0; m &= m - 1) {
				size_t at = i + (size_t)(__builtin_ctzll(m) >> 3);
				if (at == start || at - start > KEX_NAME_MAX)
					return 0;
				start = at + 1;
			}
		}
		if ((bad & highs) != 0)
			return 0;
	}
#endif
	for (; i < n; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return 0;
		if (p[i] == ',') {
			if (i == start || i - start > KEX_NAME_MAX)
				return 0;
			start = i + 1;
		}
	}
	return n > start && n - start <= KEX_NAME_MAX;
}

/* kex_name_is_valid: one algorithm name (RFC 4251 section 6). */
static int kex_name_is_valid(const uint8_t *p, size_t n)
{
	return n > 0 && memchr(p, ',', n) == NULL && kex_namelist_is_valid(p, n);
}

void kex_init_free(struct kex_init *k)
{
	if (k == NULL)
		return;
	/* The ten lists share one allocation, which starts with the first. */
	if (!k->in_flowmem)
		free(k->list[0]);
	memset(k, 0, sizeof(*k));
}

size_t kex_init_block(const struct kex_init *k, int n, const char **p)
{
	const char *end = k->list[0];

	for (int i = 0; i < n; i++) {
		if (k->list[i] == NULL || k->list[i] < end)
			return 0;
		end = k->list[i] + k->list_len[i] + 1;
	}
	*p = k->list[0];
	return (size_t)(end - k->list[0]);
}

int kex_init_is_equal(const struct kex_init *a, const struct kex_init *b)
{
	if (memcmp(a->cookie, b->cookie, 16) != 0 || a->first_kex_follows != b->first_kex_follows ||
	    a->reserved != b->reserved || a->anomalies != b->anomalies || a->markers != b->markers)
		return 0;
	for (int l = 0; l < KEX_NLISTS; l++) {
		if (a->list_len[l] != b->list_len[l] ||
		    (a->list[l] == NULL) != (b->list[l] == NULL) ||
		    (a->list[l] != NULL && memcmp(a->list[l], b->list[l], a->list_len[l] + 1) != 0))
			return 0;
	}
	return 1;
}

int kex_init_parse(const uint8_t *p, size_t n, uint32_t namelist_max, struct kex_init *out)
{
	return kex_init_parse_in(NULL, p, n, namelist_max, NULL, out);
}

/* What the memo of recent name-lists keeps for the ten lists of a KEXINIT. */
struct kex_lists_seen {
	uint8_t bad_name; /* KEX_ANOM_BAD_NAME */
	uint8_t markers;  /* KEX_MARK_* */
};

/*
 * kex_lists_recall: 1 and what the n bytes of name-lists at lists were
 * found worth when ctx's memo holds them, else 0 (no ctx or memo: 0).
 */
static int kex_lists_recall(struct kex_ctx *ctx, const uint8_t *lists, size_t n,
                            struct kex_lists_seen *seen)
{
	const void *kept;
	size_t len;

	if (ctx == NULL || ctx->lists == NULL ||
	    (kept = memo_get(ctx->lists, lists, n, &len)) == NULL || len != sizeof(*seen))
		return 0;
	memcpy(seen, kept, sizeof(*seen));
	return 1;
}

/* kex_lists_keep: what k, parsed from the n bytes of lists at lists, was found worth. */
static void kex_lists_keep(struct kex_ctx *ctx, const uint8_t *lists, size_t n,
                           const struct kex_init *k)
{
	const struct kex_lists_seen seen = {
	    .bad_name = (k->anomalies & KEX_ANOM_BAD_NAME) != 0,
	    .markers = k->markers,
	};

	if (ctx != NULL && ctx->lists != NULL)
		memo_put(ctx->lists, lists, n, &seen, sizeof(seen));
}

int kex_init_parse_in(struct kex_ctx *ctx, const uint8_t *p, size_t n, uint32_t namelist_max,
                      struct flowmem *mem, struct kex_init *out)
{
	struct cursor c;
	struct kex_lists_seen seen;
	const uint8_t *cookie, *lists, *src[KEX_NLISTS];
	uint32_t slen;
	uint8_t msg, follows;
	size_t lists_len, copy_len;
	char *copy;
	int i, r, known;

	memset(out, 0, sizeof(*out));
	cursor_init(&c, p, n);
	if ((r = cursor_get_u8(&c, &msg)) != 0 || (r = cursor_get_bytes(&c, 16, &cookie)) != 0)
		goto out;
	/* RFC 4253 7.1: the message starts with byte SSH_MSG_KEXINIT (20). */
	if (msg != 20) {
		r = KW_ERR_MALFORMED;
		goto out;
	}
	memcpy(out->cookie, cookie, 16);
	/* RFC 4253 7.1: ten name-lists, each an RFC 4251 section 5 string. */
	lists = cursor_ptr(&c);
	for (i = 0; i < KEX_NLISTS; i++) {
		if ((r = cursor_get_string(&c, namelist_max, &src[i], &slen)) != 0) {
			/* Over namelist_max is our limit only when the list is
			 * really there; a length past the packet is malformed. */
			if (r == KW_ERR_LIMIT && cursor_get_u32(&c, &slen) == 0 &&
			    slen > cursor_left(&c))
				r = KW_ERR_MALFORMED;
			goto out;
		}
		out->list_len[i] = slen;
	}
	/*
	 * The ten lists as sent, lengths included: a peer's software sends
	 * the same ones on every connection (only the cookie changes), so
	 * what they are worth is recalled from ctx's memo when it can be.
	 */
	lists_len = (size_t)(cursor_ptr(&c) - lists);
	known = kex_lists_recall(ctx, lists, lists_len, &seen);
	if (known) {
		if (seen.bad_name)
			out->anomalies |= KEX_ANOM_BAD_NAME;
	} else {
		for (i = 0; i < KEX_NLISTS; i++)
			if (!kex_namelist_is_valid(src[i], out->list_len[i]))
				out->anomalies |= KEX_ANOM_BAD_NAME;
	}
	/* RFC 4253 7.1: boolean first_kex_packet_follows, uint32 reserved.
	 * Read before the copy is made: a malformed KEXINIT takes no memory,
	 * so repeated ones cannot grow a connection's memory. */
	if ((r = cursor_get_u8(&c, &follows)) != 0 || (r = cursor_get_u32(&c, &out->reserved)) != 0)
		goto out;
	/*
	 * One copy of the bytes from the first list to the end of the last
	 * (one allocation, one memcpy, not ten), each list then terminated
	 * in place: its NUL goes over the first byte of the next list's
	 * length, the last one's into one byte more.
	 */
	copy_len = lists_len - 4 + 1;
	copy = mem != NULL ? flowmem_alloc(mem, copy_len) : malloc(copy_len);
	if (copy == NULL) {
		r = KW_ERR_NOMEM;
		goto out;
	}
	out->in_flowmem = mem != NULL;
	memcpy(copy, src[0], copy_len - 1);
	for (i = 0; i < KEX_NLISTS; i++) {
		out->list[i] = copy + (src[i] - src[0]);
		out->list[i][out->list_len[i]] = '\0';
	}
	if (known) {
		out->markers = seen.markers;
	} else {
		out->markers = (uint8_t)kex_init_markers(out);
		kex_lists_keep(ctx, lists, lists_len, out);
	}
	/* RFC 4251 5: any non-zero boolean is TRUE. */
	out->first_kex_follows = follows != 0;
	/* RFC 4253 7.1: reserved "for future extension", sent as 0. */
	if (out->reserved != 0)
		out->anomalies |= KEX_ANOM_RESERVED_NONZERO;
	if (cursor_left(&c) != 0)
		out->anomalies |= KEX_ANOM_TRAILING;
	r = KW_OK;
out:
	/* Running out of bytes inside a complete payload is malformed. */
	if (r == KW_ERR_MORE)
		r = KW_ERR_MALFORMED;
	if (r != KW_OK)
		kex_init_free(out);
	return r;
}

/*
 * kex_list_next borrows the next comma-separated element of the list of
 * len bytes into (*e, *elen) and advances *pos. Returns 0 at the end of the
 * list. A trailing comma ends the list; ",," holds an empty element.
 */
static int kex_list_next(const char *list, size_t len, size_t *pos, const char **e, size_t *elen)
{
	const char *start, *comma;

	if (*pos >= len)
		return 0;
	start = list + *pos;
	comma = memchr(start, ',', len - *pos);
	*e = start;
	*elen = comma != NULL ? (size_t)(comma - start) : len - *pos;
	*pos += *elen + (comma != NULL);
	return 1;
}

static int kex_list_has_n(const char *list, size_t len, const char *alg, size_t alen)
{
	const char *e;
	size_t pos = 0, elen;

	while (kex_list_next(list, len, &pos, &e, &elen)) {
		if (elen == alen && memcmp(e, alg, alen) == 0)
			return 1;
	}
	return 0;
}

int kex_list_has(const char *list, const char *alg)
{
	if (list == NULL || alg == NULL)
		return 0;
	return kex_list_has_n(list, strlen(list), alg, strlen(alg));
}

/*
 * kex_list_len: the length of list l of k as a C string, which is what
 * output/ prints and kex_list_has sees. It is list_len unless a NUL byte
 * (a bad name, so KEX_ANOM_BAD_NAME) cuts the copy short; negotiating on
 * the same bytes keeps ssh.negotiated consistent with the offered lists.
 */
static size_t kex_list_len(const struct kex_init *k, int l)
{
	if (k->list[l] == NULL)
		return 0;
	if (k->anomalies & KEX_ANOM_BAD_NAME)
		return strlen(k->list[l]);
	return k->list_len[l];
}

/*
 * kex_name_marker: names that signal a capability inside the kex list
 * (RFC 8308 section 2.1 ext-info-c/-s; OpenSSH PROTOCOL 1.10 kex-strict)
 * and are never chosen as an algorithm. Returns its KEX_MARK_* bit, or 0.
 */
static unsigned kex_name_marker(const char *e, size_t elen)
{
	static const struct {
		const char *name;
		size_t len;
		unsigned mark;
	} pseudo[] = {
	    {"ext-info-c", sizeof("ext-info-c") - 1, KEX_MARK_EXT_INFO_C},
	    {"ext-info-s", sizeof("ext-info-s") - 1, KEX_MARK_EXT_INFO_S},
	    {"kex-strict-c-v00@openssh.com", sizeof("kex-strict-c-v00@openssh.com") - 1,
	     KEX_MARK_STRICT_C},
	    {"kex-strict-s-v00@openssh.com", sizeof("kex-strict-s-v00@openssh.com") - 1,
	     KEX_MARK_STRICT_S},
	};
	size_t i;

	for (i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++) {
		if (pseudo[i].len == elen && memcmp(pseudo[i].name, e, elen) == 0)
			return pseudo[i].mark;
	}
	return 0;
}

unsigned kex_init_markers(const struct kex_init *k)
{
	const char *e;
	size_t pos = 0, elen, len;
	unsigned marks = 0;

	if (k == NULL)
		return 0;
	len = kex_list_len(k, KEX_ALGS);
	while (kex_list_next(k->list[KEX_ALGS], len, &pos, &e, &elen))
		marks |= kex_name_marker(e, elen);
	return marks;
}

/* Server elements kept per kex_match_list; a longer list's tail is scanned. */
#define KEX_MATCH_SPLIT 64

/*
 * kex_match_list: OpenSSH match_list(client, server): the first element of
 * the client's list that the server's list also holds (RFC 4253 7.1).
 * Copies it into out (KEX_NAME_MAX + 1 bytes) and returns 1, or returns 0.
 * The server's list is cut into elements once, and only as far as needed:
 * the client's first choice is usually among the server's first.
 */
static int kex_match_list(const char *client, size_t clen, const char *server, size_t slen,
                          char *out)
{
	struct {
		const char *e;
		size_t len;
	} sv[KEX_MATCH_SPLIT];
	const char *e;
	size_t cpos = 0, spos = 0, elen, nsv = 0, i;
	int more = 1; /* server elements past sv[nsv - 1] not cut yet */

	out[0] = '\0';
	while (kex_list_next(client, clen, &cpos, &e, &elen)) {
		if (elen == 0 || elen > KEX_NAME_MAX || kex_name_marker(e, elen) != 0)
			continue;
		for (i = 0;; i++) {
			if (i == nsv) {
				if (!more || nsv == KEX_MATCH_SPLIT)
					break;
				if (!kex_list_next(server, slen, &spos, &sv[nsv].e, &sv[nsv].len)) {
					more = 0;
					break;
				}
				nsv++;
			}
			if (sv[i].len == elen && memcmp(sv[i].e, e, elen) == 0)
				break;
		}
		if (i < nsv || (more && kex_list_has_n(server + spos, slen - spos, e, elen))) {
			memcpy(out, e, elen);
			out[elen] = '\0';
			return 1;
		}
	}
	return 0;
}

/* kex_first_equal compares the first elements of two lists (OpenSSH proposals_match). */
static int kex_first_equal(const struct kex_init *a, const struct kex_init *b, int l)
{
	const char *ea = "", *eb = "";
	size_t pa = 0, pb = 0, la = 0, lb = 0;

	kex_list_next(a->list[l], kex_list_len(a, l), &pa, &ea, &la);
	kex_list_next(b->list[l], kex_list_len(b, l), &pb, &eb, &lb);
	return la == lb && memcmp(ea, eb, la) == 0;
}

/* kex_negotiate_fresh: kex_negotiate without the memo. */
static void kex_negotiate_fresh(const struct kex_init *client, const struct kex_init *server,
                                struct kex_negotiated *out)
{
	int cat, l;

	memset(out, 0, sizeof(*out));
	out->failed_cat = -1;
	for (cat = 0; cat < KEX_NCATS; cat++) {
		l = kex_cat_list(cat);
		/*
		 * OpenSSH kex_choose_conf: an AEAD cipher authenticates by
		 * itself, so no MAC is negotiated for that direction and
		 * ssh -v prints "<implicit>".
		 */
		if ((cat == KEX_CAT_MAC_C2S && kex_cipher_is_aead(out->alg[KEX_CAT_ENC_C2S])) ||
		    (cat == KEX_CAT_MAC_S2C && kex_cipher_is_aead(out->alg[KEX_CAT_ENC_S2C]))) {
			strcpy(out->alg[cat], "<implicit>");
			continue;
		}
		if (!kex_match_list(client->list[l], kex_list_len(client, l), server->list[l],
		                    kex_list_len(server, l), out->alg[cat]) &&
		    out->failed_cat < 0)
			out->failed_cat = cat;
	}
	/* OpenSSH PROTOCOL section 1.10: strict KEX needs both markers. */
	out->strict_kex =
	    (client->markers & KEX_MARK_STRICT_C) && (server->markers & KEX_MARK_STRICT_S);
	/* RFC 8308 section 2.1. */
	out->ext_info_c = (client->markers & KEX_MARK_EXT_INFO_C) != 0;
	out->ext_info_s = (server->markers & KEX_MARK_EXT_INFO_S) != 0;
	/*
	 * RFC 4253 section 7: a guessed packet is wrong when the preferred
	 * kex or host-key algorithms differ (OpenSSH proposals_match).
	 */
	out->guess_wrong =
	    client->first_kex_follows && (!kex_first_equal(client, server, KEX_ALGS) ||
	                                  !kex_first_equal(client, server, KEX_HOSTKEY));
}

/* The lists negotiation reads: one per category, the first eight (enum kex_list). */
#define KEX_NEG_LISTS KEX_NCATS

/*
 * What kex_negotiate reads of one side, ahead of the block of its lists in
 * a negotiation key: each list's length and place in the block (so the
 * block's bytes say which list each byte is in), the markers, whether a
 * name was bad (kex_list_len then stops at a NUL) and, for the client, the
 * guess. No padding: every byte is set.
 */
struct kex_offer_key {
	uint32_t len[KEX_NEG_LISTS];
	uint32_t off[KEX_NEG_LISTS]; /* list[i] - list[0] */
	uint8_t markers, bad_name, follows, zero;
};
_Static_assert(sizeof(struct kex_offer_key) == 8 * KEX_NEG_LISTS + 4, "no padding in a key");

/*
 * kex_offer_key fills *h and *block (the block of the negotiated lists,
 * kex_init_block) for k, or returns 0 when there is no such block within
 * KEX_NEG_MEMO_BLOCK_MAX bytes: then there is no key. Since the block runs
 * to each list's NUL, it holds every byte kex_negotiate reads of the lists.
 */
static int kex_offer_key(const struct kex_init *k, int client, struct kex_offer_key *h,
                         struct memo_part *block)
{
	const char *p;
	size_t n = kex_init_block(k, KEX_NEG_LISTS, &p);

	if (n == 0 || n > KEX_NEG_MEMO_BLOCK_MAX)
		return 0;
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < KEX_NEG_LISTS; i++) {
		h->len[i] = k->list_len[i];
		h->off[i] = (uint32_t)(k->list[i] - p);
	}
	h->markers = k->markers;
	h->bad_name = (k->anomalies & KEX_ANOM_BAD_NAME) != 0;
	/* RFC 4253 7: only the client's guess counts (kex_negotiate_fresh). */
	h->follows = client && k->first_kex_follows;
	block->p = p;
	block->n = n;
	return 1;
}

void kex_negotiate(struct kex_ctx *ctx, const struct kex_init *client,
                   const struct kex_init *server, struct kex_negotiated *out)
{
	struct kex_offer_key hc, hs;
	struct memo_part key[4] = {{&hc, sizeof(hc)}, {NULL, 0}, {&hs, sizeof(hs)}, {NULL, 0}};
	const void *kept;
	size_t len;
	int keyed = ctx != NULL && ctx->neg != NULL && kex_offer_key(client, 1, &hc, &key[1]) &&
	            kex_offer_key(server, 0, &hs, &key[3]);

	if (keyed && (kept = memo_getv(ctx->neg, key, 4, &len)) != NULL && len == sizeof(*out)) {
		memcpy(out, kept, sizeof(*out));
		return;
	}
	kex_negotiate_fresh(client, server, out);
	if (keyed)
		memo_putv(ctx->neg, key, 4, out, sizeof(*out));
}

int kex_cat_list(int cat)
{
	static const int list[KEX_NCATS] = {
	    [KEX_CAT_KEX] = KEX_ALGS,          [KEX_CAT_HOSTKEY] = KEX_HOSTKEY,
	    [KEX_CAT_ENC_C2S] = KEX_ENC_C2S,   [KEX_CAT_ENC_S2C] = KEX_ENC_S2C,
	    [KEX_CAT_MAC_C2S] = KEX_MAC_C2S,   [KEX_CAT_MAC_S2C] = KEX_MAC_S2C,
	    [KEX_CAT_COMP_C2S] = KEX_COMP_C2S, [KEX_CAT_COMP_S2C] = KEX_COMP_S2C,
	};

	return list[cat];
}

const char *kex_cat_group(int cat)
{
	static const char *const group[KEX_NCATS] = {
	    "kex", "host_key", "cipher", "cipher", "mac", "mac", "compression", "compression"};

	return cat >= 0 && cat < KEX_NCATS ? group[cat] : "unknown";
}

const char *kex_cat_name(int cat)
{
	static const char *const names[KEX_NCATS] = {
	    "kex",     "host_key", "cipher_c2s",      "cipher_s2c",
	    "mac_c2s", "mac_s2c",  "compression_c2s", "compression_s2c",
	};

	if (cat < 0 || cat >= KEX_NCATS)
		return "unknown";
	return names[cat];
}

int kex_cipher_is_aead(const char *cipher)
{
	static const char *const aead[] = {
	    "chacha20-poly1305@openssh.com",
	    "aes128-gcm@openssh.com",
	    "aes256-gcm@openssh.com",
	    "AEAD_AES_128_GCM",
	    "AEAD_AES_256_GCM",
	};

	if (cipher == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(aead) / sizeof(aead[0]); i++)
		if (strcmp(cipher, aead[i]) == 0) /* differs at its first bytes, mostly */
			return 1;
	return 0;
}

int kex_is_gex(const char *kex)
{
	static const char prefix[] = "diffie-hellman-group-exchange-";

	return kex != NULL && strncmp(kex, prefix, sizeof(prefix) - 1) == 0;
}

struct kex_ctx *kex_ctx_new(void)
{
	struct kex_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	for (int i = 0; i < 2; i++) {
		/* A failed fetch falls back to EVP_md5()/EVP_sha256() at each use. */
		ctx->md[i] = EVP_MD_fetch(NULL, i ? "SHA256" : "MD5", NULL);
		if ((ctx->mdctx[i] = EVP_MD_CTX_new()) == NULL) {
			kex_ctx_free(ctx);
			return NULL;
		}
	}
	/* Without a memo every HASSH is hashed, every KEXINIT checked: slower, same result. */
	ctx->hassh = memo_new(KEX_HASSH_MEMO_SETS, KEX_HASSH_MEMO_WAYS, KEX_HASSH_MEMO_KEY_MAX);
	ctx->lists = memo_new(KEX_LISTS_MEMO_SETS, KEX_LISTS_MEMO_WAYS, KEX_LISTS_MEMO_KEY_MAX);
	ctx->neg = memo_new(KEX_NEG_MEMO_SETS, KEX_NEG_MEMO_WAYS,
	                    2 * (sizeof(struct kex_offer_key) + KEX_NEG_MEMO_BLOCK_MAX));
	ctx->hostkeys =
	    memo_new(KEX_HOSTKEY_MEMO_SETS, KEX_HOSTKEY_MEMO_WAYS, KEX_HOSTKEY_MEMO_KEY_MAX);
	return ctx;
}

void kex_ctx_free(struct kex_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		EVP_MD_free(ctx->md[i]);
		EVP_MD_CTX_free(ctx->mdctx[i]);
	}
	memo_free(ctx->hassh);
	memo_free(ctx->lists);
	memo_free(ctx->neg);
	memo_free(ctx->hostkeys);
	free(ctx);
}

/* kex_digest returns MD5 (which 0) or SHA-256 (which 1), fetched once per context. */
static const EVP_MD *kex_digest(const struct kex_ctx *ctx, int which)
{
	if (ctx != NULL && ctx->md[which] != NULL)
		return ctx->md[which];
	return which ? EVP_sha256() : EVP_md5();
}

/*
 * kex_digest_hash hashes the concatenated parts with MD5 (which 0) or
 * SHA-256 (which 1) into md (*mdlen bytes): ctx's reusable digest context,
 * or without ctx one made for the call. 0, KW_ERR_NOMEM or KW_ERR_BUG.
 */
static int kex_digest_hash(struct kex_ctx *ctx, int which, const void *const parts[],
                           const size_t lens[], int nparts, unsigned char md[EVP_MAX_MD_SIZE],
                           unsigned int *mdlen)
{
	EVP_MD_CTX *c = ctx != NULL ? ctx->mdctx[which] : EVP_MD_CTX_new();
	int r = KW_OK;

	*mdlen = 0;
	if (c == NULL)
		return KW_ERR_NOMEM;
	if (EVP_DigestInit_ex(c, kex_digest(ctx, which), NULL) != 1)
		r = KW_ERR_BUG;
	for (int i = 0; r == KW_OK && i < nparts; i++)
		if (EVP_DigestUpdate(c, parts[i], lens[i]) != 1)
			r = KW_ERR_BUG;
	if (r == KW_OK && EVP_DigestFinal_ex(c, md, mdlen) != 1)
		r = KW_ERR_BUG;
	if (ctx == NULL)
		EVP_MD_CTX_free(c);
	return r;
}

void kex_md5_hex(struct kex_ctx *ctx, const char *s, size_t n, char hash[33])
{
	static const char hex[] = "0123456789abcdef";
	const void *parts[1] = {s};
	const size_t lens[1] = {n};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	hash[0] = '\0';
	if (kex_digest_hash(ctx, 0, parts, lens, 1, md, &mdlen) != KW_OK || mdlen != 16)
		return;
	for (i = 0; i < 16; i++) {
		hash[2 * i] = hex[md[i] >> 4];
		hash[2 * i + 1] = hex[md[i] & 0x0f];
	}
	hash[32] = '\0';
}

/* hassh_md5: kex_md5_hex through ctx's memo of recent HASSH strings. */
static void hassh_md5(struct kex_ctx *ctx, const char *s, size_t n, char hash[33])
{
	struct memo *memo = ctx != NULL ? ctx->hassh : NULL;
	const char *kept;
	size_t len;

	if (memo != NULL && (kept = memo_get(memo, s, n, &len)) != NULL && len == 33) {
		memcpy(hash, kept, 33);
		return;
	}
	kex_md5_hex(ctx, s, n, hash);
	if (memo != NULL && hash[0] != '\0')
		memo_put(memo, s, n, hash, 33);
}

static size_t max_len(const struct kex_init *k, int a, int b)
{
	return k->list_len[a] > k->list_len[b] ? k->list_len[a] : k->list_len[b];
}

size_t kex_hassh_len(const struct kex_init *k)
{
	return (size_t)k->list_len[KEX_ALGS] + max_len(k, KEX_ENC_C2S, KEX_ENC_S2C) +
	       max_len(k, KEX_MAC_C2S, KEX_MAC_S2C) + max_len(k, KEX_COMP_C2S, KEX_COMP_S2C) + 4;
}

int kex_hassh_into(struct kex_ctx *ctx, const struct kex_init *k, int server, char hash[33],
                   char *s, size_t cap)
{
	/* salesforce/hassh: kex;enc;mac;cmp of the sender's direction. */
	const int idx[4] = {
	    KEX_ALGS,
	    server ? KEX_ENC_S2C : KEX_ENC_C2S,
	    server ? KEX_MAC_S2C : KEX_MAC_C2S,
	    server ? KEX_COMP_S2C : KEX_COMP_C2S,
	};
	size_t len = 0, off = 0;
	int i;

	hash[0] = '\0';
	for (i = 0; i < 4; i++)
		len += (size_t)k->list_len[idx[i]] + 1;
	if (len > cap) {
		if (cap > 0)
			s[0] = '\0';
		return KW_ERR_LIMIT;
	}
	for (i = 0; i < 4; i++) {
		if (k->list_len[idx[i]] > 0)
			memcpy(s + off, k->list[idx[i]], k->list_len[idx[i]]);
		off += k->list_len[idx[i]];
		s[off++] = i < 3 ? ';' : '\0';
	}
	hassh_md5(ctx, s, off - 1, hash);
	if (hash[0] == '\0') {
		s[0] = '\0';
		return KW_ERR_BUG;
	}
	return KW_OK;
}

int kex_hassh(struct kex_ctx *ctx, const struct kex_init *k, int server, char hash[33], char **str)
{
	size_t len = kex_hassh_len(k);
	char *s;
	int r;

	hash[0] = '\0';
	*str = NULL;
	if ((s = malloc(len)) == NULL)
		return KW_ERR_NOMEM;
	if ((r = kex_hassh_into(ctx, k, server, hash, s, len)) != KW_OK) {
		free(s);
		return r;
	}
	*str = s;
	return KW_OK;
}

uint32_t kex_mpint_bits(const uint8_t *p, size_t n)
{
	struct cursor c;
	uint8_t b = 0;
	uint32_t bits;

	cursor_init(&c, p, n);
	/* RFC 4251 5: leading zero bytes carry no value. */
	while (cursor_get_u8(&c, &b) == 0 && b == 0)
		;
	if (b == 0)
		return 0;
	bits = (uint32_t)cursor_left(&c) * 8;
	while (b != 0) {
		bits++;
		b >>= 1;
	}
	return bits;
}

/*
 * kex_fingerprint: "SHA256:" + unpadded base64 of the SHA-256 of the
 * concatenated parts (OpenSSH sshkey_fingerprint, SSH_FP_DEFAULT).
 */
static int kex_fingerprint(struct kex_ctx *ctx, const void *const parts[], const size_t lens[],
                           int nparts, char out[7 + 44])
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[45];
	unsigned int mdlen = 0;
	int len, r;

	out[0] = '\0';
	if ((r = kex_digest_hash(ctx, 1, parts, lens, nparts, md, &mdlen)) != KW_OK)
		return r;
	if (mdlen != 32)
		return KW_ERR_BUG;
	/* 32 bytes encode to 44 characters, the last one '=' padding. */
	if ((len = EVP_EncodeBlock(b64, md, 32)) != 44)
		return KW_ERR_BUG;
	while (len > 0 && b64[len - 1] == '=')
		len--;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, (size_t)len);
	out[7 + len] = '\0';
	return KW_OK;
}

static int kex_get_mpint_bits(struct cursor *c, uint32_t *bits)
{
	const uint8_t *p;
	uint32_t n;
	int r;

	/* An mpint is a string (RFC 4251 5); the cursor bounds its length. */
	if ((r = cursor_get_string(c, UINT32_MAX, &p, &n)) != 0)
		return r;
	if (bits != NULL)
		*bits = kex_mpint_bits(p, n);
	return KW_OK;
}

static int kex_skip_string(struct cursor *c)
{
	const uint8_t *p;
	uint32_t n;

	return cursor_get_string(c, UINT32_MAX, &p, &n);
}

/*
 * kex_key_fields reads the public fields of a plain key type from c and sets
 * *bits. Returns KW_ERR_MALFORMED for an unknown type (the caller decides),
 * KW_ERR_MORE when the blob ends early.
 */
static int kex_key_fields(struct cursor *c, const char *type, uint32_t *bits)
{
	const uint8_t *curve;
	uint32_t clen;
	int r, sk = strncmp(type, "sk-", 3) == 0;

	*bits = 0;
	if (strcmp(type, "ssh-rsa") == 0) {
		/* RFC 4253 6.6: mpint e, mpint n; size is that of n. */
		if ((r = kex_get_mpint_bits(c, NULL)) != 0 ||
		    (r = kex_get_mpint_bits(c, bits)) != 0)
			return r;
		return KW_OK;
	}
	if (strcmp(type, "ssh-dss") == 0) {
		/* RFC 4253 6.6: mpint p, q, g, y; size is that of p. */
		if ((r = kex_get_mpint_bits(c, bits)) != 0 ||
		    (r = kex_get_mpint_bits(c, NULL)) != 0 ||
		    (r = kex_get_mpint_bits(c, NULL)) != 0 ||
		    (r = kex_get_mpint_bits(c, NULL)) != 0)
			return r;
		return KW_OK;
	}
	if (strncmp(type, "ecdsa-sha2-", 11) == 0 || strncmp(type, "sk-ecdsa-sha2-", 14) == 0) {
		const char *id = type + (sk ? 14 : 11);
		size_t idlen = strcspn(id, "@");

		/* RFC 5656 3.1: string identifier, string Q. */
		if ((r = cursor_get_string(c, KEX_NAME_MAX, &curve, &clen)) != 0 ||
		    (r = kex_skip_string(c)) != 0)
			return r;
		/* RFC 5656 3.1: the identifier repeats the curve of the type. */
		if (clen != idlen || memcmp(curve, id, idlen) != 0)
			return KW_ERR_MALFORMED;
		if (idlen == 8 && memcmp(id, "nistp256", 8) == 0)
			*bits = 256;
		else if (idlen == 8 && memcmp(id, "nistp384", 8) == 0)
			*bits = 384;
		else if (idlen == 8 && memcmp(id, "nistp521", 8) == 0)
			*bits = 521;
		/* OpenSSH PROTOCOL.u2f: sk keys add string application. */
		if (sk && (r = kex_skip_string(c)) != 0)
			return r;
		return KW_OK;
	}
	if (strcmp(type, "ssh-ed25519") == 0 || strcmp(type, "sk-ssh-ed25519@openssh.com") == 0) {
		/* RFC 8709 4: string key (32 bytes); sk adds application. */
		if ((r = cursor_get_string(c, 32, &curve, &clen)) != 0)
			return r == KW_ERR_LIMIT ? KW_ERR_MALFORMED : r;
		if (clen != 32)
			return KW_ERR_MALFORMED;
		if (sk && (r = kex_skip_string(c)) != 0)
			return r;
		*bits = 256;
		return KW_OK;
	}
	if (strcmp(type, "ssh-ed448") == 0) {
		/* RFC 8709 4: string key (57 bytes). */
		if ((r = cursor_get_string(c, 57, &curve, &clen)) != 0)
			return r == KW_ERR_LIMIT ? KW_ERR_MALFORMED : r;
		if (clen != 57)
			return KW_ERR_MALFORMED;
		*bits = 456;
		return KW_OK;
	}
	return KW_ERR_MALFORMED;
}

/* kex_type_is_known: a plain key type kex_key_fields decodes. */
static int kex_type_is_known(const char *type)
{
	static const char *const known[] = {
	    "ssh-rsa",
	    "ssh-dss",
	    "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521",
	    "sk-ecdsa-sha2-nistp256@openssh.com",
	    "ssh-ed25519",
	    "sk-ssh-ed25519@openssh.com",
	    "ssh-ed448",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(type, known[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * kex_cert_base maps a certificate type to its plain type (OpenSSH
 * PROTOCOL.certkeys): "X-cert-v01@openssh.com" -> "X", and the sk types
 * "sk-X-cert-v01@openssh.com" -> "sk-X@openssh.com". Returns 0 when type is
 * not a certificate type.
 */
static int kex_cert_base(const char *type, char base[KEX_NAME_MAX + 1])
{
	size_t tlen = strlen(type), slen = strlen(KEX_CERT_SUFFIX), blen;

	if (tlen <= slen || strcmp(type + tlen - slen, KEX_CERT_SUFFIX) != 0)
		return 0;
	blen = tlen - slen;
	memcpy(base, type, blen);
	base[blen] = '\0';
	if (strncmp(base, "sk-", 3) == 0) {
		if (blen + strlen("@openssh.com") > KEX_NAME_MAX)
			return 0;
		strcat(base, "@openssh.com");
	}
	return 1;
}

/*
 * kex_cert_rest reads the certificate fields after the key (OpenSSH
 * PROTOCOL.certkeys): serial, type, key id, principals, validity, options,
 * extensions, reserved, signature key, signature.
 */
static int kex_cert_rest(struct cursor *c)
{
	uint32_t u32;
	int r;

	if ((r = cursor_skip(c, 8)) != 0 ||       /* uint64 serial */
	    (r = cursor_get_u32(c, &u32)) != 0 || /* uint32 type */
	    (r = kex_skip_string(c)) != 0 ||      /* key id */
	    (r = kex_skip_string(c)) != 0 ||      /* valid principals */
	    (r = cursor_skip(c, 16)) != 0 ||      /* valid after, valid before */
	    (r = kex_skip_string(c)) != 0 ||      /* critical options */
	    (r = kex_skip_string(c)) != 0 ||      /* extensions */
	    (r = kex_skip_string(c)) != 0 ||      /* reserved */
	    (r = kex_skip_string(c)) != 0 ||      /* signature key */
	    (r = kex_skip_string(c)) != 0)        /* signature */
		return r;
	/* PROTOCOL.certkeys: type is 1 (user) or 2 (host). */
	if (u32 != 1 && u32 != 2)
		return KW_ERR_MALFORMED;
	return KW_OK;
}

/* kex_hostkey_decode: kex_hostkey_parse without the memo. */
static int kex_hostkey_decode(struct kex_ctx *ctx, const uint8_t *blob, size_t n,
                              struct kex_hostkey *out)
{
	struct cursor c;
	char base[KEX_NAME_MAX + 1];
	const uint8_t *type, *key_start;
	uint32_t tlen;
	const void *parts[3];
	size_t key_len, blen, lens[3];
	uint8_t hdr[4];
	int r, is_cert;

	memset(out, 0, sizeof(*out));
	/* A plain key's fingerprint is the hash of its whole blob. */
	parts[0] = blob;
	lens[0] = n;
	if ((r = kex_fingerprint(ctx, parts, lens, 1, out->fingerprint)) != 0)
		return r;
	cursor_init(&c, blob, n);
	/* RFC 4253 6.6: string certificate or public key format identifier. */
	if ((r = cursor_get_string(&c, KEX_NAME_MAX, &type, &tlen)) != 0)
		goto out;
	if (!kex_name_is_valid(type, tlen)) {
		r = KW_ERR_MALFORMED;
		goto out;
	}
	memcpy(out->type, type, tlen);
	out->type[tlen] = '\0';

	is_cert = kex_cert_base(out->type, base);
	if (!is_cert) {
		if (!kex_type_is_known(out->type)) {
			/* A well-formed name we do not know: size unknown. */
			r = KW_OK;
			goto out;
		}
		if ((r = kex_key_fields(&c, out->type, &out->bits)) != 0)
			goto out;
		/* OpenSSH sshkey_from_blob: nothing may follow the key. */
		r = cursor_left(&c) != 0 ? KW_ERR_MALFORMED : KW_OK;
		goto out;
	}
	/* PROTOCOL.certkeys: string nonce, then the key fields of the base type. */
	if ((r = kex_skip_string(&c)) != 0)
		goto out;
	if (!kex_type_is_known(base)) {
		r = KW_OK;
		goto out;
	}
	key_start = cursor_ptr(&c);
	if ((r = kex_key_fields(&c, base, &out->bits)) != 0)
		goto out;
	key_len = (size_t)(cursor_ptr(&c) - key_start);
	if ((r = kex_cert_rest(&c)) != 0)
		goto out;
	if (cursor_left(&c) != 0) {
		r = KW_ERR_MALFORMED;
		goto out;
	}
	/*
	 * ssh-keygen -l and ssh -v print the fingerprint of the certified
	 * key, not of the certificate (OpenSSH sshkey_fingerprint_raw
	 * serializes "force_plain"): string base type, then the key fields.
	 */
	blen = strlen(base);
	hdr[0] = (uint8_t)(blen >> 24);
	hdr[1] = (uint8_t)(blen >> 16);
	hdr[2] = (uint8_t)(blen >> 8);
	hdr[3] = (uint8_t)blen;
	parts[0] = hdr;
	lens[0] = 4;
	parts[1] = base;
	lens[1] = blen;
	parts[2] = key_start;
	lens[2] = key_len;
	memcpy(out->cert_fingerprint, out->fingerprint, sizeof(out->cert_fingerprint));
	r = kex_fingerprint(ctx, parts, lens, 3, out->fingerprint);
out:
	if (r == KW_ERR_MORE || r == KW_ERR_LIMIT)
		r = KW_ERR_MALFORMED;
	if (r != KW_OK)
		out->bits = 0;
	return r;
}

/* What the host-key memo keeps for a blob: kex_hostkey_decode's result and key. */
struct kex_hostkey_seen {
	int r;
	struct kex_hostkey key;
};

int kex_hostkey_parse(struct kex_ctx *ctx, const uint8_t *blob, size_t n, struct kex_hostkey *out)
{
	struct kex_hostkey_seen seen;
	const void *kept;
	size_t len;

	if (ctx != NULL && ctx->hostkeys != NULL &&
	    (kept = memo_get(ctx->hostkeys, blob, n, &len)) != NULL && len == sizeof(seen)) {
		memcpy(&seen, kept, sizeof(seen));
		*out = seen.key;
		return seen.r;
	}
	memset(&seen, 0, sizeof(seen)); /* every byte set: the memo keeps them all */
	seen.r = kex_hostkey_decode(ctx, blob, n, &seen.key);
	/* Kept when the blob decides the result (a digest failure does not). */
	if (ctx != NULL && ctx->hostkeys != NULL && (seen.r == KW_OK || seen.r == KW_ERR_MALFORMED))
		memo_put(ctx->hostkeys, blob, n, &seen, sizeof(seen));
	*out = seen.key;
	return seen.r;
}

int kex_hostkey_v1(struct kex_ctx *ctx, const uint8_t *e, size_t elen, const uint8_t *n,
                   size_t nlen, struct kex_hostkey *out)
{
	const void *parts[2];
	size_t lens[2];

	memset(out, 0, sizeof(*out));
	while (elen > 0 && *e == 0)
		e++, elen--;
	while (nlen > 0 && *n == 0)
		n++, nlen--;
	parts[0] = n;
	lens[0] = nlen;
	parts[1] = e;
	lens[1] = elen;
	memcpy(out->type, "rsa1", 5);
	out->bits = kex_mpint_bits(n, nlen);
	return kex_fingerprint(ctx, parts, lens, 2, out->fingerprint);
}
