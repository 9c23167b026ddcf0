#include "jsonfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"
#include "util.h"

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *jsonfile_duplicate_member(const cJSON *obj)
{
    size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
    if (n < 2)
        return NULL;
    const char **names = xmalloc(n * sizeof *names);
    for (const cJSON *c = obj->child; c; c = c->next)
        names[i++] = c->string;
    qsort(names, n, sizeof *names, cmp_str_ptr);
    const char *dup = NULL;
    for (i = 1; i < n && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    free(names);
    return dup;
}

cJSON *jsonfile_load(const char *path, const char *display, char *err, size_t errlen)
{
    char shown[256];
    text_escape(display, shown, sizeof shown);
    struct stat sb;
    char why[UTIL_WHY_LEN];
    int fd = util_open_regular(path, &sb, why, sizeof why);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", shown, why);
        return NULL;
    }
    if ((uint64_t)sb.st_size > JSONFILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than the 100 MB limit", shown);
        close(fd);
        return NULL;
    }
    size_t len = (size_t)sb.st_size;
    char *text = xmalloc(len + 1);
    if (util_pread_exact(fd, text, len, 0, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", shown, why);
        close(fd);
        free(text);
        return NULL;
    }
    close(fd);
    text[len] = '\0';
    cJSON *root = NULL;
    const char *end = NULL;
    if (memchr(text, '\0', len))
        snprintf(err, errlen, "%s: contains a NUL byte", shown);
    else if (!text_utf8_valid(text, len))
        snprintf(err, errlen, "%s: not valid UTF-8", shown);
    else if (!(root = cJSON_ParseWithLengthOpts(text, len, &end, 0)))
        snprintf(err, errlen, "%s: not valid JSON (near byte %td)", shown,
                 end ? end - text : (ptrdiff_t)0);
    else {
        for (const char *p = end; p < text + len; p++) {
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                snprintf(err, errlen, "%s: trailing data after the JSON value at byte %td",
                         shown, p - text);
                cJSON_Delete(root);
                root = NULL;
                break;
            }
        }
    }
    free(text);
    return root;
}
