/*
 * fuzz.h: what the fuzz targets share (the libFuzzer entry points and the
 * link types a first input byte can choose).
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput. Built with
 * -DKW_FUZZ=ON (clang) they link against libFuzzer; otherwise replay_main.c
 * provides main() and runs every file of a corpus through the same function,
 * so the checked-in corpus replays under plain ctest with gcc. Not
 * responsible for finding bugs by itself: the sanitizers are.
 */
#ifndef KW_FUZZ_H
#define KW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The link types decode_frame knows, plus one it does not (65000). */
static const int fuzz_links[16] = {
    KW_LINK_ETHERNET, KW_LINK_ETHERNET, KW_LINK_ETHERNET, KW_LINK_ETHERNET,
    KW_LINK_RAW,      KW_LINK_RAW,      KW_LINK_RAW_ALT1, KW_LINK_RAW_ALT2,
    KW_LINK_NULL,     KW_LINK_LOOP,     KW_LINK_SLL,      KW_LINK_SLL2,
    KW_LINK_IPV4,     KW_LINK_IPV6,     KW_LINK_ETHERNET, 65000,
};

/* fuzz_link maps a selector byte to a link type. */
static inline int fuzz_link(uint8_t selector)
{
	return fuzz_links[selector & 15];
}

/* fuzz_link_selector is the inverse used by the seed generator. */
static inline int fuzz_link_selector(int link)
{
	for (int i = 0; i < 16; i++)
		if (fuzz_links[i] == link)
			return i;
	return -1;
}

#endif
