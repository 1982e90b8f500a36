/* fuzz/driver.c - replays inputs through a fuzz target without libFuzzer: each
 * argument is a file or a directory of files (not recursive), and every file is
 * passed once to LLVMFuzzerTestOneInput. This is how the seed corpora and the
 * regressions run under ctest in the ordinary (gcc, ASan + UBSan) build.
 * Exits 0 when every input ran (a crash aborts), 1 when an argument cannot be
 * read. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

/* Runs the target over the file at |path|. Returns 0, or -1 when unreadable. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    while (data != NULL) {
        size_t k = fread(data + len, 1, cap - len, f);
        len += k;
        if (len < cap)
            break;
        uint8_t *bigger = realloc(data, cap * 2);
        if (bigger == NULL)
            free(data);
        data = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (data == NULL || bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(data);
        return -1;
    }
    /* An exact-size copy, so that reads past the input are caught. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in |dir|, in name order. Returns the count or -1. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = -1;
                break;
            }
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(len)) == NULL) {
            rc = -1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) != 0)
                rc = -1;
            count++;
        }
        free(names[i]);
    }
    free(names);
    return rc != 0 ? -1 : count;
}

int main(int argc, char **argv)
{
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (errno == ENOENT)
                continue; /* no regressions yet */
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        int k = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0 ? 1 : -1;
        if (k < 0)
            return 1;
        total += k;
    }
    printf("%s: %d inputs ran\n", argc > 0 ? argv[0] : "driver", total);
    return 0;
}
