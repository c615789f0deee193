/*
 * kexwatch.c: the command line and the run loop.
 *
 * Responsible for options, opening inputs and outputs, signals, the exit
 * status and the end-of-run summary; the only place that may exit the
 * process. Reads every input in order through one flow table, so
 * connections continue across rotated capture files. Live capture (-i) is
 * run by live.c.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "capture.h"
#include "decode.h"
#include "err.h"
#include "flow.h"
#include "hostkeys.h"
#include "limits.h"
#include "output.h"
#include "pipeline.h"
#include "ux.h"

#ifndef KW_VERSION
#define KW_VERSION "0.0.0"
#endif

#define KW_MAX_INPUTS 4096
#define KW_MAX_PORTS 64
#define KW_MAX_IFACES 64
#define KW_MAX_SYSLOG 8
#define KW_DEFAULT_SNAPLEN 262144  /* whole frames: a KEXINIT must not be cut */
#define KW_DEFAULT_BUFFER_KIB 8192 /* kernel ring per interface */
#define KW_DEFAULT_STATS_S 60
#define KW_DEFAULT_EVIDENCE_MB 100

/* Long options without a short form. */
enum {
	OPT_STATE = 0x100,
	OPT_SHARE_THRESHOLD,
};

static volatile sig_atomic_t kw_stop;

static void on_signal(int sig)
{
	(void)sig;
	kw_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: kexwatch -r FILE [-r FILE ...] [options]\n"
	    "       kexwatch -i IFACE [-i IFACE ...] [options]\n"
	    "       kexwatch hostkeys --state PATH [--format text|json] [--forget SERVER[:PORT]]\n"
	    "\n"
	    "Reads SSH handshakes from capture files or interfaces and writes one record per\n"
	    "connection.\n"
	    "\n"
	    "  -r FILE               read a pcap or pcapng file (.gz too; - is stdin);\n"
	    "                        repeat for rotated captures, read in order\n"
	    "  -i IFACE              capture live on IFACE (repeat for several; \"any\": all)\n"
	    "  -f EXPR               BPF filter (default: all TCP, ICMP errors, tunnels;\n"
	    "                        see docs/operations.md)\n"
	    "  -s SNAPLEN            live: bytes kept per frame (default 262144)\n"
	    "  -B KIB                live: kernel buffer per interface in KiB (default 8192)\n"
	    "  --no-promisc          live: do not put interfaces in promiscuous mode\n"
	    "  -Z USER               live: run as USER once the captures are open\n"
	    "  --stats-interval S    live: a statistics record every S seconds (default 60,\n"
	    "                        0: only on SIGUSR1 and at exit)\n"
	    "  -w FILE               write records to FILE instead of standard output\n"
	    "                        (appended; reopened on SIGHUP; - is standard output)\n"
	    "  --syslog TARGET       send records to syslog (RFC 5424): /dev/log, unix:PATH,\n"
	    "                        udp://HOST:PORT or tcp://HOST:PORT; repeatable; with it,\n"
	    "                        standard output is used only if -w - is given\n"
	    "  --syslog-facility F   syslog facility (default local0)\n"
	    "  --evidence-pcap FILE  live: write the frames of connections with an error\n"
	    "                        diagnosis to FILE (pcapng), rotated to FILE.1\n"
	    "  --evidence-max-mb N   size at which the evidence file rotates (default 100)\n"
	    "  --format json|text    json (default when stdout is not a terminal) or a table\n"
	    "  --ssh-ports LIST      ports whose connections are reported even without SSH\n"
	    "                        (unanswered SYNs, refusals), comma separated; default 22\n"
	    "  --state PATH          remember each server's host keys in PATH (SQLite; created\n"
	    "                        if missing) and report host_key_changed and\n"
	    "                        host_key_shared; list it with kexwatch hostkeys\n"
	    "  --hostkey-share-threshold N  host_key_shared when more than N server\n"
	    "                        addresses present one key (default 3)\n"
	    "  --limit NAME=VALUE    change a limit (see --list-limits)\n"
	    "  --list-limits         print the limits with their values and exit\n"
	    "  -q, --quiet           no summary on standard error\n"
	    "  --explain CODE        what a diagnosis code means and what to check\n"
	    "  -V, --version         print versions and exit\n"
	    "  -h, --help            print this help and exit\n");
}

/* usage_error prints one line and the usage hint; returns the exit status 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kexwatch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'kexwatch --help' for more information.\n");
	return 2;
}

/* parse_uint parses a decimal integer in [min, max]; 1 if it is one. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

static int parse_ports(const char *s, uint16_t *ports, uint32_t *n)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	int ok = copy != NULL;

	*n = 0;
	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok != NULL && ok;
	     tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, &end, 10);
		if (*end != '\0' || v < 1 || v > 65535 || *n >= KW_MAX_PORTS)
			ok = 0;
		else
			ports[(*n)++] = (uint16_t)v;
	}
	free(copy);
	return ok && *n > 0;
}

/* What every input of an offline run shares. */
struct run {
	struct pipeline *p;
	const char *filter; /* -f, applied to every file */
	int progress;       /* draw the progress line (stderr is a terminal) */
};

static int link_supported(int link)
{
	switch (link) {
	case KW_LINK_NULL:
	case KW_LINK_ETHERNET:
	case KW_LINK_RAW:
	case KW_LINK_RAW_ALT1:
	case KW_LINK_RAW_ALT2:
	case KW_LINK_LOOP:
	case KW_LINK_SLL:
	case KW_LINK_IPV4:
	case KW_LINK_IPV6:
	case KW_LINK_SLL2:
		return 1;
	}
	return 0;
}

/* read_input feeds one capture file through the table; 0, or 1 on failure. */
static int read_input(const char *path, uint32_t index, struct run *run)
{
	struct decoder *dec = run->p->dec;
	struct flow_table *table = run->p->table;
	struct capture *cap;
	struct capture_frame fr;
	struct progress prog;
	struct pkt pkt;
	char err[512];
	int r = 0, link;

	if (capture_open_file(&cap, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch: %s: %s\n", path, err);
		return 1;
	}
	link = capture_link(cap);
	if (run->filter != NULL && capture_set_filter(cap, run->filter, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch: %s: %s\n", path, err);
		capture_close(cap);
		return 1;
	}
	if (!link_supported(link)) {
		fprintf(stderr, "kexwatch: %s: link type %d is not supported\n", path, link);
		capture_close(cap);
		return 1;
	}
	progress_start(&prog, run->progress, path);
	while (!kw_stop && !run->p->output_failed && (r = capture_next(cap, &fr)) == 1) {
		if (prog.on)
			progress_tick(&prog, capture_bytes(cap), flow_table_stats(table)->flows);
		r = decode_frame(dec, link, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &pkt);
		if (r == KW_OK && flow_table_packet(table, &pkt, index, 0) == KW_ERR_NOMEM) {
			fprintf(stderr, "kexwatch: %s: out of memory\n", path);
			capture_close(cap);
			return 1;
		}
		if (r != KW_OK)
			flow_table_advance(table, fr.ts_us);
	}
	progress_end(&prog);
	if (!kw_stop && !run->p->output_failed && r < 0) {
		fprintf(stderr, "kexwatch: %s: %s\n", path, capture_error(cap));
		capture_close(cap);
		return 1;
	}
	capture_close(cap);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"format", required_argument, NULL, 'F'},
	    {"ssh-ports", required_argument, NULL, 'P'},
	    {"limit", required_argument, NULL, 'L'},
	    {"list-limits", no_argument, NULL, 'l'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"no-promisc", no_argument, NULL, 'p'},
	    {"stats-interval", required_argument, NULL, 'S'},
	    {"syslog", required_argument, NULL, 'Y'},
	    {"syslog-facility", required_argument, NULL, 'y'},
	    {"evidence-pcap", required_argument, NULL, 'E'},
	    {"evidence-max-mb", required_argument, NULL, 'M'},
	    {"explain", required_argument, NULL, 'X'},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"hostkey-share-threshold", required_argument, NULL, OPT_SHARE_THRESHOLD},
	    {NULL, 0, NULL, 0},
	};
	static const char *ifaces[KW_MAX_IFACES], *syslog_targets[KW_MAX_SYSLOG];
	struct live_opts lo = {
	    .ifaces = ifaces,
	    .syslog = syslog_targets,
	    .snaplen = KW_DEFAULT_SNAPLEN,
	    .buffer_kib = KW_DEFAULT_BUFFER_KIB,
	    .promisc = 1,
	    .stats_interval_s = KW_DEFAULT_STATS_S,
	    .facility = 16, /* local0 */
	    .evidence_max_bytes = (uint64_t)KW_DEFAULT_EVIDENCE_MB << 20,
	};
	const char *live_only = NULL, *filter = NULL;
	unsigned long v;
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	static const char *inputs[KW_MAX_INPUTS];
	uint16_t ports[KW_MAX_PORTS] = {22};
	uint32_t ninputs = 0, nports = 1;
	const char *outpath = NULL, *state_path = NULL;
	unsigned long share_threshold = 0;
	int format = -1, quiet = 0, opt, status = 0, stdin_used = 0;
	struct pipeline_config pcfg;
	struct run run = {0};
	FILE *out = stdout;
	char buf[4096];

	if (argc > 1 && strcmp(argv[1], "hostkeys") == 0)
		return hostkeys_main(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "r:w:i:f:s:B:Z:qVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (ninputs == KW_MAX_INPUTS)
				return usage_error("too many -r inputs (at most %d)",
				                   KW_MAX_INPUTS);
			if (strcmp(optarg, "-") == 0 && stdin_used++)
				return usage_error("standard input given twice");
			inputs[ninputs++] = optarg;
			break;
		case 'w':
			outpath = optarg;
			break;
		case 'i':
			if (lo.nifaces == KW_MAX_IFACES)
				return usage_error("too many -i interfaces (at most %d)",
				                   KW_MAX_IFACES);
			for (uint32_t i = 0; i < lo.nifaces; i++)
				if (strcmp(ifaces[i], optarg) == 0)
					return usage_error("interface %s given twice", optarg);
			ifaces[lo.nifaces++] = optarg;
			break;
		case 'f':
			filter = optarg;
			break;
		case 's':
			if (!parse_uint(optarg, 64, 262144, &v))
				return usage_error("bad snap length '%s' (64 to 262144)", optarg);
			lo.snaplen = (int)v;
			live_only = "-s";
			break;
		case 'B':
			if (!parse_uint(optarg, 64, 4u << 20, &v))
				return usage_error("bad buffer size '%s' (KiB, 64 to 4194304)",
				                   optarg);
			lo.buffer_kib = (int)v;
			live_only = "-B";
			break;
		case 'p':
			lo.promisc = 0;
			live_only = "--no-promisc";
			break;
		case 'Z':
			lo.user = optarg;
			live_only = "-Z";
			break;
		case 'S':
			if (!parse_uint(optarg, 0, 86400 * 7, &v))
				return usage_error("bad statistics interval '%s' (seconds)",
				                   optarg);
			lo.stats_interval_s = (uint32_t)v;
			live_only = "--stats-interval";
			break;
		case 'Y':
			if (lo.nsyslog == KW_MAX_SYSLOG)
				return usage_error("too many --syslog targets (at most %d)",
				                   KW_MAX_SYSLOG);
			syslog_targets[lo.nsyslog++] = optarg;
			break;
		case 'y':
			if ((lo.facility = sink_facility(optarg)) < 0)
				return usage_error("unknown syslog facility '%s'", optarg);
			break;
		case 'E':
			lo.evidence_path = optarg;
			live_only = "--evidence-pcap";
			break;
		case 'M':
			if (!parse_uint(optarg, 1, 1u << 20, &v))
				return usage_error("bad evidence size '%s' (MiB)", optarg);
			lo.evidence_max_bytes = (uint64_t)v << 20;
			break;
		case 'F':
			if (strcmp(optarg, "json") == 0)
				format = REPORT_JSON;
			else if (strcmp(optarg, "text") == 0)
				format = REPORT_TEXT;
			else
				return usage_error("unknown format '%s' (json or text)", optarg);
			break;
		case OPT_STATE:
			state_path = optarg;
			break;
		case OPT_SHARE_THRESHOLD:
			if (!parse_uint(optarg, 1, 1000000, &share_threshold))
				return usage_error(
				    "bad host-key share threshold '%s' (1 to 1000000)", optarg);
			break;
		case 'P':
			if (!parse_ports(optarg, ports, &nports))
				return usage_error("bad port list '%s'", optarg);
			break;
		case 'L':
			if (kw_limits_set(&limits, optarg) != 0)
				return usage_error("bad limit '%s' (see --list-limits)", optarg);
			break;
		case 'l':
			kw_limits_list(buf, sizeof(buf), &limits);
			fputs(buf, stdout);
			return 0;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			printf("kexwatch %s\n%s\njansson %s\n%s\n", KW_VERSION,
			       capture_lib_version(), report_jansson_version(),
			       OpenSSL_version(OPENSSL_VERSION));
			return 0;
		case 'X':
			return explain_code(stdout, optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'kexwatch --help' for more information.\n");
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (ninputs > 0 && lo.nifaces > 0)
		return usage_error("-r (read files) and -i (live capture) cannot be mixed");
	if (ninputs == 0 && lo.nifaces == 0)
		return usage_error("nothing to read: give -r FILE or -i IFACE");
	if (share_threshold != 0 && state_path == NULL)
		return usage_error("--hostkey-share-threshold needs --state PATH");
	if (lo.nifaces > 0) {
		lo.filter = filter;
		lo.outpath = outpath;
		lo.format = format;
		lo.quiet = quiet;
		lo.limits = &limits;
		lo.ports = ports;
		lo.nports = nports;
		lo.state_path = state_path;
		lo.share_threshold = (uint32_t)share_threshold;
		return live_run(&lo);
	}
	if (live_only != NULL)
		return usage_error("%s applies to live capture (-i) only", live_only);
	pcfg = (struct pipeline_config){
	    .mode = PIPELINE_OFFLINE,
	    .limits = &limits,
	    .ports = ports,
	    .nports = nports,
	    .seed = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&run,
	    .format = format,
	    .outpath = outpath,
	    .syslog = syslog_targets,
	    .nsyslog = lo.nsyslog,
	    .facility = lo.facility,
	    .filenames = inputs,
	    .nfiles = ninputs,
	    .state_path = state_path,
	    .share_threshold = (uint32_t)share_threshold,
	};
	if (pipeline_open(&run.p, &pcfg) != 0)
		return 1;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	run.filter = filter;
	run.progress = !quiet && isatty(STDERR_FILENO);
	for (uint32_t i = 0; i < ninputs && !kw_stop && !run.p->output_failed; i++)
		status |= read_input(inputs[i], i, &run);

	flow_table_flush(run.p->table);
	report_end(run.p->report);
	/* Every record is built: commit the last host-key sightings. */
	status |= pipeline_store_close(run.p, quiet);
	if (fflush(out) != 0 && !run.p->output_failed) {
		fprintf(stderr, "kexwatch: standard output: %s\n", strerror(errno));
		status = 1;
	}
	if (run.p->output_failed)
		fprintf(stderr, "kexwatch: standard output: output closed, stopping\n");
	if (!quiet)
		pipeline_summary(run.p);
	status |= pipeline_sinks_close(run.p);
	pipeline_close(run.p);
	return status ? 1 : 0;
}
