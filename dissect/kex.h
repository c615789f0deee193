/*
 * kex.h: the algorithm side of an SSH handshake.
 *
 * Parses KEXINIT payloads (RFC 4253 section 7.1), negotiates as OpenSSH does
 * (kex.c: the first client algorithm the server also offers, per category and
 * direction; pseudo-algorithms never chosen; MAC "<implicit>" under an AEAD
 * cipher), computes HASSH and HASSHServer (salesforce/hassh: MD5 of
 * "kex;enc;mac;cmp", lower-case hex), and decodes host-key blobs into type,
 * bits and the SHA256 fingerprint ssh-keygen -l prints. Not responsible for
 * framing (ssh.c) or for judging algorithms (verdict/policy.c).
 */
#ifndef KW_KEX_H
#define KW_KEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flowmem.h"

/* The ten name-lists of SSH_MSG_KEXINIT, in wire order (RFC 4253 7.1). */
enum kex_list {
	KEX_ALGS,
	KEX_HOSTKEY,
	KEX_ENC_C2S,
	KEX_ENC_S2C,
	KEX_MAC_C2S,
	KEX_MAC_S2C,
	KEX_COMP_C2S,
	KEX_COMP_S2C,
	KEX_LANG_C2S,
	KEX_LANG_S2C,
	KEX_NLISTS
};

/* Algorithm names are at most 64 characters (RFC 4251 section 6). */
#define KEX_NAME_MAX 64

struct kex_init {
	uint8_t cookie[16];
	char *list[KEX_NLISTS]; /* NUL-terminated copies in one allocation that
	                         * list[0] owns, in order; "" when empty */
	uint32_t list_len[KEX_NLISTS];
	uint8_t first_kex_follows;
	uint32_t reserved;   /* the trailing uint32, should be 0 */
	uint32_t packet_len; /* packet_length of the carrying packet */
	uint32_t anomalies;  /* KEX_ANOM_* */
	uint8_t markers;     /* KEX_MARK_* of list[KEX_ALGS] (kex_init_markers) */
	uint8_t in_flowmem;  /* the lists belong to a flowmem, not to list[0] */
};

#define KEX_ANOM_RESERVED_NONZERO 0x01u /* reserved field is not 0 */
#define KEX_ANOM_BAD_NAME 0x02u         /* empty name, over-long name, control byte */
#define KEX_ANOM_TRAILING 0x04u         /* bytes after the reserved field */

/*
 * The digest state of one packet loop: MD5 and SHA-256 fetched from
 * libcrypto once, a digest context of each to reuse, and memos of recent
 * HASSH strings, KEXINIT name-lists (kex_init_parse_in), negotiations
 * (kex_negotiate) and host keys (kex_hostkey_parse). The functions that take one accept NULL
 * (slower: a digest context per call, no memo; same results). Not thread-safe: one per thread, so
 * packet loops in one process never share it.
 */
struct kex_ctx;

/*
 * kex_init_parse parses a KEXINIT payload: p points at the message number
 * byte (20), n bytes long (padding excluded). Name-lists longer than
 * namelist_max give KW_ERR_LIMIT. On success *out owns its copies: release
 * them with kex_init_free. On failure *out is zeroed and owns nothing.
 * Returns 0, KW_ERR_MALFORMED, KW_ERR_LIMIT or KW_ERR_NOMEM.
 */
int kex_init_parse(const uint8_t *p, size_t n, uint32_t namelist_max, struct kex_init *out);
/*
 * kex_init_parse_in: kex_init_parse with the lists' copy taken from mem
 * (mem owns it: kex_init_free then only zeroes *out; NULL: malloc, as
 * kex_init_parse), and what the lists are worth (KEX_ANOM_BAD_NAME, the
 * markers) recalled from ctx's memo of recent lists when it holds them
 * (NULL: checked every time; same result either way).
 */
int kex_init_parse_in(struct kex_ctx *ctx, const uint8_t *p, size_t n, uint32_t namelist_max,
                      struct flowmem *mem, struct kex_init *out);
void kex_init_free(struct kex_init *k);
/*
 * kex_init_is_equal: a and b hold the same facts: cookie, lists (their
 * bytes, not where they are), guess, reserved field, anomalies and markers
 * (packet_len aside). For tests: a parse through the memo against a fresh
 * one.
 */
int kex_init_is_equal(const struct kex_init *a, const struct kex_init *b);

/*
 * kex_init_block: the bytes from list[0] to the NUL of list[n - 1] (n of
 * KEX_NLISTS), as one block: its length, and *p its start. The lists lie in
 * one allocation, in order (struct kex_init), so the block may be read
 * whole; 0 when they do not lie in order (a hand-built kex_init that
 * breaks that rule), and then each list may only be read alone.
 */
size_t kex_init_block(const struct kex_init *k, int n, const char **p);

/*
 * kex_list_has reports whether a comma-separated list names exactly alg
 * (whole elements only: "aes128-ctr" is not in "aes128-ctr2"). NULL list or
 * alg: 0.
 */
int kex_list_has(const char *list, const char *alg);

/* Capability markers in a kex list, never chosen as algorithms. */
#define KEX_MARK_EXT_INFO_C 0x01u /* ext-info-c (RFC 8308 2.1): sent by clients */
#define KEX_MARK_EXT_INFO_S 0x02u /* ext-info-s: sent by servers */
#define KEX_MARK_STRICT_C 0x04u   /* kex-strict-c-v00@openssh.com (OpenSSH PROTOCOL 1.10) */
#define KEX_MARK_STRICT_S 0x08u   /* kex-strict-s-v00@openssh.com */

/* kex_init_markers: the KEX_MARK_* bits of k's kex list, in one pass; 0 for NULL. */
unsigned kex_init_markers(const struct kex_init *k);

/* Categories negotiated, in the order reported when none match. */
enum kex_cat {
	KEX_CAT_KEX,
	KEX_CAT_HOSTKEY,
	KEX_CAT_ENC_C2S,
	KEX_CAT_ENC_S2C,
	KEX_CAT_MAC_C2S,
	KEX_CAT_MAC_S2C,
	KEX_CAT_COMP_C2S,
	KEX_CAT_COMP_S2C,
	KEX_NCATS
};

struct kex_negotiated {
	char alg[KEX_NCATS][KEX_NAME_MAX + 1]; /* "" where nothing matched */
	int failed_cat;                        /* first category with no match, or -1 */
	uint8_t strict_kex;  /* kex-strict-c-v00 and kex-strict-s-v00 both offered */
	uint8_t ext_info_c;  /* client offered ext-info-c */
	uint8_t ext_info_s;  /* server offered ext-info-s */
	uint8_t guess_wrong; /* a first_kex_packet_follows guess that must be ignored */
};

/*
 * kex_negotiate computes what both sides agree on, following OpenSSH's
 * kex_choose_conf. Never fails: categories without a match are "" and
 * failed_cat names the first one. It reads list, list_len and markers,
 * which kex_init_parse sets (a hand-built kex_init sets markers with
 * kex_init_markers), KEX_ANOM_BAD_NAME and the client's
 * first_kex_follows. ctx (or NULL) recalls recent negotiations of the
 * same two offers: same result, fewer instructions.
 */
void kex_negotiate(struct kex_ctx *ctx, const struct kex_init *client,
                   const struct kex_init *server, struct kex_negotiated *out);

/* kex_cat_list: the KEXINIT name-list (KEX_ALGS ...) a category (KEX_CAT_*, 0 to KEX_NCATS - 1) is
 * negotiated from. */
int kex_cat_list(int cat);

/* kex_cat_group: "kex", "host_key", "cipher", "mac" or "compression" (both directions alike). */
const char *kex_cat_group(int cat);

/*
 * kex_neg_is_repeat: a server-to-client category that agreed on its
 * client-to-server algorithm. Inline: the record and the diagnoses ask it
 * of every category of every connection, and most are ruled out by cat.
 */
static inline int kex_neg_is_repeat(const struct kex_negotiated *n, int cat)
{
	return (cat == KEX_CAT_ENC_S2C || cat == KEX_CAT_MAC_S2C || cat == KEX_CAT_COMP_S2C) &&
	       strcmp(n->alg[cat], n->alg[cat - 1]) == 0;
}

/* kex_cat_name gives "kex", "host_key", "cipher_c2s", ... for a category. */
const char *kex_cat_name(int cat);
/* kex_cipher_is_aead: chacha20-poly1305@openssh.com and the AES-GCM ciphers. */
int kex_cipher_is_aead(const char *cipher);
/* kex_is_gex: a diffie-hellman-group-exchange-* method. */
int kex_is_gex(const char *kex);

/* kex_ctx_new: a digest state for one thread; NULL when out of memory. */
struct kex_ctx *kex_ctx_new(void);
/* kex_ctx_free releases ctx (NULL: nothing). */
void kex_ctx_free(struct kex_ctx *ctx);

/*
 * kex_hassh computes HASSH (server == 0, from the client's lists) or
 * HASSHServer (server == 1) with ctx (or NULL). hash gets 32 lower-case hex
 * digits and a NUL. *str gets the malloc'd algorithm string the hash is
 * taken over (caller frees). Returns 0 or KW_ERR_NOMEM (or KW_ERR_BUG if
 * libcrypto cannot compute MD5, e.g. a FIPS-only provider); on error *str
 * is NULL and hash "".
 */
int kex_hassh(struct kex_ctx *ctx, const struct kex_init *k, int server, char hash[33], char **str);
/* kex_hassh_len: the bytes of either role's HASSH string of k, its NUL included. */
size_t kex_hassh_len(const struct kex_init *k);
/*
 * kex_hassh_into: kex_hassh writing the string into buf of cap bytes
 * (kex_hassh_len(k) is enough for either role). KW_ERR_LIMIT when it does
 * not fit; on error buf holds "" and hash "".
 */
int kex_hassh_into(struct kex_ctx *ctx, const struct kex_init *k, int server, char hash[33],
                   char *buf, size_t cap);
/*
 * kex_md5_hex hashes n bytes of s directly (the HASSH test vectors) with
 * ctx (or NULL): 32 lower-case hex digits and a NUL, or "" if libcrypto
 * fails.
 */
void kex_md5_hex(struct kex_ctx *ctx, const char *s, size_t n, char hash[33]);

struct kex_hostkey {
	char type[KEX_NAME_MAX + 1]; /* the blob's own type string */
	uint32_t bits;               /* 0 when unknown */
	char fingerprint[7 + 44];    /* "SHA256:" + base64 without padding */
	/* For a certificate, the hash of the whole certificate blob (what Zeek
	 * logs); "" for a plain key, whose fingerprint already is that. */
	char cert_fingerprint[7 + 44];
};

/*
 * kex_hostkey_parse decodes a public host-key blob (RFC 4253 6.6; RFC 5656;
 * RFC 8709; OpenSSH PROTOCOL.certkeys, PROTOCOL.u2f). The fingerprint is the
 * one ssh-keygen -l and ssh -v print: for a plain key, SHA-256 of the whole
 * blob; for a *-cert-v01@openssh.com certificate, SHA-256 of the certified
 * plain key (string base type + key fields), as OpenSSH fingerprints
 * certificates (sshkey_fingerprint_raw serializes them "force_plain").
 * A well-formed blob of a type not known here gives its type, bits 0 and
 * returns 0. ctx: the thread's digest state, or NULL; with one, a blob seen
 * recently is recalled from its memo of decoded keys. Returns 0, or
 * KW_ERR_MALFORMED when the blob cannot be a key (the fingerprint of the
 * whole blob is still filled in, and type when it could be read), or
 * KW_ERR_NOMEM/KW_ERR_BUG when libcrypto fails.
 */
int kex_hostkey_parse(struct kex_ctx *ctx, const uint8_t *blob, size_t n, struct kex_hostkey *out);

/*
 * kex_hostkey_v1 fingerprints an SSH-1 RSA host key (SMSG_PUBLIC_KEY) as
 * OpenSSH did for "rsa1" keys: SHA-256 of the modulus bytes then the
 * exponent bytes, without leading zeros. Type "rsa1", bits of the modulus.
 * ctx: the thread's digest state, or NULL. Returns 0, or KW_ERR_NOMEM or
 * KW_ERR_BUG when libcrypto fails.
 */
int kex_hostkey_v1(struct kex_ctx *ctx, const uint8_t *e, size_t elen, const uint8_t *n,
                   size_t nlen, struct kex_hostkey *out);

/* kex_mpint_bits counts the significant bits of an RFC 4251 mpint body. */
uint32_t kex_mpint_bits(const uint8_t *p, size_t n);

#endif
