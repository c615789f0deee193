/*
 * hostkey.h: host-key continuity (DESIGN.md section 4: host_key_changed,
 * host_key_shared), judged against the host-key store (state/hoststore.h).
 */
#ifndef KW_HOSTKEY_H
#define KW_HOSTKEY_H

#include "verdict.h"

struct hoststore;

/*
 * hostkey_check records the host key flow f presented (if any) in store
 * and adds to v a host_key_changed error when this server, port and key
 * type had another key remembered, and a host_key_shared warning when more
 * server addresses than the store's threshold present this key; each goes
 * before the first less severe diagnosis, so v stays most severe first.
 * v->client_dir must be judged. Call it once per flow: each call counts as
 * one sighting. store NULL, or no host key: nothing. Never fails: a store
 * that cannot record says so in its counters. Strings go to arena.
 */
void hostkey_check(struct hoststore *store, const struct flow *f, struct verdict *v,
                   struct arena *arena);

#endif
