/* view_meta.c - `m`: config.json's quantization_config and each of its
 * modules_to_not_convert patterns with the tensors it keeps, the index, and
 * where the report came from. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>

#include "tui.h"

static int offset;
static int lines_drawn;

static void meta_draw(int top, int rows)
{
    int cols = tui_cols(), line = 0, y;
    model_config c;
    model_config_get(tui.model, &c);
    char a[32], b[32];
#define NEXT() ((y = top + line++ - offset) >= top && y < top + rows)
    if (NEXT())
        tui_putf(y, 0, cols, STYLE_HEAD, "DST %s", model_dst_path(tui.model));
    if (NEXT())
        tui_putf(y, 0, cols, STYLE_NORMAL, "SRC %s", model_src_path(tui.model) ? model_src_path(tui.model) : "(none)");
    if (NEXT())
        tui_putf(y, 0, cols, STYLE_NORMAL, "index      %s", c.has_index ? "model.safetensors.index.json" : "(none)");
    if (c.has_total_size && NEXT())
        tui_putf(y, 0, cols, c.total_size == c.data_bytes ? STYLE_NORMAL : STYLE_WARN,
                 "total_size %s in the index, %s in the shards%s", tui_bytes(c.total_size, a, sizeof a),
                 tui_bytes(c.data_bytes, b, sizeof b), c.total_size == c.data_bytes ? "" : " (differ)");
    if (NEXT())
        tui_putf(y, 0, cols, c.has_quant ? STYLE_NORMAL : STYLE_FAIL, "config     %s",
                 !c.present ? "(no config.json)" : !c.has_quant ? "no quantization_config" : "quantization_config");
    if (c.has_quant && NEXT())
        tui_putf(y, 0, cols, STYLE_NORMAL, "quant_method %s", c.quant_method ? c.quant_method : "(none)");
    line++;
    if (NEXT()) {
        tui_fill(y, 0, STYLE_DIM);
        tui_headf(y, 0, cols, STYLE_DIM, "%-50s %s", "MODULES_TO_NOT_CONVERT", "KEEPS (DST tensors)");
    }
    for (size_t i = 0; i < c.patterns; i++) {
        size_t decided;
        const char *p = model_pattern_at(tui.model, i, &decided);
        if (NEXT()) {
            tui_put(y, 0, 50, decided ? STYLE_NORMAL : STYLE_WARN, p);
            tui_putf(y, 51, cols - 51, decided ? STYLE_NORMAL : STYLE_WARN, "%zu%s", decided,
                     decided ? "" : "  (stale: keeps nothing)");
        }
    }
    line++;
    if (model_has_report(tui.model)) {
        model_summary s;
        model_report_summary(tui.model, &s);
        if (NEXT())
            tui_putf(y, 0, cols, s.passed ? STYLE_OK : STYLE_FAIL, "report     %s: %s, backend %s", s.origin,
                     s.passed ? "PASS" : "FAIL", s.backend ? s.backend : "-");
    } else if (NEXT()) {
        tui_put_trusted(y, 0, cols, STYLE_DIM, "report     (none)");
    }
#undef NEXT
    lines_drawn = line;
}

static bool meta_key(int ch)
{
    return scroll_key(&offset, ch, lines_drawn, tui_lines() - 3);
}

const tui_view view_meta = {
    .title = "Metadata",
    .draw = meta_draw,
    .key = meta_key,
    .hint = "j/k scroll",
};
