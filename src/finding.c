#include "finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const finding_kind kinds[] = {
    {FIND_INPUT_UNREADABLE, SEV_ERROR, FG_STRUCTURE,
     "SRC or DST cannot be read or parsed: the run stopped (exit 2; no rule changes that)"},
    {FIND_HEADER, SEV_ERROR, FG_STRUCTURE, "a safetensors header is invalid"},
    {FIND_INDEX_MISMATCH, SEV_ERROR, FG_STRUCTURE, "the index and the shard headers disagree"},
    {FIND_INDEX_TOTAL_SIZE, SEV_WARN, FG_STRUCTURE,
     "metadata.total_size does not match the shards (the reference converter copies the source's)"},
    {FIND_CONFIG_QUANT, SEV_ERROR, FG_STRUCTURE, "config.json has no mxfp4 quantization_config"},
    {FIND_CONFIG_MODIFIED, SEV_ERROR, FG_STRUCTURE,
     "config.json differs from the source's beyond quantization_config (the loader reads it)"},
    {FIND_FILES_COPIED, SEV_ERROR, FG_STRUCTURE, "a tokenizer file is not byte-identical to the source's"},
    {FIND_PAIRING, SEV_ERROR, FG_STRUCTURE, "a _blocks tensor and its _scales do not form a valid pair"},
    {FIND_SCALE_NAN, SEV_ERROR, FG_STRUCTURE, "scale bytes 0xFF (NaN in OCP MX v1.0)"},
    {FIND_SHOULD_KEEP, SEV_ERROR, FG_COVERAGE, "quantized, but a pattern or rule says keep it"},
    {FIND_SHOULD_QUANTIZE, SEV_ERROR, FG_COVERAGE, "kept, but no pattern covers it (or a rule says quantize it)"},
    {FIND_MISSING, SEV_ERROR, FG_COVERAGE, "in the source but not in DST"},
    {FIND_EXTRA, SEV_ERROR, FG_COVERAGE, "in DST but not in the source (or a rule expects it absent)"},
    {FIND_STALE_PATTERN, SEV_WARN, FG_COVERAGE, "a modules_to_not_convert pattern matches no source tensor"},
    {FIND_VIEW_MISMATCH, SEV_WARN, FG_COVERAGE,
     "the converter's and the Hugging Face loader's pattern matching disagree"},
    {FIND_KEPT_MODIFIED, SEV_ERROR, FG_NUMERICS, "a kept tensor is not bit-identical to the source"},
    {FIND_THRESHOLD, SEV_ERROR, FG_NUMERICS, "a quantized tensor is past a limit of the policy"},
    {FIND_NONFINITE, SEV_ERROR, FG_NUMERICS, "NaN or infinite values in the source or the dequantized tensor"},
    {FIND_REQUANT_MISMATCH, SEV_WARN, FG_NUMERICS,
     "codes or scales differ from the reference quantizer's on the same source"},
    {FIND_DIAGNOSIS, SEV_ERROR, FG_NUMERICS, "a known exporter mistake explains a tensor that is far off"},
    {FIND_WAIVER_EXPIRED, SEV_ERROR, FG_RULES, "a waiver is past its expiry date and void"},
    {FIND_WAIVER_UNUSED, SEV_WARN, FG_RULES, "a waiver matched no finding"},
    {FIND_SELECT_UNMATCHED, SEV_WARN, FG_RULES, "a rule's or waiver's select matches no tensor"},
    {FIND_REQUIRE_NOT_CONVERTED, SEV_ERROR, FG_RULES,
     "modules_to_not_convert does not cover a tensor that require_not_converted names"},
};

size_t finding_kind_count(void)
{
    return sizeof kinds / sizeof kinds[0];
}

const finding_kind *finding_kind_at(size_t i)
{
    return i < finding_kind_count() ? &kinds[i] : NULL;
}

const finding_kind *finding_kind_find(const char *id)
{
    for (size_t i = 0; id && i < finding_kind_count(); i++)
        if (strcmp(kinds[i].id, id) == 0)
            return &kinds[i];
    return NULL;
}

/* The causes in their order; causes of one axis exclude each other. */
static const struct {
    const char *name;
    int axis; /* 0 layout, 1 element order, 2 scale encoding */
} causes[] = {
    {CAUSE_MISSING_TRANSPOSE, 0}, {CAUSE_NIBBLE_SWAP, 1},  {CAUSE_NIBBLE_SPLIT, 1},
    {CAUSE_SCALE_BIAS, 2},        {CAUSE_SCALE_SIGNED, 2},
};

/* Index in causes[] of the part [s, s+n), or -1. */
static int cause_index(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
        if (strlen(causes[i].name) == n && memcmp(causes[i].name, s, n) == 0)
            return (int)i;
    return -1;
}

bool finding_cause_valid(const char *text)
{
    int axis = -1;
    const char *s = text;
    for (;;) {
        const char *end = strchr(s, CAUSE_SEPARATOR);
        size_t n = end ? (size_t)(end - s) : strlen(s);
        int i = cause_index(s, n);
        if (i < 0 || causes[i].axis <= axis)
            return false;
        axis = causes[i].axis;
        if (!end)
            return true;
        s = end + 1;
    }
}

bool finding_cause_has(const char *cause, const char *one)
{
    size_t n = strlen(one);
    for (const char *s = cause; s; s = strchr(s, CAUSE_SEPARATOR) ? strchr(s, CAUSE_SEPARATOR) + 1 : NULL)
        if (strncmp(s, one, n) == 0 && (s[n] == '\0' || s[n] == CAUSE_SEPARATOR))
            return true;
    return false;
}

const char *finding_group_name(finding_group g)
{
    static const char *const names[] = {"structure", "coverage", "numerics", "rules"};
    return g <= FG_RULES ? names[g] : "other";
}

struct finding_list {
    finding *items;
    size_t count, cap;
};

finding_list *findings_new(void)
{
    return xcalloc(1, sizeof(finding_list));
}

static void finding_clear(finding *f)
{
    free(f->id);
    free(f->tensor);
    free(f->file);
    free(f->message);
    free(f->cause);
    finding_set_rule(&f->rule, NULL, NULL, 0);
    finding_set_rule(&f->waiver, NULL, NULL, 0);
    free(f->waiver_reason);
    free(f->waiver_expires);
}

void findings_free(finding_list *fl)
{
    if (!fl)
        return;
    for (size_t i = 0; i < fl->count; i++)
        finding_clear(&fl->items[i]);
    free(fl->items);
    free(fl);
}

void findings_remove_front(finding_list *fl, size_t n)
{
    if (n > fl->count)
        n = fl->count;
    for (size_t i = 0; i < n; i++)
        finding_clear(&fl->items[i]);
    if (n)
        memmove(fl->items, fl->items + n, (fl->count - n) * sizeof *fl->items);
    fl->count -= n;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

finding *findings_append_copy(finding_list *fl, const finding *f)
{
    xgrow(&fl->items, &fl->cap, fl->count + 1, sizeof(finding));
    finding *c = &fl->items[fl->count++];
    *c = (finding){.id = xstrdup(f->id), .sev = f->sev, .tensor = dup_or_null(f->tensor),
                   .file = dup_or_null(f->file), .message = xstrdup(f->message),
                   .cause = dup_or_null(f->cause), .scale_bias_k = f->scale_bias_k, .waived = f->waived,
                   .waiver_reason = dup_or_null(f->waiver_reason),
                   .waiver_expires = dup_or_null(f->waiver_expires)};
    finding_set_rule(&c->rule, f->rule.id, f->rule.file, f->rule.line);
    finding_set_rule(&c->waiver, f->waiver.id, f->waiver.file, f->waiver.line);
    return c;
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_rule(const finding_rule *a, const finding_rule *b)
{
    return same_text(a->id, b->id) && same_text(a->file, b->file) && a->line == b->line;
}

bool finding_equal(const finding *a, const finding *b)
{
    return same_text(a->id, b->id) && a->sev == b->sev && same_text(a->tensor, b->tensor) &&
           same_text(a->file, b->file) && same_text(a->message, b->message) &&
           same_text(a->cause, b->cause) && a->scale_bias_k == b->scale_bias_k && a->waived == b->waived &&
           same_text(a->waiver_reason, b->waiver_reason) && same_text(a->waiver_expires, b->waiver_expires) &&
           same_rule(&a->rule, &b->rule) && same_rule(&a->waiver, &b->waiver);
}

void finding_set_rule(finding_rule *r, const char *id, const char *file, unsigned long line)
{
    char *new_id = id ? xstrdup(id) : NULL, *new_file = file ? xstrdup(file) : NULL;
    free(r->id);
    free(r->file);
    *r = (finding_rule){new_id, new_file, line};
}

void finding_set_waiver(finding *f, const char *reason, const char *expires, const char *rule_id,
                        const char *file, unsigned long line)
{
    free(f->waiver_reason);
    free(f->waiver_expires);
    f->waived = true;
    f->waiver_reason = reason ? xstrdup(reason) : NULL;
    f->waiver_expires = expires ? xstrdup(expires) : NULL;
    finding_set_rule(&f->waiver, rule_id, file, line);
}

finding *findings_add(finding_list *fl, const char *id, severity sev, const char *tensor,
                      const char *file, const char *fmt, ...)
{
    if (sev == SEV_OFF)
        return NULL;
    xgrow(&fl->items, &fl->cap, fl->count + 1, sizeof(finding));
    finding *f = &fl->items[fl->count++];
    *f = (finding){.id = xstrdup(id), .sev = sev};
    f->tensor = tensor ? xstrdup(tensor) : NULL;
    f->file = file ? xstrdup(file) : NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    f->message = xmalloc(n > 0 ? (size_t)n + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(f->message, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
    va_end(ap);
    return f;
}

size_t findings_count(const finding_list *fl)
{
    return fl->count;
}

const finding *findings_at(const finding_list *fl, size_t i)
{
    return i < fl->count ? &fl->items[i] : NULL;
}

finding *findings_mut(finding_list *fl, size_t i)
{
    return i < fl->count ? &fl->items[i] : NULL;
}

size_t findings_count_sev(const finding_list *fl, severity sev)
{
    size_t n = 0;
    for (size_t i = 0; i < fl->count; i++)
        n += fl->items[i].sev == sev && !fl->items[i].waived;
    return n;
}

size_t findings_count_waived(const finding_list *fl)
{
    size_t n = 0;
    for (size_t i = 0; i < fl->count; i++)
        n += fl->items[i].waived && fl->items[i].sev != SEV_OFF;
    return n;
}

const char *severity_name(severity sev)
{
    switch (sev) {
    case SEV_ERROR: return "error";
    case SEV_WARN: return "warn";
    case SEV_INFO: return "info";
    default: return "off";
    }
}
