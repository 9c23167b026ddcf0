#include "coverage.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "pattern.h"
#include "text.h"
#include "util.h"

#define SHOWN 512

struct coverage {
    cov_entry *entries;
    size_t count;
    cov_pattern *patterns;
    size_t pattern_count;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether a loader could quantize this tensor at all: a weight matrix, not a
 * bias, norm or sink (rank <= 1, or named *bias). Only there does a
 * disagreement between the two pattern views change what gets loaded; the
 * loader view never matches tensor-level patterns such as "model.norm.weight",
 * and reporting those would bury the real mismatches. */
static bool loader_could_quantize(const ckpt_logical *lt)
{
    return lt->rank >= 2 && !ends_with(lt->name, "bias");
}

/* Whether DST holds a _blocks or _scales tensor for `name` that made no
 * pair (checkpoint.h: unpaired_base). */
static bool unpaired_in(const ckpt *dst, const char *name)
{
    const char *suffixes[] = {MXFP4_BLOCKS_SUFFIX, MXFP4_SCALES_SUFFIX};
    bool found = false;
    for (int i = 0; i < 2 && !found; i++) {
        char *full = xasprintf("%s%s", name, suffixes[i]);
        const ckpt_logical *lt = ckpt_logical_find(dst, full);
        found = lt && lt->unpaired_base && strcmp(lt->unpaired_base, name) == 0;
        free(full);
    }
    return found;
}

static bool in_scope(const char *only, const char *name)
{
    return !only || fnmatch(only, name, 0) == 0;
}

/* One pattern against every source tensor, in both views. The loader-view
 * regex is compiled here and freed before the next pattern: memory stays that
 * of one pattern whatever the config holds. */
static int match_pattern(coverage *cv, const ckpt *src, int p, const char *pattern,
                         cov_entry *all, finding_list *fl, char *err, size_t errlen)
{
    pat_loader *loader = pat_loader_new(pattern);
    if (pat_loader_error(loader)) { /* transformers' re.match raises re.error on it */
        char pat[SHOWN];
        findings_add(fl, FIND_CONFIG_QUANT, SEV_ERROR, NULL, CKPT_CONFIG_NAME,
                     "modules_to_not_convert[%d] '%s' is not a regular expression (%s): the Hugging "
                     "Face loader fails on it",
                     p, text_escape(pattern, pat, sizeof pat), pat_loader_error(loader));
    }
    int rc = 0;
    /* the loader view sees module names, which neighbouring tensors share:
     * one match per module run (the names are sorted) */
    const char *prev = NULL;
    size_t prev_len = 0;
    pyre_result prev_load = PYRE_NO_MATCH;
    for (size_t i = 0; i < ckpt_logical_count(src) && rc == 0; i++) {
        const char *name = ckpt_logical_at(src, i)->name;
        char why[PYRE_ERR_LEN];
        size_t mlen = pat_module_len(name);
        pyre_result load = prev && prev_len == mlen && memcmp(prev, name, mlen) == 0
                               ? prev_load
                               : pat_loader_match(loader, name, why, sizeof why);
        prev = name;
        prev_len = mlen;
        prev_load = load;
        if (load == PYRE_LIMIT) {
            char pat[SHOWN], shown[SHOWN];
            snprintf(err, errlen,
                     "%s: modules_to_not_convert[%d] '%s' cannot be matched against '%s' "
                     "as the Hugging Face loader would: %s",
                     CKPT_CONFIG_NAME, p, text_escape(pattern, pat, sizeof pat),
                     text_escape(name, shown, sizeof shown), why);
            rc = -1;
            break;
        }
        bool conv = pat_match_converter(pattern, name);
        cv->patterns[p].matched += conv;
        cv->patterns[p].matched_loader += load == PYRE_MATCH;
        if (conv && all[i].pattern < 0)
            all[i].pattern = p;
        all[i].loader_keeps |= load == PYRE_MATCH;
    }
    pat_loader_free(loader);
    return rc;
}

static int classify(coverage *cv, const ckpt *src, const ckpt *dst, const char *only,
                    cov_expect_fn expect_of, void *expect_ctx, finding_list *fl, char *err, size_t errlen)
{
    const ckpt_config *cfg = ckpt_get_config(dst);
    size_t n = ckpt_logical_count(src);
    cov_entry *all = xcalloc(n + 1, sizeof(cov_entry));
    for (size_t i = 0; i < n; i++)
        all[i] = (cov_entry){.src = ckpt_logical_at(src, i), .pattern = -1};
    int rc = 0;
    for (int p = 0; p < cfg->n_not_convert && rc == 0; p++)
        rc = match_pattern(cv, src, p, cfg->not_convert[p], all, fl, err, errlen);
    for (size_t i = 0; i < n && rc == 0; i++) {
        cov_entry e = all[i];
        e.expect_kept = e.pattern >= 0;
        policy_expect rule = EXPECT_UNSET;
        if (expect_of && expect_of(expect_ctx, e.src->name, &rule, &e.expect_rule) < 0) {
            snprintf(err, errlen, "a rule could not be matched");
            rc = -1;
            break;
        }
        if (rule != EXPECT_UNSET) {
            e.expect_kept = rule == EXPECT_KEPT;
            e.expect_absent = rule == EXPECT_ABSENT;
        }
        e.dst = ckpt_logical_find(dst, e.src->name);
        e.found = !e.dst ? COV_MISSING : e.dst->kind == LT_MXFP4 ? COV_QUANTIZED : COV_KEPT;
        e.unpaired = !e.dst && unpaired_in(dst, e.src->name);
        if (in_scope(only, e.src->name))
            all[cv->count++] = e; /* in place: cv->count <= i */
    }
    cv->entries = all;
    return rc;
}

/* Without a quantization_config there is no pattern list to judge kept or
 * quantized against (config.quantization says so once); missing tensors are
 * still missing. */
static void by_rule(finding *f, const cov_entry *e)
{
    if (f && e->expect_rule)
        finding_set_rule(&f->rule, e->expect_rule, NULL, 0);
}

static void report_entry(const cov_entry *e, const ckpt_config *cfg, finding_list *fl)
{
    char name[SHOWN], pat[SHOWN], rule[SHOWN];
    const char *n = e->src->name;
    text_escape(n, name, sizeof name);
    if (e->expect_rule)
        text_escape(e->expect_rule, rule, sizeof rule);
    if (e->expect_absent) {
        if (e->found != COV_MISSING)
            by_rule(findings_add(fl, FIND_EXTRA, SEV_ERROR, n, NULL,
                                 "'%s' is in DST, but rule %s expects it absent", name, rule),
                    e);
        return;
    }
    if (e->found == COV_MISSING) { /* an unpaired one: mxfp4.pairing says why, once */
        if (!e->unpaired)
            findings_add(fl, FIND_MISSING, SEV_ERROR, n, NULL, "'%s' is in the source but not in DST", name);
        return;
    }
    /* a rule's expectation adds a check; config.json must still agree with
     * DST, or the loader reads the tensor as what it is not */
    if (e->expect_rule && e->expect_kept && e->found == COV_QUANTIZED)
        by_rule(findings_add(fl, FIND_SHOULD_KEEP, SEV_ERROR, n, NULL,
                             "'%s' is quantized, but rule %s says keep it", name, rule),
                e);
    else if (e->expect_rule && !e->expect_kept && e->found == COV_KEPT)
        by_rule(findings_add(fl, FIND_SHOULD_QUANTIZE, SEV_ERROR, n, NULL,
                             "'%s' is kept, but rule %s says quantize it", name, rule),
                e);
    bool conv_keeps = e->pattern >= 0;
    if (!cfg->has_quant)
        ; /* without a config, patterns judge nothing (config.quantization says so) */
    else if (conv_keeps && e->found == COV_QUANTIZED)
        findings_add(fl, FIND_SHOULD_KEEP, SEV_ERROR, n, NULL,
                     "'%s' is quantized, but pattern '%s' says keep it", name,
                     text_escape(cfg->not_convert[e->pattern], pat, sizeof pat));
    else if (!conv_keeps && e->found == COV_KEPT)
        findings_add(fl, FIND_SHOULD_QUANTIZE, SEV_ERROR, n, NULL,
                     "'%s' is kept, but no modules_to_not_convert pattern covers it", name);
    /* the two pattern views, whatever a rule expects */
    if (cfg->has_quant && conv_keeps != e->loader_keeps && loader_could_quantize(e->src))
        findings_add(fl, FIND_VIEW_MISMATCH, SEV_WARN, n, NULL,
                     "'%s': the converter %s it but the Hugging Face loader's pattern matching %s it",
                     name, conv_keeps ? "keeps" : "quantizes", e->loader_keeps ? "keeps" : "would quantize");
}

coverage *coverage_build(const ckpt *src, const ckpt *dst, const char *only, cov_expect_fn expect_of,
                         void *expect_ctx, finding_list *fl, char *err, size_t errlen)
{
    coverage *cv = xcalloc(1, sizeof *cv);
    const ckpt_config *cfg = ckpt_get_config(dst);
    cv->pattern_count = (size_t)cfg->n_not_convert;
    cv->patterns = xcalloc(cv->pattern_count + 1, sizeof(cov_pattern));
    for (size_t p = 0; p < cv->pattern_count; p++)
        cv->patterns[p].pattern = cfg->not_convert[p];
    if (classify(cv, src, dst, only, expect_of, expect_ctx, fl, err, errlen) < 0) {
        coverage_free(cv);
        return NULL;
    }
    for (size_t i = 0; i < cv->count; i++)
        report_entry(&cv->entries[i], cfg, fl);
    char name[SHOWN];
    for (size_t i = 0; i < ckpt_logical_count(dst); i++) {
        const ckpt_logical *d = ckpt_logical_at(dst, i);
        /* a tensor of a pair that failed, for a source tensor: the pairing
         * finding already says so */
        bool restates = d->unpaired_base && ckpt_logical_find(src, d->unpaired_base);
        if (!ckpt_logical_find(src, d->name) && !restates && in_scope(only, d->name))
            findings_add(fl, FIND_EXTRA, SEV_ERROR, d->name, NULL, "'%s' is in DST but not in the source",
                         text_escape(d->name, name, sizeof name));
    }
    for (size_t p = 0; p < cv->pattern_count; p++)
        if (cv->patterns[p].matched == 0) /* the pattern text goes in `tensor` for reports */
            findings_add(fl, FIND_STALE_PATTERN, SEV_WARN, cv->patterns[p].pattern, CKPT_CONFIG_NAME,
                         "pattern '%s' matches no source tensor",
                         text_escape(cv->patterns[p].pattern, name, sizeof name));
    return cv;
}

void coverage_free(coverage *cv)
{
    if (!cv)
        return;
    free(cv->entries);
    free(cv->patterns);
    free(cv);
}

size_t coverage_count(const coverage *cv) { return cv->count; }
const cov_entry *coverage_at(const coverage *cv, size_t i) { return i < cv->count ? &cv->entries[i] : NULL; }
size_t coverage_pattern_count(const coverage *cv) { return cv->pattern_count; }
const cov_pattern *coverage_pattern_at(const coverage *cv, size_t i)
{
    return i < cv->pattern_count ? &cv->patterns[i] : NULL;
}
