/*
 * test_kex.c: unit tests for dissect/kex.c.
 *
 * Covers KEXINIT parsing (real records from rusticata ssh-parser, every
 * truncation, crafted anomalies), list matching, negotiation (a table with
 * no match in each category, AEAD, pseudo-algorithms, strict KEX, ext-info,
 * guesses), HASSH against the 52 salesforce/hassh vectors, and host-key
 * blobs against ssh-keygen -l output recorded once in
 * tests/unit/data/hostkeys/. Not responsible for stream framing
 * (test_ssh.c). Parts that need ../shared/conformance are skipped with a
 * message when it is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cursor.h"
#include "err.h"
#include "flowmem.h"
#include "kex.h"
#include "tap.h"

#define ASSETS KW_SHARED_DIR "/conformance/rusticata-ssh-parser/assets/"
#define HOSTKEYS KW_TESTS_DIR "/unit/data/hostkeys/"

/* One binary packet of an asset file (RFC 4253 6), payload borrowed. */
struct tpacket {
	const uint8_t *payload;
	size_t payload_len;
	uint32_t packet_len;
	uint8_t msg;
};

/*
 * asset_packets reads a rusticata record file: an optional identification
 * line, then whole packets with their length prefix. Returns the number of
 * packets framed (up to max), or -1 when the file is absent.
 */
static int asset_packets(const char *rel, uint8_t **file, struct tpacket *pk, int max)
{
	char path[512];
	struct cursor c;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s%s", ASSETS, rel);
	if ((*file = tap_read_file(path, &len)) == NULL)
		return -1;
	cursor_init(&c, *file, len);
	if (len >= 4 && memcmp(*file, "SSH-", 4) == 0) {
		const uint8_t *lf = memchr(*file, '\n', len);

		if (lf != NULL)
			c.off = (size_t)(lf - *file) + 1;
	}
	while (n < max && cursor_left(&c) >= 5) {
		uint32_t plen;
		uint8_t pad;
		const uint8_t *body;

		if (cursor_get_u32(&c, &plen) != 0 || plen > cursor_left(&c) || plen < 6 ||
		    cursor_get_bytes(&c, plen, &body) != 0)
			break;
		pad = body[0];
		if (pad >= plen - 1)
			break;
		pk[n].payload = body + 1;
		pk[n].payload_len = plen - 1 - pad;
		pk[n].packet_len = plen;
		pk[n].msg = body[1];
		n++;
	}
	return n;
}

static int have_shared(void)
{
	uint8_t *f;
	struct tpacket pk[1];
	int n = asset_packets("new_keys.raw", &f, pk, 1);

	free(f);
	return n >= 0;
}

/* ---- KEXINIT parsing ---- */

static void test_kexinit_assets(void)
{
	static const struct {
		const char *file;
		const char *kex_first; /* first name of the kex list */
		const char *hostkey_list_has;
		int n_packets;
		uint32_t anomalies;
	} cases[] = {
	    {"client_init.raw", "curve25519-sha256@libssh.org", "ssh-rsa-cert-v01@openssh.com", 1,
	     0},
	    {"server_compat.raw", "diffie-hellman-group-exchange-sha1", "ssh-dss", 4, 0},
	    {"kex/dh/client_kex_init.raw", "diffie-hellman-group18-sha512",
	     "ssh-ed25519-cert-v01@openssh.com", 1, 0},
	    {"kex/dh/server_kex_init.raw", "curve25519-sha256", "ssh-ed25519", 1, 0},
	    {"kex/dh-kex-gex/client_kex_init.raw", "diffie-hellman-group-exchange-sha256",
	     "rsa-sha2-512", 1, 0},
	    {"kex/dh-kex-gex/server_kex_init.raw", "curve25519-sha256", "rsa-sha2-256", 1, 0},
	    {"kex/ecdh/client_kex_init.raw", "sntrup761x25519-sha512@openssh.com", "ssh-ed25519", 1,
	     0},
	    {"kex/ecdh/server_kex_init.raw", "curve25519-sha256", "ecdsa-sha2-nistp256", 1, 0},
	    {"kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/client_kex_init.raw",
	     "ecdh-nistp256-kyber-512r3-sha256-d00@openquantumsafe.org", "ssh-ed25519", 1, 0},
	    /* OQS names like ecdh-nistp521-classic-mceliece-6960119fr4-sha512@
	     * openquantumsafe.org exceed 64 characters (RFC 4251 6). */
	    {"kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/server_kex_init.raw",
	     "curve25519-sha256", "ssh-ed25519", 1, KEX_ANOM_BAD_NAME},
	    {"kex/kex-hybrid/ecdh-nistp384-kyber-768r3-sha384-d00/client_kex_init.raw",
	     "ecdh-nistp384-kyber-768r3-sha384-d00@openquantumsafe.org", "ssh-ed25519", 1, 0},
	    {"kex/kex-hybrid/ecdh-nistp521-kyber-1024r3-sha512-d00/client_kex_init.raw",
	     "ecdh-nistp521-kyber-1024r3-sha512-d00@openquantumsafe.org", "ssh-ed25519", 1, 0},
	};
	size_t i, cut;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tpacket pk[8];
		struct kex_init k;
		uint8_t *f, *copy;
		int n = asset_packets(cases[i].file, &f, pk, 8);
		size_t first_len;

		CHECK(n >= cases[i].n_packets, "%s: framed %d packets", cases[i].file, n);
		if (n < 1) {
			free(f);
			continue;
		}
		CHECK_EQ_INT(pk[0].msg, 20);
		CHECK_EQ_INT(kex_init_parse(pk[0].payload, pk[0].payload_len, 65536, &k), KW_OK);
		first_len = strcspn(k.list[KEX_ALGS], ",");
		CHECK(first_len == strlen(cases[i].kex_first) &&
		          memcmp(k.list[KEX_ALGS], cases[i].kex_first, first_len) == 0,
		      "%s: kex list starts with %s", cases[i].file, cases[i].kex_first);
		CHECK(kex_list_has(k.list[KEX_HOSTKEY], cases[i].hostkey_list_has),
		      "%s: host-key list has %s", cases[i].file, cases[i].hostkey_list_has);
		CHECK(k.anomalies == cases[i].anomalies, "%s: anomalies %#x", cases[i].file,
		      k.anomalies);
		CHECK_EQ_INT(k.first_kex_follows, 0);
		CHECK_EQ_INT(k.reserved, 0);
		CHECK_EQ_STR(k.list[KEX_LANG_C2S], "");
		CHECK_EQ_INT(k.list_len[KEX_LANG_S2C], 0);
		for (int l = 0; l < KEX_NLISTS; l++)
			CHECK_EQ_INT(strlen(k.list[l]), k.list_len[l]);
		kex_init_free(&k);
		CHECK(k.list[0] == NULL, "kex_init_free zeroes");

		/* Every truncation of a valid payload is malformed, never a crash. */
		for (cut = 0; cut < pk[0].payload_len; cut++) {
			/* A copy of exactly cut bytes, so ASan sees any over-read. */
			copy = malloc(cut > 0 ? cut : 1);
			memcpy(copy, pk[0].payload, cut);
			CHECK_EQ_INT(kex_init_parse(copy, cut, 65536, &k), KW_ERR_MALFORMED);
			CHECK(k.list[0] == NULL && k.list[9] == NULL, "failure owns nothing");
			free(copy);
		}
		/* One byte more is trailing data. */
		copy = malloc(pk[0].payload_len + 1);
		memcpy(copy, pk[0].payload, pk[0].payload_len);
		copy[pk[0].payload_len] = 0;
		CHECK_EQ_INT(kex_init_parse(copy, pk[0].payload_len + 1, 65536, &k), KW_OK);
		CHECK_EQ_INT(k.anomalies, KEX_ANOM_TRAILING | cases[i].anomalies);
		kex_init_free(&k);
		free(copy);
		/* A name-list limit below the longest list: KW_ERR_LIMIT. */
		CHECK_EQ_INT(kex_init_parse(pk[0].payload, pk[0].payload_len, 16, &k),
		             KW_ERR_LIMIT);
		CHECK(k.list[0] == NULL, "limit failure owns nothing");
		free(f);
	}
}

/* The full lists of one record, checked name for name. */
static void test_kexinit_full_lists(void)
{
	static const char *const want[KEX_NLISTS] = {
	    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-"
	    "nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-"
	    "group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
	    "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519",
	    "aes128-ctr,aes192-ctr,aes256-ctr",
	    "aes128-ctr,aes192-ctr,aes256-ctr",
	    "hmac-sha2-256,hmac-sha2-512",
	    "hmac-sha2-256,hmac-sha2-512",
	    "none,zlib@openssh.com",
	    "none,zlib@openssh.com",
	    "",
	    "",
	};
	struct tpacket pk[1];
	struct kex_init k;
	uint8_t *f;
	int l;

	if (asset_packets("kex/dh/server_kex_init.raw", &f, pk, 1) != 1) {
		CHECK(0, "kex/dh/server_kex_init.raw frames");
		free(f);
		return;
	}
	CHECK_EQ_INT(kex_init_parse(pk[0].payload, pk[0].payload_len, 65536, &k), KW_OK);
	for (l = 0; l < KEX_NLISTS; l++)
		CHECK_EQ_STR(k.list[l], want[l]);
	/* The cookie is the 16 bytes after the message number. */
	CHECK(memcmp(k.cookie, pk[0].payload + 1, 16) == 0, "cookie copied");
	CHECK_EQ_INT(k.cookie[0], 0xae);
	kex_init_free(&k);
	free(f);
}

/* kexinit_build writes a KEXINIT payload; returns its length. */
static size_t kexinit_build(uint8_t *out, size_t cap, uint8_t msg, const char *const lists[10],
                            uint8_t follows, uint32_t reserved)
{
	size_t off = 0;
	int i;

	out[off++] = msg;
	for (i = 0; i < 16; i++)
		out[off++] = (uint8_t)(0xc0 + i);
	for (i = 0; i < 10; i++) {
		size_t n = strlen(lists[i]);

		if (off + 4 + n + 5 > cap)
			return 0;
		out[off++] = (uint8_t)(n >> 24);
		out[off++] = (uint8_t)(n >> 16);
		out[off++] = (uint8_t)(n >> 8);
		out[off++] = (uint8_t)n;
		memcpy(out + off, lists[i], n);
		off += n;
	}
	out[off++] = follows;
	out[off++] = (uint8_t)(reserved >> 24);
	out[off++] = (uint8_t)(reserved >> 16);
	out[off++] = (uint8_t)(reserved >> 8);
	out[off++] = (uint8_t)reserved;
	return off;
}

/* ref_namelist_ok: RFC 4251 5 and 6, byte by byte, as the reference. */
static int ref_namelist_ok(const char *s)
{
	size_t n = strlen(s), start = 0, i;

	if (n == 0)
		return 1;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (i == start || i - start > 64)
				return 0;
			start = i + 1;
		} else if ((uint8_t)s[i] <= 0x20 || (uint8_t)s[i] >= 0x7f) {
			return 0;
		}
	}
	return 1;
}

/*
 * The name-list check reads eight bytes at a time: lists of every length up
 * to 300, commas and bad bytes at every offset within a word, names of 63,
 * 64 and 65 characters across word ends, against the byte-by-byte rule.
 */
static void test_namelist_words(void)
{
	static const char alphabet[] = "aaaaaaaaz-.@,,~!\x7f \x80\x1f";
	const char *lists[10] = {"x", "x", "x", "x", "x", "x", "x", "x", "", ""};
	static uint8_t buf[8192];
	char list[400];
	uint32_t seed = 12345;
	struct kex_init k;
	int agree = 0, total = 0, valid = 0;

	for (int round = 0; round < 6000; round++) {
		size_t len = (size_t)(round % 300), i;

		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly letters, so that valid lists with long names are common */
			list[i] = (seed >> 16) % 4 != 0
			              ? 'a'
			              : alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		list[len] = '\0';
		if (round % 3 == 0) { /* commas at a chosen spacing: names of 62..66 */
			size_t gap = 62 + (size_t)(round / 3) % 5;
			for (i = 0; i < len; i++)
				list[i] = (i + 1) % (gap + 1) == 0 && i + 1 < len ? ',' : 'b';
		}
		lists[KEX_ENC_C2S] = list;
		size_t n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
		if (kex_init_parse(buf, n, 65536, &k) != KW_OK)
			continue;
		total++;
		valid += ref_namelist_ok(list);
		agree += ((k.anomalies & KEX_ANOM_BAD_NAME) == 0) == ref_namelist_ok(list);
		kex_init_free(&k);
	}
	CHECK(total == 6000 && agree == total, "name-lists judged as byte by byte: %d/%d", agree,
	      total);
	CHECK(valid > 1000 && valid < total - 1000, "both kinds tested (%d valid)", valid);
}

/* A KEXINIT's lists that are all fine, for variations. */
static const char *const kexinit_good[10] = {"curve25519-sha256,ext-info-c",
                                             "ssh-ed25519",
                                             "aes128-ctr",
                                             "aes128-ctr",
                                             "hmac-sha2-256",
                                             "hmac-sha2-256",
                                             "none",
                                             "none",
                                             "",
                                             ""};

static void test_kexinit_crafted(void)
{
	const char *lists[10];
	static const char *const bad_names[] = {
	    "a,,b",        /* empty element */
	    ",a",          /* leading comma */
	    "a,",          /* trailing comma */
	    "aes 128-ctr", /* space */
	    "aes\t128",    /* control */
	    "caf\xc3\xa9", /* not US-ASCII */
	    /* 65 characters */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	uint8_t buf[4096];
	struct kex_init k;
	size_t n, i;

	n = kexinit_build(buf, sizeof(buf), 20, kexinit_good, 0, 0);
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
	CHECK_EQ_INT(k.anomalies, 0);
	CHECK_EQ_STR(k.list[KEX_ALGS], "curve25519-sha256,ext-info-c");
	CHECK_EQ_INT(k.markers, KEX_MARK_EXT_INFO_C);
	kex_init_free(&k);

	/* A 64-character name is still fine (RFC 4251 6). */
	memcpy(lists, kexinit_good, sizeof(lists));
	lists[KEX_MAC_C2S] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
	CHECK_EQ_INT(k.anomalies, 0);
	kex_init_free(&k);

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		memcpy(lists, kexinit_good, sizeof(lists));
		lists[KEX_ENC_S2C] = bad_names[i];
		n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
		CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
		CHECK(k.anomalies == KEX_ANOM_BAD_NAME, "bad name %zu flagged (%#x)", i,
		      k.anomalies);
		kex_init_free(&k);
	}

	/* A NUL inside a list: kept with its true length, flagged. */
	memcpy(lists, kexinit_good, sizeof(lists));
	n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
	buf[1 + 16 + 4 + 3] = '\0'; /* inside "curve25519..." */
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
	CHECK_EQ_INT(k.anomalies, KEX_ANOM_BAD_NAME);
	CHECK_EQ_INT(k.list_len[KEX_ALGS], strlen(kexinit_good[0]));
	/* Lookups and negotiation see the list as output/ prints it: "cur". */
	CHECK(!kex_list_has(k.list[KEX_ALGS], "ext-info-c"), "list ends at its NUL");
	CHECK(kex_list_has(k.list[KEX_ALGS], "cur"), "element before the NUL");
	CHECK_EQ_INT(kex_init_markers(&k), 0);
	CHECK_EQ_INT(k.markers, 0);
	{
		struct kex_negotiated neg;

		kex_negotiate(NULL, &k, &k, &neg);
		CHECK_EQ_STR(neg.alg[KEX_CAT_KEX], "cur");
		CHECK_EQ_INT(neg.ext_info_c, 0);
	}
	kex_init_free(&k);

	/* Every position of a 40-byte name, each byte at the edges of the
	 * printable range (the check reads eight bytes at a time). */
	for (i = 0; i < 40; i++) {
		static const uint8_t edge[] = {0x01, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff};
		char name[41];
		size_t e;

		for (e = 0; e < sizeof(edge); e++) {
			memset(name, 'a', 40);
			name[40] = '\0';
			name[i] = (char)edge[e];
			memcpy(lists, kexinit_good, sizeof(lists));
			lists[KEX_HOSTKEY] = name;
			n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
			CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
			CHECK(k.anomalies ==
			          (edge[e] == 0x21 || edge[e] == 0x7e ? 0 : KEX_ANOM_BAD_NAME),
			      "byte %#x at %zu (%#x)", edge[e], i, k.anomalies);
			kex_init_free(&k);
		}
	}
	/* Element lengths: empty elements and 65 characters are bad, 64 fine. */
	{
		static const char *const lens[] = {
		    ",a",
		    "a,",
		    "a,,b",
		    "",
		    "a,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "a,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b"};
		static const uint32_t want[] = {
		    KEX_ANOM_BAD_NAME, KEX_ANOM_BAD_NAME, KEX_ANOM_BAD_NAME, 0, 0,
		    KEX_ANOM_BAD_NAME};

		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			memcpy(lists, kexinit_good, sizeof(lists));
			lists[KEX_MAC_S2C] = lens[i];
			n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
			CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
			CHECK(k.anomalies == want[i], "list %zu (%#x)", i, k.anomalies);
			kex_init_free(&k);
		}
	}

	/* Reserved non-zero; boolean 7 is TRUE (RFC 4251 5). */
	n = kexinit_build(buf, sizeof(buf), 20, kexinit_good, 7, 0x01020304);
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
	CHECK_EQ_INT(k.anomalies, KEX_ANOM_RESERVED_NONZERO);
	CHECK_EQ_INT(k.first_kex_follows, 1);
	CHECK_EQ_INT(k.reserved, 0x01020304);
	kex_init_free(&k);

	/* Not message 20. */
	n = kexinit_build(buf, sizeof(buf), 21, kexinit_good, 0, 0);
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_ERR_MALFORMED);
	CHECK_EQ_INT(kex_init_parse(buf, 0, 65536, &k), KW_ERR_MALFORMED);

	/* A name-list length beyond the payload is malformed, not a wait. */
	n = kexinit_build(buf, sizeof(buf), 20, kexinit_good, 0, 0);
	buf[17] = 0x00;
	buf[18] = 0x00;
	buf[19] = 0x10;
	buf[20] = 0x00;
	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_ERR_MALFORMED);
	CHECK(k.list[0] == NULL, "nothing owned after failure");
}

/* ---- list matching ---- */

/* kex_init_block: a parsed KEXINIT's lists as one block; none out of order. */
static void test_init_block(void)
{
	uint8_t buf[4096];
	struct kex_init k;
	const char *p = NULL;
	char *swap;
	size_t n = kexinit_build(buf, sizeof(buf), 20, kexinit_good, 0, 0);

	CHECK_EQ_INT(kex_init_parse(buf, n, 65536, &k), KW_OK);
	n = kex_init_block(&k, KEX_NLISTS, &p);
	CHECK(p == k.list[0] && n == (size_t)(k.list[KEX_NLISTS - 1] - k.list[0]) + 1,
	      "the ten lists are one block, to the last NUL (%zu bytes)", n);
	CHECK_EQ_INT(kex_init_block(&k, 1, &p), k.list_len[0] + 1);
	swap = k.list[1]; /* out of order: no block */
	k.list[1] = k.list[2];
	k.list[2] = swap;
	CHECK_EQ_INT(kex_init_block(&k, 3, &p), 0);
	CHECK_EQ_INT(kex_init_block(&k, 1, &p), k.list_len[0] + 1);
	k.list[2] = k.list[1];
	k.list[1] = swap;
	kex_init_free(&k);
}

static void test_list_has(void)
{
	CHECK(kex_list_has("aes128-ctr,aes192-ctr", "aes128-ctr"), "first element");
	CHECK(kex_list_has("aes128-ctr,aes192-ctr", "aes192-ctr"), "last element");
	CHECK(kex_list_has("a,aes192-ctr,b", "aes192-ctr"), "middle element");
	CHECK(kex_list_has("aes128-ctr", "aes128-ctr"), "single element");
	CHECK(!kex_list_has("aes128-ctr2", "aes128-ctr"), "prefix is not a match");
	CHECK(!kex_list_has("xaes128-ctr", "aes128-ctr"), "suffix is not a match");
	CHECK(!kex_list_has("aes128-ctr", "aes128-ctr2"), "longer is not a match");
	CHECK(!kex_list_has("aes128", "aes128-ctr"), "shorter list element");
	CHECK(!kex_list_has("", "aes128-ctr"), "empty list");
	CHECK(!kex_list_has("a,b", ""), "empty name is not an element of a,b");
	CHECK(kex_list_has("a,,b", ""), "empty element matches empty name");
	CHECK(!kex_list_has(NULL, "a"), "NULL list");
	CHECK(!kex_list_has("a", NULL), "NULL name");
	CHECK(!kex_list_has("AES128-CTR", "aes128-ctr"), "case matters");
	CHECK(!kex_list_has("aes128-ctr,", ""), "a trailing comma adds no element");
}

static void test_markers(void)
{
	const char *l8[8] = {"a,ext-info-c,kex-strict-s-v00@openssh.com,ext-info-cc",
	                     "k",
	                     "c",
	                     "c",
	                     "m",
	                     "m",
	                     "z",
	                     "z"};
	struct kex_init k;
	int i;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < 8; i++) {
		k.list[i] = (char *)l8[i];
		k.list_len[i] = (uint32_t)strlen(l8[i]);
	}
	k.list[KEX_LANG_C2S] = k.list[KEX_LANG_S2C] = (char *)"";
	CHECK_EQ_INT(kex_init_markers(&k), KEX_MARK_EXT_INFO_C | KEX_MARK_STRICT_S);
	l8[0] = "ext-info-s,kex-strict-c-v00@openssh.com";
	k.list[KEX_ALGS] = (char *)l8[0];
	k.list_len[KEX_ALGS] = (uint32_t)strlen(l8[0]);
	CHECK_EQ_INT(kex_init_markers(&k), KEX_MARK_EXT_INFO_S | KEX_MARK_STRICT_C);
	CHECK_EQ_INT(kex_init_markers(NULL), 0);
}

/* ---- negotiation ---- */

struct neg_case {
	const char *name;
	const char *c[8]; /* client: kex hk enc_c2s enc_s2c mac_c2s mac_s2c comp_c2s comp_s2c */
	const char *s[8];
	uint8_t c_follows;
	const char *want[8];
	int failed;
	uint8_t strict, ext_c, ext_s, guess_wrong;
};

#define STD_C                                                                                      \
	{                                                                                          \
		"curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com",                       \
		    "ssh-ed25519,rsa-sha2-512", "aes128-ctr,aes256-ctr", "aes128-ctr,aes256-ctr",  \
		    "hmac-sha2-256,hmac-sha1", "hmac-sha2-256,hmac-sha1", "none,zlib@openssh.com", \
		    "none,zlib@openssh.com"                                                        \
	}
#define STD_S                                                                                      \
	{                                                                                          \
		"curve25519-sha256,ext-info-s,kex-strict-s-v00@openssh.com",                       \
		    "ssh-ed25519,rsa-sha2-512", "aes128-ctr,aes256-ctr", "aes128-ctr,aes256-ctr",  \
		    "hmac-sha2-256,hmac-sha1", "hmac-sha2-256,hmac-sha1", "none,zlib@openssh.com", \
		    "none,zlib@openssh.com"                                                        \
	}
#define STD_WANT                                                                                   \
	{                                                                                          \
		"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",   \
		    "hmac-sha2-256", "none", "none"                                                \
	}

static const struct neg_case neg_cases[] = {
    {"all match", STD_C, STD_S, 0, STD_WANT, -1, 1, 1, 1, 0},
    {"client preference wins",
     {"b,a", "k2,k1", "c2,c1", "c1,c2", "m2,m1", "m1,m2", "z2,z1", "z1,z2"},
     {"a,b", "k1,k2", "c1,c2", "c2,c1", "m1,m2", "m2,m1", "z1,z2", "z2,z1"},
     0,
     {"b", "k2", "c2", "c1", "m2", "m1", "z2", "z1"},
     -1,
     0,
     0,
     0,
     0},
    {"no kex",
     {"x", "k", "c", "c", "m", "m", "z", "z"},
     {"y", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"", "k", "c", "c", "m", "m", "z", "z"},
     KEX_CAT_KEX,
     0,
     0,
     0,
     0},
    {"no host key",
     {"a", "ssh-ed25519", "c", "c", "m", "m", "z", "z"},
     {"a", "ssh-rsa", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "", "c", "c", "m", "m", "z", "z"},
     KEX_CAT_HOSTKEY,
     0,
     0,
     0,
     0},
    {"no cipher c2s",
     {"a", "k", "aes128-ctr", "c", "m", "m", "z", "z"},
     {"a", "k", "3des-cbc", "c", "m", "m", "z", "z"},
     0,
     {"a", "k", "", "c", "m", "m", "z", "z"},
     KEX_CAT_ENC_C2S,
     0,
     0,
     0,
     0},
    {"no cipher s2c",
     {"a", "k", "c", "aes128-ctr", "m", "m", "z", "z"},
     {"a", "k", "c", "3des-cbc", "m", "m", "z", "z"},
     0,
     {"a", "k", "c", "", "m", "m", "z", "z"},
     KEX_CAT_ENC_S2C,
     0,
     0,
     0,
     0},
    {"no mac c2s",
     {"a", "k", "c", "c", "hmac-sha2-256", "m", "z", "z"},
     {"a", "k", "c", "c", "hmac-md5", "m", "z", "z"},
     0,
     {"a", "k", "c", "c", "", "m", "z", "z"},
     KEX_CAT_MAC_C2S,
     0,
     0,
     0,
     0},
    {"no mac s2c",
     {"a", "k", "c", "c", "m", "hmac-sha2-256", "z", "z"},
     {"a", "k", "c", "c", "m", "hmac-md5", "z", "z"},
     0,
     {"a", "k", "c", "c", "m", "", "z", "z"},
     KEX_CAT_MAC_S2C,
     0,
     0,
     0,
     0},
    {"no compression c2s",
     {"a", "k", "c", "c", "m", "m", "zlib@openssh.com", "z"},
     {"a", "k", "c", "c", "m", "m", "none", "z"},
     0,
     {"a", "k", "c", "c", "m", "m", "", "z"},
     KEX_CAT_COMP_C2S,
     0,
     0,
     0,
     0},
    {"no compression s2c",
     {"a", "k", "c", "c", "m", "m", "z", "zlib@openssh.com"},
     {"a", "k", "c", "c", "m", "m", "z", "none"},
     0,
     {"a", "k", "c", "c", "m", "m", "z", ""},
     KEX_CAT_COMP_S2C,
     0,
     0,
     0,
     0},
    {"first failure reported, later ones still computed",
     {"a", "k", "x", "c", "m", "y", "z", "z"},
     {"a", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "k", "", "c", "m", "", "z", "z"},
     KEX_CAT_ENC_C2S,
     0,
     0,
     0,
     0},
    {"empty lists never match",
     {"", "", "", "", "", "", "", ""},
     {"", "", "", "", "", "", "", ""},
     0,
     {"", "", "", "", "", "", "", ""},
     KEX_CAT_KEX,
     0,
     0,
     0,
     0},
    {"AEAD both ways: MAC implicit even without a common MAC",
     {"a", "k", "chacha20-poly1305@openssh.com,aes128-ctr", "aes256-gcm@openssh.com",
      "hmac-sha2-256", "hmac-sha2-256", "z", "z"},
     {"a", "k", "aes128-ctr,chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "hmac-md5",
      "hmac-md5", "z", "z"},
     0,
     {"a", "k", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "<implicit>",
      "<implicit>", "z", "z"},
     -1,
     0,
     0,
     0,
     0},
    {"AEAD one way only",
     {"a", "k", "aes128-gcm@openssh.com", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "z", "z"},
     {"a", "k", "aes128-gcm@openssh.com", "aes128-ctr", "hmac-sha1", "hmac-sha1", "z", "z"},
     0,
     {"a", "k", "aes128-gcm@openssh.com", "aes128-ctr", "<implicit>", "", "z", "z"},
     KEX_CAT_MAC_S2C,
     0,
     0,
     0,
     0},
    {"RFC 5647 AEAD names",
     {"a", "k", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM", "hmac-sha1", "hmac-sha1", "z", "z"},
     {"a", "k", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM", "hmac-sha1", "hmac-sha1", "z", "z"},
     0,
     {"a", "k", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM", "<implicit>", "<implicit>", "z", "z"},
     -1,
     0,
     0,
     0,
     0},
    {"pseudo-algorithms never chosen",
     {"ext-info-c,kex-strict-c-v00@openssh.com,ext-info-s,kex-strict-s-v00@openssh.com,"
      "curve25519-sha256",
      "k", "c", "c", "m", "m", "z", "z"},
     {"ext-info-c,kex-strict-c-v00@openssh.com,ext-info-s,kex-strict-s-v00@openssh.com,"
      "curve25519-sha256",
      "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"curve25519-sha256", "k", "c", "c", "m", "m", "z", "z"},
     -1,
     1,
     1,
     1,
     0},
    {"only pseudo-algorithms in common: no kex",
     {"ext-info-c,kex-strict-c-v00@openssh.com", "k", "c", "c", "m", "m", "z", "z"},
     {"ext-info-c,kex-strict-c-v00@openssh.com,sntrup", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"", "k", "c", "c", "m", "m", "z", "z"},
     KEX_CAT_KEX,
     0,
     1,
     0,
     0},
    {"strict kex needs the server marker",
     {"a,kex-strict-c-v00@openssh.com", "k", "c", "c", "m", "m", "z", "z"},
     {"a,ext-info-s", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "k", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     1,
     0},
    {"strict kex needs the client marker",
     {"a,ext-info-c", "k", "c", "c", "m", "m", "z", "z"},
     {"a,kex-strict-s-v00@openssh.com", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "k", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     1,
     0,
     0},
    {"markers on the wrong side count for nothing",
     {"a,ext-info-s,kex-strict-s-v00@openssh.com", "k", "c", "c", "m", "m", "z", "z"},
     {"a,ext-info-c,kex-strict-c-v00@openssh.com", "k", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "k", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     0,
     0},
    {"guess right",
     {"a,b", "k1,k2", "c", "c", "m", "m", "z", "z"},
     {"a,c", "k1", "c", "c", "m", "m", "z", "z"},
     1,
     {"a", "k1", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     0,
     0},
    {"guess wrong: kex differs",
     {"a,b", "k1", "c", "c", "m", "m", "z", "z"},
     {"b,a", "k1", "c", "c", "m", "m", "z", "z"},
     1,
     {"a", "k1", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     0,
     1},
    {"guess wrong: host key differs",
     {"a", "k1,k2", "c", "c", "m", "m", "z", "z"},
     {"a", "k2,k1", "c", "c", "m", "m", "z", "z"},
     1,
     {"a", "k1", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     0,
     1},
    {"no guess, preferences differ",
     {"a,b", "k1,k2", "c", "c", "m", "m", "z", "z"},
     {"b,a", "k2,k1", "c", "c", "m", "m", "z", "z"},
     0,
     {"a", "k1", "c", "c", "m", "m", "z", "z"},
     -1,
     0,
     0,
     0,
     0},
};

/* kex_init_fake points a kex_init at literal lists (never freed). */
static void kex_init_fake(struct kex_init *k, const char *const l8[8], uint8_t follows)
{
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < 8; i++) {
		k->list[i] = (char *)l8[i];
		k->list_len[i] = (uint32_t)strlen(l8[i]);
	}
	k->list[KEX_LANG_C2S] = (char *)"";
	k->list[KEX_LANG_S2C] = (char *)"";
	k->markers = (uint8_t)kex_init_markers(k);
	k->first_kex_follows = follows;
}

static void test_negotiate_table(void)
{
	size_t i;
	int cat;

	for (i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
		const struct neg_case *t = &neg_cases[i];
		struct kex_init c, s;
		struct kex_negotiated neg;

		kex_init_fake(&c, t->c, t->c_follows);
		kex_init_fake(&s, t->s, 0);
		memset(&neg, 0x5a, sizeof(neg));
		kex_negotiate(NULL, &c, &s, &neg);
		for (cat = 0; cat < KEX_NCATS; cat++) {
			CHECK(strcmp(neg.alg[cat], t->want[cat]) == 0,
			      "%s: %s = \"%s\", want \"%s\"", t->name, kex_cat_name(cat),
			      neg.alg[cat], t->want[cat]);
		}
		CHECK(neg.failed_cat == t->failed, "%s: failed_cat %d want %d", t->name,
		      neg.failed_cat, t->failed);
		CHECK(neg.strict_kex == t->strict, "%s: strict_kex", t->name);
		CHECK(neg.ext_info_c == t->ext_c, "%s: ext_info_c", t->name);
		CHECK(neg.ext_info_s == t->ext_s, "%s: ext_info_s", t->name);
		CHECK(neg.guess_wrong == t->guess_wrong, "%s: guess_wrong", t->name);
	}
}

/* Every category, on its own, fails and is the one reported. */
static void test_negotiate_each_category(void)
{
	const char *base[8] = {"a", "k", "c", "c", "m", "m", "z", "z"};
	int cat;

	for (cat = 0; cat < KEX_NCATS; cat++) {
		const char *cl[8], *sv[8];
		struct kex_init c, s;
		struct kex_negotiated neg;

		memcpy(cl, base, sizeof(cl));
		memcpy(sv, base, sizeof(sv));
		cl[cat] = "only-client";
		sv[cat] = "only-server";
		kex_init_fake(&c, cl, 0);
		kex_init_fake(&s, sv, 0);
		kex_negotiate(NULL, &c, &s, &neg);
		CHECK(neg.failed_cat == cat, "category %s fails alone (got %d)", kex_cat_name(cat),
		      neg.failed_cat);
		CHECK_EQ_STR(neg.alg[cat], "");
	}
}

/* Negotiation of real client/server KEXINIT pairs (values computed by hand-checked script). */
static void test_negotiate_assets(void)
{
	static const struct {
		const char *client, *server;
		const char *want[8];
		uint8_t strict, ext_c, ext_s;
	} cases[] = {
	    {"kex/dh/client_kex_init.raw",
	     "kex/dh/server_kex_init.raw",
	     {"diffie-hellman-group18-sha512", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
	      "hmac-sha2-256", "hmac-sha2-256", "none", "none"},
	     0,
	     1,
	     0},
	    {"kex/ecdh/client_kex_init.raw",
	     "kex/ecdh/server_kex_init.raw",
	     {"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
	      "hmac-sha2-256", "none", "none"},
	     0,
	     1,
	     0},
	    {"kex/dh-kex-gex/client_kex_init.raw",
	     "kex/dh-kex-gex/server_kex_init.raw",
	     {"diffie-hellman-group-exchange-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
	      "hmac-sha2-256", "hmac-sha2-256", "none", "none"},
	     0,
	     1,
	     0},
	    {"kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/client_kex_init.raw",
	     "kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/server_kex_init.raw",
	     {"ecdh-nistp256-kyber-512r3-sha256-d00@openquantumsafe.org", "ssh-ed25519",
	      "chacha20-poly1305@openssh.com", "chacha20-poly1305@openssh.com", "<implicit>",
	      "<implicit>", "none", "none"},
	     0,
	     1,
	     0},
	    {"client_init.raw",
	     "server_compat.raw",
	     {"diffie-hellman-group-exchange-sha1", "ssh-rsa", "aes128-cbc", "aes128-cbc",
	      "hmac-sha1", "hmac-sha1", "none", "none"},
	     0,
	     1,
	     0},
	};
	size_t i;
	int cat;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tpacket pc[4], ps[4];
		struct kex_init c, s;
		struct kex_negotiated neg;
		uint8_t *fc, *fs;

		if (asset_packets(cases[i].client, &fc, pc, 4) < 1 ||
		    asset_packets(cases[i].server, &fs, ps, 4) < 1) {
			CHECK(0, "%s frames", cases[i].client);
			free(fc);
			free(fs);
			continue;
		}
		CHECK_EQ_INT(kex_init_parse(pc[0].payload, pc[0].payload_len, 65536, &c), KW_OK);
		CHECK_EQ_INT(kex_init_parse(ps[0].payload, ps[0].payload_len, 65536, &s), KW_OK);
		kex_negotiate(NULL, &c, &s, &neg);
		for (cat = 0; cat < KEX_NCATS; cat++)
			CHECK(strcmp(neg.alg[cat], cases[i].want[cat]) == 0, "%s: %s = %s",
			      cases[i].client, kex_cat_name(cat), neg.alg[cat]);
		CHECK_EQ_INT(neg.failed_cat, -1);
		CHECK_EQ_INT(neg.strict_kex, cases[i].strict);
		CHECK_EQ_INT(neg.ext_info_c, cases[i].ext_c);
		CHECK_EQ_INT(neg.ext_info_s, cases[i].ext_s);
		CHECK_EQ_INT(neg.guess_wrong, 0);
		/* Swapped roles give a different answer for dh (server prefers curve25519). */
		if (i == 0) {
			kex_negotiate(NULL, &s, &c, &neg);
			CHECK_EQ_STR(neg.alg[KEX_CAT_KEX], "diffie-hellman-group18-sha512");
			CHECK_EQ_STR(neg.alg[KEX_CAT_HOSTKEY], "rsa-sha2-512");
			CHECK_EQ_INT(neg.ext_info_c, 0);
		}
		kex_init_free(&c);
		kex_init_free(&s);
		free(fc);
		free(fs);
	}
}

/* ---- the memos of struct kex_ctx ---- */

static int same_negotiated(const struct kex_negotiated *a, const struct kex_negotiated *b)
{
	for (int cat = 0; cat < KEX_NCATS; cat++)
		if (strcmp(a->alg[cat], b->alg[cat]) != 0)
			return 0;
	return a->failed_cat == b->failed_cat && a->strict_kex == b->strict_kex &&
	       a->ext_info_c == b->ext_info_c && a->ext_info_s == b->ext_info_s &&
	       a->guess_wrong == b->guess_wrong;
}

/*
 * KEXINITs parsed through the memo of recent name-lists give what a fresh
 * parse gives, over offers that differ from each other in one byte and
 * not in length (a marker for another, a bad byte, a NUL), lists longer
 * than the memo keeps, and random cookies, guesses, reserved fields and
 * trailing bytes, in a random order, with the lists in a flowmem or not.
 */
static void test_kexinit_memo(void)
{
	static char long_ok[5000], long_bad[5000];
	static const struct {
		int list;
		const char *text; /* NULL: long_ok, "" stays "" */
		int nul_at;       /* >= 0: a NUL put there in the built list */
	} variants[] = {
	    {KEX_ALGS, "curve25519-sha256,ext-info-c", -1},
	    {KEX_ALGS, "curve25519-sha256,ext-info-s", -1},
	    {KEX_ALGS, "curve25519-sha256,ext-info-x", -1},
	    {KEX_ALGS, "curve25519-sha256,ext-info-c", 5},
	    {KEX_ALGS, "curve25519-sha256,ext-info-c", 17},
	    {KEX_ALGS, "curve25519-sha256,kex-strict-c-v00@openssh.com", -1},
	    {KEX_ALGS, "curve25519-sha256,kex-strict-s-v00@openssh.com", -1},
	    {KEX_ALGS, "curve25519-sha256,ext-info-c,", -1},
	    {KEX_ENC_C2S, "aes128 ctr", -1},
	    {KEX_ENC_C2S, "aes128,ctr", -1},
	    {KEX_ENC_C2S, "aes128-ctr", 0},
	    {KEX_MAC_S2C, "hmac\x01sha2-256", -1},
	    {KEX_LANG_S2C, "en", -1},
	    {KEX_LANG_S2C, "e n", -1},
	    {KEX_HOSTKEY, NULL, -1},
	    {KEX_HOSTKEY, long_bad, -1},
	};
	static uint8_t buf[16384];
	struct kex_ctx *ctx = kex_ctx_new();
	uint32_t seed = 4242;
	int bad = 0, parsed = 0;

	CHECK(ctx != NULL, "kex_ctx_new");
	if (ctx == NULL)
		return;
	/* Names of 49 letters and a comma; the bad one has a space near its end. */
	for (size_t i = 0; i < sizeof(long_ok) - 1; i++)
		long_ok[i] = long_bad[i] = i % 50 == 49 && i + 2 < sizeof(long_ok) ? ',' : 'a';
	long_bad[sizeof(long_bad) - 10] = ' ';
	for (int round = 0; round < 3000; round++) {
		const char *lists[10];
		struct kex_init fresh, memo;
		struct flowmem mem;
		size_t n, v, at;
		int r1, r2;

		seed = seed * 1103515245u + 12345u;
		v = (seed >> 16) % (sizeof(variants) / sizeof(variants[0]));
		memcpy(lists, kexinit_good, sizeof(lists));
		lists[variants[v].list] = variants[v].text != NULL ? variants[v].text : long_ok;
		n = kexinit_build(buf, sizeof(buf) - 1, 20, lists, (uint8_t)((seed >> 8) % 3 * 3),
		                  (seed >> 12) % 4 == 0 ? seed : 0);
		for (int i = 0; i < 16; i++) /* a cookie of its own */
			buf[1 + i] = (uint8_t)(seed >> (i % 4 * 8)) ^ (uint8_t)round;
		at = 17;
		for (int l = 0; l < variants[v].list; l++)
			at += 4 + strlen(lists[l]);
		if (variants[v].nul_at >= 0)
			buf[at + 4 + (size_t)variants[v].nul_at] = '\0';
		if ((seed >> 20) % 5 == 0)
			buf[n++] = 0; /* trailing */
		memset(&mem, 0, sizeof(mem));
		r1 = kex_init_parse(buf, n, 65536, &fresh);
		r2 = kex_init_parse_in(ctx, buf, n, 65536, round % 2 ? &mem : NULL, &memo);
		if (r1 != KW_OK || r2 != KW_OK || !kex_init_is_equal(&fresh, &memo) ||
		    memo.in_flowmem != (round % 2))
			bad++;
		else
			parsed++;
		kex_init_free(&fresh);
		kex_init_free(&memo);
		flowmem_release(&mem);
	}
	CHECK(bad == 0 && parsed == 3000, "through the memo as afresh: %d of 3000 differ", bad);

	/* With the lists known, every truncation is still malformed and owns
	 * nothing, and a limit below the longest list is still the limit. */
	{
		struct kex_init k;
		size_t n = kexinit_build(buf, sizeof(buf), 20, kexinit_good, 1, 0), cut;
		int wrong = 0;

		CHECK_EQ_INT(kex_init_parse_in(ctx, buf, n, 65536, NULL, &k), KW_OK);
		kex_init_free(&k);
		for (cut = 0; cut < n; cut++) {
			uint8_t *copy = malloc(cut > 0 ? cut : 1);
			memcpy(copy, buf, cut);
			if (kex_init_parse_in(ctx, copy, cut, 65536, NULL, &k) !=
			        KW_ERR_MALFORMED ||
			    k.list[0] != NULL)
				wrong++;
			free(copy);
		}
		CHECK(wrong == 0, "every truncation malformed with the lists known (%d not)",
		      wrong);
		CHECK_EQ_INT(kex_init_parse_in(ctx, buf, n, 8, NULL, &k), KW_ERR_LIMIT);
		CHECK(k.list[0] == NULL, "limit failure owns nothing");
	}
	kex_ctx_free(ctx);
}

/*
 * Negotiations through the memo: the table's cases twice each (a miss,
 * then a hit) against their expected values, every client offer against
 * every server offer in both roles and with the client's guess flipped
 * against a fresh negotiation, offers longer than the memo keeps, and a
 * hand-built offer whose bytes change in place (the key is the bytes, not
 * where they are).
 */
static void test_negotiate_memo(void)
{
	enum { N = sizeof(neg_cases) / sizeof(neg_cases[0]) };
	static struct kex_init c[N][2], s[N]; /* c[i][1]: the guess flipped */
	static uint8_t buf[16384];
	static char long_hk[6000];
	struct kex_ctx *ctx = kex_ctx_new();
	struct kex_negotiated a, b;
	int bad = 0, pairs = 0, ok = 1;

	CHECK(ctx != NULL, "kex_ctx_new");
	if (ctx == NULL)
		return;
	for (size_t i = 0; i < N; i++) {
		const struct neg_case *t = &neg_cases[i];
		const char *lists[10];
		size_t n;

		memcpy(lists, t->c, sizeof(t->c));
		lists[KEX_LANG_C2S] = lists[KEX_LANG_S2C] = "";
		for (int f = 0; f < 2; f++) {
			n = kexinit_build(buf, sizeof(buf), 20, lists, (uint8_t)(t->c_follows ^ f),
			                  0);
			ok &= kex_init_parse_in(ctx, buf, n, 65536, NULL, &c[i][f]) == KW_OK;
		}
		memcpy(lists, t->s, sizeof(t->s));
		n = kexinit_build(buf, sizeof(buf), 20, lists, 0, 0);
		ok &= kex_init_parse_in(ctx, buf, n, 65536, NULL, &s[i]) == KW_OK;
	}
	CHECK(ok, "the table's offers parse");
	for (int rep = 0; rep < 2; rep++) {
		for (size_t i = 0; i < N; i++) {
			const struct neg_case *t = &neg_cases[i];
			int same = 1;

			memset(&a, 0x5a, sizeof(a));
			kex_negotiate(ctx, &c[i][0], &s[i], &a);
			for (int cat = 0; cat < KEX_NCATS; cat++)
				same &= strcmp(a.alg[cat], t->want[cat]) == 0;
			CHECK(same && a.failed_cat == t->failed && a.strict_kex == t->strict &&
			          a.ext_info_c == t->ext_c && a.ext_info_s == t->ext_s &&
			          a.guess_wrong == t->guess_wrong,
			      "%s, %s", t->name, rep ? "recalled" : "first");
		}
	}
	for (int rep = 0; rep < 2; rep++) {
		for (size_t i = 0; i < N; i++) {
			for (size_t j = 0; j < N; j++) {
				for (int f = 0; f < 2; f++) {
					kex_negotiate(ctx, &c[i][f], &s[j], &a);
					kex_negotiate(NULL, &c[i][f], &s[j], &b);
					bad += !same_negotiated(&a, &b);
					kex_negotiate(ctx, &s[j], &c[i][f], &a);
					kex_negotiate(NULL, &s[j], &c[i][f], &b);
					bad += !same_negotiated(&a, &b);
					pairs += 2;
				}
			}
		}
	}
	CHECK(bad == 0, "every pair through the memo as afresh: %d of %d differ", bad, pairs);

	/* A host-key list of 6000 bytes: not kept, negotiated every time. */
	{
		const char *lists[10] = {"a", long_hk, "c", "c", "m", "m", "z", "z", "", ""};
		struct kex_init big;
		size_t n;

		for (size_t i = 0; i < sizeof(long_hk) - 1; i++)
			long_hk[i] = i % 40 == 39 ? ',' : 'h';
		memcpy(long_hk + sizeof(long_hk) - 3, ",k", 2); /* the list ends in ",k" */
		n = kexinit_build(buf, sizeof(buf), 20, lists, 1, 0);
		CHECK_EQ_INT(kex_init_parse_in(ctx, buf, n, 65536, NULL, &big), KW_OK);
		for (int rep = 0; rep < 2; rep++) {
			kex_negotiate(ctx, &big, &s[0], &a);
			kex_negotiate(NULL, &big, &s[0], &b);
			CHECK(same_negotiated(&a, &b), "a long offer, pass %d", rep);
			/* c[2]: the case "no kex", whose host-key list is "k" */
			kex_negotiate(ctx, &c[2][0], &big, &a);
			kex_negotiate(NULL, &c[2][0], &big, &b);
			CHECK(same_negotiated(&a, &b) && strcmp(a.alg[KEX_CAT_HOSTKEY], "k") == 0,
			      "against a long offer, pass %d: host key %s", rep,
			      a.alg[KEX_CAT_HOSTKEY]);
		}
		kex_init_free(&big);
	}

	/* Lists in one block, changed in place between negotiations. */
	{
		char block[] = "a,b\0k\0c\0c\0m\0m\0z\0z\0\0";
		static const uint32_t off[10] = {0, 4, 6, 8, 10, 12, 14, 16, 18, 18};
		struct kex_init k;

		memset(&k, 0, sizeof(k));
		for (int l = 0; l < KEX_NLISTS; l++) {
			k.list[l] = block + off[l];
			k.list_len[l] = (uint32_t)strlen(k.list[l]);
		}
		k.markers = (uint8_t)kex_init_markers(&k);
		kex_negotiate(ctx, &k, &k, &a);
		CHECK_EQ_STR(a.alg[KEX_CAT_KEX], "a");
		block[0] = 'b';
		block[2] = 'a';
		kex_negotiate(ctx, &k, &k, &a);
		CHECK_EQ_STR(a.alg[KEX_CAT_KEX], "b");
		/* A NUL inside the kex list ends it only with KEX_ANOM_BAD_NAME
		 * (kex_list_len): "x,a" then, else "x" and "a\0a"; against a
		 * server's "a,c" (case "guess right"), "a" or nothing. */
		char nul_block[] = "x,a\0a\0k\0c\0c\0m\0m\0z\0z\0\0";
		for (int l = 0; l < KEX_NLISTS; l++) {
			k.list[l] = nul_block + off[l] + (l > 0 ? 2 : 0);
			k.list_len[l] = l > 0 ? (uint32_t)strlen(k.list[l]) : 5;
		}
		for (size_t i = 0; i < N; i++) {
			if (strcmp(neg_cases[i].name, "guess right") != 0)
				continue;
			k.anomalies = KEX_ANOM_BAD_NAME;
			kex_negotiate(ctx, &k, &s[i], &a);
			CHECK_EQ_STR(a.alg[KEX_CAT_KEX], "a");
			k.anomalies = 0;
			kex_negotiate(ctx, &k, &s[i], &a);
			kex_negotiate(NULL, &k, &s[i], &b);
			CHECK(same_negotiated(&a, &b) && a.alg[KEX_CAT_KEX][0] == '\0',
			      "the same bytes in a list not flagged bad: kex \"%s\"",
			      a.alg[KEX_CAT_KEX]);
		}
		/* Lists out of order (one shared by two lists): no key, same answer. */
		k.list[KEX_ENC_S2C] = k.list[KEX_ENC_C2S];
		kex_negotiate(ctx, &k, &k, &a);
		kex_negotiate(NULL, &k, &k, &b);
		CHECK(same_negotiated(&a, &b), "lists out of order");
	}
	for (size_t i = 0; i < N; i++) {
		kex_init_free(&c[i][0]);
		kex_init_free(&c[i][1]);
		kex_init_free(&s[i]);
	}
	kex_ctx_free(ctx);
}

static void test_names(void)
{
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_KEX), "kex");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_HOSTKEY), "host_key");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_ENC_C2S), "cipher_c2s");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_ENC_S2C), "cipher_s2c");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_MAC_C2S), "mac_c2s");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_MAC_S2C), "mac_s2c");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_COMP_C2S), "compression_c2s");
	CHECK_EQ_STR(kex_cat_name(KEX_CAT_COMP_S2C), "compression_s2c");
	CHECK_EQ_STR(kex_cat_name(-1), "unknown");
	CHECK_EQ_STR(kex_cat_name(KEX_NCATS), "unknown");

	CHECK(kex_cipher_is_aead("chacha20-poly1305@openssh.com"), "chacha20 is AEAD");
	CHECK(kex_cipher_is_aead("aes128-gcm@openssh.com"), "aes128-gcm is AEAD");
	CHECK(kex_cipher_is_aead("aes256-gcm@openssh.com"), "aes256-gcm is AEAD");
	CHECK(kex_cipher_is_aead("AEAD_AES_128_GCM"), "AEAD_AES_128_GCM");
	CHECK(kex_cipher_is_aead("AEAD_AES_256_GCM"), "AEAD_AES_256_GCM");
	CHECK(!kex_cipher_is_aead("aes128-ctr"), "ctr is not AEAD");
	CHECK(!kex_cipher_is_aead("aes192-gcm@openssh.com"), "no such cipher");
	CHECK(!kex_cipher_is_aead(""), "empty");
	CHECK(!kex_cipher_is_aead(NULL), "NULL");

	CHECK(kex_is_gex("diffie-hellman-group-exchange-sha256"), "gex sha256");
	CHECK(kex_is_gex("diffie-hellman-group-exchange-sha1"), "gex sha1");
	CHECK(!kex_is_gex("diffie-hellman-group14-sha256"), "group14 is not gex");
	CHECK(!kex_is_gex("curve25519-sha256"), "curve25519 is not gex");
	CHECK(!kex_is_gex(NULL), "NULL");
}

/* ---- HASSH ---- */

static void test_hassh_vectors(void)
{
	char path[512], hash[33], *str, *line, *save = NULL;
	size_t len;
	uint8_t *file;
	int total = 0, agree = 0, built = 0;

	snprintf(path, sizeof(path), "%s/conformance/hassh_string_vectors.jsonl", KW_SHARED_DIR);
	if ((file = tap_read_file(path, &len)) == NULL) {
		printf("# skip: %s absent, HASSH vectors not checked\n", path);
		return;
	}
	for (line = strtok_r((char *)file, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);
		const char *type, *algs, *expected;
		char *parts[4], *copy, *p;
		struct kex_init k;
		int server, i;

		CHECK(o != NULL, "vector %d parses: %s", total + 1, o ? "" : err.text);
		if (o == NULL)
			continue;
		total++;
		type = json_string_value(json_object_get(o, "type"));
		algs = json_string_value(json_object_get(o, "algorithms"));
		expected = json_string_value(json_object_get(o, "expected"));
		if (type == NULL || algs == NULL || expected == NULL) {
			CHECK(0, "vector %d has type, algorithms, expected", total);
			json_decref(o);
			continue;
		}
		kex_md5_hex(NULL, algs, strlen(algs), hash);
		if (strcmp(hash, expected) == 0)
			agree++;
		else
			CHECK(0, "vector %d: md5 %s want %s", total, hash, expected);

		/* Through kex_hassh: the four fields land in the right lists. */
		server = strcmp(type, "hasshServer") == 0;
		CHECK(server || strcmp(type, "hassh") == 0, "vector %d type %s", total, type);
		copy = strdup(algs);
		p = copy;
		for (i = 0; i < 4; i++) {
			parts[i] = p;
			p = p != NULL ? strchr(p, ';') : NULL;
			if (p != NULL)
				*p++ = '\0';
		}
		CHECK(parts[3] != NULL && p == NULL, "vector %d has four fields", total);
		if (parts[3] != NULL) {
			memset(&k, 0, sizeof(k));
			for (i = 0; i < KEX_NLISTS; i++)
				k.list[i] = (char *)"decoy";
			k.list[KEX_ALGS] = parts[0];
			k.list[server ? KEX_ENC_S2C : KEX_ENC_C2S] = parts[1];
			k.list[server ? KEX_MAC_S2C : KEX_MAC_C2S] = parts[2];
			k.list[server ? KEX_COMP_S2C : KEX_COMP_C2S] = parts[3];
			for (i = 0; i < KEX_NLISTS; i++)
				k.list_len[i] = (uint32_t)strlen(k.list[i]);
			CHECK_EQ_INT(kex_hassh(NULL, &k, server, hash, &str), KW_OK);
			CHECK_EQ_STR(hash, expected);
			CHECK_EQ_STR(str, algs);
			free(str);
			built++;
		}
		free(copy);
		json_decref(o);
	}
	free(file);
	printf("# %d/%d vectors agree (%d through kex_hassh)\n", agree, total, built);
	CHECK_EQ_INT(total, 52);
	CHECK_EQ_INT(agree, 52);
	CHECK_EQ_INT(built, 52);
}

/*
 * HASSH through the memo of recent strings: lookups over a pool of strings
 * larger than the memo (hits, misses, evictions, strings that share length
 * and sampled words, one longer than the memo keeps, one of two bytes) give
 * exactly what hashing each string afresh gives.
 */
static void test_hassh_memo(void)
{
	enum { POOL = 100, LOOKUPS = 3000 };
	static char text[POOL][6000];
	struct kex_init k;
	struct kex_ctx *ctx = kex_ctx_new();
	uint32_t seed = 12345;
	int bad = 0;

	CHECK(ctx != NULL, "kex_ctx_new");
	for (int i = 0; i < POOL; i++) {
		size_t n = i == 0 ? 2 : i == 1 ? 5000 : (size_t)(200 + (i % 7) * 150);
		memset(text[i], 'a', n);
		text[i][n] = '\0';
		/* differ only in the middle of a run of equal lengths, or not at all near the
		 * samples */
		text[i][n / 3] = (char)('A' + i % 26);
		text[i][n / 3 + 1] = (char)('A' + i / 26);
	}
	for (int j = 0; j < LOOKUPS; j++) {
		char want[33], got[33], *str = NULL, *expect;
		int i;
		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) %
		          (j < LOOKUPS / 2 ? 10 : POOL)); /* hot set first, then all */
		memset(&k, 0, sizeof(k));
		for (int l = 0; l < KEX_NLISTS; l++)
			k.list[l] = (char *)"";
		k.list[KEX_ALGS] = text[i];
		k.list_len[KEX_ALGS] = (uint32_t)strlen(text[i]);
		if (kex_hassh(ctx, &k, 0, got, &str) != KW_OK || str == NULL) {
			bad++;
			continue;
		}
		if ((expect = malloc(strlen(text[i]) + 4)) != NULL) {
			sprintf(expect, "%s;;;", text[i]);
			kex_md5_hex(NULL, expect, strlen(expect), want);
			if (strcmp(str, expect) != 0 || strcmp(got, want) != 0)
				bad++;
			free(expect);
		}
		free(str);
	}
	CHECK(bad == 0, "HASSH through the memo equals MD5 afresh on %d lookups (%d differ)",
	      LOOKUPS, bad);
	kex_ctx_free(ctx);
}

static void test_hassh_record(void)
{
	struct tpacket pk[1];
	struct kex_init k;
	uint8_t *f;
	char hash[33], want[33], *str, *joined;
	size_t n;

	if (asset_packets("client_init.raw", &f, pk, 1) != 1) {
		CHECK(0, "client_init.raw frames");
		free(f);
		return;
	}
	CHECK_EQ_INT(kex_init_parse(pk[0].payload, pk[0].payload_len, 65536, &k), KW_OK);
	n = strlen(k.list[KEX_ALGS]) + strlen(k.list[KEX_ENC_C2S]) + strlen(k.list[KEX_MAC_C2S]) +
	    strlen(k.list[KEX_COMP_C2S]) + 4;
	joined = malloc(n);
	snprintf(joined, n, "%s;%s;%s;%s", k.list[KEX_ALGS], k.list[KEX_ENC_C2S],
	         k.list[KEX_MAC_C2S], k.list[KEX_COMP_C2S]);
	kex_md5_hex(NULL, joined, strlen(joined), want);
	CHECK_EQ_INT(kex_hassh(NULL, &k, 0, hash, &str), KW_OK);
	CHECK_EQ_STR(str, joined);
	CHECK_EQ_STR(hash, want);
	CHECK_EQ_INT(strspn(hash, "0123456789abcdef"), 32);
	free(str);
	/* The server variant of the same record reads the s2c lists. */
	k.list[KEX_COMP_S2C][0] = 'N';
	CHECK_EQ_INT(kex_hassh(NULL, &k, 1, hash, &str), KW_OK);
	CHECK(strstr(str, ";None,") != NULL, "server string uses s2c compression: %s", str);
	CHECK(strcmp(hash, want) != 0, "HASSHServer differs when s2c lists differ");
	free(str);
	free(joined);
	kex_init_free(&k);
	free(f);

	/* Known MD5 values, with and without a digest state. */
	{
		struct kex_ctx *ctx = kex_ctx_new();
		CHECK(ctx != NULL, "kex_ctx_new");
		kex_md5_hex(ctx, "abc", 3, hash);
		CHECK_EQ_STR(hash, "900150983cd24fb0d6963f7d28e17f72");
		kex_md5_hex(ctx, "", 0, hash);
		CHECK_EQ_STR(hash, "d41d8cd98f00b204e9800998ecf8427e");
		kex_ctx_free(ctx);
	}
	kex_md5_hex(NULL, "", 0, hash);
	CHECK_EQ_STR(hash, "d41d8cd98f00b204e9800998ecf8427e");
	kex_md5_hex(NULL, "abc", 3, hash);
	CHECK_EQ_STR(hash, "900150983cd24fb0d6963f7d28e17f72");
}

/* ---- host keys ---- */

static void test_mpint_bits(void)
{
	static const uint8_t zero1[] = {0}, one[] = {1}, b80[] = {0, 0x80}, ff[] = {0xff},
	                     b100[] = {1, 0}, lead[] = {0, 0, 0, 0x7f, 0xff};

	CHECK_EQ_INT(kex_mpint_bits(NULL, 0), 0);
	CHECK_EQ_INT(kex_mpint_bits(zero1, 1), 0);
	CHECK_EQ_INT(kex_mpint_bits(one, 1), 1);
	CHECK_EQ_INT(kex_mpint_bits(b80, 2), 8);
	CHECK_EQ_INT(kex_mpint_bits(ff, 1), 8);
	CHECK_EQ_INT(kex_mpint_bits(b100, 2), 9);
	CHECK_EQ_INT(kex_mpint_bits(lead, 5), 15);
}

/* b64_decode decodes the key field of an OpenSSH .pub line. */
static uint8_t *b64_decode(const char *s, size_t slen, size_t *out_len)
{
	uint8_t *out = malloc(slen / 4 * 3 + 3);
	int n, pad = 0;

	*out_len = 0;
	if (out == NULL || slen % 4 != 0)
		goto fail;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen)) < 0)
		goto fail;
	if (slen >= 1 && s[slen - 1] == '=')
		pad++;
	if (slen >= 2 && s[slen - 2] == '=')
		pad++;
	*out_len = (size_t)n - (size_t)pad;
	return out;
fail:
	free(out);
	return NULL;
}

/* pub_blob reads tests/unit/data/hostkeys/<name> and decodes its blob. */
static uint8_t *pub_blob(const char *name, size_t *len)
{
	char path[512];
	uint8_t *file, *blob;
	const char *b64, *end;
	size_t flen;

	*len = 0;
	snprintf(path, sizeof(path), "%s%s", HOSTKEYS, name);
	if ((file = tap_read_file(path, &flen)) == NULL)
		return NULL;
	b64 = strchr((char *)file, ' ');
	if (b64 == NULL) {
		free(file);
		return NULL;
	}
	b64++;
	end = b64 + strcspn(b64, " \n");
	blob = b64_decode(b64, (size_t)(end - b64), len);
	free(file);
	return blob;
}

static void test_hostkey_truncations(const char *name, const uint8_t *blob, size_t len)
{
	struct kex_hostkey key;
	uint8_t *copy;
	size_t cut;

	for (cut = 0; cut < len; cut++) {
		copy = malloc(cut > 0 ? cut : 1);
		memcpy(copy, blob, cut);
		CHECK(kex_hostkey_parse(NULL, copy, cut, &key) == KW_ERR_MALFORMED,
		      "%s cut at %zu is malformed", name, cut);
		CHECK(strncmp(key.fingerprint, "SHA256:", 7) == 0 && strlen(key.fingerprint) == 50,
		      "%s cut at %zu still has a fingerprint", name, cut);
		CHECK_EQ_INT(key.bits, 0);
		free(copy);
	}
	copy = malloc(len + 1);
	memcpy(copy, blob, len);
	copy[len] = 0;
	CHECK(kex_hostkey_parse(NULL, copy, len + 1, &key) == KW_ERR_MALFORMED,
	      "%s with a trailing byte is malformed", name);
	free(copy);
}

/*
 * hostkey_same_through_memo: blob decoded with ctx twice (a miss, then the
 * memo's answer) gives what a fresh decode gives, result and key alike.
 */
static void hostkey_same_through_memo(struct kex_ctx *ctx, const char *what, const uint8_t *blob,
                                      size_t len)
{
	struct kex_hostkey fresh, first, again;
	int rf = kex_hostkey_parse(NULL, blob, len, &fresh);
	int r1 = kex_hostkey_parse(ctx, blob, len, &first);
	int r2 = kex_hostkey_parse(ctx, blob, len, &again);

	CHECK(r1 == rf && r2 == rf, "%s: %d %d through the memo, %d fresh", what, r1, r2, rf);
	CHECK(memcmp(&first, &fresh, sizeof(fresh)) == 0 &&
	          memcmp(&again, &fresh, sizeof(fresh)) == 0,
	      "%s: the same key through the memo", what);
}

/*
 * The memo of host keys never changes a result: every fixture, each of its
 * truncations, and the same blob with its last byte changed (same length,
 * another key or none) decode through it as they do fresh.
 */
static void test_hostkey_memo(void)
{
	static const char *const files[] = {"rsa3072.pub", "ed25519.pub", "ecdsa256.pub",
	                                    "ed25519-cert.pub"};
	struct kex_ctx *ctx = kex_ctx_new();
	char what[96];

	CHECK(ctx != NULL, "kex_ctx_new");
	if (ctx == NULL)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		uint8_t *blob = pub_blob(files[i], &len);

		CHECK(blob != NULL && len > 0, "%s decodes", files[i]);
		if (blob == NULL)
			continue;
		hostkey_same_through_memo(ctx, files[i], blob, len);
		for (size_t cut = 0; cut < len; cut += 7) {
			snprintf(what, sizeof(what), "%s cut at %zu", files[i], cut);
			hostkey_same_through_memo(ctx, what, blob, cut);
		}
		blob[len - 1] ^= 0x01;
		snprintf(what, sizeof(what), "%s, last byte changed", files[i]);
		hostkey_same_through_memo(ctx, what, blob, len);
		free(blob);
	}
	kex_ctx_free(ctx);
}

static void test_hostkey_fixtures(void)
{
	static const struct {
		const char *file, *type, *keygen_type;
	} keys[] = {
	    {"rsa3072.pub", "ssh-rsa", "(RSA)"},
	    {"dsa1024.pub", "ssh-dss", "(DSA)"},
	    {"ecdsa256.pub", "ecdsa-sha2-nistp256", "(ECDSA)"},
	    {"ecdsa384.pub", "ecdsa-sha2-nistp384", "(ECDSA)"},
	    {"ecdsa521.pub", "ecdsa-sha2-nistp521", "(ECDSA)"},
	    {"ed25519.pub", "ssh-ed25519", "(ED25519)"},
	    {"ed25519-cert.pub", "ssh-ed25519-cert-v01@openssh.com", "(ED25519-CERT)"},
	    {"rsa3072-cert.pub", "ssh-rsa-cert-v01@openssh.com", "(RSA-CERT)"},
	};
	char path[512];
	uint8_t *expected;
	size_t elen, i;
	int checked = 0;

	snprintf(path, sizeof(path), "%sssh-keygen-l.txt", HOSTKEYS);
	expected = tap_read_file(path, &elen);
	CHECK(expected != NULL, "%s readable", path);
	if (expected == NULL)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct kex_hostkey key;
		char line_key[600], fp[64], typ[32];
		const char *line;
		unsigned bits = 0;
		uint8_t *blob;
		size_t blen;

		/* Lines read "<file> <bits> <fingerprint> <comment> (<TYPE>)". */
		snprintf(line_key, sizeof(line_key), "%s ", keys[i].file);
		line = strstr((char *)expected, line_key);
		CHECK(line != NULL, "expected output names %s", keys[i].file);
		if (line == NULL)
			continue;
		CHECK(sscanf(line + strlen(line_key), "%u %63s", &bits, fp) == 2,
		      "expected line for %s parses", keys[i].file);
		{
			const char *eol = strchr(line, '\n');
			const char *open = eol ? eol : line + strlen(line);

			while (open > line && *open != '(')
				open--;
			snprintf(typ, sizeof(typ), "%.*s", (int)strcspn(open, "\n"), open);
		}
		CHECK_EQ_STR(typ, keys[i].keygen_type);
		blob = pub_blob(keys[i].file, &blen);
		CHECK(blob != NULL && blen > 0, "%s decodes", keys[i].file);
		if (blob == NULL)
			continue;
		CHECK_EQ_INT(kex_hostkey_parse(NULL, blob, blen, &key), KW_OK);
		CHECK_EQ_STR(key.type, keys[i].type);
		CHECK(key.bits == bits, "%s: bits %u, ssh-keygen says %u", keys[i].file, key.bits,
		      bits);
		CHECK(strcmp(key.fingerprint, fp) == 0, "%s: %s, ssh-keygen says %s", keys[i].file,
		      key.fingerprint, fp);
		test_hostkey_truncations(keys[i].file, blob, blen);
		free(blob);
		checked++;
	}
	CHECK_EQ_INT(checked, 8);
	free(expected);
}

/* Host keys in the KEX reply records (fingerprints checked with ssh-keygen -l). */
static void test_hostkey_assets(void)
{
	static const struct {
		const char *file;
		int msg;
		const char *type, *fp;
		uint32_t bits;
	} cases[] = {
	    {"kex/dh/reply.raw", 31, "ssh-ed25519",
	     "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg", 256},
	    {"kex/ecdh/reply.raw", 31, "ssh-ed25519",
	     "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg", 256},
	    {"kex/dh-kex-gex/reply.raw", 33, "ssh-ed25519",
	     "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg", 256},
	    {"kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/reply.raw", 31, "ssh-ed25519",
	     "SHA256:+dVJ7SGPEJqGBCoGTg3tWVUUFrbWhdW5KX2HxUtTsUQ", 256},
	    {"kex/kex-hybrid/ecdh-nistp384-kyber-768r3-sha384-d00/reply.raw", 31, "ssh-ed25519",
	     "SHA256:+dVJ7SGPEJqGBCoGTg3tWVUUFrbWhdW5KX2HxUtTsUQ", 256},
	    {"kex/kex-hybrid/ecdh-nistp521-kyber-1024r3-sha512-d00/reply.raw", 31, "ssh-ed25519",
	     "SHA256:+dVJ7SGPEJqGBCoGTg3tWVUUFrbWhdW5KX2HxUtTsUQ", 256},
	    /* OpenSSH 3.1's GEX reply, after its GEX group, in one file. */
	    {"server_compat.raw", 33, "ssh-rsa",
	     "SHA256:uBYqruQMTBP9p69Sqq9z5wFvMBG/M9+uu5Ienk47spY", 1024},
	};
	size_t i;
	int j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tpacket pk[8];
		struct kex_hostkey key;
		struct cursor c;
		const uint8_t *blob = NULL;
		uint32_t blen = 0;
		uint8_t *f, msg;
		int n = asset_packets(cases[i].file, &f, pk, 8), found = 0;

		for (j = 0; j < n; j++) {
			if (pk[j].msg != cases[i].msg)
				continue;
			cursor_init(&c, pk[j].payload, pk[j].payload_len);
			CHECK(cursor_get_u8(&c, &msg) == 0 &&
			          cursor_get_string(&c, 65536, &blob, &blen) == 0,
			      "%s: K_S string", cases[i].file);
			CHECK_EQ_INT(kex_hostkey_parse(NULL, blob, blen, &key), KW_OK);
			CHECK_EQ_STR(key.type, cases[i].type);
			CHECK_EQ_STR(key.fingerprint, cases[i].fp);
			CHECK_EQ_INT(key.bits, cases[i].bits);
			found = 1;
			break;
		}
		CHECK(found, "%s: message %d found", cases[i].file, cases[i].msg);
		free(f);
	}
}

/* blob_build writes an SSH blob from (string|raw) fields. */
static size_t blob_put_string(uint8_t *b, size_t off, const void *s, size_t n)
{
	b[off] = (uint8_t)(n >> 24);
	b[off + 1] = (uint8_t)(n >> 16);
	b[off + 2] = (uint8_t)(n >> 8);
	b[off + 3] = (uint8_t)n;
	memcpy(b + off + 4, s, n);
	return off + 4 + n;
}

static void test_hostkey_crafted(void)
{
	uint8_t b[512], pk[57];
	struct kex_hostkey key;
	size_t n;

	memset(pk, 0x42, sizeof(pk));

	/* sk-ssh-ed25519: pk, application (PROTOCOL.u2f). */
	n = blob_put_string(b, 0, "sk-ssh-ed25519@openssh.com", 26);
	n = blob_put_string(b, n, pk, 32);
	n = blob_put_string(b, n, "ssh:", 4);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_OK);
	CHECK_EQ_INT(key.bits, 256);
	CHECK_EQ_STR(key.type, "sk-ssh-ed25519@openssh.com");
	test_hostkey_truncations("sk-ed25519", b, n);

	/* sk-ecdsa-sha2-nistp256: curve, Q, application. */
	n = blob_put_string(b, 0, "sk-ecdsa-sha2-nistp256@openssh.com", 34);
	n = blob_put_string(b, n, "nistp256", 8);
	n = blob_put_string(b, n, pk, 57);
	n = blob_put_string(b, n, "ssh:", 4);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_OK);
	CHECK_EQ_INT(key.bits, 256);
	test_hostkey_truncations("sk-ecdsa", b, n);

	/* ecdsa with a curve identifier that contradicts its type (RFC 5656 3.1). */
	n = blob_put_string(b, 0, "ecdsa-sha2-nistp384", 19);
	n = blob_put_string(b, n, "nistp256", 8);
	n = blob_put_string(b, n, pk, 57);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_ERR_MALFORMED);

	/* ssh-ed448: 57-byte key, 456 bits. */
	n = blob_put_string(b, 0, "ssh-ed448", 9);
	n = blob_put_string(b, n, pk, 57);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_OK);
	CHECK_EQ_INT(key.bits, 456);

	/* ssh-ed25519 with a key of the wrong size. */
	n = blob_put_string(b, 0, "ssh-ed25519", 11);
	n = blob_put_string(b, n, pk, 31);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_ERR_MALFORMED);

	/* An unknown but well-formed type: fingerprint, no size. */
	n = blob_put_string(b, 0, "x509v3-ssh-rsa", 14);
	n = blob_put_string(b, n, pk, 20);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_OK);
	CHECK_EQ_STR(key.type, "x509v3-ssh-rsa");
	CHECK_EQ_INT(key.bits, 0);
	CHECK_EQ_INT(strlen(key.fingerprint), 50);

	/* Type names that cannot be key types. */
	n = blob_put_string(b, 0, "", 0);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_ERR_MALFORMED);
	n = blob_put_string(b, 0, "ssh rsa", 7);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_ERR_MALFORMED);
	n = blob_put_string(b, 0, pk, 57); /* 'B' x 57 is a fine name */
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, n, &key), KW_OK);
	memset(b, 0, 4);
	b[3] = 65;
	memset(b + 4, 'a', 65);
	CHECK_EQ_INT(kex_hostkey_parse(NULL, b, 69, &key), KW_ERR_MALFORMED);

	/* The empty blob still gets the SHA-256 of nothing. */
	CHECK_EQ_INT(kex_hostkey_parse(NULL, NULL, 0, &key), KW_ERR_MALFORMED);
	CHECK_EQ_STR(key.fingerprint, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

int main(void)
{
	test_init_block();
	test_list_has();
	test_markers();
	test_names();
	test_kexinit_crafted();
	test_namelist_words();
	test_negotiate_table();
	test_negotiate_each_category();
	test_kexinit_memo();
	test_negotiate_memo();
	test_mpint_bits();
	test_hassh_vectors();
	test_hassh_memo();
	test_hostkey_fixtures();
	test_hostkey_memo();
	test_hostkey_crafted();
	if (have_shared()) {
		test_kexinit_assets();
		test_kexinit_full_lists();
		test_negotiate_assets();
		test_hassh_record();
		test_hostkey_assets();
	} else {
		printf("# skip: %s absent, rusticata records not checked\n", ASSETS);
	}
	return tap_done();
}
