/* report_json.c - the JSON report (SPEC §3, schema mxfp4-check/verify/1),
 * streamed: the skeleton, then each list's elements one at a time. */
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstream.h"
#include "mxfp4.h"
#include "report_common.h"
#include "safetensors.h"
#include "text.h"


/* ---- JSON ---------------------------------------------------------------- */

/* JSON has no infinity or NaN. */
static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *json_count(uint64_t n)
{
    return cJSON_CreateNumber((double)n);
}

cJSON *report_json_rule(const finding_rule *r)
{
    if (!r->file)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", text_json_string(r->id));
    cJSON_AddItemToObject(o, "file", text_json_string(r->file));
    cJSON_AddItemToObject(o, "line", json_count(r->line));
    return o;
}

static cJSON *json_waived(const finding *f)
{
    if (!f->waived)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "reason", text_json_string(or_empty(f->waiver_reason)));
    cJSON_AddItemToObject(o, "expires", text_json_string(f->waiver_expires));
    cJSON_AddItemToObject(o, "rule", report_json_rule(&f->waiver));
    return o;
}

static cJSON *json_finding(const finding *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", text_json_string(or_empty(f->id)));
    cJSON_AddStringToObject(o, "severity", severity_name(f->sev));
    cJSON_AddItemToObject(o, "tensor", text_json_string(f->tensor));
    cJSON_AddItemToObject(o, "file", text_json_string(f->file));
    cJSON_AddItemToObject(o, "message", text_json_string(or_empty(f->message)));
    cJSON_AddItemToObject(o, "rule", report_json_rule(&f->rule));
    cJSON_AddItemToObject(o, "waived", json_waived(f));
    if (f->id && strcmp(f->id, FIND_DIAGNOSIS) == 0 && f->cause) {
        cJSON_AddItemToObject(o, "cause", text_json_string(f->cause));
        if (finding_cause_has(f->cause, CAUSE_SCALE_BIAS))
            cJSON_AddNumberToObject(o, "k", f->scale_bias_k);
    }
    return o;
}


static cJSON *json_summary(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "tensors", json_count(r->tensor_count));
    cJSON_AddItemToObject(o, "quantized", json_count(r->quantized));
    cJSON_AddItemToObject(o, "kept", json_count(r->kept));
    cJSON_AddItemToObject(o, "errors", json_count(count_sev(r, SEV_ERROR)));
    cJSON_AddItemToObject(o, "warnings", json_count(count_sev(r, SEV_WARN)));
    cJSON_AddItemToObject(o, "waived", json_count(r->findings ? findings_count_waived(r->findings) : 0));
    cJSON_AddItemToObject(o, "bytes_read", json_count(r->bytes_read));
    cJSON_AddItemToObject(o, "seconds", json_num(r->seconds));
    return o;
}


/* The report's lists that grow with the input: streamed (jsonstream.h). */
enum { LIST_FINDINGS, LIST_PATTERNS, LIST_TENSORS, LIST_COVERAGE /* + k */ };

/* An array holding the placeholder of list. */
static cJSON *json_list(int list)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, jsonstream_placeholder(list));
    return a;
}

static cJSON *json_pattern(const verify_pattern *p)
{
    cJSON *po = cJSON_CreateObject();
    cJSON_AddItemToObject(po, "pattern", text_json_string(or_empty(p->pattern)));
    cJSON_AddItemToObject(po, "matched", json_count(p->matched));
    cJSON_AddItemToObject(po, "matched_loader", json_count(p->matched_loader));
    return po;
}

static cJSON *json_coverage(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "patterns", json_list(LIST_PATTERNS));
    for (size_t k = 0; k < REPORT_COVERAGE_LISTS; k++)
        cJSON_AddItemToObject(o, report_coverage_lists[k].key, json_list(LIST_COVERAGE + (int)k));
    return o;
}

static int tensor_rank(const verify_tensor *t)
{
    return t->rank < 0 ? 0 : t->rank > ST_MAX_RANK ? ST_MAX_RANK : t->rank;
}

static cJSON *json_shape(const verify_tensor *t)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < tensor_rank(t); i++)
        cJSON_AddItemToArray(a, json_count(t->shape[i]));
    return a;
}

/* The linear index in the source's row-major order as coordinates of the
 * source shape; null when it names no element. */
static cJSON *json_index(const verify_tensor *t)
{
    int rank = tensor_rank(t);
    uint64_t numel = 1, idx = t->stats.max_abs_err_index, coord[ST_MAX_RANK];
    bool bounded = true;
    for (int i = 0; i < rank; i++)
        bounded = bounded && ckd_mul_u64(&numel, numel, t->shape[i]);
    if (bounded && idx >= numel)
        return cJSON_CreateNull();
    for (int i = rank - 1; i >= 0; i--) {
        if (t->shape[i] == 0)
            return cJSON_CreateNull();
        coord[i] = idx % t->shape[i];
        idx /= t->shape[i];
    }
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < rank; i++)
        cJSON_AddItemToArray(a, json_count(coord[i]));
    return a;
}

static cJSON *json_stats(const verify_tensor *t)
{
    const stats_result *s = &t->stats;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "max_abs_err", json_num(s->max_abs_err));
    cJSON_AddItemToObject(o, "max_abs_err_index", json_index(t));
    cJSON_AddItemToObject(o, "mean_abs_err", json_num(s->mean_abs_err));
    cJSON_AddItemToObject(o, "rmse", json_num(s->rmse));
    cJSON_AddItemToObject(o, "rel_l2", json_num(s->rel_l2));
    cJSON_AddItemToObject(o, "cosine", json_num(s->cosine));
    cJSON_AddItemToObject(o, "snr_db", json_num(s->snr_db));
    cJSON_AddItemToObject(o, "nonfinite", json_count(s->nonfinite));
    cJSON_AddItemToObject(o, "equal_fraction", json_num(s->equal_fraction));
    return o;
}

static cJSON *json_requant(const stats_result *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "codes_identical", json_num(s->codes_identical));
    cJSON_AddItemToObject(o, "scales_identical", json_num(s->scales_identical));
    cJSON_AddItemToObject(o, "ref_rel_l2", json_num(s->ref_rel_l2));
    cJSON_AddItemToObject(o, "excess", json_num(s->excess));
    return o;
}

/* Scale exponents e = byte - 127 as decimal keys; byte 0xFF (NaN) apart. */
static cJSON *json_histogram(const scale_hist *sh)
{
    cJSON *h = cJSON_CreateObject(), *counts = cJSON_CreateObject();
    int lo = -1, hi = -1;
    for (unsigned i = 0; i < sh->n; i++) {
        int b = sh->entries[i].byte;
        if (b == (int)MXFP4_SCALE_NAN)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", b - MXFP4_SCALE_BIAS);
        cJSON_AddItemToObject(counts, key, json_count(sh->entries[i].count));
        lo = lo < 0 ? b : lo;
        hi = b;
    }
    cJSON_AddItemToObject(h, "min", lo < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(lo - MXFP4_SCALE_BIAS));
    cJSON_AddItemToObject(h, "max", hi < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(hi - MXFP4_SCALE_BIAS));
    cJSON_AddItemToObject(h, "counts", counts);
    cJSON_AddItemToObject(h, "nan", json_count(scale_hist_count(sh, MXFP4_SCALE_NAN)));
    return h;
}

static const char *status_name(vt_status s)
{
    return s == VT_FAIL ? "fail" : s == VT_WARN ? "warn" : "pass";
}

/* {"max_rel_l2": {"value": 0.2, "rule": {...}}, ...}: the limits that
 * applied and the rule that set each. */
static cJSON *json_limits(const verify_result *r, const verify_tensor *t)
{
    cJSON *o = cJSON_CreateObject();
    if (t->limits == VERIFY_NO_LIMITS || t->limits >= r->limit_set_count)
        return o;
    const verify_limit_set *set = &r->limit_sets[t->limits];
    for (size_t i = 0; i < set->n; i++) {
        const verify_limit *l = &set->items[i];
        cJSON *v = cJSON_CreateObject();
        cJSON_AddItemToObject(v, "value", json_num(l->value));
        finding_rule rule = {l->rule_id, l->rule_file, l->rule_line};
        cJSON_AddItemToObject(v, "rule", report_json_rule(&rule));
        cJSON_AddItemToObject(o, l->key, v);
    }
    return o;
}

/* The rule of the finding that set the tensor's status, or null. */
static cJSON *json_status_rule(const verify_result *r, const verify_tensor *t)
{
    if (t->status_finding < 0)
        return cJSON_CreateNull();
    return report_json_rule(&findings_at(r->findings, (size_t)t->status_finding)->rule);
}

static cJSON *json_tensor(const verify_result *r, const verify_tensor *t)
{
    cJSON *o = cJSON_CreateObject();
    bool quantized = t->kind == VT_QUANTIZED;
    cJSON_AddItemToObject(o, "name", text_json_string(or_empty(t->name)));
    cJSON_AddStringToObject(o, "kind", quantized ? "quantized" : "kept");
    cJSON_AddStringToObject(o, "status", status_name(t->status));
    cJSON_AddItemToObject(o, "status_rule", json_status_rule(r, t));
    cJSON_AddItemToObject(o, "limits", json_limits(r, t));
    cJSON_AddItemToObject(o, "shape", json_shape(t));
    cJSON *bytes = cJSON_CreateObject();
    cJSON_AddItemToObject(bytes, "src", json_count(t->bytes_src));
    cJSON_AddItemToObject(bytes, "dst", json_count(t->bytes_dst));
    cJSON_AddItemToObject(o, "bytes", bytes);
    cJSON_AddItemToObject(o, "stats", t->compared ? json_stats(t) : cJSON_CreateNull());
    if (quantized && t->compared)
        cJSON_AddItemToObject(o, "requant", json_requant(&t->stats));
    if (quantized && (t->compared || t->scale_hist.n > 0))
        cJSON_AddItemToObject(o, "scale_hist", json_histogram(&t->scale_hist));
    return o;
}

static size_t list_count(const void *ctx, int list)
{
    const verify_result *r = ctx;
    return list == LIST_PATTERNS ? r->pattern_count : list == LIST_TENSORS ? r->tensor_count : nfindings(r);
}

static cJSON *list_element(const void *ctx, int list, size_t i)
{
    const verify_result *r = ctx;
    if (list == LIST_PATTERNS)
        return json_pattern(&r->patterns[i]);
    if (list == LIST_TENSORS)
        return json_tensor(r, &r->tensors[i]);
    const finding *f = live_finding(r, i);
    if (list == LIST_FINDINGS)
        return f ? json_finding(f) : NULL;
    const char *id = report_coverage_lists[list - LIST_COVERAGE].id;
    return f && f->tensor && f->id && strcmp(f->id, id) == 0 ? text_json_string(f->tensor) : NULL;
}

/* The rule files read, with their SHA-256: the policy a verdict rests on. */
static cJSON *json_policy(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject(), *files = cJSON_CreateArray();
    for (size_t i = 0; i < r->policy_file_count; i++) {
        const verify_policy_file *f = &r->policy_files[i];
        if (f->builtin)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "path", text_json_string(f->path));
        cJSON_AddStringToObject(e, "sha256", f->sha256);
        cJSON_AddItemToArray(files, e);
    }
    cJSON_AddItemToObject(o, "files", files);
    cJSON_AddItemToObject(o, "builtin", text_json_string(r->builtin ? r->builtin : "default"));
    return o;
}

static cJSON *json_strings(char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, text_json_string(v[i]));
    return a;
}

/* How the report was produced. */
static cJSON *json_tool(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "version", text_json_string(or_empty(r->tool.version)));
    cJSON_AddItemToObject(o, "backend", text_json_string(r->tool.backend));
    cJSON_AddItemToObject(o, "devices", json_strings(r->tool.devices, r->tool.device_count));
    cJSON_AddItemToObject(o, "argv", json_strings(r->tool.argv, r->tool.argc));
    cJSON_AddItemToObject(o, "started", r->tool.started[0] ? cJSON_CreateString(r->tool.started) : cJSON_CreateNull());
    return o;
}

/* A part's plan (result_part), or null for a whole run. */
static cJSON *json_part(const result_part *p)
{
    static const char *const phases[PART_PHASE_COUNT] = {"checkpoint", "numerics", "diagnosis", "policy"};
    if (!p->present)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "digest", p->digest);
    cJSON_AddItemToObject(o, "tensors", json_count(p->tensors));
    cJSON_AddItemToObject(o, "first", json_count(p->first));
    cJSON_AddItemToObject(o, "count", json_count(p->count));
    for (int k = 0; k < PART_PHASE_COUNT; k++)
        cJSON_AddItemToObject(f, phases[k], json_count(p->findings[k]));
    cJSON_AddItemToObject(o, "findings", f);
    return o;
}

static cJSON *json_scope(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "only", text_json_string(r->scope.only));
    cJSON_AddItemToObject(o, "shard", text_json_string(r->scope.shard));
    cJSON_AddBoolToObject(o, "complete", r->scope.complete);
    cJSON_AddItemToObject(o, "plan", json_part(&r->scope.part));
    return o;
}

static cJSON *json_files(const result_file *f, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "file", text_json_string(f[i].file));
        cJSON_AddItemToObject(e, "bytes", json_count(f[i].bytes));
        cJSON_AddItemToObject(e, "sha256", f[i].hashed ? cJSON_CreateString(f[i].sha256) : cJSON_CreateNull());
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

static cJSON *json_manifest(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "src", json_files(r->manifest.src, r->manifest.src_count));
    cJSON_AddItemToObject(o, "dst", json_files(r->manifest.dst, r->manifest.dst_count));
    return o;
}

/* The report with its long lists as placeholders. */
static cJSON *report_skeleton(const verify_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", REPORT_SCHEMA);
    cJSON_AddStringToObject(root, "result", verify_passed(r) ? "pass" : "fail");
    cJSON_AddItemToObject(root, "src", text_json_string(or_empty(r->src)));
    cJSON_AddItemToObject(root, "dst", text_json_string(or_empty(r->dst)));
    cJSON_AddItemToObject(root, "tool", json_tool(r));
    cJSON_AddItemToObject(root, "policy", json_policy(r));
    cJSON_AddItemToObject(root, "scope", json_scope(r));
    cJSON_AddItemToObject(root, "manifest", json_manifest(r));
    cJSON_AddItemToObject(root, "summary", json_summary(r));
    cJSON_AddItemToObject(root, "findings", json_list(LIST_FINDINGS));
    cJSON_AddItemToObject(root, "coverage", json_coverage());
    cJSON_AddItemToObject(root, "tensors", json_list(LIST_TENSORS));
    return root;
}

static void exact_numbers(cJSON *node);

static jsonstream_source report_source(const verify_result *r)
{
    return (jsonstream_source){list_count, list_element, exact_numbers, r};
}

cJSON *report_json(const verify_result *r)
{
    cJSON *root = report_skeleton(r);
    jsonstream_source src = report_source(r);
    src.prepare = NULL; /* plain cJSON numbers in the tree */
    jsonstream_fill(root, &src);
    return root;
}

/* ---- exact numbers --------------------------------------------------------- */

/* Integers below 10^15 print as %.15g prints them; done by hand, they cost
 * no printf and no strtod (most numbers of a report: counts, shapes, 0, 1). */
#define FAST_INTEGER_LIMIT 1e15

static bool format_integer(double v, char *buf, size_t len)
{
    if (!(v > -FAST_INTEGER_LIMIT && v < FAST_INTEGER_LIMIT) || v != floor(v) || (v == 0 && signbit(v)))
        return false;
    char digits[24];
    uint64_t u = (uint64_t)(v < 0 ? -v : v);
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0 && o + 1 < len)
        buf[o++] = '-';
    while (n && o + 1 < len)
        buf[o++] = digits[--n];
    buf[o] = '\0';
    return true;
}

/* The fewest digits (15..17) that read back as v: cJSON prints 15 and accepts
 * a near miss, so 0.30000000000000004 would come back as 0.3. */
static void format_double(double v, char *buf, size_t len)
{
    if (format_integer(v, buf, len))
        return;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    dot_decimal(buf);
}

/* Turns every number of the tree into raw text with exact digits. */
static void exact_numbers(cJSON *node)
{
    for (cJSON *c = node->child; c; c = c->next) {
        if (!cJSON_IsNumber(c)) {
            exact_numbers(c);
            continue;
        }
        char buf[REPORT_NUM_TEXT];
        format_double(c->valuedouble, buf, sizeof buf);
        size_t n = strlen(buf) + 1;
        char *raw = cJSON_malloc(n);
        if (!raw)
            continue; /* out of memory: cJSON's own digits still parse */
        memcpy(raw, buf, n);
        c->valuestring = raw; /* freed by cJSON_Delete */
        c->type = cJSON_Raw | (c->type & cJSON_StringIsConst);
    }
}

/* The JSON report, streamed: the skeleton, then each list's elements one at
 * a time, so memory does not grow with the report. */
int report_emit_json(FILE *out, const verify_result *r)
{
    cJSON *root = report_skeleton(r);
    jsonstream_source src = report_source(r);
    int rc = jsonstream_print(out, root, &src);
    cJSON_Delete(root);
    return rc;
}

char *report_json_string(const verify_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return NULL;
    int rc = report_emit_json(m, r);
    if (fclose(m) != 0 || rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

