/*
 * hostkeys.c: `kexwatch hostkeys`, the operator's view of the host-key
 * store, and the store's life in a capture run.
 *
 * Responsible for the subcommand's options, for reading SERVER[:PORT] (an
 * IPv4 address, an IPv6 address bare or in brackets, an optional port), and
 * for the messages and exit status around the store. Not responsible for
 * the file (state/hoststore.c) or for the listing's format
 * (output/hostlist.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hostlist.h"
#include "hostkeys.h"
#include "hoststore.h"
#include "limits.h"
#include "ux.h"

static void hostkeys_usage(FILE *out)
{
	fprintf(out,
	        "usage: kexwatch hostkeys --state PATH [--format text|json]\n"
	        "       kexwatch hostkeys --state PATH --forget SERVER[:PORT]\n"
	        "\n"
	        "Lists the host keys a kexwatch run with --state PATH has seen, by server, or\n"
	        "forgets a server's keys (after a planned re-key) so that its next key becomes\n"
	        "the remembered one. A sensor running on PATH picks up the forget within a\n"
	        "second.\n"
	        "\n"
	        "  --state PATH          the state file (must exist)\n"
	        "  --format json|text    one JSON object per server and port per line, or a\n"
	        "                        table (default: text on a terminal, else json)\n"
	        "  --forget SERVER[:PORT]  remove the keys of SERVER (192.0.2.1, 2001:db8::1,\n"
	        "                        [2001:db8::1]:22, 192.0.2.1:2222); without a port,\n"
	        "                        on every port\n"
	        "  -h, --help            print this help and exit\n");
}

/*
 * parse_server reads SERVER[:PORT] into canonical address text and a port
 * (-1: every port). 0 or KW_ERR_MALFORMED.
 */
static int parse_server(const char *s, char canon[HOSTSTORE_ADDR_LEN], int *port)
{
	char host[HOSTSTORE_ADDR_LEN + 2];
	const char *p = NULL, *colon;
	size_t n;

	*port = -1;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return KW_ERR_MALFORMED;
		n = (size_t)(end - s - 1);
		if (n >= sizeof(host))
			return KW_ERR_MALFORMED;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			p = end + 2;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s); /* one colon: IPv4:port */
		if (n >= sizeof(host))
			return KW_ERR_MALFORMED;
		memcpy(host, s, n);
		host[n] = '\0';
		p = colon + 1;
	} else {
		if (strlen(s) >= sizeof(host))
			return KW_ERR_MALFORMED;
		strcpy(host, s);
	}
	if (p != NULL) {
		char *end;
		long v;
		if (*p < '0' || *p > '9')
			return KW_ERR_MALFORMED;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
			return KW_ERR_MALFORMED;
		*port = (int)v;
	}
	return hoststore_addr_canon(host, canon, NULL, NULL);
}

int hostkeys_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"format", required_argument, NULL, 'F'},
	    {"forget", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *forget = NULL;
	struct hoststore_config cfg = {.mode = HOSTSTORE_ADMIN};
	struct hoststore *hs;
	char err[512] = "", canon[HOSTSTORE_ADDR_LEN];
	int opt, json = -1, port = -1, status = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") == 0)
				json = 0;
			else
				return usage_error("hostkeys", "unknown format (json or text): %s",
				                   optarg);
			break;
		case 'f':
			forget = optarg;
			break;
		case 'h':
			hostkeys_usage(stdout);
			return 0;
		default:
			return usage_hint("hostkeys");
		}
	}
	if (optind < argc)
		return usage_error("hostkeys", "unexpected argument %s", argv[optind]);
	if (path == NULL)
		return usage_error("hostkeys", "--state PATH is required");
	if (forget != NULL && parse_server(forget, canon, &port) != 0)
		return usage_error("hostkeys",
		                   "bad server (ADDRESS, ADDRESS:PORT or [IPv6]:PORT): %s", forget);
	if (json < 0)
		json = !isatty(STDOUT_FILENO);

	cfg.path = path;
	if (hoststore_open(&hs, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch hostkeys: %s\n", err);
		return 1;
	}
	if (forget != NULL) {
		uint64_t removed = 0;
		if (hoststore_forget(hs, canon, port, &removed, err, sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch hostkeys: %s: %s\n", path, err);
			status = 1;
		} else if (port < 0) {
			printf("forgot %llu host key%s of %s (every port)\n",
			       (unsigned long long)removed, removed == 1 ? "" : "s", canon);
		} else {
			printf("forgot %llu host key%s of %s port %d\n",
			       (unsigned long long)removed, removed == 1 ? "" : "s", canon, port);
		}
	} else if (hostlist_write(hs, stdout, json, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch hostkeys: %s: %s\n", path, err);
		status = 1;
	}
	hoststore_close(hs, NULL, NULL, 0);
	if (fflush(stdout) != 0 && status == 0) {
		fprintf(stderr, "kexwatch hostkeys: standard output: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}

_Static_assert(KW_HOSTKEY_CACHE_DEFAULT == HOSTSTORE_CACHE_MAX &&
                   KW_HOSTKEY_QUEUE_DEFAULT == HOSTSTORE_QUEUE_MAX,
               "--list-limits shows the host-key store's defaults");

int hostkeys_store_open(struct hoststore **out, const char *path, uint32_t share_threshold,
                        const struct kw_limits *limits)
{
	struct hoststore_config cfg = {
	    .path = path,
	    .mode = HOSTSTORE_SENSOR,
	    .share_threshold = share_threshold,
	    .cache_max = limits->hostkey_cache,
	    .queue_max = limits->hostkey_queue,
	};
	char err[512] = "";
	int r = hoststore_open(out, &cfg, err, sizeof(err));

	if (r != 0) {
		fprintf(stderr, "kexwatch: --state %s\n", err);
		return 1;
	}
	return 0;
}

int hostkeys_store_close(struct hoststore *hs, const char *path, int quiet)
{
	struct hoststore_stats st;
	char err[512] = "";
	int r;

	if (hs == NULL)
		return 0;
	r = hoststore_close(hs, &st, err, sizeof(err));
	if (!quiet) {
		fprintf(stderr,
		        "kexwatch: host keys (%s): %llu sightings, %llu written in %llu "
		        "transactions, %llu not written; %llu keys in memory, %llu not loaded, "
		        "%llu evicted; %llu forgets picked up\n",
		        path, (unsigned long long)st.observed, (unsigned long long)st.committed,
		        (unsigned long long)st.transactions, (unsigned long long)st.dropped,
		        (unsigned long long)st.cache_keys, (unsigned long long)st.not_loaded,
		        (unsigned long long)st.cache_evicted, (unsigned long long)st.forgets);
	}
	if (r != 0) {
		fprintf(stderr, "kexwatch: --state %s: %s\n", path, err);
		return 1;
	}
	return 0;
}
