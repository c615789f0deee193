/*
 * kexwatch.c: the command line and the run loop.
 *
 * Responsible for options, the subcommands, opening input files, signals
 * offline, the exit status and the end-of-run summary; the only place that
 * may exit the process. Reads every input in order through one pipeline
 * (pipeline.c builds it, with the outputs), so connections continue across
 * rotated capture files. Live capture (-i) is run by live.c.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "capture.h"
#include "decode.h"
#include "err.h"
#include "flow.h"
#include "hostkeys.h"
#include "inventory.h"
#include "limits.h"
#include "output.h"
#include "pipeline.h"
#include "ux.h"
#include "workers.h"

#ifndef KW_VERSION
#define KW_VERSION "0.0.0"
#endif

#define KW_MAX_DIR_FILES (1u << 20)  /* files read from -r DIR and --follow DIR, in all */
#define KW_FOLLOW_POLL_NS 250000000L /* --follow: how often the directory is looked at */
#define KW_DEFAULT_SNAPLEN 262144    /* whole frames: a KEXINIT must not be cut */
#define KW_DEFAULT_BUFFER_KIB 8192   /* kernel ring per interface */
#define KW_DEFAULT_STATS_S 60
#define KW_DEFAULT_EVIDENCE_MB 100

/* Long options without a short form. */
enum {
	OPT_STATE = 0x100,
	OPT_SHARE_THRESHOLD,
	OPT_RECORD,
	OPT_SENSOR_NAME,
	OPT_COMMUNITY_SEED,
	OPT_ONLY,
	OPT_DIAGNOSIS,
	OPT_SEVERITY,
	OPT_HOST,
	OPT_PORT,
	OPT_FOLLOW,
	OPT_WORKERS,
};

/* Set by SIGINT/SIGTERM to the signal's number: reading stops, what was
 * read is written, and the exit status says the input was cut short. */
static volatile sig_atomic_t kw_stop;

/* on_signal asks the offline run to stop; it only sets kw_stop. */
static void on_signal(int sig)
{
	kw_stop = sig;
}

/* The exit status of a read cut short by signal sig (the shell's 128 + sig). */
#define KW_EXIT_SIGNAL(sig) (128 + (sig))

/* usage prints the help text to out. */
static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: kexwatch -r FILE [-r FILE ...] [options]\n"
	    "       kexwatch -i IFACE [-i IFACE ...] [options]\n"
	    "       kexwatch hostkeys --state PATH [--format text|json] [--forget SERVER[:PORT]]\n"
	    "       kexwatch inventory [--compare OLD] [--policy FILE] [RECORDS ...|--state PATH]\n"
	    "\n"
	    "Reads SSH handshakes from capture files or interfaces and writes one record per\n"
	    "connection.\n"
	    "\n"
	    "  -r FILE               read a pcap or pcapng file (.gz too; - is stdin);\n"
	    "                        repeat for rotated captures, read in order\n"
	    "  -r DIR                read the capture files of DIR in the order of their\n"
	    "                        first packet's time\n"
	    "  --follow DIR          read the files of DIR as a rotation (tcpdump -G or -C)\n"
	    "                        finishes each, until SIGINT/SIGTERM; connections\n"
	    "                        continue across files\n"
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
	    "  --evidence-pcap FILE  write the frames of connections with an error diagnosis\n"
	    "                        (with filters: those selected) to FILE (pcapng),\n"
	    "                        rotated to FILE.1\n"
	    "  --evidence-max-mb N   size at which the evidence file rotates (default 100)\n"
	    "  --format json|text    json (default when stdout is not a terminal) or a table\n"
	    "  --record compact|full compact (default): every fact, name-lists only when the\n"
	    "                        negotiation failed, diagnoses without their texts;\n"
	    "                        full: both KEXINITs always, summaries and hints\n"
	    "  --sensor-name NAME    the records' host, and part of their flow_id\n"
	    "                        (default: this machine's host name)\n"
	    "  --community-id-seed N the Community ID's seed, 0 to 65535 (default 0)\n"
	    "  --workers N           packet loops, each with its own connections (1 to 64;\n"
	    "                        default: the processors it may use, at most 16)\n"
	    "  --ssh-ports LIST      ports whose connections are reported even without SSH\n"
	    "                        (unanswered SYNs, refusals), comma separated; default 22\n"
	    "  --state PATH          remember each server's host keys in PATH (SQLite; created\n"
	    "                        if missing) and report host_key_changed and\n"
	    "                        host_key_shared; list it with kexwatch hostkeys\n"
	    "  --hostkey-share-threshold N  host_key_shared when more than N server\n"
	    "                        addresses present one key (default 3)\n"
	    "  --limit NAME=VALUE    change a limit (see --list-limits)\n"
	    "  --list-limits         print the limits with their values and exit\n"
	    "  --only OUTCOME        show only failed, established or incomplete connections\n"
	    "  --diagnosis CODE[,CODE]  show only connections with one of these diagnoses\n"
	    "  --severity error|warning show only connections with an error (or a warning)\n"
	    "  --host ADDR[/PREFIX]  show only connections with this address on either side\n"
	    "  --port N              show only connections with this port on either side\n"
	    "                        (filters apply to records and the table's summary; the\n"
	    "                        statistics count every connection)\n"
	    "  -q, --quiet           no summary on standard error\n"
	    "  --explain CODE        what a diagnosis code means and what to check;\n"
	    "  --explain \"MESSAGE\"   the diagnoses behind a client message (ssh -v, a ticket)\n"
	    "  -V, --version         print versions and exit\n"
	    "  -h, --help            print this help and exit\n");
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

/*
 * parse_ports parses --ssh-ports, comma-separated ports 1 to 65535 (at most
 * KW_MAX_PORTS), into ports[], setting *n; 1 if the list is valid.
 */
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
	struct workers *w;
	const char *filter;        /* -f, applied to every file */
	int progress;              /* draw the progress line (stderr is a terminal) */
	uint64_t last_ts;          /* capture time of the last frame read */
	const char *reading;       /* the input being read, for an interruption's message */
	struct capture *stdin_cap; /* "-r -" opened early for the evidence capture, or NULL */
};

/*
 * on_idle: a streamed input (a pipe, a FIFO, standard input) has no byte
 * waiting. Write the records already made at once, and while it stays
 * quiet move the capture clock on by the time it has been quiet, as a live
 * capture does, so a connection's record is due when it would be on the
 * wire (tcpdump -U -w - | kexwatch -r -).
 */
static void on_idle(void *ctx, uint64_t quiet_us)
{
	struct run *run = ctx;

	/* The workers' clocks move on; the merger writes and flushes what is due. */
	workers_idle(run->w, quiet_us > 0 && run->last_ts > 0 ? run->last_ts + quiet_us : 0);
}

/* link_supported: whether the decoder reads frames of this link type. */
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

/* read_input feeds one capture file through the table; 0, 1 on failure, 2 for a bad -f filter. */
static int read_input(const char *path, uint32_t index, struct run *run)
{
	struct decoder *dec = run->p->dec;
	struct capture *cap;
	struct capture_frame fr;
	struct progress prog;
	struct pkt pkt;
	struct capture_wait wait = {.idle = on_idle, .ctx = run};
	char err[512];
	int r = 0, link;

	run->reading = path;
	if (strcmp(path, "-") == 0 && run->stdin_cap != NULL) {
		cap = run->stdin_cap; /* opened by evidence_inputs */
		run->stdin_cap = NULL;
	} else if (capture_open_file(&cap, path, err, sizeof(err)) != 0) {
		if (kw_stop) /* a signal ended the wait for the file's header */
			return 0;
		fprintf(stderr, "kexwatch: %s: %s\n", path, err);
		return 1;
	}
	capture_set_wait(cap, &wait);
	link = capture_link(cap);
	if (run->filter != NULL && capture_set_filter(cap, run->filter, err, sizeof(err)) != 0) {
		/* A filter that does not compile is wrong usage (exit 2). */
		capture_close(cap);
		return usage_error(NULL, "-f '%s': %s", run->filter, err);
	}
	if (!link_supported(link)) {
		fprintf(stderr, "kexwatch: %s: link type %d is not supported\n", path, link);
		capture_close(cap);
		return 1;
	}
	workers_input(run->w, cap);
	progress_start(&prog, run->progress, path);
	while (!kw_stop && !run->p->output_failed && (r = capture_next(cap, &fr)) == 1) {
		if (prog.on)
			progress_tick(&prog, capture_bytes(cap), decoder_stats(dec)->tcp);
		run->last_ts = fr.ts_us;
		r = decode_frame(dec, link, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &pkt);
		/* The frame goes along: it says whether the payload can be read
		 * in place (workers_packet), and with an evidence capture the
		 * worker that follows the connection keeps it. */
		if (r == KW_OK)
			workers_packet(run->w, &pkt, fr.ts_us, index, &fr);
		else
			workers_clock(run->w, fr.ts_us);
	}
	progress_end(&prog);
	workers_input_end(run->w);
	if (!kw_stop && !run->p->output_failed && r < 0) {
		fprintf(stderr, "kexwatch: %s: %s\n", path, capture_error(cap));
		capture_close(cap);
		return 1;
	}
	capture_close(cap);
	return 0;
}

/* Keeps option_set's return values apart from exit statuses. */
#define OPTIONS_GO_ON (-1)

/*
 * option_set applies one option opt (getopt_long's value) with its argument
 * arg to o. Returns OPTIONS_GO_ON, or the exit status to end with: 0 after
 * --help, --version, --list-limits or --explain have printed what they
 * print, 2 after a usage error (said on standard error).
 */
static int option_set(struct options *o, int opt, const char *arg)
{
	unsigned long v;
	char buf[4096];

	switch (opt) {
	case 'r':
		if (o->ninputs == KW_MAX_INPUTS)
			return usage_error(NULL, "too many -r inputs (at most %d)", KW_MAX_INPUTS);
		if (strcmp(arg, "-") == 0 && o->stdin_used++)
			return usage_error(NULL, "standard input given twice");
		o->inputs[o->ninputs++] = arg;
		break;
	case 'w':
		o->outpath = arg;
		break;
	case 'i':
		if (o->nifaces == KW_MAX_IFACES)
			return usage_error(NULL, "too many -i interfaces (at most %d)",
			                   KW_MAX_IFACES);
		for (uint32_t i = 0; i < o->nifaces; i++)
			if (strcmp(o->ifaces[i], arg) == 0)
				return usage_error(NULL, "interface %s given twice", arg);
		o->ifaces[o->nifaces++] = arg;
		break;
	case 'f':
		o->filter = arg;
		break;
	case 's':
		if (!parse_uint(arg, 64, 262144, &v))
			return usage_error(NULL, "bad snap length '%s' (64 to 262144)", arg);
		o->snaplen = (int)v;
		o->live_only = "-s";
		break;
	case 'B':
		if (!parse_uint(arg, 64, 4u << 20, &v))
			return usage_error(NULL, "bad buffer size '%s' (KiB, 64 to 4194304)", arg);
		o->buffer_kib = (int)v;
		o->live_only = "-B";
		break;
	case 'p':
		o->promisc = 0;
		o->live_only = "--no-promisc";
		break;
	case 'Z':
		o->user = arg;
		o->live_only = "-Z";
		break;
	case 'S':
		if (!parse_uint(arg, 0, 86400 * 7, &v))
			return usage_error(NULL, "bad statistics interval '%s' (seconds)", arg);
		o->stats_interval_s = (uint32_t)v;
		o->live_only = "--stats-interval";
		break;
	case 'Y':
		if (o->nsyslog == KW_MAX_SYSLOG)
			return usage_error(NULL, "too many --syslog targets (at most %d)",
			                   KW_MAX_SYSLOG);
		o->syslog[o->nsyslog++] = arg;
		break;
	case 'y':
		if ((o->facility = sink_facility(arg)) < 0)
			return usage_error(NULL, "unknown syslog facility '%s'", arg);
		break;
	case 'E':
		o->evidence_path = arg;
		break;
	case 'M':
		if (!parse_uint(arg, 1, 1u << 20, &v))
			return usage_error(NULL, "bad evidence size '%s' (MiB)", arg);
		o->evidence_max_bytes = (uint64_t)v << 20;
		break;
	case 'F':
		if (strcmp(arg, "json") == 0)
			o->format = REPORT_JSON;
		else if (strcmp(arg, "text") == 0)
			o->format = REPORT_TEXT;
		else
			return usage_error(NULL, "unknown format '%s' (json or text)", arg);
		break;
	case OPT_STATE:
		o->state_path = arg;
		break;
	case OPT_RECORD:
		if (strcmp(arg, "compact") == 0)
			o->record.profile = RECORD_COMPACT;
		else if (strcmp(arg, "full") == 0)
			o->record.profile = RECORD_FULL;
		else
			return usage_error(NULL, "unknown record profile '%s' (compact or full)",
			                   arg);
		break;
	case OPT_SENSOR_NAME:
		if (arg[0] == '\0' || strlen(arg) > 255)
			return usage_error(NULL, "bad sensor name '%s' (1 to 255 characters)", arg);
		o->record.sensor = arg;
		break;
	case OPT_COMMUNITY_SEED:
		if (!parse_uint(arg, 0, 65535, &v))
			return usage_error(NULL, "bad Community ID seed '%s' (0 to 65535)", arg);
		o->record.community_seed = (uint16_t)v;
		break;
	case OPT_SHARE_THRESHOLD:
		if (!parse_uint(arg, 1, 1000000, &v))
			return usage_error(NULL, "bad host-key share threshold '%s' (1 to 1000000)",
			                   arg);
		o->share_threshold = (uint32_t)v;
		break;
	case OPT_FOLLOW:
		o->follow = arg;
		break;
	case OPT_ONLY:
	case OPT_DIAGNOSIS:
	case OPT_SEVERITY:
	case OPT_HOST:
	case OPT_PORT: {
		static const char *const names[] = {"only", "diagnosis", "severity", "host",
		                                    "port"};
		char err[160];
		if (report_filter_set(&o->select, names[opt - OPT_ONLY], arg, err, sizeof(err)) !=
		    0)
			return usage_error(NULL, "--%s: %s", names[opt - OPT_ONLY], err);
		break;
	}
	case OPT_WORKERS:
		if (!parse_uint(arg, 1, WORKERS_MAX, &v))
			return usage_error(NULL, "bad number of workers '%s' (1 to %d)", arg,
			                   WORKERS_MAX);
		o->workers = (uint32_t)v;
		break;
	case 'P':
		if (!parse_ports(arg, o->ports, &o->nports))
			return usage_error(NULL, "bad port list '%s'", arg);
		break;
	case 'L':
		if (kw_limits_set(&o->limits, arg) != 0)
			return usage_error(NULL, "bad limit '%s' (see --list-limits)", arg);
		break;
	case 'l':
		kw_limits_list(buf, sizeof(buf), &o->limits);
		fputs(buf, stdout);
		return 0;
	case 'q':
		o->quiet = 1;
		break;
	case 'V':
		printf("kexwatch %s\n%s\njansson %s\n%s\n", KW_VERSION, capture_lib_version(),
		       report_jansson_version(), OpenSSL_version(OPENSSL_VERSION));
		return 0;
	case 'X':
		return explain_code(stdout, arg);
	case 'h':
		usage(stdout);
		return 0;
	default:
		return usage_hint(NULL);
	}
	return OPTIONS_GO_ON;
}

/*
 * options_parse fills *o from the command line, options first applied in
 * the order given, then the checks that need all of them (files or
 * interfaces, not both; live-only options only live). Returns
 * OPTIONS_GO_ON when there is something to read, else the exit status to
 * end with (see option_set).
 */
static int options_parse(struct options *o, int argc, char **argv)
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
	    {"record", required_argument, NULL, OPT_RECORD},
	    {"sensor-name", required_argument, NULL, OPT_SENSOR_NAME},
	    {"community-id-seed", required_argument, NULL, OPT_COMMUNITY_SEED},
	    {"only", required_argument, NULL, OPT_ONLY},
	    {"diagnosis", required_argument, NULL, OPT_DIAGNOSIS},
	    {"severity", required_argument, NULL, OPT_SEVERITY},
	    {"host", required_argument, NULL, OPT_HOST},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"follow", required_argument, NULL, OPT_FOLLOW},
	    {"workers", required_argument, NULL, OPT_WORKERS},
	    {NULL, 0, NULL, 0},
	};
	int opt, r;

	*o = (struct options){
	    .facility = 16, /* local0 */
	    .format = -1,
	    .limits = KW_LIMITS_DEFAULT,
	    .ports = {22},
	    .nports = 1,
	    .snaplen = KW_DEFAULT_SNAPLEN,
	    .buffer_kib = KW_DEFAULT_BUFFER_KIB,
	    .promisc = 1,
	    .stats_interval_s = KW_DEFAULT_STATS_S,
	    .evidence_max_bytes = (uint64_t)KW_DEFAULT_EVIDENCE_MB << 20,
	    .workers = workers_default(),
	};
	while ((opt = getopt_long(argc, argv, "r:w:i:f:s:B:Z:qVh", longopts, NULL)) != -1)
		if ((r = option_set(o, opt, optarg)) != OPTIONS_GO_ON)
			return r;
	if (optind < argc)
		return usage_error(NULL, "unexpected argument '%s'", argv[optind]);
	if (o->ninputs > 0 && o->nifaces > 0)
		return usage_error(NULL, "-r (read files) and -i (live capture) cannot be mixed");
	if (o->follow != NULL && (o->ninputs > 0 || o->nifaces > 0))
		return usage_error(NULL, "--follow DIR reads alone: no -r or -i with it");
	if (o->follow != NULL && o->evidence_path != NULL)
		return usage_error(NULL,
		                   "--evidence-pcap does not work with --follow yet; use -r DIR");
	if (o->ninputs == 0 && o->nifaces == 0 && o->follow == NULL)
		return usage_error(
		    NULL, "nothing to read: give -r FILE, -r DIR, --follow DIR or -i IFACE");
	if (o->share_threshold != 0 && o->state_path == NULL)
		return usage_error(NULL, "--hostkey-share-threshold needs --state PATH");
	if (o->nifaces == 0 && o->live_only != NULL)
		return usage_error(NULL, "%s applies to live capture (-i) only", o->live_only);
	for (uint32_t i = 0; o->nifaces > 1 && i < o->nifaces; i++)
		if (strcmp(o->ifaces[i], "any") == 0) {
			/* "any" sees every interface: a packet on another -i is seen twice. */
			fprintf(stderr,
			        "kexwatch: warning: -i any already captures every interface; "
			        "packets of the other -i interfaces are seen twice\n");
			break;
		}
	if (o->record.sensor == NULL) {
		/* EVE's "host": the sensor's name, by default the machine's. */
		if (gethostname(o->hostname, sizeof(o->hostname) - 1) != 0 ||
		    o->hostname[0] == '\0')
			snprintf(o->hostname, sizeof(o->hostname), "kexwatch");
		o->record.sensor = o->hostname;
	}
	return OPTIONS_GO_ON;
}

/*
 * stage_cpu writes, for bench/ (KW_STAGE_CPU set), the CPU seconds of each
 * stage to standard error: this thread (reading and decoding), each
 * worker, the merger (judging and writing records), and the whole process
 * (the others: read-ahead, output writer).
 */
static void stage_cpu(const struct workers *w)
{
	uint64_t per[WORKERS_MAX], merger, reader = thread_cpu_us();
	struct timespec ts;

	workers_cpu(w, per, &merger);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	fprintf(stderr, "kexwatch: stage cpu s: reader %.3f merger %.3f process %.3f workers",
	        reader / 1e6, merger / 1e6, (double)ts.tv_sec + ts.tv_nsec / 1e9);
	for (uint32_t i = 0; i < workers_count(w); i++)
		fprintf(stderr, " %.3f", per[i] / 1e6);
	fputc('\n', stderr);
}

/*
 * offline_end ends a run over files, whether every input was read or not:
 * writes the connections still open and what closes the output, commits
 * the host-key store, checks that every record reached its output, prints
 * the summary unless quiet, and closes the pipeline. failed: an input
 * could not be read to its end. Returns the exit status: 128 + the signal
 * when SIGINT or SIGTERM cut the reading short (said on standard error),
 * else 1 when an input or an output failed, else 0.
 */
static int offline_end(struct run *run, int quiet, int failed)
{
	struct pipeline *p = run->p;
	struct flow_stats fs;
	int status = failed, sig = kw_stop;
	uint64_t open;

	/* Every worker reports what is still open; the merger writes it all. */
	workers_finish(run->w);
	if (getenv("KW_STAGE_CPU") != NULL)
		stage_cpu(run->w);
	workers_stats(run->w, &fs, NULL);
	open = workers_open_at_end(run->w);
	workers_close(run->w);
	report_end(p->report);
	/* Every record is built: commit the last host-key sightings. */
	status |= pipeline_store_close(p, quiet);
	if (fflush(stdout) != 0 && !p->output_failed) {
		fprintf(stderr, "kexwatch: standard output: %s\n", strerror(errno));
		status = 1;
	}
	/* A reader that went away (kexwatch ... | head) wanted no more: the
	 * run ends quietly, with the usual summary and no error. */
	if (p->output_failed)
		report_forget_failed_writes(p->report);
	if (!quiet)
		pipeline_summary(p, &fs, decoder_stats(p->dec));
	status |= pipeline_sinks_close(p);
	pipeline_close(p);
	if (sig != 0) {
		/* Said even with -q: records are missing for what was not read. */
		fprintf(stderr,
		        "kexwatch: %s: interrupted by %s before the end of the input; the %llu "
		        "connections open were written\n",
		        run->reading != NULL ? run->reading : "input",
		        sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)open);
		return KW_EXIT_SIGNAL(sig);
	}
	return status ? 1 : 0;
}

/*
 * evidence_inputs describes the evidence capture of an offline run: one
 * interface per input file, named by its path, with its link type, which is
 * read from each file's header here (standard input is opened now and kept
 * for read_input, since it cannot be opened twice). *wi_out is the caller's
 * to free. 0, or 1 after naming the input that cannot be opened.
 */
static int evidence_inputs(const char *const *inputs, uint32_t ninputs, struct run *run,
                           struct capture_writer_iface **wi_out)
{
	struct capture_writer_iface *wi = calloc(ninputs, sizeof(*wi));
	struct capture *cap;
	char err[512];

	*wi_out = wi;
	if (wi == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < ninputs; i++) {
		if (capture_open_file(&cap, inputs[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", inputs[i], err);
			return 1;
		}
		wi[i].name = inputs[i];
		wi[i].link = capture_link(cap);
		wi[i].snaplen = KW_DEFAULT_SNAPLEN;
		if (strcmp(inputs[i], "-") == 0)
			run->stdin_cap = cap;
		else
			capture_close(cap);
	}
	return 0;
}

/* The inputs of a run once directories are listed (expand_inputs). */
struct input_list {
	const char **names; /* by flow.file_index */
	uint32_t n, cap;
	struct capture_dir *dirs[KW_MAX_INPUTS]; /* own the paths listed from them */
	uint32_t ndirs;
};

static int input_add(struct input_list *l, const char *name)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		const char **v;
		if (cap > KW_MAX_DIR_FILES ||
		    (v = realloc((void *)l->names, cap * sizeof(*v))) == NULL) {
			fprintf(stderr, "kexwatch: too many input files (at most %u)\n",
			        KW_MAX_DIR_FILES);
			return 1;
		}
		l->names = v;
		l->cap = cap;
	}
	l->names[l->n++] = name;
	return 0;
}

static void input_list_free(struct input_list *l)
{
	for (uint32_t i = 0; i < l->ndirs; i++)
		capture_dir_close(l->dirs[i]);
	free((void *)l->names);
}

/*
 * expand_inputs lists the -r inputs in order, each directory replaced by
 * its capture files in the order of their first frame (a rotation of one
 * link: its connections continue from file to file). 0, or 1 after naming
 * the failure on standard error.
 */
static int expand_inputs(const struct options *o, struct input_list *l)
{
	char err[256];
	struct stat st;

	for (uint32_t i = 0; i < o->ninputs; i++) {
		struct capture_dir *d;
		const char *p;
		uint32_t before = l->n;
		if (strcmp(o->inputs[i], "-") == 0 || stat(o->inputs[i], &st) != 0 ||
		    !S_ISDIR(st.st_mode)) {
			if (input_add(l, o->inputs[i]) != 0)
				return 1;
			continue;
		}
		if (capture_dir_open(&d, o->inputs[i], KW_MAX_DIR_FILES, err, sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", o->inputs[i], err);
			return 1;
		}
		l->dirs[l->ndirs++] = d;
		if (capture_dir_scan(d) < 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", o->inputs[i], strerror(errno));
			return 1;
		}
		while ((p = capture_dir_next(d, 1)) != NULL)
			if (input_add(l, p) != 0)
				return 1;
		if (capture_dir_skipped(d) > 0)
			fprintf(stderr, "kexwatch: %s: %u files are not captures, skipped\n",
			        o->inputs[i], capture_dir_skipped(d));
		if (l->n == before) {
			fprintf(stderr, "kexwatch: %s: no capture file with a packet in it\n",
			        o->inputs[i]);
			return 1;
		}
	}
	return 0;
}

/* offline_config: the pipeline of a run over files (-r, --follow), from the options. */
static struct pipeline_config offline_config(const struct options *o, const struct run *run,
                                             const char **names, uint32_t nfiles)
{
	return (struct pipeline_config){
	    .mode = PIPELINE_OFFLINE,
	    .limits = &o->limits,
	    .ports = o->ports,
	    .nports = o->nports,
	    .seed = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)run,
	    .format = o->format,
	    .outpath = o->outpath,
	    .syslog = o->syslog,
	    .nsyslog = o->nsyslog,
	    .facility = o->facility,
	    .filenames = (const char *const *)names,
	    .nfiles = nfiles,
	    .state_path = o->state_path,
	    .share_threshold = o->share_threshold,
	    .record = o->record,
	    .select = &o->select,
	};
}

/*
 * offline_start opens the pipeline of pcfg and the packet loops for a run
 * over files, and takes SIGINT, SIGTERM and SIGPIPE. 0, or the exit status
 * (2 for a malformed --syslog, wrong usage; 1 otherwise) with nothing left
 * open.
 */
static int offline_start(const struct options *o, struct run *run,
                         const struct pipeline_config *pcfg)
{
	struct workers_config wcfg = {
	    .n = o->workers,
	    .limits = &o->limits,
	    .ports = o->ports,
	    .nports = o->nports,
	    .seed = pcfg->seed,
	    .sensor = o->record.sensor,
	};
	struct sigaction sa;
	int r;

	if ((r = pipeline_open(&run->p, pcfg)) != 0)
		return r == KW_ERR_MALFORMED ? 2 : 1;
	wcfg.p = run->p;
	if (workers_open(&run->w, &wcfg) != 0) {
		pipeline_close(run->p);
		return 1;
	}
	/* No SA_RESTART: a read from a pipe that waits is interrupted, and
	 * capture.c then looks at kw_stop. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	capture_set_stop_flag(&kw_stop);
	return 0;
}

/*
 * run_offline reads every -r input in order through one pipeline, so
 * connections continue across rotated capture files. SIGINT/SIGTERM, or a
 * reader of standard output that went away, stop the reading; what was
 * read is still written. Returns the exit status (see offline_end).
 */
static int run_offline(const struct options *o)
{
	struct run run = {
	    .filter = o->filter,
	    .progress = !o->quiet && isatty(STDERR_FILENO),
	};
	/* The files are set below, once directories are listed. */
	struct pipeline_config pcfg = offline_config(o, &run, NULL, 0);
	struct capture_writer_iface *wi = NULL;
	struct evidence_config ec;
	static struct input_list in; /* large: the directories' handles */
	int failed = 0, r;

	if (expand_inputs(o, &in) != 0) {
		input_list_free(&in);
		return 1;
	}
	pcfg.filenames = in.names;
	pcfg.nfiles = in.n;
	if (o->evidence_path != NULL) {
		if (evidence_inputs(in.names, in.n, &run, &wi) != 0) {
			input_list_free(&in);
			free(wi);
			capture_close(run.stdin_cap);
			return 1;
		}
		ec = (struct evidence_config){
		    .path = o->evidence_path,
		    .max_file_bytes = o->evidence_max_bytes,
		    .max_frames_per_flow = EVIDENCE_FRAMES_PER_FLOW,
		    .max_bytes_per_flow = EVIDENCE_BYTES_PER_FLOW,
		    .max_buffer_bytes = EVIDENCE_BUFFER_BYTES,
		    .max_entries = o->limits.max_flows,
		    .ifaces = wi,
		    .nifaces = in.n,
		    .seed = pcfg.seed,
		};
		pcfg.evidence = &ec;
	}
	r = offline_start(o, &run, &pcfg);
	free(wi);
	if (r != 0) {
		capture_close(run.stdin_cap);
		input_list_free(&in);
		return r;
	}
	for (uint32_t i = 0; i < in.n && !kw_stop && !run.p->output_failed && failed < 2; i++)
		failed |= read_input(in.names[i], i, &run);
	capture_close(run.stdin_cap); /* stdin never reached: stopped early */
	r = offline_end(&run, o->quiet, failed);
	input_list_free(&in); /* the records named these paths: freed after the last */
	return r == 1 && (failed & 2) ? 2 : r;
}

/*
 * run_follow reads the files of --follow DIR as a rotation finishes each
 * (capture_dir_next), through one pipeline so connections continue across
 * files, looking at the directory four times a second. SIGINT/SIGTERM end
 * the waiting: the files written by then are read to their end (a second
 * signal stops that too), then the run ends as an offline one. Returns the
 * exit status (see offline_end).
 */
static int run_follow(const struct options *o)
{
	struct run run = {.filter = o->filter};
	const char **names = calloc(KW_MAX_DIR_FILES, sizeof(*names));
	struct pipeline_config pcfg = offline_config(o, &run, names, KW_MAX_DIR_FILES);
	struct timespec poll = {0, KW_FOLLOW_POLL_NS};
	struct capture_dir *d = NULL;
	uint32_t n = 0;
	const char *p;
	char err[256];
	int failed = 0, final = 0, r;

	if (names == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	if (capture_dir_open(&d, o->follow, KW_MAX_DIR_FILES, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch: %s: %s\n", o->follow, err);
		free(names);
		return 1;
	}
	if ((r = offline_start(o, &run, &pcfg)) != 0) {
		capture_dir_close(d);
		free(names);
		return r;
	}
	if (!o->quiet)
		fprintf(stderr, "kexwatch: following %s\n", o->follow);
	for (;;) {
		if (capture_dir_scan(d) < 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", o->follow, strerror(errno));
			failed = 1;
			break;
		}
		while (!kw_stop && !run.p->output_failed && failed < 2 && n < KW_MAX_DIR_FILES &&
		       (p = capture_dir_next(d, final)) != NULL) {
			names[n] = p;
			failed |= read_input(p, n, &run);
			n++;
		}
		if (final || run.p->output_failed || failed >= 2)
			break;
		if (kw_stop) {
			/* The normal end of a follow: nothing more will be finished by
			 * the rotation, so read what is there (a second signal cuts
			 * that short, and the exit status says so). */
			kw_stop = 0;
			final = 1;
			continue;
		}
		/* Waiting for the rotation: what is due by now goes out. */
		workers_idle(run.w, 0);
		nanosleep(&poll, NULL);
	}
	r = offline_end(&run, o->quiet, failed);
	capture_dir_close(d);
	free(names);
	return r == 1 && (failed & 2) ? 2 : r;
}

/*
 * main runs the hostkeys subcommand, or reads what the options name: files
 * (-r) or interfaces (-i). Returns the exit status: 0 when every input was
 * read to its end, 1 when an input or an output failed, 2 on a usage error,
 * 130 or 143 when SIGINT or SIGTERM stopped reading files before their end.
 */
int main(int argc, char **argv)
{
	static struct options o; /* large: thousands of input names */
	int status;

	if (argc > 1 && strcmp(argv[1], "hostkeys") == 0)
		return hostkeys_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "inventory") == 0)
		return inventory_main(argc - 1, argv + 1);
	if ((status = options_parse(&o, argc, argv)) != OPTIONS_GO_ON)
		return status;
	if (o.nifaces > 0)
		return live_run(&o);
	if (o.follow != NULL)
		return run_follow(&o);
	return run_offline(&o);
}
