/* libFuzzer target: the one reader of untrusted JSON (src/jsonread.h).
 * Beyond "no crash", each input checks the reader's promises against each
 * other: a text jsonread_parse accepts was accepted by jsonread_check; cJSON's
 * printout of the tree reads back through the reader to an equal tree;
 * jsonread_each_member hands out exactly the tree's top-level members, in
 * order, with equal values; and every number read as an exact integer is one
 * (at most 2^53 and equal to cJSON's double). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

#define DEPTH 16

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_integers(const cJSON *node)
{
    for (; node; node = node->next) {
        uint64_t v;
        if (jsonread_integer(node, &v))
            CHECK(v <= JSONREAD_MAX_INTEGER && (double)v == node->valuedouble);
        check_integers(node->child);
    }
}

typedef struct {
    const cJSON *next; /* the tree's member the walk should hand out next */
    size_t seen;
} walk;

static int same_member(const char *name, cJSON *value, void *ctx)
{
    walk *w = ctx;
    CHECK(w->next && strcmp(w->next->string, name) == 0);
    CHECK(cJSON_Compare(w->next, value, 1));
    w->next = w->next->next;
    w->seen++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    jsonread_error e;
    bool checked = jsonread_check(text, size, DEPTH, &e);
    cJSON *tree = jsonread_parse(text, size, DEPTH, &e);
    CHECK(!tree || checked);
    CHECK(tree || !checked || e.fault == JSONREAD_DUPLICATE);
    if (!tree)
        return 0;
    check_integers(tree);
    char *printed = cJSON_PrintUnformatted(tree);
    CHECK(printed);
    cJSON *again = jsonread_parse(printed, strlen(printed), DEPTH, &e);
    CHECK(again && cJSON_Compare(tree, again, 1));
    cJSON_Delete(again);
    free(printed);
    if (cJSON_IsObject(tree)) {
        walk w = {tree->child, 0};
        CHECK(jsonread_each_member(text, size, DEPTH, same_member, &w, &e) == 0);
        CHECK(w.next == NULL && w.seen == (size_t)cJSON_GetArraySize(tree));
    }
    cJSON_Delete(tree);
    return 0;
}
