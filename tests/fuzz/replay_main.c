/* replay_main.c — run LLVMFuzzerTestOneInput (fuzz_pipeline.c) on every file of the given
 * directories (or on given files) without libFuzzer: the CTest test fuzz_replay, in the normal
 * and the ASan+UBSan builds.  A crash or an abort() of the target fails the test; so does a
 * directory that cannot be read or holds no file.  Files are run in byte order of their names. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *q = realloc(buf, cap *= 2);
            if (!q) free(buf);
            buf = q;
        }
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "fuzz_replay: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy, so that ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "fuzz_replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file directly in dir (not recursive; hidden files and README* skipped).
 * \return the number of files run, or -1. */
static int run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "README", 6)) continue;
        if (n == cap) {
            char **q = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!q) break;
            names = q;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    int run = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, names[i] ? names[i] : "");
        if (names[i] && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (run_file(path) != 0) run = -1;
            if (run >= 0) run++;
        }
        free(names[i]);
    }
    free(names);
    return run;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    int total = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        int r;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            r = run_dir(argv[i]);
            if (r == 0) fprintf(stderr, "fuzz_replay: %s: no input files\n", argv[i]);
            if (r <= 0) failed = 1;
        } else {
            r = run_file(argv[i]) == 0 ? 1 : -1;
            if (r < 0) failed = 1;
        }
        if (r > 0) total += r;
    }
    printf("fuzz_replay: %d inputs run\n", total);
    return failed;
}
