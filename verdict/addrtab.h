/*
 * addrtab.h: a bounded table of per-address entries, the least recently
 * seen address forgotten first (internal to verdict/).
 *
 * The memories kept per client address (auth.c's failed logins, scan.c's
 * abandoned handshakes) share this shape: a keyed hash over the address
 * (the peers choose the addresses, so the chains must not be theirs to
 * choose: hash.h), chained, with one LRU list that bounds the table. Each
 * entry is a struct of the user's that begins with struct addr_node and
 * is allocated zeroed by addrtab_find. Not responsible for what the
 * entries hold.
 */
#ifndef KW_ADDRTAB_H
#define KW_ADDRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "list.h"

struct addr_node {
	struct addr_node *hnext; /* bucket chain */
	struct list_head lru;    /* the table's order, most recently seen first */
	uint8_t family;
	uint8_t addr[16];
};

struct addrtab {
	uint32_t max, n, mask;
	size_t entry_size;
	struct hash_key key; /* the process's random key (hash_key_get) */
	struct addr_node **bucket;
	struct list_head lru;
};

/* addrtab_init: a table of at most max entries (at least 1) of entry_size bytes; 0 or KW_ERR_NOMEM.
 */
int addrtab_init(struct addrtab *t, uint32_t max, size_t entry_size);
void addrtab_free(struct addrtab *t);

/*
 * addrtab_find returns the entry of family/addr, now the most recently
 * seen; without one, a new zeroed entry when create is set (the least
 * recently seen forgotten if the table is full), else NULL. NULL too when
 * out of memory.
 */
void *addrtab_find(struct addrtab *t, int family, const uint8_t addr[16], int create);

#endif
