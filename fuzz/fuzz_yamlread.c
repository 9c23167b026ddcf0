/* fuzz_yamlread.c - libFuzzer target for the YAML reader (src/yamlread.h).
 *
 * The whole input is the text of a rule file, in a private copy of exactly
 * its size (ASan then sees any read past it: the text is not
 * NUL-terminated). Beyond "no crash, no leak", each input checks the
 * reader's promises:
 *   - refused: *out stays NULL and the message is "fuzz:LINE:COL: ..." with
 *     both numbers >= 1 and the line within the text;
 *   - accepted: walking the tree from the root with every alias expanded
 *     visits at most YR_MAX_NODES nodes, none deeper than YR_MAX_DEPTH
 *     collections, each at a line/column >= 1 within the text; scalars are
 *     UTF-8 without NUL, collections have no value; mapping keys are scalars,
 *     pairwise distinct, and yr_get finds each one's value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "yamlread.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

typedef struct {
    unsigned long lines; /* lines of the text: no position lies past them */
    size_t visited;      /* nodes, aliases expanded */
} walk;

static int by_value(const void *a, const void *b)
{
    return strcmp((*(const yr_node *const *)a)->value, (*(const yr_node *const *)b)->value);
}

static void check_keys(const yr_node *map)
{
    const yr_node **keys = malloc((map->count ? map->count : 1) * sizeof *keys);
    CHECK(keys);
    for (size_t i = 0; i < map->count; i++) {
        keys[i] = map->items[2 * i];
        CHECK(keys[i]->kind == YR_SCALAR);
        CHECK(yr_get(map, keys[i]->value) == map->items[2 * i + 1]);
    }
    qsort(keys, map->count, sizeof *keys, by_value);
    for (size_t i = 1; i < map->count; i++)
        CHECK(strcmp(keys[i - 1]->value, keys[i]->value) != 0);
    free(keys);
}

/* depth: collections on the path above n */
static void visit(walk *w, const yr_node *n, int depth)
{
    CHECK(n);
    CHECK(++w->visited <= YR_MAX_NODES);
    CHECK(n->line >= 1 && n->line <= w->lines && n->column >= 1);
    if (n->kind == YR_SCALAR) {
        CHECK(n->value && text_utf8_valid(n->value, strlen(n->value)));
        CHECK(n->count == 0 && yr_get(n, n->value) == NULL);
        return;
    }
    CHECK(n->kind == YR_SEQ || n->kind == YR_MAP);
    CHECK(!n->value);
    if (n->kind == YR_SEQ)
        CHECK(yr_get(n, "") == NULL && yr_get(n, "version") == NULL);
    CHECK(depth + 1 <= YR_MAX_DEPTH);
    size_t items = n->kind == YR_MAP ? 2 * n->count : n->count;
    CHECK(items == 0 || n->items);
    if (n->kind == YR_MAP)
        check_keys(n);
    for (size_t i = 0; i < items; i++)
        visit(w, n->items[i], depth + 1);
}

static unsigned long count_lines(const char *text, size_t size)
{
    /* an upper bound on libyaml's count: every CR, LF and the 2- and 3-byte
     * breaks (NEL, LS, PS) each start at most one line, and libyaml ends the
     * stream with a line break of its own when the text lacks one */
    unsigned long lines = 2;
    for (size_t i = 0; i < size; i++)
        if (text[i] == '\n' || text[i] == '\r' || text[i] == '\xC2' || text[i] == '\xE2')
            lines++;
    return lines;
}

static void check_refusal(const char *err, unsigned long lines)
{
    CHECK(strncmp(err, "fuzz:", 5) == 0);
    char *end;
    unsigned long line = strtoul(err + 5, &end, 10);
    CHECK(end > err + 5 && *end == ':' && line >= 1 && line <= lines);
    const char *col = end + 1;
    unsigned long column = strtoul(col, &end, 10);
    CHECK(end > col && column >= 1 && strncmp(end, ": ", 2) == 0 && end[2] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    unsigned long lines = count_lines(text, size);
    yr_doc *d = (yr_doc *)text; /* must be set either way */
    char err[YR_ERR_LEN];
    err[0] = '\0';
    if (yr_parse(text, size, "fuzz", &d, err, sizeof err) != 0) {
        CHECK(d == NULL);
        check_refusal(err, lines);
    } else {
        CHECK(d != NULL);
        const yr_node *root = yr_root(d);
        walk w = {lines, 0};
        visit(&w, root, 0);
        yr_free(d);
    }
    free(text);
    return 0;
}
