/*
 * privdrop.c: giving up privileges once the captures are open (see app.h).
 *
 * Responsible for -Z USER, done as tcpdump does it (initgroups, setgid,
 * setuid, in that order, after every capture is open and before any output
 * is opened), for checking that root cannot be regained, and for dropping
 * the capabilities a non-root start was given (CAP_NET_RAW, CAP_NET_ADMIN:
 * systemd's AmbientCapabilities) once they have served. Not responsible
 * for opening captures (live.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "app.h"

int priv_lookup(const char *user, struct priv_user *out)
{
	struct passwd *pw;

	memset(out, 0, sizeof(*out));
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "kexwatch: -Z %s: %s\n", user,
		        errno ? strerror(errno) : "no such user");
		return 1;
	}
	if ((out->name = strdup(pw->pw_name)) == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 0;
}

void priv_user_free(struct priv_user *u)
{
	free(u->name);
	u->name = NULL;
}

/* caps_clear empties the effective, permitted and inheritable sets and the ambient set. */
static int caps_clear(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); /* old kernels: none */
	return (int)syscall(SYS_capset, &h, d);
}

/* caps_any: whether any capability is still permitted. */
static int caps_any(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return 1;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].permitted || d[i].effective)
			return 1;
	return 0;
}

int priv_drop(const struct priv_user *u)
{
	if (u != NULL && (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid)) {
		if (initgroups(u->name, (gid_t)u->gid) != 0 || setgid((gid_t)u->gid) != 0 ||
		    setuid((uid_t)u->uid) != 0) {
			fprintf(stderr, "kexwatch: -Z %s: cannot switch user: %s (needs root)\n",
			        u->name, strerror(errno));
			return 1;
		}
		/* The switch must be final: a process that can become root again
		 * has dropped nothing. */
		if (u->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
			fprintf(stderr, "kexwatch: -Z %s: root could be regained; stopping\n",
			        u->name);
			return 1;
		}
		if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
		    getegid() != u->gid) {
			fprintf(stderr, "kexwatch: -Z %s: the user switch did not take\n", u->name);
			return 1;
		}
	}
	if (geteuid() != 0) {
		if (caps_clear() != 0 || caps_any()) {
			fprintf(stderr, "kexwatch: cannot drop capabilities: %s\n",
			        strerror(errno));
			return 1;
		}
		(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	}
	return 0;
}
