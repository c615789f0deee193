/*
 * flowid.c: the Community ID v1 and the stable flow_id (flowid.h).
 *
 * Responsible for the exact bytes each key hashes, so that records join
 * with Suricata's and Zeek's (community_id) and with kexwatch's own records
 * of the same connection read again (flow_id). Not responsible for where the
 * record writes them (output/record.c).
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "flowid.h"

/*
 * OpenSSL 3 looks an algorithm up on every use of EVP_sha1(): the two
 * digests are fetched once for the process. A fetched EVP_MD is immutable,
 * so every thread may use it. EVP_Digest also makes and frees a context,
 * and the provider's state in it, on every call (a third of the cost of a
 * record's two hashes): each thread keeps one context instead, which
 * EVP_DigestInit_ex2 resets in place for the same digest, freed when the
 * thread ends.
 */
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static int md_key_ok;

static void md_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_key_ok = pthread_key_create(&md_key, md_ctx_free) == 0;
}

static const EVP_MD *md_get(int sha256)
{
	pthread_once(&md_once, md_fetch);
	if (sha256)
		return md_sha256 != NULL ? md_sha256 : EVP_sha256();
	return md_sha1 != NULL ? md_sha1 : EVP_sha1();
}

/* digest: md of p[0..n) into out with this thread's context; 1 on success. */
static int digest(const void *p, size_t n, uint8_t *out, unsigned int *outlen, int sha256)
{
	const EVP_MD *md = md_get(sha256);
	EVP_MD_CTX *ctx = md_key_ok ? pthread_getspecific(md_key) : NULL;

	if (ctx == NULL) {
		if (!md_key_ok || (ctx = EVP_MD_CTX_new()) == NULL)
			return EVP_Digest(p, n, out, outlen, md, NULL);
		if (pthread_setspecific(md_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			return EVP_Digest(p, n, out, outlen, md, NULL);
		}
	}
	return EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, p, n) == 1 &&
	       EVP_DigestFinal_ex(ctx, out, outlen) == 1;
}

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/*
 * tuple writes the 5-tuple as the Community ID orders it: the endpoint
 * whose address (then port) is lower first. Returns the bytes written.
 */
static size_t tuple(uint8_t *p, const struct addr_pair *key, uint8_t proto)
{
	size_t alen = key->family == 6 ? 16 : 4, n = 0;
	int c = memcmp(key->src, key->dst, alen);
	int swap = c > 0 || (c == 0 && key->sport > key->dport);
	const uint8_t *a = swap ? key->dst : key->src, *b = swap ? key->src : key->dst;

	memcpy(p + n, a, alen);
	n += alen;
	memcpy(p + n, b, alen);
	n += alen;
	p[n++] = proto;
	p[n++] = 0;
	n += put16(p + n, swap ? key->dport : key->sport);
	n += put16(p + n, swap ? key->sport : key->dport);
	return n;
}

int community_id_v1(const struct addr_pair *key, uint8_t proto, uint16_t seed,
                    char out[COMMUNITY_ID_SIZE])
{
	uint8_t buf[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = put16(buf, seed);

	n += tuple(buf + n, key, proto);
	out[0] = '\0';
	if (!digest(buf, n, md, &mdlen, 0) || mdlen != 20)
		return -1;
	memcpy(out, "1:", 2);
	/* 20 bytes are 28 base64 characters with one '=' of padding. */
	EVP_EncodeBlock((unsigned char *)out + 2, md, 20);
	return 0;
}

uint64_t flow_id_stable(const char *sensor, uint64_t t_first_us, const struct addr_pair *key,
                        uint8_t proto)
{
	static const char domain[] = "kexwatch flow_id v1";
	uint8_t buf[512], md[EVP_MAX_MD_SIZE];
	size_t slen = sensor != NULL ? strlen(sensor) : 0, n = 0;
	unsigned int mdlen = 0;
	uint64_t id = 0;

	if (slen > 255)
		slen = 255;                  /* a host name is at most 253 */
	memcpy(buf, domain, sizeof(domain)); /* with its NUL */
	n += sizeof(domain);
	buf[n++] = (uint8_t)slen;
	if (slen > 0)
		memcpy(buf + n, sensor, slen);
	n += slen;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(t_first_us >> (8 * i));
	n += tuple(buf + n, key, proto);
	if (!digest(buf, n, md, &mdlen, 1) || mdlen < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | md[i];
	id &= (UINT64_C(1) << FLOW_ID_BITS) - 1;
	return id != 0 ? id : 1;
}
