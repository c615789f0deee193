/*
 * pipeline.c: building and closing the objects a run pushes packets
 * through, for capture files and interfaces alike (see pipeline.h).
 *
 * Responsible for where records go (standard output, -w FILE, --syslog),
 * the order outputs and state are opened in, and the one callback that
 * takes each finished flow to the reporter and the evidence buffer. Not
 * responsible for reading frames, signals, privileges or the exit status
 * (kexwatch.c, live.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "err.h"
#include "hostkeys.h"
#include "ux.h"

/* Offline: bytes of records per write(2). Each batch wakes the writer
 * thread on the other processor, which on a virtual machine costs an
 * interrupt into an idle vCPU: 1 MiB wakes it a quarter as often as 256 KiB
 * did (docs/performance.md, fourth session). */
#define OUTPUT_BATCH (1u << 20)
/* Offline, records for standard output alone: stdio's buffer. Kept at
 * 256 KiB: no writer thread to wake, and a reader that closes the pipe
 * (| head) is seen while the input is read, so the run ends quietly. */
#define STDOUT_BATCH (256u << 10)

/*
 * open_sinks opens standard output (when use_stdout), the file outpath (when
 * not NULL or "-") and each syslog target into sinks[] (room for 2 + nsyslog),
 * setting *n. Returns 0, or KW_ERR_NOMEM / KW_ERR_IO after naming the
 * failure on standard error, KW_ERR_MALFORMED for a --syslog target that
 * is not one (sinks already opened are closed).
 */
static int open_sinks(struct sink **sinks, uint32_t *n, int use_stdout, const char *outpath,
                      const char *const *syslog, uint32_t nsyslog, int facility)
{
	char err[256];
	int r = KW_ERR_IO;

	*n = 0;
	if (use_stdout && sink_open_fd(&sinks[(*n)++], STDOUT_FILENO, "standard output") != 0)
		goto nomem;
	if (outpath != NULL && strcmp(outpath, "-") != 0) {
		if (sink_open_file(&sinks[*n], outpath, err, sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", outpath, err);
			goto fail;
		}
		(*n)++;
	}
	for (uint32_t i = 0; i < nsyslog; i++) {
		if ((r = sink_open_syslog(&sinks[*n], syslog[i], facility, err, sizeof(err))) !=
		    0) {
			/* A malformed target is wrong usage (exit 2), not a failure to send. */
			fprintf(stderr, "kexwatch: --syslog %s: %s\n", syslog[i], err);
			if (r != KW_ERR_MALFORMED)
				r = KW_ERR_IO;
			else
				(void)usage_hint(NULL);
			goto fail;
		}
		(*n)++;
	}
	return 0;
nomem:
	(*n)--;
	fprintf(stderr, "kexwatch: out of memory\n");
	r = KW_ERR_NOMEM;
fail:
	while (*n > 0)
		sink_close(sinks[--(*n)]);
	return r;
}

/*
 * open_outputs opens the sinks the command line asks for. Live, every
 * output is a sink, standard output included. Offline, records for
 * standard output alone go through stdio, fully buffered when it is a file
 * or a pipe (stdio would write 4 KiB at a time); a file or syslog gets
 * sinks, one write(2) per record, so a full disk loses whole records and is
 * reported by name, gathered in batches (a fifth of the run's time went to
 * one write(2) per record on the benchmark). 0, KW_ERR_NOMEM or KW_ERR_IO.
 */
static int open_outputs(struct pipeline *p, const struct pipeline_config *cfg, int use_stdout)
{
	static char outbuf[STDOUT_BATCH];
	int r;

	if (cfg->mode == PIPELINE_LIVE || cfg->nsyslog > 0 ||
	    (cfg->outpath != NULL && strcmp(cfg->outpath, "-") != 0)) {
		r = open_sinks(p->sinks, &p->nsinks, use_stdout, cfg->outpath, cfg->syslog,
		               cfg->nsyslog, cfg->facility);
		if (r != 0)
			return r;
	}
	if (cfg->mode == PIPELINE_LIVE)
		return 0;
	for (uint32_t i = 0; i < p->nsinks; i++)
		sink_batch(p->sinks[i], OUTPUT_BATCH);
	if (p->nsinks == 0 && !isatty(STDOUT_FILENO))
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	return 0;
}

/*
 * pipeline_record takes a flow whose record is due to the reporter, then
 * tells the evidence buffer whether to keep its frames: those the filters
 * select when filters are given, else those with an error-level diagnosis.
 */
void pipeline_record(struct pipeline *p, const struct flow *f, enum flow_report_why why)
{
	/* A failing sink said so, and goes on; a closed pipe stops a file read. */
	if (report_flow(p->report, f, why) == KW_ERR_IO && errno == EPIPE)
		p->output_failed = 1;
	if (p->ev != NULL)
		evidence_flow_reported(p->ev, f,
		                       p->filtered ? report_last_selected(p->report)
		                                   : report_last_has_error(p->report));
}

int pipeline_open(struct pipeline **out, const struct pipeline_config *cfg)
{
	int use_stdout = (cfg->outpath == NULL && cfg->nsyslog == 0) ||
	                 (cfg->outpath != NULL && strcmp(cfg->outpath, "-") == 0);
	/* Without -w FILE and --syslog, records reach standard output alone. */
	int stdout_only = use_stdout && cfg->nsyslog == 0;
	int format = cfg->format, r;
	struct report_config rcfg;
	struct pipeline *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->sinks = calloc(2 + cfg->nsyslog, sizeof(*p->sinks))) == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		free(p);
		return KW_ERR_NOMEM;
	}
	p->state_path = cfg->state_path;
	p->filtered = cfg->select != NULL && cfg->select->active;
	if ((r = open_outputs(p, cfg, use_stdout)) != 0)
		goto fail;
	r = KW_ERR_IO;
	if (cfg->evidence != NULL && evidence_open(&p->ev, cfg->evidence) != 0)
		goto fail;
	/* Live, after the privilege drop: the store's -wal and -shm files must
	 * belong to the user that writes them. */
	if (cfg->state_path != NULL &&
	    hostkeys_store_open(&p->store, cfg->state_path, cfg->share_threshold, cfg->limits) != 0)
		goto fail;
	if (format < 0) {
		/* A table for a person at a terminal; live, even when syslog
		 * gets the records too. */
		int shown = cfg->mode == PIPELINE_LIVE ? use_stdout : stdout_only;
		format = shown && isatty(STDOUT_FILENO) ? REPORT_TEXT : REPORT_JSON;
	}
	rcfg = (struct report_config){
	    .format = (enum report_format)format,
	    .out = stdout,
	    .sinks = p->sinks,
	    .nsinks = p->nsinks,
	    .filenames = cfg->filenames,
	    .nfiles = cfg->nfiles,
	    .ifaces = cfg->ifaces,
	    .color = format == REPORT_TEXT && stdout_only && color_ok(STDOUT_FILENO),
	    .width = term_width(STDOUT_FILENO),
	    .flush_each = cfg->mode == PIPELINE_LIVE,
	    .store = p->store,
	    .record = cfg->record,
	};
	budget_init(&p->budget, pipeline_memory_budget(cfg->limits));
	if (cfg->select != NULL)
		rcfg.filter = *cfg->select;
	if ((p->report = report_new(&rcfg)) == NULL ||
	    (p->dec = decoder_new(cfg->limits)) == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		r = KW_ERR_NOMEM;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	pipeline_close(p);
	return r;
}

/*
 * cgroup_memory_max: the lowest memory limit of this process's cgroup and
 * its ancestors, in bytes (v2 memory.max; v1 memory.limit_in_bytes); 0
 * when there is none ("max", or no memory cgroup).
 */
static uint64_t cgroup_memory_max(void)
{
	char line[512], path[1024];
	int v1 = 0;
	uint64_t best = 0;
	FILE *f = fopen("/proc/self/cgroup", "r");
	char *rel = NULL;

	if (f == NULL)
		return 0;
	while (rel == NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0) {
			rel = line + 3;
		} else if (strstr(line, ":memory:") != NULL) {
			rel = strstr(line, ":memory:") + 8;
			v1 = 1;
		}
	}
	fclose(f);
	while (rel != NULL) {
		unsigned long long v;
		char *slash;
		FILE *m;

		snprintf(path, sizeof(path), "/sys/fs/cgroup%s%s/%s", v1 ? "/memory" : "",
		         strcmp(rel, "/") == 0 ? "" : rel,
		         v1 ? "memory.limit_in_bytes" : "memory.max");
		if ((m = fopen(path, "r")) != NULL) {
			if (fscanf(m, "%llu", &v) == 1 && (best == 0 || v < best))
				best = v;
			fclose(m);
		}
		if ((slash = strrchr(rel, '/')) == NULL || slash == rel)
			break;
		*slash = '\0';
	}
	return best;
}

uint64_t pipeline_memory_budget(const struct kw_limits *l)
{
	uint64_t want = (uint64_t)l->memory << 20, cg;

	/* The default only: a budget the operator set is taken as said. */
	if (l->memory == KW_MEMORY_DEFAULT_MIB && (cg = cgroup_memory_max()) != 0 && cg / 2 < want)
		want = cg / 2; /* the rest for the flows' fixed state, I/O, libraries */
	return want;
}

void pipeline_flush(struct pipeline *p)
{
	if (p->nsinks == 0 && fflush(stdout) != 0 && errno == EPIPE)
		p->output_failed = 1;
	for (uint32_t i = 0; i < p->nsinks; i++)
		sink_flush(p->sinks[i]);
}

void pipeline_summary(const struct pipeline *p, const struct flow_stats *fs,
                      const struct decode_stats *ds)
{
	report_summary(p->report, stderr, fs, ds->frames, ds->malformed, ds->tso_frames);
}

int pipeline_store_close(struct pipeline *p, int quiet)
{
	int r = hostkeys_store_close(p->store, p->state_path, quiet);

	p->store = NULL;
	return r;
}

int pipeline_sinks_close(struct pipeline *p)
{
	int status = 0;

	for (uint32_t i = 0; i < p->nsinks; i++) {
		uint64_t written, lost;
		sink_flush(p->sinks[i]);
		sink_counts(p->sinks[i], &written, &lost);
		if (lost > 0) { /* already named on stderr when it first failed */
			fprintf(stderr, "kexwatch: %s: %llu records lost\n", sink_name(p->sinks[i]),
			        (unsigned long long)lost);
			status = 1;
		}
		sink_close(p->sinks[i]);
	}
	p->nsinks = 0;
	return status;
}

void pipeline_close(struct pipeline *p)
{
	if (p == NULL)
		return;
	decoder_free(p->dec);
	report_free(p->report);
	hostkeys_store_close(p->store, p->state_path, 1);
	evidence_close(p->ev);
	for (uint32_t i = 0; i < p->nsinks; i++)
		sink_close(p->sinks[i]);
	free(p->sinks);
	free(p);
}
