/* report_markdown.c - a short summary for CI step summaries
 * ($GITHUB_STEP_SUMMARY) and merge-request comments: the verdict and its
 * scope, counts, the worst tensors, the errors, and the provenance folded
 * away. Short by construction: at most MD_ROWS tensors and MD_FINDINGS
 * findings, whatever the checkpoint's size. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "report_common.h"
#include "text.h"

#define MD_ROWS 10
#define MD_FINDINGS 20

/* Untrusted text as Markdown that renders as itself: escaped for a terminal
 * first (controls, invalid UTF-8), then every ASCII punctuation character
 * that Markdown or an HTML renderer could read as syntax backslash-escaped
 * (a name cannot open a link, end a table cell or start a tag). */
static void md_put_shown(FILE *out, const char *shown)
{
    for (const char *p = shown; *p; p++) {
        if (strchr("\\`*_{}[]()<>#+!|~&\"'$%^=;?@", *p))
            fputc('\\', out);
        fputc(*p, out);
    }
}

static void md_put(FILE *out, const char *s)
{
    char *shown = text_escape_dup(or_empty(s));
    md_put_shown(out, shown);
    free(shown);
}

/* A finding's message or a waiver's reason: escaped by whoever made it
 * (report_read refuses one that is not), so only Markdown's syntax is. */
static void md_put_message(FILE *out, const char *s)
{
    md_put_shown(out, or_empty(s));
}

static void md_heading(FILE *out, const verify_result *r)
{
    size_t errors = count_sev(r, SEV_ERROR);
    char scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    fprintf(out, "### mxfp4-check verify: %s", errors ? "FAIL" : "PASS");
    if (scope[0]) {
        fputs(" (", out);
        md_put(out, scope);
        fputc(')', out);
    }
    fputs("\n\n", out);
    fputs("`SRC` ", out);
    md_put(out, r->src);
    fputs(" → `DST` ", out);
    md_put(out, r->dst);
    char bytes[64];
    text_bytes(r->bytes_read, bytes, sizeof bytes);
    char secs[REPORT_NUM_TEXT];
    snprintf(secs, sizeof secs, "%.2f", r->seconds);
    dot_decimal(secs);
    fprintf(out, "  \n%zu tensors (%zu quantized, %zu kept), %s read in %s s, backend %s\n\n", r->tensor_count,
            r->quantized, r->kept, bytes, secs, r->tool.backend ? r->tool.backend : "-");
    fprintf(out, "| errors | warnings | waived |\n|---:|---:|---:|\n| %zu | %zu | %zu |\n\n", errors,
            count_sev(r, SEV_WARN), count_waived(r));
}

static void md_cell_value(FILE *out, double v, int prec, bool sci)
{
    char buf[REPORT_NUM_TEXT];
    report_format_value(v, prec, sci, buf, sizeof buf);
    dot_decimal(buf);
    fprintf(out, " %s |", buf);
}

static void md_cell_percent(FILE *out, double v)
{
    char buf[REPORT_NUM_TEXT];
    report_format_percent(v, buf, sizeof buf);
    dot_decimal(buf);
    fprintf(out, " %s |", buf);
}

/* The quantized tensors, worst first. */
static void md_tensors(FILE *out, const verify_result *r)
{
    const verify_tensor **order = xmalloc(sizeof *order * (r->tensor_count + 1));
    size_t n = 0;
    for (size_t i = 0; i < r->tensor_count; i++)
        if (r->tensors[i].kind == VT_QUANTIZED || r->tensors[i].status != VT_PASS)
            order[n++] = &r->tensors[i];
    qsort(order, n, sizeof *order, report_cmp_worst);
    if (n) {
        fputs("| status | tensor | rel_l2 | excess | codes % | scales % |\n|---|---|---:|---:|---:|---:|\n", out);
        for (size_t i = 0; i < n && i < MD_ROWS; i++) {
            const verify_tensor *t = order[i];
            fprintf(out, "| %s | ", t->status == VT_FAIL ? "**FAIL**" : t->status == VT_WARN ? "warn" : "pass");
            md_put(out, t->name);
            fputs(" |", out);
            if (t->compared && t->kind == VT_QUANTIZED) {
                md_cell_value(out, t->stats.rel_l2, 3, true);
                md_cell_value(out, t->stats.excess, 3, false);
                md_cell_percent(out, t->stats.codes_identical);
                md_cell_percent(out, t->stats.scales_identical);
            } else if (t->compared) {
                md_cell_value(out, t->stats.rel_l2, 3, true);
                fputs(" - | - | - |", out);
            } else {
                fputs(" - | - | - | - |", out);
            }
            fputc('\n', out);
        }
        if (n > MD_ROWS)
            fprintf(out, "\n%zu more tensors in the JSON report.\n", n - MD_ROWS);
        fputs("\nexcess: rel_l2 over the reference quantizer's on the same source (1.000: as good as it); "
              "codes %, scales %: identical to the reference quantizer's.\n\n",
              out);
    }
    free(order);
}

static void md_findings(FILE *out, const verify_result *r)
{
    size_t shown = 0, total, *order = report_findings_worst_first(r, SEV_WARN, &total);
    for (size_t k = 0; k < total && shown < MD_FINDINGS; k++) {
        const finding *f = findings_at(r->findings, order[k]);
        if (shown++ == 0)
            fputs("**Findings**\n\n", out);
        fprintf(out, "- %s%s `", f->waived ? "waived " : "", severity_name(f->sev));
        fputs(or_empty(f->id), out); /* ids come from the finding table */
        fputs("` ", out);
        md_put_message(out, f->message);
        if (f->rule.file) {
            fputs(" (", out);
            if (f->rule.id) {
                fputs("rule ", out);
                md_put(out, f->rule.id);
                fputs(", ", out);
            }
            md_put(out, f->rule.file);
            fprintf(out, ":%lu)", f->rule.line);
        }
        if (f->waived) {
            fputs(", waived: ", out);
            md_put_message(out, f->waiver_reason);
        }
        fputc('\n', out);
    }
    free(order);
    if (total > shown)
        fprintf(out, "- ... %zu more in the JSON report\n", total - shown);
    if (shown)
        fputc('\n', out);
}

static void md_provenance(FILE *out, const verify_result *r)
{
    fputs("<details><summary>Provenance</summary>\n\n", out);
    fputs("- mxfp4-check ", out);
    md_put(out, r->tool.version);
    for (size_t i = 0; i < r->tool.device_count; i++) {
        fputs(i ? ", " : " on ", out);
        md_put(out, r->tool.devices[i]);
    }
    if (r->tool.started[0])
        fprintf(out, ", started %s", r->tool.started);
    fputs("\n- policy: builtin ", out);
    md_put(out, r->builtin ? r->builtin : "default");
    for (size_t i = 0; i < r->policy_file_count; i++) {
        if (r->policy_files[i].builtin)
            continue;
        fputs(", ", out);
        md_put(out, r->policy_files[i].path);
        fprintf(out, " (sha256 `%s`)", r->policy_files[i].sha256);
    }
    char files[128];
    report_manifest_text(r->manifest.src, r->manifest.src_count, files, sizeof files);
    fprintf(out, "\n- SRC: %s", files);
    report_manifest_text(r->manifest.dst, r->manifest.dst_count, files, sizeof files);
    fprintf(out, "\n- DST: %s", files);
    fputs("\n\n</details>\n", out);
}

int report_emit_markdown(FILE *out, const verify_result *r)
{
    md_heading(out, r);
    md_tensors(out, r);
    md_findings(out, r);
    md_provenance(out, r);
    return ferror(out) ? -1 : 0;
}
