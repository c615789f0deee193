/*
 * record.h: building one record (internal to report/).
 */
#ifndef KW_RECORD_H
#define KW_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "report.h"

struct auth_guess;

/* What report.c decided about a flow before its record is built. */
struct record_judgment {
	int client_dir;               /* TCP direction of the SSH client */
	uint64_t t0;                  /* the SYN, or the first packet */
	uint64_t t_close;             /* when it closed, or the last packet */
	enum report_outcome outcome;
	enum report_phase phase;
	enum report_phase close_phase;
	struct auth_guess *guess;     /* failed logins per client (auth.c); NULL: none kept */
};

/*
 * record_build returns a new JSON object (caller owns), NULL on OOM. It takes
 * over the reference to diagnoses (the list diagnose_flow filled).
 */
json_t *record_build(const struct flow *f, const struct report_config *cfg,
		     const struct record_judgment *j, json_t *diagnoses);

/* record_addr formats an address; record_time an ISO 8601 UTC time with microseconds. */
void record_addr(char *buf, size_t size, int family, const uint8_t *addr);
void record_time(char *buf, size_t size, uint64_t us);

#endif
