/* view_shards.c - the shard files of DST: bytes, tensors, share of the
 * checkpoint. Enter lists the tensors of one shard (the weight map, flat). */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>

#include "tui.h"

static tui_list list;

static void shards_draw(int top, int rows)
{
    tui_model *m = tui.model;
    size_t n = model_shard_count(m);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        model_shard s;
        model_shard_at(m, i, &s);
        total += s.file_bytes;
    }
    char b[32];
    int cols = tui_cols();
    tui_putf(top, 0, cols, STYLE_HEAD, "%zu shard%s, %s", n, n == 1 ? "" : "s", tui_bytes(total, b, sizeof b));
    int name_w = cols - 11 - 9 - 8 - 22;
    name_w = name_w < 16 ? 16 : name_w;
    tui_fill(top + 1, 0, STYLE_DIM);
    tui_headf(top + 1, 0, cols, STYLE_DIM, "%-*s %10s %8s %7s", name_w, "FILE", "BYTES", "TENSORS", "SHARE");
    list.n = n;
    int body = rows - 2;
    list_fit(&list, body);
    for (int r = 0; r < body && list.top + (size_t)r < n; r++) {
        size_t i = list.top + (size_t)r;
        model_shard s;
        model_shard_at(m, i, &s);
        int y = top + 2 + r;
        tui_style st = i == list.cursor ? STYLE_CURSOR : STYLE_NORMAL;
        double share = total ? (double)s.file_bytes / (double)total : 0;
        tui_fill(y, 0, st);
        tui_put(y, 0, name_w, st, s.file);
        tui_putf(y, name_w + 1, cols, st, "%10s %8zu %6.1f%%", tui_bytes(s.file_bytes, b, sizeof b), s.tensors,
                 100 * share);
        tui_bar(y, name_w + 30, cols - name_w - 30 > 20 ? 20 : cols - name_w - 30, share, st);
    }
}

static bool shards_key(int ch)
{
    if (list_key(&list, ch, tui_lines() - 5))
        return true;
    if (tui_is_enter(ch) && list.cursor < model_shard_count(tui.model)) {
        tree_view_only_shard((ptrdiff_t)list.cursor);
        tui_open(VIEW_TREE);
        return true;
    }
    return false;
}

static bool shards_find(model_matcher *mm, int step, bool here)
{
    size_t n = model_shard_count(tui.model);
    for (size_t k = here ? 0 : 1; k <= n && n; k++) {
        size_t r = step > 0 ? (list.cursor + k) % n : (list.cursor + n - k % n) % n;
        model_shard s;
        model_shard_at(tui.model, r, &s);
        if (model_matcher_test(mm, s.file)) {
            list.cursor = r;
            return true;
        }
    }
    return false;
}

const tui_view view_shards = {
    .title = "Shards",
    .draw = shards_draw,
    .key = shards_key,
    .find = shards_find,
    .hint = "Enter its tensors",
};
