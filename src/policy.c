#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "pyre.h"
#include "text.h"
#include "util.h"

/* ---- the checks ---------------------------------------------------------- */

static const policy_check_info checks[PC_COUNT] = {
    [PC_MAX_REL_L2] = {"max_rel_l2", "rel_l2", false, 0, 1e6},
    [PC_MIN_COSINE] = {"min_cosine", "cosine", true, -1, 1},
    [PC_MAX_EXCESS] = {"max_excess", "excess", false, 0, 1e6},
    [PC_MIN_CODES_IDENTICAL] = {"min_codes_identical", "codes_identical", true, 0, 1},
    [PC_MIN_SCALES_IDENTICAL] = {"min_scales_identical", "scales_identical", true, 0, 1},
    [PC_MAX_ABS_ERR] = {"max_abs_err", "max_abs_err", false, 0, 1e300},
    [PC_MAX_MEAN_ABS_ERR] = {"max_mean_abs_err", "mean_abs_err", false, 0, 1e300},
    [PC_MAX_RMSE] = {"max_rmse", "rmse", false, 0, 1e300},
    [PC_MIN_SNR_DB] = {"min_snr_db", "snr_db", true, -1000, 1000},
    [PC_MAX_NONFINITE] = {"max_nonfinite", "nonfinite", false, 0, 9007199254740992.0},
    [PC_EXPECT] = {"expect", NULL, false, 0, 0},
};

const policy_check_info *policy_check_at(policy_check c)
{
    return c < PC_COUNT ? &checks[c] : NULL;
}

bool policy_check_from_key(const char *key, policy_check *out)
{
    for (int c = 0; c < PC_COUNT; c++) {
        if (strcmp(checks[c].key, key) == 0) {
            *out = (policy_check)c;
            return true;
        }
    }
    return false;
}

double policy_stat(const stats_result *s, policy_check c)
{
    switch (c) {
    case PC_MAX_REL_L2: return s->rel_l2;
    case PC_MIN_COSINE: return s->cosine;
    case PC_MAX_EXCESS: return s->excess;
    case PC_MIN_CODES_IDENTICAL: return s->codes_identical;
    case PC_MIN_SCALES_IDENTICAL: return s->scales_identical;
    case PC_MAX_ABS_ERR: return s->max_abs_err;
    case PC_MAX_MEAN_ABS_ERR: return s->mean_abs_err;
    case PC_MAX_RMSE: return s->rmse;
    case PC_MIN_SNR_DB: return s->snr_db;
    case PC_MAX_NONFINITE: return (double)s->nonfinite;
    default: return NAN;
    }
}

bool policy_violates(policy_check c, double value, double limit)
{
    if (isnan(value))
        return true;
    return checks[c].lower_bound ? value < limit : value > limit;
}

const char *policy_expect_name(policy_expect e)
{
    switch (e) {
    case EXPECT_QUANTIZED: return "quantized";
    case EXPECT_KEPT: return "kept";
    case EXPECT_ABSENT: return "absent";
    default: return "-";
    }
}

/* ---- selectors ----------------------------------------------------------- */

#define REGEX_PREFIX "re:"

typedef struct {
    char *text;  /* as written, "re:" included */
    pyre *re;    /* NULL for a glob */
} selector;

struct policy_selectors {
    selector *items;
    size_t n;
};

policy_selectors *policy_selectors_new(const char *const *texts, size_t n, char *err,
                                       size_t errlen, size_t *bad)
{
    policy_selectors *s = xcalloc(1, sizeof *s);
    s->items = xcalloc(n + 1, sizeof(selector));
    for (size_t i = 0; i < n; i++, s->n++) {
        s->items[i].text = xstrdup(texts[i]);
        if (strncmp(texts[i], REGEX_PREFIX, strlen(REGEX_PREFIX)) != 0)
            continue;
        char why[PYRE_ERR_LEN];
        size_t at;
        s->items[i].re = pyre_compile(texts[i] + strlen(REGEX_PREFIX), PYRE_FULL, why, sizeof why, &at);
        if (!s->items[i].re) {
            snprintf(err, errlen, "invalid regex: %s at byte %zu of the pattern", why, at);
            *bad = i;
            s->n++;
            policy_selectors_free(s);
            return NULL;
        }
    }
    return s;
}

void policy_selectors_free(policy_selectors *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].text);
        pyre_free(s->items[i].re);
    }
    free(s->items);
    free(s);
}

pyre_result policy_selectors_match(const policy_selectors *s, const char *name, char *err,
                                   size_t errlen)
{
    for (size_t i = 0; s && name && i < s->n; i++) {
        const selector *x = &s->items[i];
        if (!x->re) {
            if (pat_match_glob(x->text, name))
                return PYRE_MATCH;
            continue;
        }
        char why[PYRE_ERR_LEN];
        pyre_result r = pyre_match(x->re, name, strlen(name), why, sizeof why);
        if (r == PYRE_LIMIT) {
            char pat[128], shown[256];
            snprintf(err, errlen, "selector '%s' cannot be matched against '%s': %s",
                     text_escape(x->text, pat, sizeof pat), text_escape(name, shown, sizeof shown), why);
            return PYRE_LIMIT;
        }
        if (r == PYRE_MATCH)
            return PYRE_MATCH;
    }
    return PYRE_NO_MATCH;
}

/* select matches and exclude does not ("exclude beats select"). */
static pyre_result selected(const policy_selectors *select, const policy_selectors *exclude,
                            const char *name, char *err, size_t errlen)
{
    pyre_result in = policy_selectors_match(select, name, err, errlen);
    if (in != PYRE_MATCH)
        return in;
    pyre_result out = policy_selectors_match(exclude, name, err, errlen);
    return out == PYRE_LIMIT ? PYRE_LIMIT : out == PYRE_MATCH ? PYRE_NO_MATCH : PYRE_MATCH;
}

/* ---- the policy ---------------------------------------------------------- */

typedef struct {
    char *id;
    severity sev;
    policy_selectors *select; /* NULL: all findings of the id */
    policy_origin at;
} severity_entry;

typedef struct {
    char *finding, *rule;     /* exactly one set */
    policy_selectors *select; /* NULL: all tensors */
    char *reason, *expires;
    policy_origin at;
    bool selected_any;        /* its select matched a tensor */
    uint64_t uses;            /* findings it waived */
} waiver;

typedef struct {
    char *pattern;
    policy_origin at;
} required;

typedef struct {
    char *path, *sha256;
    bool builtin;
} source_file;

struct policy {
    policy_rule *rules;
    size_t nrules, caprules;
    severity_entry *sevs;
    size_t nsevs, capsevs;
    waiver *waivers;
    size_t nwaivers, capwaivers;
    required *req;
    size_t nreq, capreq;
    source_file *files;
    size_t nfiles, capfiles;
    char **strings;           /* file names of origins, owned here */
    size_t nstrings, capstrings;
    bool warnings_are_errors; /* --strict */
};

policy *policy_new(void)
{
    return xcalloc(1, sizeof(policy));
}

void policy_free(policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++) {
        free((char *)p->rules[i].id);
        policy_selectors_free(p->rules[i].select);
        policy_selectors_free(p->rules[i].exclude);
    }
    for (size_t i = 0; i < p->nsevs; i++) {
        free(p->sevs[i].id);
        policy_selectors_free(p->sevs[i].select);
    }
    for (size_t i = 0; i < p->nwaivers; i++) {
        waiver *w = &p->waivers[i];
        free(w->finding);
        free(w->rule);
        free(w->reason);
        free(w->expires);
        policy_selectors_free(w->select);
    }
    for (size_t i = 0; i < p->nreq; i++)
        free(p->req[i].pattern);
    for (size_t i = 0; i < p->nfiles; i++) {
        free(p->files[i].path);
        free(p->files[i].sha256);
    }
    for (size_t i = 0; i < p->nstrings; i++)
        free(p->strings[i]);
    free(p->rules);
    free(p->sevs);
    free(p->waivers);
    free(p->req);
    free(p->files);
    free(p->strings);
    free(p);
}

/* A copy of an origin whose file name the policy owns (one copy per name). */
static policy_origin keep_origin(policy *p, policy_origin at)
{
    for (size_t i = 0; at.file && i < p->nstrings; i++)
        if (strcmp(p->strings[i], at.file) == 0) {
            at.file = p->strings[i];
            return at;
        }
    if (at.file) {
        xgrow(&p->strings, &p->capstrings, p->nstrings + 1, sizeof(char *));
        at.file = p->strings[p->nstrings++] = xstrdup(at.file);
    }
    return at;
}

policy_rule *policy_add_rule(policy *p, const policy_rule *r, const policy_rule **first)
{
    const policy_rule *had = policy_find_rule(p, r->id);
    if (had) {
        *first = had;
        return NULL;
    }
    xgrow(&p->rules, &p->caprules, p->nrules + 1, sizeof(policy_rule));
    policy_rule *k = &p->rules[p->nrules++];
    *k = *r;
    k->id = xstrdup(r->id);
    k->at = keep_origin(p, r->at);
    k->matched = false;
    return k;
}

const policy_rule *policy_find_rule(const policy *p, const char *id)
{
    for (size_t i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].id, id) == 0)
            return &p->rules[i];
    return NULL;
}

void policy_add_severity(policy *p, const char *id, severity sev, policy_selectors *select,
                         policy_origin at)
{
    xgrow(&p->sevs, &p->capsevs, p->nsevs + 1, sizeof(severity_entry));
    p->sevs[p->nsevs++] = (severity_entry){xstrdup(id), sev, select, keep_origin(p, at)};
}

void policy_add_waiver(policy *p, const char *finding_id, const char *rule, policy_selectors *select,
                       const char *reason, const char *expires, policy_origin at)
{
    xgrow(&p->waivers, &p->capwaivers, p->nwaivers + 1, sizeof(waiver));
    p->waivers[p->nwaivers++] = (waiver){
        .finding = finding_id ? xstrdup(finding_id) : NULL,
        .rule = rule ? xstrdup(rule) : NULL,
        .select = select,
        .reason = xstrdup(reason),
        .expires = expires ? xstrdup(expires) : NULL,
        .at = keep_origin(p, at),
    };
}

void policy_add_required(policy *p, const char *pattern, policy_origin at)
{
    xgrow(&p->req, &p->capreq, p->nreq + 1, sizeof(required));
    p->req[p->nreq++] = (required){xstrdup(pattern), keep_origin(p, at)};
}

void policy_set_warnings_are_errors(policy *p)
{
    p->warnings_are_errors = true;
}

void policy_add_file(policy *p, const char *path, const char *sha256_hex, bool builtin)
{
    xgrow(&p->files, &p->capfiles, p->nfiles + 1, sizeof(source_file));
    p->files[p->nfiles++] = (source_file){xstrdup(path), xstrdup(sha256_hex ? sha256_hex : ""), builtin};
}

size_t policy_required_count(const policy *p) { return p->nreq; }

const char *policy_required_at(const policy *p, size_t i, policy_origin *at)
{
    if (i >= p->nreq)
        return NULL;
    if (at)
        *at = p->req[i].at;
    return p->req[i].pattern;
}

size_t policy_waiver_count(const policy *p) { return p->nwaivers; }

const char *policy_waiver_rule_at(const policy *p, size_t i, policy_origin *at)
{
    if (i >= p->nwaivers)
        return NULL;
    if (at)
        *at = p->waivers[i].at;
    return p->waivers[i].rule;
}

size_t policy_file_count(const policy *p) { return p->nfiles; }

const char *policy_file_at(const policy *p, size_t i, const char **sha256_hex, bool *builtin)
{
    if (i >= p->nfiles)
        return NULL;
    if (sha256_hex)
        *sha256_hex = p->files[i].sha256;
    if (builtin)
        *builtin = p->files[i].builtin;
    return p->files[i].path;
}

size_t policy_rule_count(const policy *p) { return p->nrules; }
const policy_rule *policy_rule_at(const policy *p, size_t i) { return i < p->nrules ? &p->rules[i] : NULL; }

/* ---- deciding ------------------------------------------------------------ */

int policy_match_tensor(policy *p, const char *tensor, policy_match *m, char *err, size_t errlen)
{
    m->rules = NULL;
    m->n = 0;
    size_t cap = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        pyre_result r = selected(p->rules[i].select, p->rules[i].exclude, tensor, err, errlen);
        if (r == PYRE_LIMIT) {
            policy_match_free(m);
            return -1;
        }
        if (r == PYRE_MATCH) {
            p->rules[i].matched = true;
            xgrow(&m->rules, &cap, m->n + 1, sizeof(uint32_t));
            m->rules[m->n++] = (uint32_t)i;
        }
    }
    for (size_t i = 0; i < p->nwaivers; i++) {
        waiver *w = &p->waivers[i];
        if (!w->select || w->selected_any)
            continue;
        pyre_result r = policy_selectors_match(w->select, tensor, err, errlen);
        if (r == PYRE_LIMIT) {
            policy_match_free(m);
            return -1;
        }
        w->selected_any |= r == PYRE_MATCH;
    }
    return 0;
}

void policy_match_free(policy_match *m)
{
    free(m->rules);
    m->rules = NULL;
    m->n = 0;
}

static bool sets(const policy_rule *r, policy_check c)
{
    return c == PC_EXPECT ? r->expect != EXPECT_UNSET : r->has_limit[c];
}

const policy_rule *policy_setter(const policy *p, const policy_match *m, policy_check c, size_t k)
{
    for (size_t i = m->n; i-- > 0;) {
        const policy_rule *r = &p->rules[m->rules[i]];
        if (sets(r, c) && k-- == 0)
            return r;
    }
    return NULL;
}

const policy_rule *policy_decide(const policy *p, const policy_match *m, policy_check c,
                                 size_t *overridden)
{
    const policy_rule *r = policy_setter(p, m, c, 0);
    if (overridden) {
        *overridden = 0;
        while (r && policy_setter(p, m, c, *overridden + 1))
            ++*overridden;
    }
    return r;
}

int policy_severity_of(policy *p, const char *id, const char *tensor, severity *sev,
                       policy_origin *at, char *err, size_t errlen)
{
    for (size_t i = p->nsevs; i-- > 0;) {
        const severity_entry *e = &p->sevs[i];
        if (strcmp(e->id, id) != 0)
            continue;
        if (e->select) {
            pyre_result r = policy_selectors_match(e->select, tensor, err, errlen);
            if (r == PYRE_LIMIT)
                return -1;
            if (r != PYRE_MATCH)
                continue;
        }
        *sev = e->sev;
        *at = e->at;
        return 0;
    }
    const finding_kind *k = finding_kind_find(id);
    *sev = k ? k->default_sev : SEV_ERROR; /* an id without an entry is ours: never hide it */
    *at = (policy_origin){0};
    return 0;
}

static void set_rule(finding *f, const char *id, policy_origin at)
{
    finding_set_rule(&f->rule, id, at.file, at.line);
}

/* The finding's severity and where it came from. */
static int decide_severity(policy *p, finding *f, char *err, size_t errlen)
{
    const policy_rule *r = f->rule.id && !f->rule.file ? policy_find_rule(p, f->rule.id) : NULL;
    if (r) {
        set_rule(f, r->id, r->at);
        if (r->has_severity) {
            f->sev = r->sev;
            return 0;
        }
    }
    policy_origin at;
    severity sev;
    if (policy_severity_of(p, f->id, f->tensor, &sev, &at, err, errlen) < 0)
        return -1;
    f->sev = sev;
    if (!r && at.file)
        set_rule(f, NULL, at);
    return 0;
}

/* decide_severity, then --strict's promotion of warnings. */
static int decide(policy *p, finding *f, char *err, size_t errlen)
{
    if (decide_severity(p, f, err, errlen) < 0)
        return -1;
    if (p->warnings_are_errors && f->sev == SEV_WARN)
        f->sev = SEV_ERROR;
    return 0;
}

static bool waiver_expired(const waiver *w, const char *today)
{
    return w->expires && today && strcmp(today, w->expires) > 0; /* ISO dates sort as text */
}

/* The first live waiver that covers f, or NULL. */
static waiver *waiver_for(policy *p, const finding *f, const char *today, char *err, size_t errlen,
                          bool *failed)
{
    for (size_t i = 0; i < p->nwaivers; i++) {
        waiver *w = &p->waivers[i];
        bool same = w->finding ? strcmp(w->finding, f->id) == 0
                               : f->rule.id && strcmp(w->rule, f->rule.id) == 0;
        if (!same || waiver_expired(w, today))
            continue;
        if (w->select) {
            pyre_result r = policy_selectors_match(w->select, f->tensor, err, errlen);
            if (r == PYRE_LIMIT) {
                *failed = true;
                return NULL;
            }
            if (r != PYRE_MATCH)
                continue;
        }
        return w;
    }
    return NULL;
}

/* rules.* findings about the policy itself, after the run. */
static void report_policy(policy *p, finding_list *fl, const char *today)
{
    char shown[256], file[256];
    for (size_t i = 0; i < p->nwaivers; i++) {
        waiver *w = &p->waivers[i];
        const char *what = w->finding ? w->finding : w->rule;
        text_escape(what, shown, sizeof shown);
        text_escape(w->at.file, file, sizeof file);
        if (waiver_expired(w, today))
            findings_add(fl, FIND_WAIVER_EXPIRED, SEV_ERROR, NULL, w->at.file,
                         "waiver of %s at %s:%lu expired on %s: it no longer applies", shown, file,
                         w->at.line, w->expires);
        else if (w->uses == 0)
            findings_add(fl, FIND_WAIVER_UNUSED, SEV_WARN, NULL, w->at.file,
                         "waiver of %s at %s:%lu matched no finding", shown, file, w->at.line);
        if (w->select && !w->selected_any)
            findings_add(fl, FIND_SELECT_UNMATCHED, SEV_WARN, NULL, w->at.file,
                         "the select of the waiver of %s at %s:%lu matches no tensor", shown, file,
                         w->at.line);
    }
    for (size_t i = 0; i < p->nrules; i++) {
        const policy_rule *r = &p->rules[i];
        if (r->matched)
            continue;
        findings_add(fl, FIND_SELECT_UNMATCHED, SEV_WARN, NULL, r->at.file,
                     "rule '%s' at %s:%lu selects no tensor", text_escape(r->id, shown, sizeof shown),
                     text_escape(r->at.file, file, sizeof file), r->at.line);
    }
}

int policy_apply(policy *p, finding_list *fl, const char *today, char *err, size_t errlen)
{
    size_t checked = findings_count(fl);
    for (size_t i = 0; i < checked; i++) {
        finding *f = findings_mut(fl, i);
        if (decide(p, f, err, errlen) < 0)
            return -1;
        if (f->sev == SEV_OFF || strncmp(f->id, "rules.", 6) == 0)
            continue; /* the policy's own findings are not the policy's to waive */
        bool failed = false;
        waiver *w = waiver_for(p, f, today, err, errlen, &failed);
        if (failed)
            return -1;
        if (w) {
            w->uses++;
            finding_set_waiver(f, w->reason, w->expires, w->rule, w->at.file, w->at.line);
        }
    }
    /* the policy's own findings come last: they cannot be waived, but a
     * findings: entry may still set their severity */
    report_policy(p, fl, today);
    for (size_t i = checked; i < findings_count(fl); i++)
        if (decide(p, findings_mut(fl, i), err, errlen) < 0)
            return -1;
    return 0;
}
