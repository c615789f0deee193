/*
 * ux.h: what the person at the terminal sees besides records: the progress
 * line while reading large files, --explain, and the line that answers
 * wrong use.
 */
#ifndef KW_UX_H
#define KW_UX_H

#include <stdint.h>
#include <stdio.h>

struct progress {
	int on; /* stderr is a terminal and not -q */
	const char *name;
	uint64_t total; /* bytes of the file (compressed size for .gz) */
	uint64_t start_us, last_us, frames;
	int shown;
};

/* progress_start prepares the line for one input; it stays silent unless on. */
void progress_start(struct progress *p, int on, const char *path);
/*
 * progress_tick redraws at most four times a second: bytes read of total,
 * frames per second, connections so far, time left. Cheap when not due.
 */
void progress_tick(struct progress *p, uint64_t bytes_read, uint64_t connections);
/* progress_end clears the line. */
void progress_end(struct progress *p);

/*
 * usage_hint prints the hint that follows a usage error: "Try 'kexwatch
 * [SUB] --help' for more information." (sub: a subcommand, or NULL).
 * Returns 2, the exit status of wrong use.
 */
int usage_hint(const char *sub);
/*
 * usage_error prints "kexwatch[ SUB]: MESSAGE" (printf's fmt) and the hint,
 * on one line each, to standard error. Returns 2.
 */
int usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * color_ok: ANSI colour on fd: a terminal that is not "dumb", and NO_COLOR
 * (no-color.org) unset.
 */
int color_ok(int fd);

/*
 * term_width: the columns of the terminal on fd, for the text table:
 * COLUMNS when set (20 to 1024), else the terminal's size (TIOCGWINSZ),
 * else 80 (a pipe or a file).
 */
unsigned term_width(int fd);

/*
 * explain_code prints what diagnosis code means, its usual causes and what
 * to check, from the text of docs/diagnoses.md built into the program.
 * Text that is not shaped like a code (spaces, capitals, punctuation) is a
 * client message: explain_symptom answers it. Returns 0, or 2 (after a
 * one-line message naming the nearest codes) when code is unknown.
 */
int explain_code(FILE *out, const char *code);

/*
 * explain_symptom lists the diagnoses whose client message (the rule
 * table's symptoms) matches text pasted from a ticket or `ssh -v`, best
 * first, at most five, each with its severity, title, the matching message
 * and what to check. Addresses, ports and quotes in text do not matter.
 * Returns 0, or 1 (after a message on standard error) when none matches.
 */
int explain_symptom(FILE *out, const char *text);

#endif
