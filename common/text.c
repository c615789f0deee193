/*
 * text.c: printable text from wire bytes, addresses and capture times.
 *
 * Responsible for the three ways kexwatch turns facts into text that every
 * layer shares: wire bytes escaped to printable ASCII, an address in its
 * usual notation, a capture time in ISO 8601. Not responsible for any
 * record format (output/) or for deciding what to say (verdict/).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

char *text_escape(const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *s = malloc(n * 4 + 1), *o = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			*o++ = (char)p[i];
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 15];
		}
	}
	*o = '\0';
	return s;
}

/* put_dec writes v (< 10^width) with width digits, zero-padded. */
static char *put_dec(char *o, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		o[i] = (char)('0' + v % 10);
	return o + width;
}

void text_addr(char *buf, size_t size, int family, const uint8_t *addr)
{
	/* IPv4 by hand (inet_ntop formats it through sprintf): a.b.c.d, as it prints. */
	if (family != 6 && size >= 16) {
		char *o = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			o = put_dec(o, v, v >= 100 ? 3 : v >= 10 ? 2 : 1);
			*o++ = i < 3 ? '.' : '\0';
		}
		return;
	}
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

void text_time(char *buf, size_t size, uint64_t us)
{
	uint64_t sec = us / 1000000u, days = sec / 86400u;
	uint32_t sod = (uint32_t)(sec % 86400u);
	time_t t = (time_t)sec;
	struct tm tm;
	char base[32], *o = buf;

	/* By hand (strftime and snprintf cost more than the rest of a record's
	 * numbers): the civil date of a day count, as in H. Hinnant's
	 * days_from_civil inverse, for years up to 9999; others as before. */
	if (days < 2932897u && size >= 32) { /* 9999-12-31 */
		uint64_t z = days + 719468u, era = z / 146097u, doe = z - era * 146097u;
		uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
		unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
		unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
		unsigned y = (unsigned)(yoe + era * 400 + (m <= 2));

		o = put_dec(o, y, 4);
		*o++ = '-';
		o = put_dec(o, m, 2);
		*o++ = '-';
		o = put_dec(o, d, 2);
		*o++ = 'T';
		o = put_dec(o, sod / 3600, 2);
		*o++ = ':';
		o = put_dec(o, sod / 60 % 60, 2);
		*o++ = ':';
		o = put_dec(o, sod % 60, 2);
		*o++ = '.';
		o = put_dec(o, (unsigned)(us % 1000000u), 6);
		memcpy(o, "+0000", 6);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06u+0000", base, (unsigned)(us % 1000000u));
}

size_t text_time_again(struct text_time_last *last, uint64_t us)
{
	uint64_t sec = us / 1000000u;

	if (last->frac == 0 || sec != last->sec) {
		text_time(last->buf, sizeof(last->buf), us);
		last->len = strlen(last->buf);
		/* Both of text_time's ways end in ".uuuuuu+0000". */
		last->frac = last->len >= 12 ? last->len - 11 : 0;
		last->sec = sec;
	} else {
		(void)put_dec(last->buf + last->frac, (unsigned)(us % 1000000u), 6);
	}
	return last->len;
}
