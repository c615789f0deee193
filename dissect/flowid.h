/*
 * flowid.h: the keys that join a connection's record with other sensors'
 * logs: the Community ID (v1) and kexwatch's own flow_id.
 */
#ifndef KW_FLOWID_H
#define KW_FLOWID_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* "1:" + base64 of a 20-byte SHA-1, and its NUL. */
#define COMMUNITY_ID_SIZE 32

/*
 * community_id_v1 writes the Community ID v1 of a TCP (proto 6) or UDP flow
 * (github.com/corelight/community-id-spec): SHA-1 over the seed (2 bytes),
 * the lower address:port endpoint first, then the other, the protocol and a
 * zero byte, both ports, all in network byte order; base64, behind "1:".
 * key is either direction (the result is the same). Returns 0, or -1 when
 * the digest failed (out[0] is then '\0').
 */
int community_id_v1(const struct addr_pair *key, uint8_t proto, uint16_t seed,
                    char out[COMMUNITY_ID_SIZE]);

/* The flow_id's bits: below 2^53, so every JSON reader (JavaScript too) keeps it exact. */
#define FLOW_ID_BITS 53

/*
 * flow_id_stable: a flow_id for a connection first seen at t_first_us on
 * sensor (its name) with 5-tuple key (either direction): the first 53 bits
 * of a SHA-256 of them. The same file read again by the same sensor gives
 * the same ids; other sensors, other times or other tuples give others
 * (among a hundred million connections about one pair shares an id: a join
 * key, used with the time and the addresses). 0 only if the digest failed.
 */
uint64_t flow_id_stable(const char *sensor, uint64_t t_first_us, const struct addr_pair *key,
                        uint8_t proto);

#endif
