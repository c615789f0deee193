/*
 * test_rules.c: unit.rules — the rule table (verdict/rules.c) against the
 * documents that list the codes: every code of the table is explained in
 * docs/diagnoses.md (a paragraph opening with **code**, which --explain
 * prints) and listed in the man page's DIAGNOSES section, and neither
 * document names a code the table does not have.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "verdict.h"

static char *slurp(const char *rel)
{
	char path[512];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/../%s", KW_TESTS_DIR, rel);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* is_code_char: what a code is made of. */
static int is_code_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

/* The table itself: names unique, and every row has its texts. */
static void test_table(void)
{
	for (int i = 0; i < DIAG_COUNT; i++) {
		const struct diag_rule *r = diag_rule((enum diag_code)i);
		CHECK(r->code != NULL && strlen(r->code) > 3, "code %d has a name", i);
		CHECK(r->title != NULL && r->summary != NULL && r->hints[0] != NULL,
		      "%s: title, summary template and hint", r->code);
		CHECK_EQ_INT(diag_code_by_name(r->code), i);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(r->code, diag_rule((enum diag_code)j)->code) != 0,
			      "%s named once", r->code);
	}
	CHECK_EQ_INT(diag_code_by_name("no_such_code"), -1);
	CHECK_EQ_STR(verdict_severity_name(SEV_ERROR), "error");
	CHECK_EQ_STR(verdict_severity_name(SEV_WARNING), "warning");
	CHECK_EQ_STR(verdict_severity_name(SEV_INFO), "info");
}

/* docs/diagnoses.md: each code has its **code** paragraph; every bold code is one. */
static void test_diagnoses_md(void)
{
	char *doc = slurp("docs/diagnoses.md"), needle[96];
	const char *p;

	if (doc == NULL) {
		CHECK(0, "docs/diagnoses.md readable");
		return;
	}
	for (int i = 0; i < DIAG_COUNT; i++) {
		const struct diag_rule *r = diag_rule((enum diag_code)i);
		const char *sev = verdict_severity_name(r->severity), *at;
		snprintf(needle, sizeof(needle), "**%s**", r->code);
		at = strstr(doc, needle);
		CHECK(at != NULL, "docs/diagnoses.md explains %s", r->code);
		/* "**code** (severity", the line may break after the code */
		if (at != NULL) {
			at += strlen(needle);
			at += strspn(at, " \n");
			CHECK(*at == '(' && strncmp(at + 1, sev, strlen(sev)) == 0,
			      "docs/diagnoses.md gives %s's severity %s", r->code, sev);
		}
	}
	for (p = doc; (p = strstr(p, "**")) != NULL;) {
		size_t k = 0;
		while (is_code_char(p[2 + k]))
			k++;
		if (k > 2 && strncmp(p + 2 + k, "**", 2) == 0 && memchr(p + 2, '_', k) != NULL) {
			char code[64];
			snprintf(code, sizeof(code), "%.*s", (int)k, p + 2);
			CHECK(diag_code_by_name(code) >= 0, "docs/diagnoses.md names %s, a code",
			      code);
			p += k + 4;
		} else {
			p += 2;
		}
	}
	free(doc);
}

/* The man page's DIAGNOSES section lists exactly the table's codes. */
static void test_man_page(void)
{
	char *man = slurp("packaging/kexwatch.1"), *sec, *end;
	int listed = 0;

	if (man == NULL) {
		CHECK(0, "packaging/kexwatch.1 readable");
		return;
	}
	sec = strstr(man, ".SH DIAGNOSES");
	CHECK(sec != NULL, "the man page has a DIAGNOSES section");
	if (sec == NULL) {
		free(man);
		return;
	}
	if ((end = strstr(sec + 4, "\n.SH ")) != NULL)
		*end = '\0';
	for (int i = 0; i < DIAG_COUNT; i++) {
		const char *code = diag_rule((enum diag_code)i)->code;
		CHECK(strstr(sec, code) != NULL, "the man page lists %s", code);
	}
	/* Every word with an underscore in the section is a code. */
	for (char *p = sec; *p != '\0';) {
		size_t k = 0;
		while (is_code_char(p[k]))
			k++;
		if (k > 2 && memchr(p, '_', k) != NULL && (p == sec || !is_code_char(p[-1]))) {
			char code[64];
			snprintf(code, sizeof(code), "%.*s", (int)k, p);
			CHECK(diag_code_by_name(code) >= 0, "the man page names %s, a code", code);
			listed++;
		}
		p += k > 0 ? k : 1;
	}
	CHECK(listed >= DIAG_COUNT, "the man page names %d codes", listed);
	free(man);
}

int main(void)
{
	test_table();
	test_diagnoses_md();
	test_man_page();
	return tap_done();
}
