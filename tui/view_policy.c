/* view_policy.c - which rule decides each check of one tensor (the TUI's
 * `rules explain`): expectation and limits with their values, severities
 * and the rules they override, then the severity of each finding id. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>

#include "tui.h"

static ptrdiff_t shown = -1;
static int offset;
static int lines_drawn;

static void policy_draw(int top, int rows)
{
    int cols = tui_cols();
    if (shown < 0) {
        tui_put_trusted(top, 0, cols, STYLE_DIM, "No tensor chosen: press e on a tensor of the weight map.");
        return;
    }
    model_check_row checks[MODEL_CHECK_ROWS];
    model_severity_row sevs[MODEL_SEVERITY_ROWS];
    size_t nc, ns;
    char err[512];
    const model_tensor *t = model_tensor_at(tui.model, (size_t)shown);
    int rc = model_explain(tui.model, (size_t)shown, checks, &nc, sevs, &ns, err, sizeof err);
    int line = 0, y;
#define NEXT() ((y = top + line++ - offset) >= top && y < top + rows)
    if (NEXT())
        tui_putf(y, 0, cols, STYLE_HEAD, "%s (%s in DST)", t->name, t->quantized ? "quantized" : "kept");
    if (rc < 0 && NEXT())
        tui_put(y, 0, cols, STYLE_FAIL, err);
    if (NEXT()) {
        tui_fill(y, 0, STYLE_DIM);
        tui_headf(y, 0, cols, STYLE_DIM, "%-21s %-10s %-8s %s", "CHECK", "VALUE", "SEVERITY", "DECIDED BY");
    }
    for (size_t k = 0; k < nc; k++) {
        const model_check_row *r = &checks[k];
        if (NEXT())
            tui_headf(y, 0, cols, r->severity[0] == '-' ? STYLE_DIM : STYLE_NORMAL, "%-21s %-10s %-8s %s", r->check,
                     r->value, r->severity, r->decided_by);
        if (r->overrides[0] && NEXT())
            tui_putf(y, 41, cols - 41, STYLE_DIM, "overrides %s", r->overrides);
    }
    line++;
    if (NEXT()) {
        tui_fill(y, 0, STYLE_DIM);
        tui_headf(y, 0, cols, STYLE_DIM, "%-32s %-8s %s", "FINDING", "SEVERITY", "SET BY");
    }
    for (size_t k = 0; k < ns; k++)
        if (NEXT())
            tui_headf(y, 0, cols, STYLE_NORMAL, "%-32s %-8s %s", sevs[k].id, sevs[k].severity, sevs[k].origin);
#undef NEXT
    lines_drawn = line;
}

static bool policy_key(int ch)
{
    return scroll_key(&offset, ch, lines_drawn, tui_lines() - 3);
}

void policy_view_show(size_t tensor)
{
    shown = (ptrdiff_t)tensor;
    offset = 0;
    tui_open(VIEW_POLICY);
}

const tui_view view_policy = {
    .title = "Policy",
    .draw = policy_draw,
    .key = policy_key,
    .hint = "j/k scroll",
};
