/* report_human.c - the summary for people on a terminal (report.h). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_common.h"
#include "text.h"

#define ANSI_RED "\x1b[31m"
#define ANSI_YELLOW "\x1b[33m"
#define ANSI_GREEN "\x1b[32m"
#define ANSI_BOLD_RED "\x1b[1;31m"
#define ANSI_BOLD_GREEN "\x1b[1;32m"
#define ANSI_RESET "\x1b[0m"

/* ---- terminal ---------------------------------------------------------- */

typedef struct {
    FILE *out;
    bool color;
    int width; /* columns the table may use; 0: no limit */
} term;

static void put_colored(const term *t, const char *ansi, const char *text)
{
    if (t->color)
        fprintf(t->out, "%s%s%s", ansi, text, ANSI_RESET);
    else
        fputs(text, t->out);
}

static const char *status_color(vt_status s)
{
    return s == VT_FAIL ? ANSI_RED : s == VT_WARN ? ANSI_YELLOW : ANSI_GREEN;
}

static const char *severity_color(severity s)
{
    return s == SEV_ERROR ? ANSI_RED : s == SEV_WARN ? ANSI_YELLOW : "";
}

static void print_header(const term *t, const verify_result *r)
{
    char src[REPORT_SHOWN], dst[REPORT_SHOWN], bytes[64];
    fprintf(t->out, "mxfp4-check verify %s -> %s\n", text_escape(or_empty(r->src), src, sizeof src),
            text_escape(or_empty(r->dst), dst, sizeof dst));
    text_bytes(r->bytes_read, bytes, sizeof bytes);
    fprintf(t->out, "backend %s: %zu tensors (%zu quantized, %zu kept), %s read in %.2f s",
            r->tool.backend ? r->tool.backend : "-", r->tensor_count, r->quantized, r->kept, bytes, r->seconds);
    if (r->seconds > 0)
        fprintf(t->out, " (%.2f GB/s)", (double)r->bytes_read / r->seconds / 1e9);
    fputc('\n', t->out);
    char scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    if (scope[0])
        fprintf(t->out, "scope: %s\n", scope);
}

/* The provenance a verdict rests on: tool, devices, policy, files. */
static void print_provenance_block(const term *t, const verify_result *r)
{
    char shown[REPORT_SHOWN];
    fprintf(t->out, "\nmxfp4-check %s", r->tool.version ? r->tool.version : "?");
    for (size_t i = 0; i < r->tool.device_count; i++)
        fprintf(t->out, "%s%s", i ? ", " : " on ", text_escape(r->tool.devices[i], shown, sizeof shown));
    if (r->tool.started[0])
        fprintf(t->out, ", started %s", r->tool.started);
    fprintf(t->out, "\npolicy: builtin %s", r->builtin ? r->builtin : "default");
    for (size_t i = 0; i < r->policy_file_count; i++)
        if (!r->policy_files[i].builtin)
            fprintf(t->out, ", %s (sha256 %.12s)", text_escape(r->policy_files[i].path, shown, sizeof shown),
                    r->policy_files[i].sha256);
    fputc('\n', t->out);
    char files[128];
    report_manifest_text(r->manifest.src, r->manifest.src_count, files, sizeof files);
    fprintf(t->out, "SRC: %s\n", files);
    report_manifest_text(r->manifest.dst, r->manifest.dst_count, files, sizeof files);
    fprintf(t->out, "DST: %s\n", files);
}

/* The columns of the table after STATUS and TENSOR, in the order shown. */
typedef enum { COL_KIND, COL_REL_L2, COL_COSINE, COL_MAX_ABS, COL_CODES, COL_SCALES, COL_EXCESS, COL_COUNT } column;

/* At a narrow terminal columns go in this order, before the tensor names
 * are cut; REL_L2 and EXCESS always stay. */
static const column drop_order[] = {COL_MAX_ABS, COL_COSINE, COL_KIND, COL_SCALES, COL_CODES};

static const struct {
    const char *title;
    int width;
    bool left;    /* left-aligned text */
    const char *legend;
} columns[COL_COUNT] = {
    [COL_REL_L2] = {"REL_L2", 10, false, "||deq - src|| / ||src|| over all elements"},
    [COL_EXCESS] = {"EXCESS", 7, false,
                    "REL_L2 / the reference quantizer's REL_L2 on the same source (1.000: as good as it)"},
    [COL_CODES] = {"CODES%", 7, false, "4-bit codes identical to the reference quantizer's"},
    [COL_SCALES] = {"SCALES%", 7, false, "block scales identical to the reference quantizer's"},
    [COL_COSINE] = {"COSINE", 10, false, "cosine similarity of deq and src"},
    [COL_MAX_ABS] = {"MAX_ABS_ERR", 11, false, "largest |deq - src|"},
    [COL_KIND] = {"KIND", 9, true, "quantized in DST, or kept as in the source"},
};

#define STATUS_WIDTH 6
#define GAP 2
#define MIN_NAME 24 /* names are cut (in the middle) no shorter than this */

typedef struct {
    bool shown[COL_COUNT];
    int wname;
} layout;

/* Which columns fit t->width, and how wide the names may be: whole names
 * are worth more than the least telling columns, so those go first (down to
 * REL_L2 and EXCESS); only then are names cut, to no less than MIN_NAME. */
static layout fit_columns(const term *t, int wname)
{
    layout l = {.wname = wname};
    int used = STATUS_WIDTH + GAP + wname;
    for (int c = 0; c < COL_COUNT; c++) {
        l.shown[c] = true;
        used += GAP + columns[c].width;
    }
    if (t->width <= 0)
        return l;
    for (size_t k = 0; k < sizeof drop_order / sizeof drop_order[0] && used > t->width; k++) {
        l.shown[drop_order[k]] = false;
        used -= GAP + columns[drop_order[k]].width;
    }
    if (used > t->width) {
        int room = t->width - (used - wname), least = wname < MIN_NAME ? wname : MIN_NAME;
        l.wname = room < least ? least : room;
    }
    return l;
}

/* name cut to at most w columns, its middle replaced by "..." (the layer
 * and the last part of a name both matter). Names are escaped ASCII. */
static void fit_name(const char *name, int w, char *out, size_t len)
{
    int n = (int)strlen(name);
    if (n <= w || w < 5) {
        snprintf(out, len, "%s", name);
        return;
    }
    int head = (w - 3) / 2, tail = w - 3 - head;
    snprintf(out, len, "%.*s...%s", head, name, name + n - tail);
}

static void print_cell(const term *t, column c, const char *text)
{
    fprintf(t->out, columns[c].left ? "%*s%-*s" : "%*s%*s", GAP, "", columns[c].width, text);
}

static void print_row(const term *t, const verify_tensor *v, const layout *l)
{
    char name[REPORT_SHOWN], cut[REPORT_SHOWN], cell[COL_COUNT][32], status[8];
    for (int c = 0; c < COL_COUNT; c++)
        snprintf(cell[c], sizeof cell[c], "-");
    snprintf(cell[COL_KIND], sizeof cell[COL_KIND], "%s", v->kind == VT_QUANTIZED ? "quantized" : "kept");
    text_escape(or_empty(v->name), name, sizeof name);
    fit_name(name, l->wname, cut, sizeof cut);
    if (v->compared) {
        report_format_value(v->stats.rel_l2, 3, true, cell[COL_REL_L2], sizeof cell[0]);
        report_format_value(v->stats.cosine, 6, false, cell[COL_COSINE], sizeof cell[0]);
        report_format_value(v->stats.max_abs_err, 3, true, cell[COL_MAX_ABS], sizeof cell[0]);
        if (v->kind == VT_QUANTIZED) {
            report_format_percent(v->stats.codes_identical, cell[COL_CODES], sizeof cell[0]);
            report_format_percent(v->stats.scales_identical, cell[COL_SCALES], sizeof cell[0]);
            report_format_value(v->stats.excess, 3, false, cell[COL_EXCESS], sizeof cell[0]);
        }
    }
    snprintf(status, sizeof status, "%s", v->status == VT_FAIL ? "FAIL" : v->status == VT_WARN ? "WARN" : "pass");
    put_colored(t, status_color(v->status), status); /* padded outside the colour */
    fprintf(t->out, "%*s%*s%-*s", (int)(STATUS_WIDTH - strlen(status)), "", GAP, "", l->wname, cut);
    for (int c = 0; c < COL_COUNT; c++)
        if (l->shown[c])
            print_cell(t, (column)c, cell[c]);
    fputc('\n', t->out);
}

static void print_legend(const term *t, const layout *l)
{
    fputs("\n", t->out);
    for (int c = 0; c < COL_COUNT; c++)
        if (l->shown[c])
            fprintf(t->out, "  %-11s %s\n", columns[c].title, columns[c].legend);
}

static void print_table(const term *t, const verify_result *r)
{
    if (r->tensor_count == 0) {
        fputs("no tensors compared\n", t->out);
        return;
    }
    /* kept tensors that pass are bit-identical: one line says so, rows would
     * only bury the quantized tensors */
    const verify_tensor **order = xmalloc(sizeof *order * r->tensor_count);
    size_t listed = 0, identical = 0;
    for (size_t i = 0; i < r->tensor_count; i++) {
        const verify_tensor *v = &r->tensors[i];
        if (v->kind == VT_KEPT && v->status == VT_PASS && v->compared && v->identical)
            identical++;
        else
            order[listed++] = v;
    }
    qsort(order, listed, sizeof *order, report_cmp_worst);
    size_t shown = listed < REPORT_HUMAN_ROWS ? listed : REPORT_HUMAN_ROWS;
    int wname = 6;
    char name[REPORT_SHOWN];
    for (size_t i = 0; i < shown; i++) {
        int w = (int)strlen(text_escape(or_empty(order[i]->name), name, sizeof name));
        wname = w > wname ? w : wname;
    }
    layout l = fit_columns(t, wname);
    if (shown) {
        fprintf(t->out, "\n%-*s%*s%-*s", STATUS_WIDTH, "STATUS", GAP, "", l.wname, "TENSOR");
        for (int c = 0; c < COL_COUNT; c++)
            if (l.shown[c])
                print_cell(t, (column)c, columns[c].title);
        fputc('\n', t->out);
    }
    for (size_t i = 0; i < shown; i++)
        print_row(t, order[i], &l);
    size_t warn = 0, fail = 0;
    for (size_t i = shown; i < listed; i++) {
        warn += order[i]->status == VT_WARN;
        fail += order[i]->status == VT_FAIL;
    }
    if (shown < listed) {
        fprintf(t->out, "... %zu more tensors", listed - shown);
        if (warn || fail)
            fprintf(t->out, " (%zu fail, %zu warn; --json lists them all)\n", fail, warn);
        else
            fputs(" (all pass)\n", t->out);
    }
    if (identical)
        fprintf(t->out, "%zu kept tensor%s bit-identical to the source\n", identical,
                identical == 1 ? "" : "s");
    if (shown)
        print_legend(t, &l);
    free(order);
}

/* Ids in SPEC order; ids outside it follow in the order they first appear. */
static const char *const spec_ids[] = {
    FIND_HEADER,        FIND_INDEX_MISMATCH, FIND_INDEX_TOTAL_SIZE, FIND_CONFIG_QUANT,
    FIND_FILES_COPIED,  FIND_PAIRING,        FIND_SCALE_NAN,        FIND_SHOULD_KEEP,
    FIND_SHOULD_QUANTIZE, FIND_MISSING,      FIND_EXTRA,            FIND_STALE_PATTERN,
    FIND_VIEW_MISMATCH, FIND_KEPT_MODIFIED,  FIND_THRESHOLD,        FIND_NONFINITE,
    FIND_REQUANT_MISMATCH, FIND_DIAGNOSIS,
};
#define N_SPEC_IDS (sizeof spec_ids / sizeof spec_ids[0])

static void print_id_count(const term *t, const verify_result *r, const char *id)
{
    size_t n[SEV_ERROR + 1] = {0}, total = 0, waived = 0;
    for (size_t i = 0; i < nfindings(r); i++) {
        const finding *f = live_finding(r, i);
        if (f && f->id && strcmp(f->id, id) == 0 && f->sev <= SEV_ERROR) {
            if (f->waived) /* counted apart, as the RESULT line does */
                waived++;
            else
                n[f->sev]++;
            total++;
        }
    }
    if (!total)
        return;
    char shown[REPORT_SHOWN];
    fprintf(t->out, "  %-26s %6zu  (", text_escape(id, shown, sizeof shown), total);
    const char *sep = "";
    for (int s = SEV_ERROR; s >= SEV_INFO; s--) {
        if (n[s]) {
            fprintf(t->out, "%s%zu %s", sep, n[s], severity_name((severity)s));
            sep = ", ";
        }
    }
    if (waived)
        fprintf(t->out, "%s%zu waived", sep, waived);
    fputs(")\n", t->out);
}

static bool is_spec_id(const char *id)
{
    for (size_t k = 0; k < N_SPEC_IDS; k++)
        if (strcmp(spec_ids[k], id) == 0)
            return true;
    return false;
}

static void print_counts(const term *t, const verify_result *r)
{
    size_t live = 0;
    for (size_t i = 0; i < nfindings(r); i++)
        live += live_finding(r, i) != NULL;
    if (!live) {
        fputs("\nno findings\n", t->out);
        return;
    }
    fputs("\nfindings by id:\n", t->out);
    for (size_t k = 0; k < N_SPEC_IDS; k++)
        print_id_count(t, r, spec_ids[k]);
    id_set seen = {0};
    for (size_t i = 0; i < nfindings(r); i++) {
        const finding *f = live_finding(r, i);
        if (f && f->id && !is_spec_id(f->id) && id_set_add(&seen, f->id))
            print_id_count(t, r, f->id);
    }
    free(seen.ids);
}

/* " (rule ID, FILE:LINE)" and, for a waived finding, the waiver. */
static void print_provenance(const term *t, const finding *f)
{
    char id[REPORT_SHOWN], file[REPORT_SHOWN], reason[REPORT_SHOWN];
    if (f->rule.file && f->rule.id)
        fprintf(t->out, " (rule %s, %s:%lu)", text_escape(f->rule.id, id, sizeof id),
                text_escape(f->rule.file, file, sizeof file), f->rule.line);
    else if (f->rule.file)
        fprintf(t->out, " (%s:%lu)", text_escape(f->rule.file, file, sizeof file), f->rule.line);
    if (f->waived)
        fprintf(t->out, "\n      waived by %s:%lu: %s%s%s", text_escape(or_empty(f->waiver.file), file, sizeof file),
                f->waiver.line, text_escape(or_empty(f->waiver_reason), reason, sizeof reason),
                f->waiver_expires ? ", until " : "", f->waiver_expires ? f->waiver_expires : "");
    fputc('\n', t->out);
}

/* Every finding of severity lowest or worse, worst first. */
static void print_findings_of(const term *t, const verify_result *r, severity lowest)
{
    size_t n, *order = report_findings_worst_first(r, lowest, &n);
    if (n)
        fputc('\n', t->out);
    for (size_t k = 0; k < n; k++) {
        const finding *f = findings_at(r->findings, order[k]);
        char id[REPORT_SHOWN];
        put_colored(t, severity_color(f->sev), severity_name(f->sev));
        /* messages are escaped by whoever made the finding */
        fprintf(t->out, "%s [%s] %s", f->sev == SEV_WARN ? " " : "", text_escape(or_empty(f->id), id, sizeof id),
                or_empty(f->message));
        print_provenance(t, f);
    }
    free(order);
}

static void print_findings(const term *t, const verify_result *r)
{
    print_findings_of(t, r, SEV_WARN);
}

static void print_result(const term *t, const verify_result *r)
{
    if (verify_result_stopped(r)) { /* no verdict: the run could not look (exit 2) */
        put_colored(t, ANSI_BOLD_RED, "RESULT: ERROR (the run stopped before a verdict)");
        fputc('\n', t->out);
        return;
    }
    size_t errors = count_sev(r, SEV_ERROR), warnings = count_sev(r, SEV_WARN);
    size_t waived = r->findings ? findings_count_waived(r->findings) : 0;
    char counts[96] = "", line[REPORT_SHOWN + 256];
    size_t n = 0;
    if (errors)
        n += (size_t)snprintf(counts + n, sizeof counts - n, "%zu error%s", errors, errors == 1 ? "" : "s");
    if (errors || warnings)
        n += (size_t)snprintf(counts + n, sizeof counts - n, "%s%zu warning%s", n ? ", " : "", warnings,
                              warnings == 1 ? "" : "s");
    if (waived)
        snprintf(counts + n, sizeof counts - n, "%s%zu waived", n ? ", " : "", waived);
    char scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    const char *sep = scope[0] && counts[0] ? "; " : "";
    bool paren = scope[0] || counts[0];
    snprintf(line, sizeof line, "RESULT: %s%s%s%s%s%s", errors ? "FAIL" : "PASS", paren ? " (" : "", scope, sep,
             counts, paren ? ")" : "");
    put_colored(t, errors ? ANSI_BOLD_RED : ANSI_BOLD_GREEN, line);
    fputc('\n', t->out);
}

void report_print_human(const verify_result *r, FILE *out, bool color, int width)
{
    term t = {out, color, width};
    print_header(&t, r);
    print_table(&t, r);
    print_counts(&t, r);
    print_findings(&t, r);
    print_provenance_block(&t, r);
    fputc('\n', out);
    print_result(&t, r);
    fflush(out);
}

void report_print_brief(const verify_result *r, FILE *out, bool color)
{
    term t = {out, color, 0};
    print_findings_of(&t, r, SEV_ERROR);
    print_result(&t, r);
    fflush(out);
}

void report_print_result(const verify_result *r, FILE *out, bool color)
{
    term t = {out, color, 0};
    print_result(&t, r);
    fflush(out);
}

bool report_use_color(FILE *out)
{
    int fd = out ? fileno(out) : -1;
    if (fd < 0 || !isatty(fd))
        return false;
    const char *no_color = getenv("NO_COLOR");
    if (no_color && *no_color)
        return false;
    const char *term_name = getenv("TERM");
    return !(term_name && strcmp(term_name, "dumb") == 0);
}

