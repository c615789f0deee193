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
#include <string.h>

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

static const char *const pq_kex[] = {
    "sntrup761x25519-sha512@openssh.com", /* OpenSSH 8.5, default in 9.0 */
    "sntrup761x25519-sha512",             /* the same, IANA name (OpenSSH 9.9) */
    "mlkem768x25519-sha256",              /* OpenSSH 9.9, default in 10.0 */
    "mlkem768nistp256-sha256",
    "mlkem1024nistp384-sha384",
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
	for (size_t i = 0; i < sizeof(pq_kex) / sizeof(pq_kex[0]); i++)
		if (strcmp(pq_kex[i], kex) == 0)
			return 1;
	return 0;
}

int policy_is_cbc(const char *cipher)
{
	size_t n = strlen(cipher);

	return (n > 4 && strcmp(cipher + n - 4, "-cbc") == 0) ||
	       strcmp(cipher, "rijndael-cbc@lysator.liu.se") == 0;
}

int policy_is_etm(const char *mac)
{
	return strstr(mac, "-etm@openssh.com") != NULL;
}
