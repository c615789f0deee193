/*
 * hostkeys.h: the `kexwatch hostkeys` subcommand, and opening and closing
 * the host-key store for a run with --state (pipeline.c, for files and
 * interfaces alike). Not a public API: only app/ includes it.
 */
#ifndef KW_APP_HOSTKEYS_H
#define KW_APP_HOSTKEYS_H

#include <stdint.h>

struct hoststore;
struct kw_limits;

/*
 * hostkeys_main runs `kexwatch hostkeys --state PATH [--format text|json]
 * [--forget SERVER[:PORT]]`; argv[0] is "hostkeys". Returns the exit
 * status: 0, 1 (the store could not be read or changed), 2 (usage).
 */
int hostkeys_main(int argc, char **argv);

/*
 * hostkeys_store_open opens path as the run's host-key store (created if
 * missing) with share_threshold (0: the default) and the limits' hostkey_*
 * sizes. *out is the caller's until hostkeys_store_close. Returns 0, or 1
 * after one line on standard error.
 */
int hostkeys_store_open(struct hoststore **out, const char *path, uint32_t share_threshold,
                        const struct kw_limits *limits);

/*
 * hostkeys_store_close commits what is queued and closes the store (NULL is
 * allowed); unless quiet, prints one summary line on standard error.
 * Returns 0, or 1 when observations were lost (said on standard error).
 */
int hostkeys_store_close(struct hoststore *hs, const char *path, int quiet);

#endif
