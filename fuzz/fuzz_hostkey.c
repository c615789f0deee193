/*
 * fuzz_hostkey.c: host-key blob decoding (plain keys, certificates, FIDO).
 *
 * Input: a public host-key blob as a KEX reply carries it. Checks that the
 * outputs are always NUL-terminated strings within their arrays, and that a
 * fingerprint, when given, has the "SHA256:" form; kex_mpint_bits runs on
 * the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "kex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kex_hostkey k;
	uint8_t *p = malloc(size);
	int r;

	if (p == NULL && size > 0)
		return 0;
	if (size > 0)
		memcpy(p, data, size);
	memset(&k, 0xa5, sizeof(k)); /* the parser must set every output */
	r = kex_hostkey_parse(NULL, p, size, &k);
	if (r == KW_OK || r == KW_ERR_MALFORMED) {
		if (memchr(k.type, 0, sizeof(k.type)) == NULL ||
		    memchr(k.fingerprint, 0, sizeof(k.fingerprint)) == NULL) {
			fprintf(stderr, "fuzz_hostkey: output not terminated (r=%d)\n", r);
			abort();
		}
		if (strncmp(k.fingerprint, "SHA256:", 7) != 0 || strlen(k.fingerprint) != 50) {
			fprintf(stderr, "fuzz_hostkey: bad fingerprint '%s' (r=%d)\n",
			        k.fingerprint, r);
			abort();
		}
	}
	(void)kex_mpint_bits(p, size);
	free(p);
	return 0;
}
