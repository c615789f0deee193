/*
 * policy.c: which negotiated algorithms kexwatch calls weak, and why.
 *
 * Responsible for the verdict table, versioned as POLICY_VERSION (records
 * carry it, so a SIEM can tell which table judged them). Each entry cites
 * its source: RFC 9142 (key exchange), RFC 8758 (RC4), RFC 8332 and OpenSSH
 * release notes (SHA-1 signatures, DSA), and ssh-audit's algorithm database
 * (ssh_audit/ssh2_kexdb.py) for ciphers and MACs. Weak entries raise
 * weak_algorithm; legacy ones (CBC, SHA-1 HMACs) are listed by the
 * inventory only, so they change no record. docs/policy.md is this table.
 * Not responsible for deciding which diagnosis to raise (diagnose.c).
 */
#include <pthread.h>
#include <string.h>

#include "kex.h"
#include "policy.h"

#define RFC9142 "RFC 9142 section 4 (key exchange method updates)"
#define RFC8758 "RFC 8758 (deprecating RC4 in SSH)"
#define AUDIT "ssh-audit algorithm database (ssh2_kexdb.py)"
#define OSSH88 "OpenSSH 8.8 release notes: ssh-rsa (RSA/SHA-1) disabled by default"
#define OSSH70 "OpenSSH 7.0 release notes: ssh-dss disabled by default"
#define OSSH66 "OpenSSH 6.7 release notes: CBC ciphers and SHA-1/MD5 MACs off by default"
#define CBC_WHY "CBC mode: plaintext recovery (CVE-2008-5161), Terrapin with EtM MACs"
#define W POLICY_WEAK
#define L POLICY_LEGACY

static const struct policy_verdict weak_table[] = {
    {"diffie-hellman-group1-sha1", "kex", "1024-bit group and SHA-1 (MUST NOT)", RFC9142, W},
    {"diffie-hellman-group14-sha1", "kex", "SHA-1 exchange hash (SHOULD NOT)", RFC9142, W},
    {"diffie-hellman-group-exchange-sha1", "kex", "SHA-1 exchange hash (SHOULD NOT)", RFC9142, W},
    {"gss-group1-sha1-*", "kex", "1024-bit group and SHA-1 (MUST NOT)", RFC9142, W},
    {"rsa1024-sha1", "kex", "1024-bit RSA and SHA-1 (MUST NOT)", RFC9142, W},
    {"ssh-rsa", "host_key", "RSA signatures with SHA-1", OSSH88, W},
    {"ssh-rsa-cert-v01@openssh.com", "host_key", "RSA signatures with SHA-1", OSSH88, W},
    {"ssh-dss", "host_key", "DSA: 1024-bit keys and SHA-1", OSSH70, W},
    {"ssh-dss-cert-v01@openssh.com", "host_key", "DSA: 1024-bit keys and SHA-1", OSSH70, W},
    {"3des-cbc", "cipher", "64-bit block cipher (Sweet32) in CBC mode", AUDIT, W},
    {"blowfish-cbc", "cipher", "64-bit block cipher in CBC mode", AUDIT, W},
    {"cast128-cbc", "cipher", "64-bit block cipher in CBC mode", AUDIT, W},
    {"arcfour", "cipher", "RC4 (MUST NOT)", RFC8758, W},
    {"arcfour128", "cipher", "RC4 (MUST NOT)", RFC8758, W},
    {"arcfour256", "cipher", "RC4 (MUST NOT)", RFC8758, W},
    {"none", "cipher", "no encryption", "RFC 4253 section 6.3", W},
    {"des-cbc", "cipher", "56-bit key", AUDIT, W},
    {"rijndael-cbc@lysator.liu.se", "cipher", "CBC mode, non-standard alias", AUDIT, W},
    {"hmac-md5", "mac", "MD5, encrypt-and-MAC", AUDIT, W},
    {"hmac-md5-96", "mac", "MD5 truncated to 96 bits", AUDIT, W},
    {"hmac-md5-etm@openssh.com", "mac", "MD5", AUDIT, W},
    {"hmac-md5-96-etm@openssh.com", "mac", "MD5 truncated to 96 bits", AUDIT, W},
    {"hmac-sha1-96", "mac", "SHA-1 truncated to 96 bits", AUDIT, W},
    {"hmac-sha1-96-etm@openssh.com", "mac", "SHA-1 truncated to 96 bits", AUDIT, W},
    {"hmac-ripemd160", "mac", "RIPEMD-160, encrypt-and-MAC, unmaintained", AUDIT, W},
    {"hmac-ripemd160@openssh.com", "mac", "RIPEMD-160, encrypt-and-MAC, unmaintained", AUDIT, W},
    {"umac-32@openssh.com", "mac", "32-bit tag", AUDIT, W},
    {"none", "mac", "no integrity protection", "RFC 4253 section 6.4", W},
    /* Legacy: sound today, off by default in OpenSSH; the inventory lists them. */
    {"aes128-cbc", "cipher", CBC_WHY, OSSH66, L},
    {"aes192-cbc", "cipher", CBC_WHY, OSSH66, L},
    {"aes256-cbc", "cipher", CBC_WHY, OSSH66, L},
    {"hmac-sha1", "mac", "SHA-1 (HMAC still sound), encrypt-and-MAC", AUDIT, L},
    {"hmac-sha1-etm@openssh.com", "mac", "SHA-1 (HMAC still sound)", AUDIT, L},
};

#define NAME(s)                                                                                    \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}
static const struct {
	const char *name;
	size_t len;
} pq_kex[] = {
    NAME("sntrup761x25519-sha512@openssh.com"), /* OpenSSH 8.5, default in 9.0 */
    NAME("sntrup761x25519-sha512"),             /* the same, IANA name (OpenSSH 9.9) */
    NAME("mlkem768x25519-sha256"),              /* OpenSSH 9.9, default in 10.0 */
    NAME("mlkem768nistp256-sha256"),
    NAME("mlkem1024nistp384-sha384"),
};

/* name_matches: name equals pattern or, when pattern ends in '*', starts with what precedes it. */
static int name_matches(const char *pattern, const char *name)
{
	for (;; pattern++, name++) {
		if (pattern[0] == '*' && pattern[1] == '\0')
			return 1;
		if (*pattern != *name)
			return 0;
		if (*pattern == '\0')
			return 1;
	}
}

const struct policy_verdict *policy_lookup(const struct policy_verdict *t, size_t n,
                                           const char *category, const char *algorithm)
{
	for (size_t i = 0; i < n; i++) {
		const struct policy_verdict *v = &t[i];

		/* The first character rules out most entries without a call. */
		if (v->algorithm[0] != algorithm[0] && v->algorithm[0] != '*')
			continue;
		if (strcmp(v->category, category) == 0 && name_matches(v->algorithm, algorithm))
			return v;
	}
	return NULL;
}

const struct policy_verdict *policy_weak(const char *category, const char *algorithm)
{
	const struct policy_verdict *v = policy_lookup(
	    weak_table, sizeof(weak_table) / sizeof(weak_table[0]), category, algorithm);

	return v != NULL && v->level == POLICY_WEAK ? v : NULL;
}

/*
 * The table by negotiated category, for policy_weak_cat: for each KEX_CAT_*
 * the entries of its kex_cat_group, exact names in buckets by length and
 * prefixes ('*') apart, in table order, as indices into weak_table with
 * each name's length (of the part before '*' for a prefix). Built once
 * from weak_table and kex_cat_group, so none of them can disagree. A
 * negotiated algorithm is then compared with the one or two entries of its
 * category and length instead of the whole table.
 */
#define POLICY_BUCKETS 16 /* by length mod 16 */
#define POLICY_TABLE_LEN (sizeof(weak_table) / sizeof(weak_table[0]))
_Static_assert(POLICY_TABLE_LEN < 256, "entries are kept as uint8_t indices");

static uint8_t by_len[KEX_NCATS][POLICY_BUCKETS][POLICY_TABLE_LEN];
static uint8_t by_len_n[KEX_NCATS][POLICY_BUCKETS];
static uint8_t prefixes[KEX_NCATS][POLICY_TABLE_LEN];
static uint8_t prefixes_n[KEX_NCATS];
static size_t name_len[POLICY_TABLE_LEN];
static pthread_once_t by_cat_once = PTHREAD_ONCE_INIT;

static void by_cat_build(void)
{
	for (uint8_t i = 0; i < POLICY_TABLE_LEN; i++) {
		const char *alg = weak_table[i].algorithm;
		size_t len = strlen(alg);
		int prefix = len > 0 && alg[len - 1] == '*';

		name_len[i] = prefix ? len - 1 : len;
		for (int cat = 0; cat < KEX_NCATS; cat++) {
			if (strcmp(weak_table[i].category, kex_cat_group(cat)) != 0)
				continue;
			if (prefix)
				prefixes[cat][prefixes_n[cat]++] = i;
			else
				by_len[cat][len % POLICY_BUCKETS]
				      [by_len_n[cat][len % POLICY_BUCKETS]++] = i;
		}
	}
}

const struct policy_verdict *policy_weak_cat(int cat, const char *algorithm, size_t len)
{
	const uint8_t *l;
	int found = -1;

	if (cat < 0 || cat >= KEX_NCATS)
		return NULL;
	pthread_once(&by_cat_once, by_cat_build);
	l = by_len[cat][len % POLICY_BUCKETS];
	for (uint8_t i = 0; i < by_len_n[cat][len % POLICY_BUCKETS]; i++)
		if (name_len[l[i]] == len &&
		    memcmp(weak_table[l[i]].algorithm, algorithm, len) == 0) {
			found = l[i];
			break;
		}
	/* A prefix entry before it in the table comes first, as in policy_lookup. */
	l = prefixes[cat];
	for (uint8_t i = 0; i < prefixes_n[cat] && (found < 0 || l[i] < found); i++)
		if (len >= name_len[l[i]] &&
		    memcmp(weak_table[l[i]].algorithm, algorithm, name_len[l[i]]) == 0) {
			found = l[i];
			break;
		}
	return found >= 0 && weak_table[found].level == POLICY_WEAK ? &weak_table[found] : NULL;
}

const struct policy_verdict *policy_table(size_t *n)
{
	*n = sizeof(weak_table) / sizeof(weak_table[0]);
	return weak_table;
}

const char *policy_level_name(enum policy_level l)
{
	return l == POLICY_LEGACY ? "legacy" : "weak";
}

int policy_level_by_name(const char *name)
{
	if (strcmp(name, "weak") == 0)
		return POLICY_WEAK;
	if (strcmp(name, "legacy") == 0)
		return POLICY_LEGACY;
	return -1;
}

int policy_is_pq_kex(const char *kex)
{
	size_t n = strlen(kex);

	/* The length first: most names are ruled out without reading them. */
	for (size_t i = 0; i < sizeof(pq_kex) / sizeof(pq_kex[0]); i++)
		if (pq_kex[i].len == n && memcmp(pq_kex[i].name, kex, n) == 0)
			return 1;
	return 0;
}

int policy_is_cbc(const char *cipher)
{
	static const char rijndael[] = "rijndael-cbc@lysator.liu.se";
	size_t n = strlen(cipher);

	return (n > 4 && memcmp(cipher + n - 4, "-cbc", 4) == 0) ||
	       (n == sizeof(rijndael) - 1 && memcmp(cipher, rijndael, n) == 0);
}

int policy_is_etm(const char *mac)
{
	return strstr(mac, "-etm@openssh.com") != NULL;
}
