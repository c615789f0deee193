/*
 * text.h: printable text from wire bytes, addresses and capture times
 * (shared by verdict/ and output/; libc only).
 */
#ifndef KW_TEXT_H
#define KW_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * text_escape writes n wire bytes as printable ASCII: bytes 0x20-0x7e
 * stay, except '\\', and everything else becomes \xHH. Returns a malloc'd
 * NUL-terminated string (NULL on allocation failure).
 */
char *text_escape(const uint8_t *p, size_t n);

/* text_addr formats a 16-byte address of family 4 or 6 ("?" if it cannot). */
void text_addr(char *buf, size_t size, int family, const uint8_t *addr);

/* text_time formats a capture time (microseconds since the epoch) as
 * ISO 8601 UTC with microseconds: 2026-12-02T02:12:00.000000+0000. */
void text_time(char *buf, size_t size, uint64_t us);

/* The last text_time_again wrote, kept by its caller (zeroed to start). */
struct text_time_last {
	uint64_t sec;
	size_t len, frac; /* frac: where the microseconds are; 0: nothing kept */
	char buf[48];
};

/*
 * text_time_again: text_time's text of us in last->buf; returns its length
 * (last->len). Times in the same second as the last call's, as records in
 * capture order mostly are, change only the microseconds.
 */
size_t text_time_again(struct text_time_last *last, uint64_t us);

#endif
