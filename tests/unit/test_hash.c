/*
 * test_hash.c: unit.hash — the keyed hash (common/hash.h). Reference
 * values from a separate implementation cover every code path; every
 * length and every changed byte give another value; the result does not
 * depend on the alignment of the bytes; a fixed key gives the same value
 * every time and a changed key or a changed bit gives another; sequential
 * ports fill the buckets; and two processes draw different random keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hash.h"
#include "tap.h"

/*
 * hash_bytes of the first n bytes of 00 01 02 ... under ref_key, computed
 * by a separate implementation of the construction: every code path
 * (under 4 bytes, 4..8, 9..16, the 16-byte loop, the 48-byte lanes) and
 * the same values on every build and byte order.
 */
static const struct hash_key ref_key = {
    {0x0706050403020101ull, 0x0f0e0d0c0b0a0909ull, 0x1716151413121111ull, 0x1f1e1d1c1b1a1919ull}};
static const size_t ref_len[] = {0,  1,  2,  3,  4,  5,  7,  8,  9,  15, 16, 17,
                                 31, 32, 33, 40, 47, 48, 49, 95, 96, 97, 100};
static const uint64_t ref_hash[] = {
    0xd5750c6e49800343ull, 0xa43febfca0ab708full, 0x7e35f347306e8905ull, 0xb1c115b74db1606aull,
    0xdcd39258fb60d87aull, 0x5b70b67666f593a0ull, 0xdf3370669bca7d26ull, 0x0c222a32a3e8bdcdull,
    0x56f2dde140014fc0ull, 0xd1dad6f4d397d68aull, 0xdddcf0b0250ebdc1ull, 0x18d4c4f49a1a92faull,
    0xaa436684be4231a0ull, 0x1cdf166971616603ull, 0x10c8c02b5fde8015ull, 0x20883bfa0017522eull,
    0x590977a146fd8faeull, 0x937ece526e9509adull, 0x31434545d2f73f3aull, 0xf92d5427d65a4293ull,
    0x502100197bc2450dull, 0xad8a4268bc2e03b8ull, 0x4b9acd6d07593646ull,
};

static void test_vectors(void)
{
	uint8_t msg[128];
	int bad = 0;

	for (int i = 0; i < 128; i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(ref_len) / sizeof(ref_len[0]); i++)
		bad += hash_bytes(&ref_key, msg, ref_len[i]) != ref_hash[i];
	CHECK(bad == 0, "%zu reference values (%d differ)", sizeof(ref_len) / sizeof(ref_len[0]),
	      bad);
	CHECK(hash_bytes(&ref_key, NULL, 0) == ref_hash[0],
	      "NULL with length 0 is the empty input");
}

/* Every length and every single-byte change gives a different value. */
static void test_changes(void)
{
	enum { LEN = 200 };
	static uint64_t seen[LEN + 1];
	uint8_t zero[LEN] = {0}, buf[LEN];
	int dup = 0, same = 0;

	for (size_t n = 0; n <= LEN; n++) {
		seen[n] = hash_bytes(&ref_key, zero, n);
		for (size_t m = 0; m < n; m++)
			dup += seen[m] == seen[n];
	}
	CHECK(dup == 0, "runs of 0..%d zero bytes: all different (%d equal)", LEN, dup);
	for (size_t n = 1; n <= LEN; n += n < 20 ? 1 : 7)
		for (size_t i = 0; i < n; i++) {
			memset(buf, 0, n);
			buf[i] = 0x80;
			same += hash_bytes(&ref_key, buf, n) == seen[n];
		}
	CHECK(same == 0, "a changed byte anywhere, at any length, changes the value (%d did not)",
	      same);
}

static void test_alignment(void)
{
	uint8_t buf[80], msg[64];
	int bad = 0;

	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (size_t off = 1; off < 8; off++) {
		memcpy(buf + off, msg, sizeof(msg));
		for (size_t n = 0; n <= sizeof(msg); n++)
			bad += hash_bytes(&ref_key, buf + off, n) != hash_bytes(&ref_key, msg, n);
	}
	CHECK(bad == 0, "same value at every alignment (%d differ)", bad);
}

static void test_keys(void)
{
	struct hash_key fixed = {{12345, 67891, 3, 5}}, got, other = {{12345, 67893, 3, 5}};
	uint8_t a[40] = {1, 2, 3}, b[40];
	int same = 0, buckets[64] = {0}, empty = 0;

	hash_key_fix(&fixed);
	hash_key_get(&got);
	CHECK(memcmp(&got, &fixed, sizeof(got)) == 0, "hash_key_fix: hash_key_get returns it");
	CHECK(hash_bytes(&got, a, sizeof(a)) == hash_bytes(&fixed, a, sizeof(a)),
	      "a fixed key gives the same value");
	CHECK(hash_bytes(&other, a, sizeof(a)) != hash_bytes(&fixed, a, sizeof(a)),
	      "one bit of key changes the value");
	/* Every single-bit change of a 40-byte key (an address pair) changes the value. */
	for (size_t bit = 0; bit < sizeof(a) * 8; bit++) {
		memcpy(b, a, sizeof(a));
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		same += hash_bytes(&fixed, b, sizeof(b)) == hash_bytes(&fixed, a, sizeof(a));
	}
	CHECK(same == 0, "each of 320 one-bit changes changes the value (%d did not)", same);
	/* Sequential ports spread over 64 buckets (a weak hash puts them in a few). */
	for (uint32_t port = 0; port < 64 * 32; port++) {
		memcpy(b, a, sizeof(a));
		b[36] = (uint8_t)(port >> 8);
		b[37] = (uint8_t)port;
		buckets[hash_bytes(&fixed, b, sizeof(b)) & 63]++;
	}
	for (int i = 0; i < 64; i++)
		empty += buckets[i] < 8;
	CHECK(empty == 0, "2048 sequential ports fill 64 buckets (%d nearly empty)", empty);
}

/* Two processes draw their keys apart: a child reports its key through a pipe. */
static void test_random(void)
{
	struct hash_key k[2];
	int fd[2], status = 0;
	pid_t pid;

	if (pipe(fd) != 0 || (pid = fork()) < 0) {
		CHECK(0, "pipe and fork");
		return;
	}
	if (pid == 0) {
		struct hash_key mine;
		hash_key_get(&mine);
		_exit(write(fd[1], &mine, sizeof(mine)) == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	close(fd[1]);
	CHECK(read(fd[0], &k[0], sizeof(k[0])) == (ssize_t)sizeof(k[0]), "first child's key");
	waitpid(pid, &status, 0);
	close(fd[0]);
	if (pipe(fd) != 0 || (pid = fork()) < 0) {
		CHECK(0, "pipe and fork");
		return;
	}
	if (pid == 0) {
		struct hash_key mine;
		hash_key_get(&mine);
		_exit(write(fd[1], &mine, sizeof(mine)) == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	close(fd[1]);
	CHECK(read(fd[0], &k[1], sizeof(k[1])) == (ssize_t)sizeof(k[1]), "second child's key");
	waitpid(pid, &status, 0);
	close(fd[0]);
	CHECK(memcmp(&k[0], &k[1], sizeof(k[0])) != 0, "two processes, two random keys");
	CHECK((k[0].k[0] & k[0].k[1] & k[0].k[2] & k[0].k[3] & 1) == 1, "key words are odd");
}

int main(void)
{
	test_random(); /* first: the children must draw their own key, not inherit a fixed one */
	test_vectors();
	test_changes();
	test_alignment();
	test_keys();
	return tap_done();
}
