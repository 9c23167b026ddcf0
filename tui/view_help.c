/* view_help.c - every key, from the one table the loop's documentation is
 * made of (README and the man page list the same keys). */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>

#include "tui.h"

typedef struct {
    const char *keys, *what;
} key_doc;

static const key_doc keys[] = {
    {"1 2 3 4 5, Tab", "views: Shards, Weight map, Tensor, Findings, Policy (Shift-Tab: back round)"},
    {"Up Down, j k", "move (scroll in the Tensor, Policy, Metadata and Help views)"},
    {"PgUp PgDn, Space, ^B ^F", "a page up, down"},
    {"g G, Home End", "first, last row"},
    {"Enter, l, Right", "open: a directory, a tensor, a shard's tensors, a finding's tensor"},
    {"Backspace, h, Left", "up a directory; back to the previous view"},
    {"/", "search: text matches anywhere in a name, text with * is a glob, re:... a regex"},
    {"n N", "next, previous match"},
    {"s", "sort the weight map: name, bytes, rel_l2, excess (numbers largest first)"},
    {"S", "reverse the sort"},
    {"f", "filter: all, quantized, kept, failing, waived (Findings: all, errors, warnings, waived)"},
    {"F", "clear the filter and the shard"},
    {"t", "weight map as a tree or as one flat list of every tensor"},
    {"e", "policy: which rule decides each check of the tensor"},
    {"c", "compute the tensor's statistics against SRC (background)"},
    {"v", "verify SRC against DST here (background, progress in Findings)"},
    {"x", "cancel the running verify or read"},
    {"m", "config.json, the index, modules_to_not_convert, the report's provenance"},
    {"?", "this help"},
    {"^L", "redraw"},
    {"q", "back; quit from the first view"},
    {"Q", "quit"},
};

static int offset;

static void help_draw(int top, int rows)
{
    int cols = tui_cols();
    size_t n = sizeof keys / sizeof keys[0];
    int line = 0;
    for (size_t k = 0; k < n; k++, line++) {
        int y = top + line - offset;
        if (y < top || y >= top + rows)
            continue;
        tui_put_trusted(y, 0, 26, STYLE_HEAD, keys[k].keys);
        tui_put_trusted(y, 26, cols - 26, STYLE_NORMAL, keys[k].what);
    }
    int y = top + line + 1 - offset;
    if (y >= top && y < top + rows)
        tui_put_trusted(y, 0, cols, STYLE_DIM,
                        "Marks: [Q] quantized  [K] kept  [*] both below  ! failing  ~ warning  w waived");
}

static bool help_key(int ch)
{
    int lines = (int)(sizeof keys / sizeof keys[0]) + 2; /* the keys, a blank line, the marks */
    return scroll_key(&offset, ch, lines, tui_lines() - 3);
}

const tui_view view_help = {
    .title = "Help",
    .draw = help_draw,
    .key = help_key,
    .hint = "j/k scroll",
};
