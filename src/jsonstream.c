#include "jsonstream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Placeholders are raw nodes: MARK, the list number, MARK. cJSON escapes
 * every control byte inside strings, so MARK appears nowhere else in its
 * output. */
#define MARK '\x01'
#define MAX_LIST 999
#define ELEMENT_BUF (64u << 10) /* holds any ordinary element; a larger one is allocated */

cJSON *jsonstream_placeholder(int list)
{
    char raw[8];
    snprintf(raw, sizeof raw, "%c%d%c", MARK, list < 0 || list > MAX_LIST ? 0 : list, MARK);
    return cJSON_CreateRaw(raw);
}

static bool is_placeholder(const cJSON *n, int *list)
{
    if (!cJSON_IsRaw(n) || !n->valuestring || n->valuestring[0] != MARK)
        return false;
    *list = atoi(n->valuestring + 1);
    return true;
}

void jsonstream_fill(cJSON *node, const jsonstream_source *src)
{
    for (cJSON *c = node->child; c;) {
        cJSON *next = c->next;
        int list;
        if (!is_placeholder(c, &list)) {
            jsonstream_fill(c, src);
            c = next;
            continue;
        }
        cJSON_DetachItemViaPointer(node, c);
        cJSON_Delete(c);
        size_t n = src->count(src->ctx, list);
        for (size_t i = 0; i < n; i++) {
            cJSON *e = src->element(src->ctx, list, i);
            if (e)
                cJSON_AddItemToArray(node, e);
        }
        c = next;
    }
}

/* Writes text with `indent` tabs after each newline. */
static void put_indented(FILE *out, const char *text, size_t len, int indent)
{
    static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        fwrite(p, 1, n, out);
        for (int t = indent; nl && t > 0; t -= (int)sizeof tabs - 1)
            fwrite(tabs, 1, t < (int)sizeof tabs - 1 ? (size_t)t : sizeof tabs - 1, out);
        p += n;
    }
}

/* Whether text has a byte text_json_escape_controls could change: it only
 * rewrites DEL and code points above U+007F, so pure ASCII (names almost
 * always are) is written as it is, without a copy. */
static bool may_hide_controls(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] >= 0x7F)
            return true;
    return false;
}

/* Prints text with its hidden controls escaped and `indent` tabs after each
 * newline. */
static int put_piece(FILE *out, const char *text, size_t len, int indent)
{
    if (!may_hide_controls(text, len)) {
        put_indented(out, text, len, indent);
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *esc = text_json_escape_controls(copy);
    free(copy);
    put_indented(out, esc, strlen(esc), indent);
    free(esc);
    return 0;
}

/* An element printed into buf when it fits (no allocation per element: a
 * list may have millions), else into a new string. NULL when out of memory. */
static char *print_element(const cJSON *e, char *buf, size_t len)
{
    if (cJSON_PrintPreallocated((cJSON *)e, buf, (int)len, 1))
        return buf;
    return cJSON_Print(e);
}

/* The elements of one list, ", " between them as cJSON puts them. */
static int put_list(FILE *out, const jsonstream_source *src, int list, int indent)
{
    size_t n = src->count(src->ctx, list);
    bool first = true;
    char *buf = malloc(ELEMENT_BUF);
    if (!buf)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cJSON *e = src->element(src->ctx, list, i);
        if (!e)
            continue;
        if (src->prepare)
            src->prepare(e);
        char *text = print_element(e, buf, ELEMENT_BUF);
        cJSON_Delete(e);
        if (!text) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        if (!first)
            fputs(", ", out);
        first = false;
        rc = put_piece(out, text, strlen(text), indent);
        if (text != buf)
            free(text);
        if (rc == 0 && ferror(out))
            rc = -1;
    }
    free(buf);
    return rc;
}

/* Tabs at the start of the line that holds position p of text. */
static int line_indent(const char *text, const char *p)
{
    const char *line = p;
    while (line > text && line[-1] != '\n')
        line--;
    int n = 0;
    while (line[n] == '\t')
        n++;
    return n;
}

int jsonstream_print(FILE *out, cJSON *skeleton, const jsonstream_source *src)
{
    if (src->prepare)
        src->prepare(skeleton);
    char *text = cJSON_Print(skeleton);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    const char *p = text;
    for (const char *m; rc == 0 && (m = strchr(p, MARK));) {
        const char *end = strchr(m + 1, MARK);
        if (!end)
            break; /* not ours: cannot happen, print the rest as it is */
        rc = put_piece(out, p, (size_t)(m - p), 0);
        /* an element sits one level below the line of its array's key */
        if (rc == 0)
            rc = put_list(out, src, atoi(m + 1), line_indent(text, m) + 1);
        p = end + 1;
    }
    if (rc == 0)
        rc = put_piece(out, p, strlen(p), 0);
    free(text);
    if (rc == 0 && (fputc('\n', out) == EOF || ferror(out)))
        rc = -1;
    return rc;
}
