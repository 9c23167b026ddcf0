#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "text.h"
#include "util.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(((const result_file *)a)->file, ((const result_file *)b)->file);
}

static char *join(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* Regular files at the top level of dir. */
static int list_dir(const char *dir, result_file **out, size_t *count, char *why, size_t whylen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(why, whylen, "cannot list the directory: %s", strerror(errno));
        return -1;
    }
    result_file *files = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *full = join(dir, e->d_name);
        struct stat st;
        bool regular = stat(full, &st) == 0 && S_ISREG(st.st_mode);
        free(full);
        if (!regular)
            continue;
        xgrow(&files, &cap, n + 1, sizeof *files);
        files[n++] = (result_file){.file = xstrdup(e->d_name), .bytes = (uint64_t)st.st_size};
        errno = 0;
    }
    int e_read = errno;
    closedir(d);
    if (e_read != 0) {
        for (size_t i = 0; i < n; i++)
            free(files[i].file);
        free(files);
        snprintf(why, whylen, "cannot list the directory: %s", strerror(e_read));
        return -1;
    }
    if (n > 1)
        qsort(files, n, sizeof *files, by_name);
    *out = files;
    *count = n;
    return 0;
}

/* Hashes files[i] of dir; 0, or -1 with why naming the fault. */
static int hash_one(const char *dir, result_file *f, char *why, size_t whylen)
{
    char *full = join(dir, f->file);
    struct stat st;
    int fd = util_open_regular(full, &st, why, whylen);
    free(full);
    if (fd < 0) {
        if (fd == UTIL_NOT_REGULAR)
            snprintf(why, whylen, "not a regular file");
        return -1;
    }
    if ((uint64_t)st.st_size != f->bytes) { /* changed while we looked */
        close(fd);
        snprintf(why, whylen, "changed size while being read (%llu bytes, then %llu)",
                 (unsigned long long)f->bytes, (unsigned long long)st.st_size);
        return -1;
    }
    int rc = sha256_fd_hex(fd, f->bytes, f->sha256, why, whylen);
    close(fd);
    f->hashed = rc == 0;
    return rc;
}

/* Every file hashed, the largest first so that the last one to finish is a
 * small one; the first fault in name order is the one reported. */
static int hash_all(const char *dir, result_file *files, size_t n, char *why, size_t whylen,
                    size_t *bad)
{
    size_t *order = xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) { /* insertion sort by size, descending: n is small */
        size_t v = order[i], j = i;
        while (j > 0 && files[order[j - 1]].bytes < files[v].bytes) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    char (*whys)[UTIL_WHY_LEN] = xcalloc(n ? n : 1, sizeof *whys);
    int *rcs = xcalloc(n ? n : 1, sizeof *rcs);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t k = 0; k < n; k++)
        rcs[order[k]] = hash_one(dir, &files[order[k]], whys[order[k]], sizeof whys[0]);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (rcs[i] < 0) {
            snprintf(why, whylen, "%s", whys[i]);
            *bad = i;
            rc = -1;
        }
    }
    free(whys);
    free(rcs);
    free(order);
    return rc;
}

int manifest_list(const char *side, const char *path, bool hash, result_file **out, size_t *count,
                  char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    struct stat st;
    char why[UTIL_WHY_LEN], msg[UTIL_WHY_LEN + 600];
    if (stat(path, &st) < 0) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        text_side_error(err, errlen, side, path, why);
        return -1;
    }
    char *dir;
    result_file *files = NULL;
    size_t n = 0;
    if (S_ISDIR(st.st_mode)) {
        dir = xstrdup(path);
        if (list_dir(dir, &files, &n, why, sizeof why) < 0) {
            free(dir);
            text_side_error(err, errlen, side, path, why);
            return -1;
        }
    } else {
        dir = util_dirname(path);
        const char *base = strrchr(path, '/');
        files = xcalloc(1, sizeof *files);
        files[0] = (result_file){.file = xstrdup(base ? base + 1 : path), .bytes = (uint64_t)st.st_size};
        n = 1;
    }
    size_t bad = 0;
    int rc = hash ? hash_all(dir, files, n, why, sizeof why, &bad) : 0;
    if (rc < 0) {
        char shown[300];
        snprintf(msg, sizeof msg, "%s: %s", text_escape(files[bad].file, shown, sizeof shown), why);
        text_side_error(err, errlen, side, path, msg);
        for (size_t i = 0; i < n; i++)
            free(files[i].file);
        free(files);
        files = NULL;
        n = 0;
    }
    free(dir);
    *out = files;
    *count = n;
    return rc;
}
