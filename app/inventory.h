/*
 * inventory.h: the inventory subcommand (inventory.c). Not a public API:
 * only app/ includes it.
 */
#ifndef KW_APP_INVENTORY_H
#define KW_APP_INVENTORY_H

/*
 * inventory_main runs `kexwatch inventory [options] [RECORDS ...]` with
 * argv[0] "inventory": per server and per client HASSH, what they run,
 * offer and negotiate, and which weak or legacy algorithms they offer or
 * accept (docs/policy.md). Returns the exit status: 0, 1 when an input or
 * the policy file could not be read, 2 on a usage error.
 */
int inventory_main(int argc, char **argv);

#endif
