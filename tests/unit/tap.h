/*
 * tap.h: a minimal test harness for the unit tests. Each check prints
 * "ok N" or "not ok N - what", and tap_done() returns the exit status
 * (1 if any check failed). tap_skip_all() exits 77, which ctest reports as
 * skipped.
 */
#ifndef KW_TAP_H
#define KW_TAP_H

#include <stddef.h>
#include <stdint.h>

void tap_check(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tap_done(void);
void tap_skip_all(const char *why) __attribute__((noreturn));
/* tap_read_file reads a whole file into a malloc'd buffer (NULL on error). */
uint8_t *tap_read_file(const char *path, size_t *len);

#define CHECK(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Each argument is evaluated once. */
#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                        \
		tap_check(tap_a_ == tap_b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b, \
		          tap_a_, tap_b_);                                                         \
	} while (0)
#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *tap_a_ = (a), *tap_b_ = (b);                                           \
		tap_check(tap_a_ != NULL && tap_b_ != NULL && strcmp(tap_a_, tap_b_) == 0,         \
		          __FILE__, __LINE__, "%s == %s (\"%s\" vs \"%s\")", #a, #b,               \
		          tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)");                 \
	} while (0)

#endif
