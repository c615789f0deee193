/*
 * test_hash.c: unit.hash — the keyed hash (common/hash.h). The SipHash
 * code gives the published SipHash-2-4 vectors and the SipHash-1-3 ones
 * (key 00..0f, messages 00, 00 01, ...); the result does not depend on
 * the alignment of the bytes; a fixed key gives the same value every
 * time and a changed key or a changed bit gives another; and two
 * processes draw different random keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hash.h"
#include "tap.h"

/* github.com/veorq/SipHash vectors.h, vectors_sip64: SipHash-2-4. */
static const uint64_t sip24[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

/* SipHash-1-3, same key and messages, from an independent implementation. */
static const uint64_t sip13[17] = {
    0xabac0158050fc4dcull, 0xc9f49bf37d57ca93ull, 0x82cb9b024dc7d44dull, 0x8bf80ab8e7ddf7fbull,
    0xcf75576088d38328ull, 0xdef9d52f49533b67ull, 0xc50d2b50c59f22a7ull, 0xd3927d989bb11140ull,
    0x369095118d299a8eull, 0x25a48eb36c063de4ull, 0x79de85ee92ff097full, 0x70c118c1f94dc352ull,
    0x78a384b157b4d9a2ull, 0x306f760c1229ffa7ull, 0x605aa111c0f95d34ull, 0xd320d86d2a519956ull,
    0xcc4fdd1a7d908b66ull,
};

static const struct hash_key ref_key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

static void test_vectors(void)
{
	uint8_t msg[64];
	int bad24 = 0, bad13 = 0;

	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		bad24 += hash_siphash24(&ref_key, msg, (size_t)i) != sip24[i];
	for (int i = 0; i < 17; i++)
		bad13 += hash_bytes(&ref_key, msg, (size_t)i) != sip13[i];
	CHECK(bad24 == 0, "SipHash-2-4: the 64 reference vectors (%d differ)", bad24);
	CHECK(bad13 == 0, "SipHash-1-3: 17 vectors (%d differ)", bad13);
	CHECK(hash_bytes(&ref_key, NULL, 0) == sip13[0], "NULL with length 0 is the empty message");
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
	struct hash_key fixed = {12345, 67890}, got, other = {12345, 67891};
	uint8_t a[40] = {1, 2, 3}, b[40];
	int same = 0, buckets[64] = {0}, empty = 0;

	hash_key_fix(&fixed);
	hash_key_get(&got);
	CHECK(got.k0 == fixed.k0 && got.k1 == fixed.k1, "hash_key_fix: hash_key_get returns it");
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
	CHECK(k[0].k0 != k[1].k0 || k[0].k1 != k[1].k1, "two processes, two random keys");
}

int main(void)
{
	test_random(); /* first: the children must draw their own key, not inherit a fixed one */
	test_vectors();
	test_alignment();
	test_keys();
	return tap_done();
}
