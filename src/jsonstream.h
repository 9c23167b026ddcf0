/* jsonstream.h - printing a JSON document too large to hold as one cJSON
 * tree (a report on a million tensors is gigabytes of nodes).
 *
 * The caller builds a skeleton: the document with each long array holding
 * one placeholder node (jsonstream_placeholder(list)) instead of its
 * elements. The elements come from a source, one at a time: jsonstream_print
 * writes the skeleton as cJSON_Print lays it out and, at each placeholder,
 * the list's elements, each printed, indented as cJSON indents it in place,
 * and freed before the next one. Memory is the skeleton plus one element.
 * jsonstream_fill turns the skeleton into the whole tree instead, so a tree
 * and a printed document are the same document by construction.
 *
 * Every printed piece goes through text_json_escape_controls (text.h), so
 * the output has no raw C1 or bidi control anywhere. */
#ifndef MXC_JSONSTREAM_H
#define MXC_JSONSTREAM_H

#include <cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    /* The indices of list to visit: 0 .. count - 1. */
    size_t (*count)(const void *ctx, int list);
    /* The element at index i of list (the caller of element owns it), or NULL
     * when there is none at i (a finding the list leaves out). */
    cJSON *(*element)(const void *ctx, int list, size_t i);
    /* Applied to the skeleton and to each element before printing (exact
     * numbers, say); NULL for none. */
    void (*prepare)(cJSON *node);
    const void *ctx;
} jsonstream_source;

/* A placeholder for list (0 .. 999) to put in a skeleton's array. */
cJSON *jsonstream_placeholder(int list);

/* Replaces every placeholder in the skeleton by the elements of its list. */
void jsonstream_fill(cJSON *skeleton, const jsonstream_source *src);

/* Writes the document and a final newline to out. Returns 0, or -1 with
 * errno set when out of memory or writing failed (ferror(out) then). The
 * skeleton is changed by src->prepare. */
int jsonstream_print(FILE *out, cJSON *skeleton, const jsonstream_source *src);

#endif
