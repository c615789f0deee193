/*
 * hostcheck.h: host-key continuity (DESIGN.md section 4: host_key_changed,
 * host_key_shared) and the listing of `kexwatch hostkeys`.
 *
 * Turns a flow's host key and the host-key store (state/hoststore.h) into
 * diagnosis objects, and the store's contents into text or JSON lines. Part
 * of report/, the only module that talks to jansson; this header does not
 * include jansson.h, so app/ can call the listing without it.
 */
#ifndef KW_HOSTCHECK_H
#define KW_HOSTCHECK_H

#include <stdio.h>

#include "flow.h"

struct hoststore;
struct json_t;

/*
 * hostcheck_flow records the host key flow f presented (if any) in store
 * and appends to list (a JSON array, borrowed) a host_key_changed error
 * when this server, port and key type had another key remembered, and a
 * host_key_shared warning when more server addresses than the store's
 * threshold present this key. Errors go before the first non-error already
 * in list, warnings before the first info, so the list stays most severe
 * first. client_dir is the TCP direction of the SSH client (the record's
 * judgment). Call it once per flow: each call counts as one sighting.
 * store NULL, or no host key: nothing. Never fails: a store that cannot
 * record says so in its counters.
 */
void hostcheck_flow(struct hoststore *store, const struct flow *f, int client_dir,
                    struct json_t *list);

/*
 * hostcheck_list writes every key in store (opened in HOSTSTORE_ADMIN mode)
 * to out, by server: a readable table (json 0) or one JSON object per
 * server and port per line (json 1; fields in docs/hostkeys.md). Returns
 * 0, KW_ERR_IO (reading the store or writing out failed; reason in err) or
 * KW_ERR_NOMEM.
 */
int hostcheck_list(struct hoststore *store, FILE *out, int json, char *err, size_t errlen);

#endif
