/*
 * replay_main.c: a main() for fuzz targets built without libFuzzer.
 *
 * Runs every file named on the command line, and every regular file in
 * every directory named (sorted, not recursive), through
 * LLVMFuzzerTestOneInput once, as libFuzzer does when given a corpus
 * without -runs. The ctest tests fuzz.<target> use it to replay
 * fuzz/corpus/<target>/ under plain gcc (and ASan/UBSan in ./test.sh), so a
 * past crash stays fixed. Exits 0 when all ran, 1 if a file cannot be read or
 * no input was found (an empty corpus must not pass silently); a crash is
 * the sanitizer's or abort()'s exit.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int ok = 0;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(len > 0 ? (size_t)len : 1)) != NULL &&
	    fread(buf, 1, (size_t)len, f) == (size_t)len) {
		/* An exact-size copy, so ASan sees any read past the input. */
		uint8_t *in = malloc((size_t)len);
		if (in != NULL || len == 0) {
			if (len > 0)
				memcpy(in, buf, (size_t)len);
			LLVMFuzzerTestOneInput(in, (size_t)len);
			free(in);
			ok = 1;
		}
	}
	if (!ok)
		fprintf(stderr, "replay: %s: cannot read\n", path);
	free(buf);
	fclose(f);
	return ok ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	unsigned long runs = 0;
	int failed = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed |= run_file(argv[i]) != 0;
			runs++;
			continue;
		}
		DIR *dir = opendir(argv[i]);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, cap = 0;
		if (dir == NULL) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		while ((e = readdir(dir)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				char **nn =
				    realloc(names, (cap = cap ? cap * 2 : 256) * sizeof(*nn));
				if (nn == NULL)
					abort();
				names = nn;
			}
			size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
			if ((names[n] = malloc(len)) == NULL)
				abort();
			snprintf(names[n++], len, "%s/%s", argv[i], e->d_name);
		}
		closedir(dir);
		if (n > 0)
			qsort(names, n, sizeof(*names), by_name);
		for (size_t k = 0; k < n; k++) {
			if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
				failed |= run_file(names[k]) != 0;
				runs++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("replay: %lu inputs run\n", runs);
	if (runs == 0) {
		fprintf(stderr, "replay: no input found\n");
		return 1;
	}
	return failed;
}
