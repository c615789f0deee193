/*
 * hostlist.h: the listing of `kexwatch hostkeys` (docs/hostkeys.md). This
 * header does not include jansson.h, so app/ can call it without it.
 */
#ifndef KW_HOSTLIST_H
#define KW_HOSTLIST_H

#include <stddef.h>
#include <stdio.h>

struct hoststore;

/*
 * hostlist_write writes every key in store (opened in HOSTSTORE_ADMIN mode)
 * to out, by server: a readable table (json 0) or one JSON object per
 * server and port per line (json 1; fields in docs/hostkeys.md). Returns
 * 0, KW_ERR_IO (reading the store or writing out failed; reason in err) or
 * KW_ERR_NOMEM.
 */
int hostlist_write(struct hoststore *store, FILE *out, int json, char *err, size_t errlen);

#endif
