/* verify: structure, coverage, numerics, re-quantization and diagnosis of a
 * converted checkpoint against its source (SPEC §3). */
#include "verify.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "checkpoint.h"
#include "coverage.h"
#include "engine.h"
#include "jsonread.h"
#include "manifest.h"
#include "mxfp4.h"
#include "pattern.h"
#include "policy.h"
#include "rules.h"
#include "sha256.h"
#include "shard.h"
#include "text.h"
#include "util.h"

#define SHOWN 512
#define COPY_CHUNK (1u << 20)
/* A diagnosis must at least halve the error of the faithful reading. */
#define DIAGNOSIS_MIN_GAIN 0.5
/* ... and, undone, be as good as a conversion the default policy accepts:
 * a fixed bar, so that a team's limits do not change what is diagnosed. */
#define DIAGNOSIS_MAX_EXCESS 1.25

/* Files the converter copies verbatim: they must be byte-identical when the
 * source has them. */
static const char *const copied_files[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "vocab.json",     "merges.txt",            "chat_template.jinja",     "added_tokens.json",
    "generation_config.json",
};

typedef struct {
    const verify_opts *o;
    backend *backend;
    const ckpt *src, *dst;
    verify_result *r;
    double start; /* of verify_run, for MXFP4_CHECK_TRACE */
    policy *pol;
    bool pol_failed;        /* a regex selector reached a limit (in a callback) */
    char pol_err[ST_ERR_LEN];
    policy_match *set_keys; /* limit_sets[k] is for the tensors selected by set_keys[k] */
    size_t set_keys_cap, limit_sets_cap;
    engine_item *items;     /* quantized and kept tensors to stream */
    size_t *item_result;    /* items[i] belongs to r->tensors[item_result[i]] */
    size_t nitems, items_cap, item_result_cap;
} vctx;

/* ---- structure ----------------------------------------------------------- */

typedef enum { COPY_SAME, COPY_DIFFERENT, COPY_MISSING, COPY_NOT_REGULAR, COPY_ADDED } copy_state;

/* One side of a copied file: SRC's or DST's copy of `name`. */
typedef struct {
    const char *side, *name;
    const char *root; /* the checkpoint as given on the command line */
    char *path;
    int fd;
    struct stat sb;
} copy_side;

static int copy_fault(const copy_side *f, const char *why, char *err, size_t errlen)
{
    char shown[SHOWN], what[ST_ERR_LEN];
    snprintf(what, sizeof what, "%s: %s", text_escape(f->name, shown, sizeof shown), why);
    text_side_error(err, errlen, f->side, f->root, what);
    return -1;
}

/* Whether f exists: lstat for the source's (any entry there is compared),
 * stat for DST's (a dangling link there is a missing copy). 0 with *found
 * set, or -1 with err set when that cannot be told (a search permission). */
static int copy_exists(const copy_side *f, bool follow, bool *found, char *err, size_t errlen)
{
    struct stat sb;
    *found = (follow ? stat(f->path, &sb) : lstat(f->path, &sb)) == 0;
    if (*found || errno == ENOENT)
        return 0;
    char why[UTIL_WHY_LEN];
    snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
    return copy_fault(f, why, err, errlen);
}

/* Opens f: 0 with f->fd >= 0, or f->fd = -1 when it is not a regular file
 * (a finding); -1 with err set when it cannot be opened (exit 2). Only
 * regular files are read, and they are opened so that a FIFO or a device
 * (planted, or swapped in after a check) is refused instead of blocking or
 * never ending. */
static int copy_open(copy_side *f, char *err, size_t errlen)
{
    char why[UTIL_WHY_LEN];
    int fd = util_open_regular(f->path, &f->sb, why, sizeof why);
    if (fd == -1)
        return copy_fault(f, why, err, errlen);
    f->fd = fd == UTIL_NOT_REGULAR ? -1 : fd;
    return 0;
}

/* Compares the two open copies byte for byte, reading exactly the size fstat
 * gave, so that a read fault or a file that shrank is an error, not a
 * difference. */
static int copy_compare(const copy_side *a, const copy_side *b, copy_state *state, char *err,
                        size_t errlen)
{
    *state = a->sb.st_size != b->sb.st_size ? COPY_DIFFERENT : COPY_SAME;
    char *ba = xmalloc(COPY_CHUNK), *bb = xmalloc(COPY_CHUNK), why[UTIL_WHY_LEN];
    int rc = 0;
    uint64_t size = (uint64_t)a->sb.st_size;
    for (uint64_t off = 0; *state == COPY_SAME && rc == 0 && off < size; off += COPY_CHUNK) {
        size_t n = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
        if (util_pread_exact(a->fd, ba, n, off, why, sizeof why) < 0)
            rc = copy_fault(a, why, err, errlen);
        else if (util_pread_exact(b->fd, bb, n, off, why, sizeof why) < 0)
            rc = copy_fault(b, why, err, errlen);
        else if (memcmp(ba, bb, n) != 0)
            *state = COPY_DIFFERENT;
    }
    free(ba);
    free(bb);
    return rc;
}

static int open_and_compare(copy_side *a, copy_side *b, copy_state *state, char *err, size_t errlen)
{
    if (copy_open(a, err, errlen) < 0 || (a->fd >= 0 && copy_open(b, err, errlen) < 0))
        return -1;
    if (a->fd < 0 || b->fd < 0) {
        *state = COPY_NOT_REGULAR;
        return 0;
    }
    return copy_compare(a, b, state, err, errlen);
}

/* The state of DST's copy of `name` against the source's (COPY_SAME when
 * the source has none), or -1 with err naming the side, the file and the
 * fault when either cannot be read. */
static int compare_copy(const vctx *c, const char *name, copy_state *state, char *err, size_t errlen)
{
    copy_side a = {"SRC", name, c->o->src, xasprintf("%s/%s", ckpt_dir(c->src), name), -1, {0}};
    copy_side b = {"DST", name, c->o->dst, xasprintf("%s/%s", ckpt_dir(c->dst), name), -1, {0}};
    bool in_src = false, in_dst = false;
    *state = COPY_SAME;
    int rc = copy_exists(&a, false, &in_src, err, errlen);
    if (rc == 0)
        rc = copy_exists(&b, true, &in_dst, err, errlen);
    if (rc == 0 && !in_src && in_dst)
        *state = COPY_ADDED;
    else if (rc == 0 && in_src && !in_dst)
        *state = COPY_MISSING;
    else if (rc == 0 && in_src)
        rc = open_and_compare(&a, &b, state, err, errlen);
    if (a.fd >= 0)
        close(a.fd);
    if (b.fd >= 0)
        close(b.fd);
    free(a.path);
    free(b.path);
    return rc;
}

/* Keys of config.json the converter may change: its own, and the version of
 * transformers that wrote the file. */
static bool config_key_converted(const char *key)
{
    return strcmp(key, "quantization_config") == 0 || strcmp(key, "transformers_version") == 0;
}

/* A JSON value, short, for a message (escaped; caller frees). */
static char *shown_value(const cJSON *v)
{
    if (!v)
        return xstrdup("absent");
    char *text = cJSON_PrintUnformatted(v);
    char shown[96];
    text_escape(text ? text : "?", shown, sizeof shown);
    free(text);
    return xstrdup(shown);
}

static void compare_config_keys(const vctx *c, const cJSON *from, const cJSON *to, bool dst_side)
{
    char key[SHOWN];
    for (const cJSON *m = from->child; m; m = m->next) {
        if (config_key_converted(m->string))
            continue;
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(to, m->string);
        if (other && (!dst_side || cJSON_Compare(m, other, 1)))
            continue; /* equal, or (seen from the source) left to the DST pass */
        char *in_dst = shown_value(dst_side ? m : other), *in_src = shown_value(dst_side ? other : m);
        findings_add(c->r->findings, FIND_CONFIG_MODIFIED, SEV_ERROR, NULL, CKPT_CONFIG_NAME,
                     "config.json: '%s' is %s in DST but %s in the source", text_escape(m->string, key, sizeof key),
                     in_dst, in_src);
        free(in_dst);
        free(in_src);
    }
}

/* config.json as the converter writes it: the source's, plus
 * quantization_config. Anything else changes what the loader builds (a
 * layer count, an activation limit) or where it reads the weights from
 * (transformers_weights). Both files were read by the one JSON reader when
 * the checkpoints were opened; a config in neither is config.quantization's. */
static int check_config_copy(const vctx *c, char *err, size_t errlen)
{
    if (!ckpt_get_config(c->src)->present || !ckpt_get_config(c->dst)->present)
        return 0;
    char *paths[2] = {xasprintf("%s/%s", ckpt_dir(c->src), CKPT_CONFIG_NAME),
                      xasprintf("%s/%s", ckpt_dir(c->dst), CKPT_CONFIG_NAME)};
    cJSON *cfg[2] = {NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        char why[ST_ERR_LEN];
        if (!(cfg[i] = jsonread_load(paths[i], CKPT_CONFIG_NAME, why, sizeof why))) {
            text_side_error(err, errlen, i ? "DST" : "SRC", i ? c->o->dst : c->o->src, why);
            rc = -1;
        }
    }
    if (rc == 0 && cJSON_IsObject(cfg[0]) && cJSON_IsObject(cfg[1])) {
        compare_config_keys(c, cfg[1], cfg[0], true);  /* changed or added in DST */
        compare_config_keys(c, cfg[0], cfg[1], false); /* dropped from DST */
    }
    cJSON_Delete(cfg[0]);
    cJSON_Delete(cfg[1]);
    free(paths[0]);
    free(paths[1]);
    return rc;
}

static int check_copied_files(const vctx *c, char *err, size_t errlen)
{
    static const char *const what[] = {
        [COPY_DIFFERENT] = "differs from the source's copy",
        [COPY_MISSING] = "is in the source but not in DST",
        [COPY_NOT_REGULAR] = "is not a regular file on both sides",
        /* the loader reads it (a chat template, added tokens, generation
         * defaults) although the source has none: not a faithful copy */
        [COPY_ADDED] = "is in DST but not in the source",
    };
    if (!ckpt_is_dir(c->src) || !ckpt_is_dir(c->dst))
        return 0;
    for (size_t i = 0; i < sizeof copied_files / sizeof copied_files[0]; i++) {
        copy_state state;
        if (compare_copy(c, copied_files[i], &state, err, errlen) < 0)
            return -1;
        if (state != COPY_SAME)
            findings_add(c->r->findings, FIND_FILES_COPIED, SEV_ERROR, NULL, copied_files[i], "%s %s",
                         copied_files[i], what[state]);
    }
    return 0;
}

/* ---- planning ------------------------------------------------------------ */

static void add_item(vctx *c, size_t result, engine_item it)
{
    xgrow(&c->items, &c->items_cap, c->nitems + 1, sizeof *c->items);
    xgrow(&c->item_result, &c->item_result_cap, c->nitems + 1, sizeof *c->item_result);
    c->items[c->nitems] = it;
    c->item_result[c->nitems++] = result;
}

static void plan_kept(vctx *c, size_t ri, const cov_entry *e)
{
    const ckpt_logical *s = e->src, *d = e->dst;
    char name[SHOWN], a[256], b[256];
    text_escape(s->name, name, sizeof name);
    if (s->kind != LT_PLAIN) {
        findings_add(c->r->findings, FIND_PAIRING, SEV_ERROR, s->name, NULL,
                     "'%s': the source tensor is itself MXFP4", name);
        return;
    }
    const st_tensor *ts = s->plain->t, *td = d->plain->t;
    bool same_shape = ts->rank == td->rank &&
                      memcmp(ts->shape, td->shape, sizeof(uint64_t) * (size_t)ts->rank) == 0;
    if (ts->dtype != td->dtype || !same_shape) {
        findings_add(c->r->findings, FIND_KEPT_MODIFIED, SEV_ERROR, s->name, NULL,
                     "'%s': kept as %s %s but the source is %s %s", name, dtype_name(td->dtype),
                     text_shape(td->shape, td->rank, b, sizeof b), dtype_name(ts->dtype),
                     text_shape(ts->shape, ts->rank, a, sizeof a));
        return;
    }
    add_item(c, ri, (engine_item){.kind = ENGINE_KEPT, .src = s->plain, .dst = d->plain});
}

/* Works out how the source maps onto the stored [*prefix, N, K]: transposed
 * as the converter writes it ([*prefix, K, N]) or direct ([*prefix, N, K]).
 * A square matrix fits both; it gets the converter's convention, and the
 * numbers confirm it (diagnosis tries the other). */
static bool layout_from_shapes(const ckpt_logical *d, const st_tensor *ts, mx_geom *g)
{
    int r = d->rank;
    if (ts->rank != r)
        return false;
    for (int i = 0; i < r - 2; i++)
        if (ts->shape[i] != d->shape[i])
            return false;
    uint64_t K = d->shape[r - 1], N = r >= 2 ? d->shape[r - 2] : 1;
    g->groups = d->groups;
    g->rows = N;
    g->matrices = 1;
    for (int i = 0; i < r - 2; i++)
        g->matrices *= d->shape[i];
    if (r == 1) {
        g->layout = MX_DIRECT;
        return ts->shape[0] == K;
    }
    if (ts->shape[r - 2] == K && ts->shape[r - 1] == N)
        g->layout = MX_TRANSPOSED;
    else if (ts->shape[r - 2] == N && ts->shape[r - 1] == K)
        g->layout = MX_DIRECT;
    else
        return false;
    return true;
}

/* Bytes of the smallest slab the engine can cut from this tensor (32 source
 * rows of a transposed matrix, one row of a direct one). */
static uint64_t smallest_slab_bytes(const mx_geom *g)
{
    return g->layout == MX_TRANSPOSED ? (uint64_t)MXFP4_BLOCK_ELEMS * g->rows * 2
                                      : g->groups * MXFP4_BLOCK_ELEMS * 2;
}

static int plan_quantized(vctx *c, size_t ri, const cov_entry *e, char *err, size_t errlen)
{
    const ckpt_logical *s = e->src, *d = e->dst;
    char name[SHOWN], a[256], b[256];
    text_escape(s->name, name, sizeof name);
    if (s->kind != LT_PLAIN || s->plain->t->dtype != DT_BF16) {
        findings_add(c->r->findings, FIND_PAIRING, SEV_ERROR, s->name, NULL,
                     "'%s': the source is %s, expected BF16", name,
                     s->kind == LT_PLAIN ? dtype_name(s->plain->t->dtype) : "MXFP4");
        return 0;
    }
    const st_tensor *ts = s->plain->t;
    mx_geom g;
    if (!layout_from_shapes(d, ts, &g)) {
        findings_add(c->r->findings, FIND_PAIRING, SEV_ERROR, s->name, NULL,
                     "'%s': source shape %s does not fit the MXFP4 shape %s, transposed or not",
                     name, text_shape(ts->shape, ts->rank, a, sizeof a),
                     text_shape(d->shape, d->rank, b, sizeof b));
        return 0;
    }
    if (smallest_slab_bytes(&g) > ENGINE_MAX_SLAB_BYTES) {
        snprintf(err, errlen, "tensor '%s': rows of %llu elements are too long to compare in "
                 "bounded memory (more than %llu MiB per slab)", name,
                 (unsigned long long)(g.layout == MX_TRANSPOSED ? g.rows : g.groups * MXFP4_BLOCK_ELEMS),
                 (unsigned long long)(ENGINE_MAX_SLAB_BYTES >> 20));
        return -1;
    }
    if (g.layout == MX_DIRECT && d->rank >= 2) {
        finding *f = findings_add(c->r->findings, FIND_DIAGNOSIS, SEV_ERROR, s->name, NULL,
                                  "'%s': stored without the converter's transpose (source %s, "
                                  "blocks hold %s); loaders will read it transposed",
                                  name, text_shape(ts->shape, ts->rank, a, sizeof a),
                                  text_shape(d->shape, d->rank, b, sizeof b));
        if (f)
            f->cause = xstrdup(CAUSE_MISSING_TRANSPOSE);
    }
    add_item(c, ri, (engine_item){.kind = ENGINE_QUANTIZED, .src = s->plain, .blocks = d->blocks,
                                  .scales = d->scales, .geom = g});
    return 0;
}

static int plan(vctx *c, const coverage *cv, char *err, size_t errlen)
{
    verify_result *r = c->r;
    r->tensor_count = coverage_count(cv);
    r->tensors = xcalloc(r->tensor_count + 1, sizeof(verify_tensor));
    /* at most one item per tensor: sized once, not doubled */
    c->items_cap = c->item_result_cap = r->tensor_count + 1;
    c->items = xmalloc(c->items_cap * sizeof *c->items);
    c->item_result = xmalloc(c->item_result_cap * sizeof *c->item_result);
    for (size_t i = 0; i < r->tensor_count; i++) {
        const cov_entry *e = coverage_at(cv, i);
        verify_tensor *t = &r->tensors[i];
        t->name = xstrdup(e->src->name);
        t->limits = VERIFY_NO_LIMITS;
        t->rank = e->src->rank;
        t->shape = xmalloc(sizeof *t->shape * (size_t)(t->rank ? t->rank : 1));
        memcpy(t->shape, e->src->shape, sizeof *t->shape * (size_t)t->rank);
        if (e->src->kind == LT_MXFP4 && t->rank >= 2) { /* the BF16 shape the pair stands for */
            t->shape[t->rank - 1] = e->src->shape[t->rank - 2];
            t->shape[t->rank - 2] = e->src->shape[t->rank - 1];
        }
        bool quantized = e->found == COV_QUANTIZED || (e->found == COV_MISSING && !e->expect_kept);
        t->kind = quantized ? VT_QUANTIZED : VT_KEPT;
        t->bytes_src = e->src->bytes;
        t->bytes_dst = e->dst ? e->dst->bytes : 0;
        r->quantized += quantized;
        r->kept += !quantized;
        if (e->found == COV_KEPT)
            plan_kept(c, i, e);
        else if (e->found == COV_QUANTIZED && plan_quantized(c, i, e, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- numerics ------------------------------------------------------------ */

/* ---- policy ---------------------------------------------------------------- */

_Static_assert(PC_LIMIT_COUNT <= 32, "limit sets index checks in a word");

/* The limit set of the tensors selected by exactly m's rules (made once). */
static uint32_t limit_set_of(vctx *c, const policy_match *m)
{
    verify_result *r = c->r;
    for (size_t k = 0; k < r->limit_set_count; k++) {
        const policy_match *key = &c->set_keys[k];
        if (key->n == m->n && (m->n == 0 || memcmp(key->rules, m->rules, m->n * sizeof *m->rules) == 0))
            return (uint32_t)k;
    }
    size_t k = r->limit_set_count++;
    xgrow(&r->limit_sets, &c->limit_sets_cap, k + 1, sizeof *r->limit_sets);
    xgrow(&c->set_keys, &c->set_keys_cap, k + 1, sizeof *c->set_keys);
    c->set_keys[k] = (policy_match){xmalloc((m->n + 1) * sizeof *m->rules), m->n};
    memcpy(c->set_keys[k].rules, m->rules, m->n * sizeof *m->rules);
    verify_limit_set *set = &r->limit_sets[k];
    *set = (verify_limit_set){xcalloc(PC_LIMIT_COUNT, sizeof(verify_limit)), 0};
    for (int pc = 0; pc < PC_LIMIT_COUNT; pc++) {
        const policy_rule *rule = policy_decide(c->pol, m, (policy_check)pc, NULL);
        if (!rule)
            continue;
        const policy_check_info *info = policy_check_at((policy_check)pc);
        set->items[set->n++] = (verify_limit){info->key, info->stat, info->lower_bound, rule->limit[pc],
                                              xstrdup(rule->id), xstrdup(rule->at.file), rule->at.line};
    }
    return (uint32_t)k;
}

/* The rules of tensor name, or false when a regex selector reached a limit
 * (recorded for the end of the run: callbacks cannot stop the engine). */
static bool match_rules(vctx *c, const char *name, policy_match *m)
{
    if (policy_match_tensor(c->pol, name, m, c->pol_err, sizeof c->pol_err) == 0)
        return true;
    c->pol_failed = true;
    return false;
}

/* A finding raised by a rule: the policy gives it the rule's severity. */
static void raised_by(finding *f, const char *rule_id)
{
    if (f)
        finding_set_rule(&f->rule, rule_id, NULL, 0);
}

/* numerics.threshold, one finding per deciding rule, naming each check past
 * its limit; max_nonfinite raises numerics.nonfinite. */
static void check_limits(vctx *c, verify_tensor *t)
{
    policy_match m;
    if (!match_rules(c, t->name, &m))
        return;
    t->limits = limit_set_of(c, &m);
    policy_match_free(&m);
    const verify_limit_set *set = &c->r->limit_sets[t->limits];
    char name[SHOWN];
    text_escape(t->name, name, sizeof name);
    bool done[PC_LIMIT_COUNT] = {false};
    for (size_t i = 0; i < set->n; i++) {
        if (done[i])
            continue;
        char why[512] = "";
        size_t n = 0;
        for (size_t k = i; k < set->n; k++) { /* every check this rule decided */
            const verify_limit *l = &set->items[k];
            if (done[k] || strcmp(l->rule_id, set->items[i].rule_id) != 0)
                continue;
            done[k] = true;
            policy_check pc;
            policy_check_from_key(l->key, &pc);
            double v = policy_stat(&t->stats, pc);
            if (pc == PC_MAX_NONFINITE || !policy_violates(pc, v, l->value) || n >= sizeof why)
                continue;
            n += (size_t)snprintf(why + n, sizeof why - n, "%s%s %.6g %s %g", n ? ", " : "", l->stat, v,
                                  l->lower_bound ? "<" : ">", l->value);
        }
        if (n)
            raised_by(findings_add(c->r->findings, FIND_THRESHOLD, SEV_ERROR, t->name, NULL, "'%s': %s",
                                   name, why),
                      set->items[i].rule_id);
    }
    for (size_t i = 0; i < set->n; i++) {
        const verify_limit *l = &set->items[i];
        if (strcmp(l->key, policy_check_at(PC_MAX_NONFINITE)->key) == 0 && (double)t->stats.nonfinite > l->value)
            raised_by(findings_add(c->r->findings, FIND_NONFINITE, SEV_ERROR, t->name, NULL,
                                   "'%s': %llu non-finite values (at most %g allowed)", name,
                                   (unsigned long long)t->stats.nonfinite, l->value),
                      l->rule_id);
    }
}


static void check_quantized(vctx *c, verify_tensor *t, const uint64_t *hist)
{
    char name[SHOWN];
    text_escape(t->name, name, sizeof name);
    scale_hist_set(&t->scale_hist, hist);
    uint64_t nan = scale_hist_count(&t->scale_hist, MXFP4_SCALE_NAN);
    if (nan)
        findings_add(c->r->findings, FIND_SCALE_NAN, SEV_ERROR, t->name, NULL,
                     "'%s': %llu scale bytes are 0xFF (NaN in OCP MX)", name, (unsigned long long)nan);
    check_limits(c, t);
    if (t->stats.codes_identical < 1.0 || t->stats.scales_identical < 1.0)
        findings_add(c->r->findings, FIND_REQUANT_MISMATCH, SEV_WARN, t->name, NULL,
                     "'%s': %.4f%% of codes and %.4f%% of scales match the reference quantizer",
                     name, 100.0 * t->stats.codes_identical, 100.0 * t->stats.scales_identical);
}

/* The engine's result for item i (engine_done): the statistics and the
 * findings of its tensor. */
static void collect(void *ctx, size_t i, const engine_result *res)
{
    vctx *c = ctx;
    const engine_item *it = &c->items[i];
    verify_tensor *t = &c->r->tensors[c->item_result[i]];
    stats_finish(&res->acc, &t->stats);
    t->compared = true;
    if (it->kind == ENGINE_QUANTIZED) {
        t->identical = t->stats.equal_fraction == 1.0;
        check_quantized(c, t, res->hist);
        return;
    }
    t->identical = res->identical;
    char name[SHOWN];
    text_escape(t->name, name, sizeof name);
    if (!res->identical && res->values)
        findings_add(c->r->findings, FIND_KEPT_MODIFIED, SEV_ERROR, t->name, NULL,
                     "'%s': kept tensor differs from the source (%.4g%% of elements equal, max_abs_err %.6g)",
                     name, 100.0 * t->stats.equal_fraction, t->stats.max_abs_err);
    else if (!res->identical) { /* integers and the like: no float statistics */
        t->compared = false;
        findings_add(c->r->findings, FIND_KEPT_MODIFIED, SEV_ERROR, t->name, NULL,
                     "'%s': kept tensor differs from the source (%llu elements of %s differ)",
                     name, (unsigned long long)res->elems_differing, dtype_name(it->src->t->dtype));
    }
}

/* ---- diagnosis ----------------------------------------------------------- */

/* The conventions an exporter may have written a tensor in (SPEC §3), one
 * table per axis; a candidate takes one entry of each, and its cause names
 * the entries that are not the converter's own (the first of each table),
 * in table order: layout, element order, scale encoding. */
typedef enum { LAYOUT_AS_PLANNED, LAYOUT_OTHER } layout_choice;
typedef enum { SCALES_E8M0, SCALES_E8M0_BIASED, SCALES_SIGNED } scales_choice;

static const struct {
    const char *cause;
    mxfp4_order order;
    const char *what; /* what the exporter did, for the message */
} element_orders[] = {
    {NULL, MXFP4_ORDER_REFERENCE, NULL},
    {CAUSE_NIBBLE_SWAP, MXFP4_ORDER_NIBBLE_SWAP, "put element 2i in the high nibble"},
    {CAUSE_NIBBLE_SPLIT, MXFP4_ORDER_NIBBLE_SPLIT,
     "used ggml's element order (element j in the low nibble of byte j, j+16 in the high one)"},
};

static const struct {
    const char *cause;
    mxfp4_scale_code code;
} scale_encodings[] = {
    [SCALES_E8M0] = {NULL, MXFP4_SCALE_E8M0},
    [SCALES_E8M0_BIASED] = {CAUSE_SCALE_BIAS, MXFP4_SCALE_E8M0}, /* with the measured k */
    [SCALES_SIGNED] = {CAUSE_SCALE_SIGNED, MXFP4_SCALE_SIGNED},
};

#define N_ORDERS (sizeof element_orders / sizeof element_orders[0])
#define N_SCALES (sizeof scale_encodings / sizeof scale_encodings[0])

typedef struct {
    layout_choice layout;
    size_t order;
    scales_choice scales;
    mx_variant v;
} candidate;

/* Whether tensor t of the result has a finding of this id; the first one
 * when found is non-NULL. */
static bool has_finding_at(const verify_result *r, const verify_links *l, size_t t, const char *id,
                           size_t *found)
{
    size_t n;
    const size_t *on = verify_links_on(l, t, &n);
    for (size_t k = 0; k < n; k++)
        if (strcmp(findings_at(r->findings, on[k])->id, id) == 0) {
            if (found)
                *found = on[k];
            return true;
        }
    return false;
}

static bool has_finding(const verify_result *r, const verify_links *l, size_t t, const char *id)
{
    return has_finding_at(r, l, t, id, NULL);
}

/* engine_done of a replay: its statistics and, for a measuring pass, the
 * offsets of DST's scale bytes from the reference's. */
typedef struct {
    stats_result stats;
    uint64_t offsets[MX_HIST_OFFSETS];
} replay;

static void keep_replay(void *ctx, size_t item, const engine_result *res)
{
    (void)item;
    replay *rp = ctx;
    stats_finish(&res->acc, &rp->stats);
    memcpy(rp->offsets, res->hist + MX_HIST_BYTES, sizeof rp->offsets);
}

/* One tensor read as a candidate: on the first slab only (sample) or on all
 * of it; with requant, the scale offsets too. */
static int run_candidate(vctx *c, const engine_item *base, const candidate *cand, bool sample,
                         bool requant, replay *out, char *err, size_t errlen)
{
    engine_item it = *base;
    if (cand->layout == LAYOUT_OTHER)
        it.geom.layout = it.geom.layout == MX_TRANSPOSED ? MX_DIRECT : MX_TRANSPOSED;
    memset(out, 0, sizeof *out);
    engine_opts o = {.backend = c->backend, .slab_bytes = engine_slab_bytes_from_env(),
                     .requant = requant, .variant = cand->v,
                     .first_slab_only = sample, .done = keep_replay, .done_ctx = out};
    uint64_t bytes = 0;
    int rc = engine_run(c->src, c->dst, &it, 1, &o, &bytes, err, errlen);
    c->r->bytes_read += bytes;
    return rc;
}

/* The bias offset k an exporter used, measured: the most common difference
 * between DST's scale bytes and the reference quantizer's (mod 256, read as
 * -128..127; the smallest |k| wins a tie). */
static int measured_bias(const uint64_t offsets[MX_HIST_OFFSETS])
{
    int best = 0;
    for (int k = -128; k < 128; k++) {
        uint64_t n = offsets[(uint8_t)k], top = offsets[(uint8_t)best];
        if (n > top || (n == top && abs(k) < abs(best)))
            best = k;
    }
    return best;
}

static candidate make_candidate(layout_choice layout, size_t order, scales_choice scales, int k)
{
    candidate cand = {layout, order, scales,
                      {element_orders[order].order, scale_encodings[scales].code,
                       scales == SCALES_E8M0_BIASED ? k : 0}};
    return cand;
}

/* Appends part to a cause or a message being built ("a+b", "a, b and c"). */
static void add_part(char *buf, size_t len, const char *sep, const char *part)
{
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s", n ? sep : "", part);
}

/* The diagnosis of a tensor: its cause and what the exporter did. The
 * layout's cause is given when the shapes already told it (known). */
static void describe(const candidate *cand, bool known_transpose, const engine_item *it, char *cause,
                     size_t cause_len, char *what, size_t what_len)
{
    const char *parts[3] = {NULL, NULL, NULL}, *causes[3] = {NULL, NULL, NULL};
    char scale_what[160];
    if (cand->layout == LAYOUT_OTHER || known_transpose) {
        causes[0] = CAUSE_MISSING_TRANSPOSE;
        parts[0] = known_transpose ? "skipped the converter's transpose"
                                   : "skipped the converter's transpose (square tensor: the shapes "
                                     "cannot show it)";
    }
    causes[1] = element_orders[cand->order].cause;
    parts[1] = element_orders[cand->order].what;
    causes[2] = scale_encodings[cand->scales].cause;
    if (cand->scales == SCALES_E8M0_BIASED)
        snprintf(scale_what, sizeof scale_what, "wrote E8M0 scales with bias %d instead of %d (k %+d)",
                 MXFP4_SCALE_BIAS + cand->v.scale_bias_k, MXFP4_SCALE_BIAS, cand->v.scale_bias_k);
    else
        snprintf(scale_what, sizeof scale_what,
                 "wrote the scales as unbiased two's-complement exponents (as MLX does), dtype %s",
                 dtype_name(it->scales->t->dtype));
    parts[2] = cand->scales == SCALES_E8M0 ? NULL : scale_what;
    cause[0] = what[0] = '\0';
    int last = -1;
    for (int i = 0; i < 3; i++)
        if (parts[i])
            last = i;
    for (int i = 0; i < 3; i++) {
        if (!causes[i])
            continue;
        char sep[2] = {CAUSE_SEPARATOR, '\0'};
        add_part(cause, cause_len, sep, causes[i]);
        add_part(what, what_len, i == last ? " and " : ", ", parts[i]);
    }
}

/* Names the cause on tensor t: a new finding, or the shape's missing
 * transpose (shape_diag, a finding index) widened to every cause. */
static void add_diagnosis(vctx *c, const verify_tensor *t, const engine_item *it, const candidate *cand,
                          const size_t *shape_diag, double rel)
{
    char name[SHOWN], cause[128], what[512];
    describe(cand, shape_diag != NULL, it, cause, sizeof cause, what, sizeof what);
    text_escape(t->name, name, sizeof name);
    char *message = xasprintf("'%s': the exporter %s; undone, rel_l2 is %.4g against the reference's %.4g",
                              name, what, rel, t->stats.ref_rel_l2);
    finding *f = shape_diag ? findings_mut(c->r->findings, *shape_diag)
                            : findings_add(c->r->findings, FIND_DIAGNOSIS, SEV_ERROR, t->name, NULL, "%s",
                                           message);
    if (f) {
        if (shape_diag) {
            free(f->message);
            f->message = message;
            message = NULL;
        }
        free(f->cause);
        f->cause = xstrdup(cause);
        f->scale_bias_k = cand->v.scale_bias_k;
    }
    free(message);
}

/* A tensor that fails its limits is replayed in every combination of the
 * conventions above, each on a sample (the first slab) to keep the cost to
 * a few extra passes over it; the bias a biased E8M0 candidate uses is not
 * guessed but measured, per layout, from DST's scale bytes against the
 * reference quantizer's. The best candidate must clearly beat the faithful
 * reading on the sample, and then, over the whole tensor, come close to the
 * reference quantizer's error. A tensor whose codes and scales are the
 * reference's own has no mistake to find, whatever its error. When the
 * shapes already showed a missing transpose (shape_diag), only the other
 * causes are looked for, and that finding names them all. */
static int diagnose(vctx *c, size_t item, const size_t *shape_diag, char *err, size_t errlen)
{
    const engine_item *it = &c->items[item];
    verify_tensor *t = &c->r->tensors[c->item_result[item]];
    if (t->stats.codes_identical == 1.0 && t->stats.scales_identical == 1.0)
        return 0;
    bool square = it->geom.rows == it->geom.groups * MXFP4_BLOCK_ELEMS && !shape_diag;
    double base = INFINITY, best_rel = INFINITY;
    candidate best = {0};
    bool found = false;
    for (int layout = LAYOUT_AS_PLANNED; layout <= (square ? LAYOUT_OTHER : LAYOUT_AS_PLANNED); layout++) {
        replay measure;
        candidate plain = make_candidate((layout_choice)layout, 0, SCALES_E8M0, 0);
        if (run_candidate(c, it, &plain, true, true, &measure, err, errlen) < 0)
            return -1;
        int k = measured_bias(measure.offsets);
        for (size_t order = 0; order < N_ORDERS; order++) {
            for (size_t sc = 0; sc < N_SCALES; sc++) {
                if (sc == SCALES_E8M0_BIASED && k == 0)
                    continue; /* the measured bias is the reference's: SCALES_E8M0 */
                candidate cand = make_candidate((layout_choice)layout, order, (scales_choice)sc, k);
                replay r = measure; /* the measuring pass read this candidate */
                if (!(order == 0 && sc == SCALES_E8M0) && run_candidate(c, it, &cand, true, false, &r, err,
                                                                         errlen) < 0)
                    return -1;
                if (layout == LAYOUT_AS_PLANNED && order == 0 && sc == SCALES_E8M0) /* faithful */
                    base = r.stats.rel_l2;
                else if (r.stats.rel_l2 < best_rel) { /* ties: the simpler, tried first */
                    best_rel = r.stats.rel_l2;
                    best = cand;
                    found = true;
                }
            }
        }
    }
    if (!found || !(best_rel < DIAGNOSIS_MIN_GAIN * base))
        return 0;
    replay full;
    if (run_candidate(c, it, &best, false, false, &full, err, errlen) < 0)
        return -1;
    if (full.stats.rel_l2 <= DIAGNOSIS_MAX_EXCESS * t->stats.ref_rel_l2 || full.stats.rel_l2 == 0.0)
        add_diagnosis(c, t, it, &best, shape_diag, full.stats.rel_l2);
    return 0;
}

/* ---- result -------------------------------------------------------------- */

/* Each tensor's status: the worst severity among its findings that are not
 * waived, and which finding (so its rule) set it. */
/* What a rule expects of a source tensor, for the coverage (cov_expect_fn). */
static int expect_of(void *ctx, const char *name, policy_expect *expect, const char **rule_id)
{
    vctx *c = ctx;
    policy_match m;
    *expect = EXPECT_UNSET;
    *rule_id = NULL;
    if (!match_rules(c, name, &m))
        return -1;
    const policy_rule *r = policy_decide(c->pol, &m, PC_EXPECT, NULL);
    if (r) {
        *expect = r->expect;
        *rule_id = r->id;
    }
    policy_match_free(&m);
    return 0;
}

/* require_not_converted: modules_to_not_convert must keep every source
 * tensor a listed pattern names (converter semantics). */
static void check_required(vctx *c)
{
    const ckpt_config *cfg = ckpt_get_config(c->dst);
    char pat[SHOWN], name[SHOWN], file[SHOWN];
    for (size_t i = 0; i < policy_required_count(c->pol); i++) {
        policy_origin at;
        const char *req = policy_required_at(c->pol, i, &at);
        text_escape(req, pat, sizeof pat);
        text_escape(at.file, file, sizeof file);
        size_t named = 0;
        for (size_t k = 0; k < ckpt_logical_count(c->src); k++) {
            const char *s = ckpt_logical_at(c->src, k)->name;
            if (!pat_match_converter(req, s))
                continue;
            named++;
            if (pat_first_match(cfg->not_convert, cfg->n_not_convert, s) < 0)
                findings_add(c->r->findings, FIND_REQUIRE_NOT_CONVERTED, SEV_ERROR, s, CKPT_CONFIG_NAME,
                             "'%s': require_not_converted '%s' (%s:%lu), but no modules_to_not_convert "
                             "pattern keeps it", text_escape(s, name, sizeof name), pat, file, at.line);
        }
        if (!named)
            findings_add(c->r->findings, FIND_SELECT_UNMATCHED, SEV_WARN, NULL, at.file,
                         "require_not_converted '%s' at %s:%lu matches no source tensor", pat, file,
                         at.line);
    }
}

/* The policy's files, for the report's provenance. */
static void copy_policy_files(verify_result *r, const policy *p)
{
    r->policy_file_count = policy_file_count(p);
    r->policy_files = xcalloc(r->policy_file_count + 1, sizeof(verify_policy_file));
    for (size_t i = 0; i < r->policy_file_count; i++) {
        const char *sha;
        bool builtin;
        const char *path = policy_file_at(p, i, &sha, &builtin);
        verify_policy_file *f = &r->policy_files[i];
        f->path = xstrdup(path);
        snprintf(f->sha256, sizeof f->sha256, "%s", sha);
        f->builtin = builtin;
        if (builtin) {
            free(r->builtin);
            r->builtin = xstrdup(strchr(path, ':') ? strchr(path, ':') + 1 : path);
        }
    }
}

static void copy_patterns(verify_result *r, const coverage *cv)
{
    r->pattern_count = coverage_pattern_count(cv);
    r->patterns = xcalloc(r->pattern_count + 1, sizeof(verify_pattern));
    for (size_t i = 0; i < r->pattern_count; i++) {
        const cov_pattern *p = coverage_pattern_at(cv, i);
        r->patterns[i] = (verify_pattern){xstrdup(p->pattern), p->matched, p->matched_loader};
    }
}

static void digest_file(sha256_stream *s, const ckpt *c, const char *name)
{
    char *path = xasprintf("%s/%s", ckpt_dir(c), name);
    struct stat st;
    uint64_t v[3] = {0, 0, 0};
    if (stat(path, &st) == 0) {
        v[0] = (uint64_t)st.st_size;
        v[1] = (uint64_t)st.st_mtim.tv_sec;
        v[2] = (uint64_t)st.st_mtim.tv_nsec;
    }
    free(path);
    sha256_update(s, name, strlen(name) + 1);
    sha256_update(s, v, sizeof v);
}

/* A part's digest: the plan's, and the files it was made from - each shard
 * of both sides by name, size and modification time. The headers alone do
 * not tell a part of an earlier run of the same paths (a leftover, or a
 * retried part after DST was rewritten in place) from today's: merging the
 * two could pass a checkpoint no run passed. Identical on every host of a
 * shared filesystem; a filesystem that shows other times on other hosts
 * makes merge refuse, never accept. */
static void plan_with_files(const shard_plan *plan, const ckpt *src, const ckpt *dst, char out[65])
{
    sha256_stream *s = sha256_begin();
    sha256_update(s, plan->digest, strlen(plan->digest) + 1);
    const ckpt *sides[2] = {src, dst};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ckpt_shard_count(sides[k]); i++)
            digest_file(s, sides[k], ckpt_shard_at(sides[k], i)->file);
    sha256_end(s, out);
}

/* --shard: the plan of the whole checkpoint (every part makes the same from
 * the headers), and only this part's tensors left to stream. */
static void take_part(vctx *c)
{
    verify_result *r = c->r;
    shard_tensor *t = xcalloc(r->tensor_count + 1, sizeof *t);
    for (size_t i = 0; i < r->tensor_count; i++)
        t[i].name = r->tensors[i].name;
    for (size_t i = 0; i < c->nitems; i++) { /* only what is read weighs */
        const verify_tensor *v = &r->tensors[c->item_result[i]];
        t[c->item_result[i]].bytes = v->bytes_src + v->bytes_dst;
    }
    shard_plan plan;
    shard_plan_make(t, r->tensor_count, c->o->shard.count, &plan);
    free(t);
    result_part *part = &r->scope.part;
    part->present = true;
    plan_with_files(&plan, c->src, c->dst, part->digest);
    part->tensors = r->tensor_count;
    part->first = plan.bounds[c->o->shard.index];
    part->count = plan.bounds[c->o->shard.index + 1] - part->first;
    shard_plan_free(&plan);
    size_t kept = 0;
    for (size_t i = 0; i < c->nitems; i++)
        if (c->item_result[i] >= part->first && c->item_result[i] < part->first + part->count) {
            c->items[kept] = c->items[i];
            c->item_result[kept++] = c->item_result[i];
        }
    c->nitems = kept;
}

static void free_tensor(verify_tensor *t)
{
    free(t->name);
    free(t->shape);
    scale_hist_clear(&t->scale_hist);
}

/* A part reports its own tensors only; merge puts the runs back together. */
static void keep_part_tensors(verify_result *r)
{
    const result_part *part = &r->scope.part;
    for (size_t i = 0; i < r->tensor_count; i++)
        if (i < part->first || i >= part->first + part->count)
            free_tensor(&r->tensors[i]);
    memmove(r->tensors, r->tensors + part->first, (size_t)part->count * sizeof *r->tensors);
    r->tensor_count = (size_t)part->count;
    r->quantized = r->kept = 0;
    for (size_t i = 0; i < r->tensor_count; i++) {
        r->quantized += r->tensors[i].kind == VT_QUANTIZED;
        r->kept += r->tensors[i].kind == VT_KEPT;
    }
}

/* Whether this run makes the checkpoint-wide checks: a whole run, or part
 * 0 of a sharded one (the other parts drop those findings). */
static bool checkpoint_wide(const verify_opts *o)
{
    return o->shard.count == 0 || o->shard.index == 0;
}

/* _scales of dtype I8 is a convention of its own (signed exponents), never
 * GPT-OSS's: read as E8M0 by the converter's loader, as signed exponents by a
 * loader that honours the dtype. When the diagnosis named scale_signed (it
 * looked at findings[since..]) that is the one finding; otherwise the bytes
 * are E8M0 under a header that says otherwise, and some loader will decode
 * them wrong - an error, whatever the numbers say. */
static void check_signed_scales_dtype(vctx *c, size_t item, size_t since)
{
    const engine_item *it = &c->items[item];
    if (it->scales->t->dtype != DT_I8)
        return;
    const verify_tensor *t = &c->r->tensors[c->item_result[item]];
    for (size_t k = since; k < findings_count(c->r->findings); k++) {
        const finding *f = findings_at(c->r->findings, k);
        if (strcmp(f->id, FIND_DIAGNOSIS) == 0 && f->cause && strstr(f->cause, "scale_signed"))
            return;
    }
    char name[SHOWN];
    findings_add(c->r->findings, FIND_PAIRING, SEV_ERROR, it->scales->t->name, NULL,
                 "'%s_scales' has dtype I8 (signed exponents) but holds E8M0 scales: a loader that honours "
                 "the dtype decodes every scale wrong; GPT-OSS stores U8",
                 text_escape(t->name, name, sizeof name));
}

static int run_checks(vctx *c, char *err, size_t errlen)
{
    ckpt_check_quant_config(c->dst, c->r->findings);
    if (checkpoint_wide(c->o) && (check_config_copy(c, err, errlen) < 0 || check_copied_files(c, err, errlen) < 0))
        return -1;
    char why[ST_ERR_LEN];
    coverage *cv = coverage_build(c->src, c->dst, c->o->only, expect_of, c, c->r->findings, why,
                                  sizeof why);
    if (!cv && c->pol_failed) {
        snprintf(err, errlen, "%s", c->pol_err);
        return -1;
    }
    if (!cv) {
        text_side_error(err, errlen, "DST", c->o->dst, why);
        return -1;
    }
    check_required(c);
    if (c->o->only && coverage_count(cv) == 0) { /* a typo in a CI gate must not pass */
        char shown[SHOWN];
        snprintf(err, errlen, "--only '%s' matches no source tensor",
                 text_escape(c->o->only, shown, sizeof shown));
        coverage_free(cv);
        return -1;
    }
    copy_patterns(c->r, cv);
    int planned = plan(c, cv, err, errlen);
    coverage_free(cv);
    if (planned < 0)
        return -1;
    result_part *part = &c->r->scope.part;
    size_t before_engine = findings_count(c->r->findings);
    if (c->o->shard.count)
        take_part(c);
    if (getenv("MXFP4_CHECK_TRACE"))
        fprintf(stderr, "verify: plan of %zu tensors made after %.3f s (headers, coverage%s)\n",
                c->r->tensor_count, util_now_seconds() - c->start, c->o->shard.count ? ", shard split" : "");
    engine_opts eo = {.backend = c->backend, .slab_bytes = engine_slab_bytes_from_env(),
                      .requant = true, .progress = c->o->progress,
                      .done = collect, .done_ctx = c, .on_progress = c->o->on_progress,
                      .progress_ctx = c->o->progress_ctx, .cancel = c->o->cancel};
    if (getenv("MXFP4_CHECK_TRACE"))
        fprintf(stderr, "verify: the engine starts after %.3f s\n", util_now_seconds() - c->start);
    if (engine_run(c->src, c->dst, c->items, c->nitems, &eo, &c->r->bytes_read, err, errlen) < 0)
        return -1;
    size_t after_engine = findings_count(c->r->findings);
    /* the findings a diagnosis adds are on its own tensor: links built before
     * it still answer for every other one */
    verify_links *l = verify_links_build(c->r);
    int rc = 0;
    for (size_t i = 0; i < c->nitems && rc == 0; i++) {
        size_t t = c->item_result[i];
        size_t shape_diag, before = findings_count(c->r->findings);
        if (c->items[i].kind == ENGINE_QUANTIZED && has_finding(c->r, l, t, FIND_THRESHOLD))
            rc = diagnose(c, i, has_finding_at(c->r, l, t, FIND_DIAGNOSIS, &shape_diag) ? &shape_diag : NULL,
                          err, errlen);
        if (rc == 0 && c->items[i].kind == ENGINE_QUANTIZED)
            check_signed_scales_dtype(c, i, before);
    }
    verify_links_free(l);
    if (rc < 0)
        return -1;
    if (c->o->shard.count) {
        part->findings[PART_CHECKPOINT] = before_engine;
        part->findings[PART_NUMERICS] = after_engine - before_engine;
        part->findings[PART_DIAGNOSIS] = findings_count(c->r->findings) - after_engine;
        if (!checkpoint_wide(c->o)) { /* part 0's: not said twice */
            findings_remove_front(c->r->findings, before_engine);
            part->findings[PART_CHECKPOINT] = 0;
        }
    }
    size_t before_policy = findings_count(c->r->findings);
    if (c->pol_failed || policy_apply(c->pol, c->r->findings, c->o->today, c->pol_err, sizeof c->pol_err) < 0) {
        snprintf(err, errlen, "%s", c->pol_err); /* a limit must not decide: stop */
        return -1;
    }
    part->findings[PART_POLICY] = findings_count(c->r->findings) - before_policy;
    if (c->o->shard.count)
        keep_part_tensors(c->r);
    verify_result_set_statuses(c->r);
    return 0;
}

/* ckpt_open, with the message saying which checkpoint could not be read:
 * "DST 'path': config.json: ...". */
static int open_side(const char *side, const char *path, ckpt **out, finding_list *fl, char *err,
                     size_t errlen)
{
    if (ckpt_open(path, out, fl, err, errlen) == 0)
        return 0;
    text_side_error(err, errlen, side, path, err);
    return -1;
}

static size_t count_pairs(const ckpt *c)
{
    size_t n = 0;
    for (size_t i = 0; i < ckpt_logical_count(c); i++)
        n += ckpt_logical_at(c, i)->kind == LT_MXFP4;
    return n;
}

/* SRC and DST the wrong way round: the source holds MXFP4 pairs and the
 * "converted" checkpoint none. Said once, instead of a finding for every
 * tensor that only restates it. */
static int refuse_swapped(const verify_opts *o, const ckpt *src, const ckpt *dst, char *err, size_t errlen)
{
    size_t in_src = count_pairs(src);
    if (in_src == 0 || count_pairs(dst) > 0)
        return 0;
    char a[SHOWN], b[SHOWN];
    snprintf(err, errlen,
             "SRC and DST look swapped: SRC '%s' holds %zu MXFP4 tensors (_blocks + _scales) and DST '%s' "
             "none; the order is verify BF16_SOURCE MXFP4_CONVERTED",
             text_escape(o->src, a, sizeof a), in_src, text_escape(o->dst, b, sizeof b));
    return -1;
}

/* The same checkpoint twice (however spelled) is no conversion to check. */
static int refuse_same_side(const verify_opts *o, char *err, size_t errlen)
{
    struct stat a, b;
    if (stat(o->src, &a) < 0 || stat(o->dst, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return 0;
    char shown[SHOWN];
    snprintf(err, errlen, "SRC and DST are the same checkpoint '%s'", text_escape(o->src, shown, sizeof shown));
    return -1;
}

/* "2026-12-02T05:20:07Z" */
static void utc_now(char out[24])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void record_tool(verify_result *r, const verify_opts *o)
{
    r->tool.version = xstrdup(MXC_VERSION);
    utc_now(r->tool.started);
    size_t n = o->argv && o->argc > 0 ? (size_t)o->argc : 0;
    r->tool.argc = n + 1;
    r->tool.argv = xcalloc(r->tool.argc, sizeof *r->tool.argv);
    r->tool.argv[0] = xstrdup("mxfp4-check");
    for (size_t i = 0; i < n; i++)
        r->tool.argv[i + 1] = xstrdup(o->argv[i] ? o->argv[i] : "");
    r->scope.only = o->only ? xstrdup(o->only) : NULL;
    r->scope.complete = !o->only && o->shard.count == 0;
    if (o->shard.count) {
        char text[32];
        shard_format(&o->shard, text, sizeof text);
        r->scope.shard = xstrdup(text);
    }
}

/* The files of both sides, hashed when asked. A listing that fails on a run
 * that is failing anyway is left out rather than replacing the first fault. */
static int record_manifest(verify_result *r, const verify_opts *o, bool hash, char *err, size_t errlen)
{
    result_manifest *m = &r->manifest;
    if (manifest_list("SRC", o->src, hash, &m->src, &m->src_count, err, errlen) < 0)
        return -1;
    return manifest_list("DST", o->dst, hash, &m->dst, &m->dst_count, err, errlen);
}

/* What is left of a run that stopped: its provenance and the fault, so that
 * the reports can say so (verify.h). */
static void keep_only_fault(verify_result *r, const char *err)
{
    for (size_t i = 0; i < r->tensor_count; i++)
        free_tensor(&r->tensors[i]);
    free(r->tensors);
    r->tensors = NULL;
    r->tensor_count = r->quantized = r->kept = 0;
    for (size_t i = 0; i < r->pattern_count; i++)
        free(r->patterns[i].pattern);
    free(r->patterns);
    r->patterns = NULL;
    r->pattern_count = 0;
    findings_free(r->findings);
    r->findings = findings_new();
    findings_add(r->findings, FIND_INPUT_UNREADABLE, SEV_ERROR, NULL, NULL, "%s", err);
    r->scope.complete = false;
    r->scope.part = (result_part){0}; /* a part that stopped has no findings of its plan */
}

int verify_run(const verify_opts *o, verify_result **out, char *err, size_t errlen)
{
    double start = util_now_seconds();
    verify_result *r = verify_result_new(o->src, o->dst);
    record_tool(r, o);
    ckpt *src = NULL, *dst = NULL;
    vctx c = {.o = o, .r = r, .pol = o->policy, .start = start};
    policy *own = NULL; /* a caller without rule files gets the built-in default */
    if (!c.pol) {
        rules_loader *l = rules_loader_new();
        rules_add_builtin(l, "default");
        own = c.pol = rules_take_policy(l);
        rules_loader_free(l);
    }
    /* CUDA starts on its own thread meanwhile: the reading does not wait for it */
    int rc = backend_open(o->backend ? o->backend : "auto", o->gpus, &c.backend, err, errlen);
    if (rc == 0 && !backend_may_use_gpu(c.backend))
        omp_set_num_threads(backend_cpu_threads(o->threads));
    else if (o->threads > 0)
        omp_set_num_threads(o->threads);
    if (rc == 0)
        rc = refuse_same_side(o, err, errlen);
    if (rc == 0)
        rc = open_side("SRC", o->src, &src, r->findings, err, errlen);
    if (rc == 0)
        rc = open_side("DST", o->dst, &dst, r->findings, err, errlen);
    if (rc == 0)
        rc = refuse_swapped(o, src, dst, err, errlen);
    if (rc == 0) {
        c.src = src;
        c.dst = dst;
        rc = run_checks(&c, err, errlen);
    }
    if (c.backend) { /* its start, waited for here at the latest */
        char why[ST_ERR_LEN];
        if (backend_ready(c.backend, why, sizeof why) == 0) {
            r->tool.backend = xstrdup(backend_name(c.backend));
            r->tool.device_count = backend_devices(c.backend, &r->tool.devices);
        } else if (rc == 0) {
            snprintf(err, errlen, "%s", why);
            rc = -1;
        }
        if (getenv("MXFP4_CHECK_TRACE")) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            fprintf(stderr, "verify: backend %s, %.3f s, peak host memory %.0f MiB, GPU memory %.0f MiB\n",
                    r->tool.backend ? r->tool.backend : "-", util_now_seconds() - start,
                    ru.ru_maxrss / 1024.0, backend_device_peak() / 1048576.0);
        }
    }
    free(c.items);
    free(c.item_result);
    for (size_t k = 0; k < r->limit_set_count; k++)
        policy_match_free(&c.set_keys[k]);
    free(c.set_keys);
    copy_policy_files(r, c.pol); /* an aborted run's report names its policy too */
    policy_free(own);
    ckpt_close(src);
    ckpt_close(dst);
    backend_close(c.backend);
    /* the manifest is part 0's: the files are the checkpoint's, not a part's */
    if (rc == 0 && checkpoint_wide(o))
        rc = record_manifest(r, o, o->sha256, err, errlen);
    if (rc < 0) {
        char why[ST_ERR_LEN];
        keep_only_fault(r, err);
        if (checkpoint_wide(o))
            (void)record_manifest(r, o, false, why, sizeof why);
    }
    r->seconds = util_now_seconds() - start;
    if (getenv("MXFP4_CHECK_TRACE"))
        fprintf(stderr, "verify: closed after %.3f s\n", r->seconds);
    *out = r;
    return rc;
}
