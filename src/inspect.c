/* `mxfp4-check inspect PATH [--json] [--tensor NAME]`: what a checkpoint
 * holds, one row per logical tensor, with its structural findings. */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "jsonstream.h"
#include "mxfp4.h"
#include "outfile.h"
#include "pattern.h"
#include "policy.h"
#include "report.h"
#include "text.h"
#include "util.h"

#define SHOWN 512

static const char usage[] =
    "usage: mxfp4-check inspect PATH [--json] [--tensor NAME]\n"
    "\n"
    "List the tensors of a checkpoint (a directory with model.safetensors.index.json\n"
    "or model.safetensors, or one .safetensors file): name, dtype, shape, bytes,\n"
    "shard, role (kept/quantized) and the modules_to_not_convert pattern that\n"
    "decides it. An MXFP4 pair (W_blocks + W_scales) is one row: dtype MXFP4, the\n"
    "BF16 shape it dequantizes to in the source's orientation (the converter's\n"
    "transpose undone), and the bytes of blocks + scales.\n"
    "\n"
    "  --json          machine-readable output on stdout\n"
    "  --tensor NAME   one tensor in detail; for MXFP4 its scale-exponent histogram\n"
    "  -h, --help      this help\n"
    "\n"
    "Structural findings (index.mismatch, index.total_size, mxfp4.pairing,\n"
    "mxfp4.scale_nan, config.quantization) are listed after the table.\n"
    "Exit status: 0 no errors, 1 structural errors, 2 unreadable input or usage.\n";

typedef struct {
    const char *path, *tensor;
    bool json;
} inspect_opts;

/* Shape as the source had it: the converter quantized W.swapaxes(-2, -1), so
 * the stored [..., N, K] is shown as [..., K, N]. */
static void source_shape(const ckpt_logical *lt, uint64_t *shape)
{
    memcpy(shape, lt->shape, sizeof(uint64_t) * (size_t)lt->rank);
    if (lt->kind == LT_MXFP4 && lt->rank >= 2) {
        shape[lt->rank - 2] = lt->shape[lt->rank - 1];
        shape[lt->rank - 1] = lt->shape[lt->rank - 2];
    }
}

static const char *shard_of(const ckpt *c, const ckpt_tensor *ct)
{
    return ckpt_shard_at(c, ct->shard)->file;
}

static const char *role_pattern(const ckpt *c, const ckpt_logical *lt)
{
    const ckpt_config *cfg = ckpt_get_config(c);
    int p = pat_first_match(cfg->not_convert, cfg->n_not_convert, lt->name);
    return p >= 0 ? cfg->not_convert[p] : NULL;
}

static const char *dtype_label(const ckpt_logical *lt)
{
    return lt->kind == LT_MXFP4 ? "MXFP4" : dtype_name(lt->plain->t->dtype);
}

/* Reads every scale tensor: NaN scale bytes are a structural error. */
static int check_scales(const ckpt *c, finding_list *fl, char *err, size_t errlen)
{
    for (size_t i = 0; i < ckpt_logical_count(c); i++) {
        const ckpt_logical *lt = ckpt_logical_at(c, i);
        uint64_t hist[256];
        if (lt->kind != LT_MXFP4)
            continue;
        if (ckpt_scale_histogram(c, lt, hist, err, errlen) < 0)
            return -1;
        if (hist[MXFP4_SCALE_NAN]) {
            char shown[SHOWN];
            findings_add(fl, FIND_SCALE_NAN, SEV_ERROR, lt->name, shard_of(c, lt->scales),
                         "'%s': %llu scale bytes are 0xFF (NaN in OCP MX)",
                         text_escape(lt->name, shown, sizeof shown),
                         (unsigned long long)hist[MXFP4_SCALE_NAN]);
        }
    }
    return 0;
}

/* config.json must say mxfp4 when the checkpoint holds MXFP4 pairs. */
static void check_config(const ckpt *c, finding_list *fl)
{
    for (size_t i = 0; i < ckpt_logical_count(c); i++)
        if (ckpt_logical_at(c, i)->kind == LT_MXFP4) {
            ckpt_check_quant_config(c, fl);
            return;
        }
}

/* ---- human output -------------------------------------------------------- */

static void print_findings(FILE *out, const finding_list *fl)
{
    for (size_t i = 0; i < findings_count(fl); i++) {
        const finding *f = findings_at(fl, i);
        fprintf(out, "%-5s [%s] %s\n", severity_name(f->sev), f->id, f->message);
    }
}

static void print_table(FILE *out, const ckpt *c)
{
    int wname = 6;
    char buf[SHOWN];
    for (size_t i = 0; i < ckpt_logical_count(c); i++) {
        int w = (int)strlen(text_escape(ckpt_logical_at(c, i)->name, buf, sizeof buf));
        wname = w > wname ? w : wname;
    }
    fprintf(out, "%-*s  %-7s  %-18s  %10s  %-32s  %-9s  %s\n", wname, "TENSOR", "DTYPE", "SHAPE", "BYTES",
           "SHARD", "ROLE", "PATTERN");
    for (size_t i = 0; i < ckpt_logical_count(c); i++) {
        const ckpt_logical *lt = ckpt_logical_at(c, i);
        uint64_t shape[ST_MAX_RANK];
        char shp[256], shard[SHOWN], name[SHOWN], pat[SHOWN];
        source_shape(lt, shape);
        const ckpt_tensor *first = lt->kind == LT_MXFP4 ? lt->blocks : lt->plain;
        text_escape(shard_of(c, first), shard, sizeof shard);
        if (lt->kind == LT_MXFP4 && lt->scales->shard != lt->blocks->shard) {
            char other[SHOWN];
            size_t n = strlen(shard);
            snprintf(shard + n, sizeof shard - n, "+%s",
                     text_escape(shard_of(c, lt->scales), other, sizeof other));
        }
        const char *p = role_pattern(c, lt);
        fprintf(out, "%-*s  %-7s  %-18s  %10llu  %-32s  %-9s  %s\n", wname,
               text_escape(lt->name, name, sizeof name), dtype_label(lt),
               text_shape(shape, lt->rank, shp, sizeof shp), (unsigned long long)lt->bytes, shard,
               lt->kind == LT_MXFP4 ? "quantized" : "kept",
               p ? text_escape(p, pat, sizeof pat) : "-");
    }
}

static void print_summary(FILE *out, const ckpt *c, const finding_list *fl)
{
    size_t quantized = 0;
    uint64_t bytes = ckpt_data_bytes(c);
    for (size_t i = 0; i < ckpt_logical_count(c); i++)
        quantized += ckpt_logical_at(c, i)->kind == LT_MXFP4;
    const ckpt_config *cfg = ckpt_get_config(c);
    char b[64], shown[SHOWN];
    fprintf(out, "\n%zu tensors (%zu quantized, %zu kept) in %zu shard%s, %s of tensor data\n",
           ckpt_logical_count(c), quantized, ckpt_logical_count(c) - quantized,
           ckpt_shard_count(c), ckpt_shard_count(c) == 1 ? "" : "s", text_bytes(bytes, b, sizeof b));
    if (cfg->has_quant)
        fprintf(out, "quantization_config: quant_method %s, %d modules_to_not_convert patterns\n",
               cfg->quant_method ? text_escape(cfg->quant_method, shown, sizeof shown) : "(none)",
               cfg->n_not_convert);
    size_t errors = findings_count_sev(fl, SEV_ERROR), warnings = findings_count_sev(fl, SEV_WARN);
    fprintf(out, "%zu error%s, %zu warning%s\n", errors, errors == 1 ? "" : "s", warnings,
           warnings == 1 ? "" : "s");
}

static void print_histogram(FILE *out, const uint64_t hist[256])
{
    uint64_t peak = 1;
    for (int b = 0; b < 256; b++)
        peak = hist[b] > peak ? hist[b] : peak;
    fprintf(out, "scale exponents (2^e):\n");
    for (int b = 0; b < 256; b++) {
        if (!hist[b])
            continue;
        int bar = (int)(40 * hist[b] / peak);
        if (b == MXFP4_SCALE_NAN)
            fprintf(out, "  %5s  %10llu  ", "NaN", (unsigned long long)hist[b]);
        else
            fprintf(out, "  %5d  %10llu  ", b - MXFP4_SCALE_BIAS, (unsigned long long)hist[b]);
        for (int i = 0; i < bar || (i == 0 && hist[b]); i++)
            fputc('#', out);
        fputc('\n', out);
    }
}

static void print_tensor_part(FILE *out, const ckpt *c, const char *label, const ckpt_tensor *ct)
{
    char name[SHOWN], shard[SHOWN], shp[256];
    fprintf(out, "%-10s %s  %s %s  shard %s  data [%llu, %llu)\n", label,
           text_escape(ct->t->name, name, sizeof name), dtype_name(ct->t->dtype),
           text_shape(ct->t->shape, ct->t->rank, shp, sizeof shp),
           text_escape(shard_of(c, ct), shard, sizeof shard), (unsigned long long)ct->t->begin,
           (unsigned long long)ct->t->end);
}

static void print_tensor(FILE *out, const ckpt *c, const ckpt_logical *lt, const uint64_t *hist)
{
    char name[SHOWN], shp[256], pat[SHOWN];
    uint64_t shape[ST_MAX_RANK];
    source_shape(lt, shape);
    const char *p = role_pattern(c, lt);
    fprintf(out, "tensor     %s\n", text_escape(lt->name, name, sizeof name));
    fprintf(out, "dtype      %s\n", dtype_label(lt));
    fprintf(out, "shape      %s\n", text_shape(shape, lt->rank, shp, sizeof shp));
    fprintf(out, "bytes      %llu\n", (unsigned long long)lt->bytes);
    fprintf(out, "role       %s\n", lt->kind == LT_MXFP4 ? "quantized" : "kept");
    fprintf(out, "pattern    %s\n", p ? text_escape(p, pat, sizeof pat) : "-");
    if (lt->kind == LT_PLAIN) {
        print_tensor_part(out, c, "stored", lt->plain);
        return;
    }
    fprintf(out, "stored     %s (rows of %llu blocks of %d)\n", text_shape(lt->shape, lt->rank, shp, sizeof shp),
           (unsigned long long)lt->groups, MXFP4_BLOCK_ELEMS);
    print_tensor_part(out, c, "blocks", lt->blocks);
    print_tensor_part(out, c, "scales", lt->scales);
    print_histogram(out, hist);
}

/* ---- JSON output --------------------------------------------------------- */

static cJSON *json_shape(const uint64_t *shape, int rank)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < rank; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape[i]));
    return a;
}

static cJSON *json_part(const ckpt *c, const ckpt_tensor *ct)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "name", text_json_string(ct->t->name));
    cJSON_AddStringToObject(o, "dtype", dtype_name(ct->t->dtype));
    cJSON_AddItemToObject(o, "shape", json_shape(ct->t->shape, ct->t->rank));
    cJSON_AddItemToObject(o, "shard", text_json_string(shard_of(c, ct)));
    cJSON_AddItemToObject(o, "data_offsets", json_shape((uint64_t[]){ct->t->begin, ct->t->end}, 2));
    return o;
}

static cJSON *json_histogram(const uint64_t hist[256])
{
    cJSON *h = cJSON_CreateObject(), *counts = cJSON_CreateObject();
    int lo = 256, hi = -1;
    for (int b = 0; b < (int)MXFP4_SCALE_NAN; b++) {
        if (!hist[b])
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", b - MXFP4_SCALE_BIAS);
        cJSON_AddItemToObject(counts, key, cJSON_CreateNumber((double)hist[b]));
        lo = b < lo ? b : lo;
        hi = b > hi ? b : hi;
    }
    if (hi >= 0) {
        cJSON_AddNumberToObject(h, "min", lo - MXFP4_SCALE_BIAS);
        cJSON_AddNumberToObject(h, "max", hi - MXFP4_SCALE_BIAS);
    } else {
        cJSON_AddNullToObject(h, "min");
        cJSON_AddNullToObject(h, "max");
    }
    cJSON_AddItemToObject(h, "counts", counts);
    cJSON_AddNumberToObject(h, "nan", (double)hist[MXFP4_SCALE_NAN]);
    return h;
}

static cJSON *json_tensor(const ckpt *c, const ckpt_logical *lt, const uint64_t *hist)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t shape[ST_MAX_RANK];
    source_shape(lt, shape);
    const char *p = role_pattern(c, lt);
    cJSON_AddItemToObject(o, "name", text_json_string(lt->name));
    cJSON_AddStringToObject(o, "dtype", dtype_label(lt));
    cJSON_AddItemToObject(o, "shape", json_shape(shape, lt->rank));
    cJSON_AddNumberToObject(o, "bytes", (double)lt->bytes);
    cJSON_AddStringToObject(o, "role", lt->kind == LT_MXFP4 ? "quantized" : "kept");
    cJSON_AddItemToObject(o, "pattern", text_json_string(p));
    if (lt->kind == LT_PLAIN) {
        cJSON_AddItemToObject(o, "shard", text_json_string(shard_of(c, lt->plain)));
        cJSON_AddItemToObject(o, "data_offsets",
                              json_shape((uint64_t[]){lt->plain->t->begin, lt->plain->t->end}, 2));
        return o;
    }
    cJSON_AddItemToObject(o, "shard", text_json_string(shard_of(c, lt->blocks)));
    cJSON_AddItemToObject(o, "stored_shape", json_shape(lt->shape, lt->rank));
    cJSON_AddItemToObject(o, "blocks", json_part(c, lt->blocks));
    cJSON_AddItemToObject(o, "scales", json_part(c, lt->scales));
    if (hist)
        cJSON_AddItemToObject(o, "scale_hist", json_histogram(hist));
    return o;
}

static cJSON *json_finding(const finding *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", text_json_string(f->id));
    cJSON_AddStringToObject(o, "severity", severity_name(f->sev));
    cJSON_AddItemToObject(o, "tensor", text_json_string(f->tensor));
    cJSON_AddItemToObject(o, "file", text_json_string(f->file));
    cJSON_AddItemToObject(o, "message", text_json_string(f->message));
    cJSON_AddItemToObject(o, "rule", report_json_rule(&f->rule));
    return o;
}

static cJSON *json_shard(const ckpt_shard *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "file", text_json_string(s->file));
    cJSON_AddNumberToObject(o, "tensors", (double)st_tensor_count(s->st));
    cJSON_AddNumberToObject(o, "data_bytes", (double)st_data_len(s->st));
    return o;
}

/* The lists that grow with the input, streamed one element at a time
 * (jsonstream.h): a million tensors never become one cJSON tree. */
enum { LIST_SHARDS, LIST_PATTERNS, LIST_TENSORS, LIST_FINDINGS };

typedef struct {
    const ckpt *c;
    const finding_list *fl;
} json_ctx;

static size_t list_count(const void *ctx, int list)
{
    const json_ctx *x = ctx;
    switch (list) {
    case LIST_SHARDS: return ckpt_shard_count(x->c);
    case LIST_PATTERNS: return (size_t)ckpt_get_config(x->c)->n_not_convert;
    case LIST_TENSORS: return ckpt_logical_count(x->c);
    default: return findings_count(x->fl);
    }
}

static cJSON *list_element(const void *ctx, int list, size_t i)
{
    const json_ctx *x = ctx;
    switch (list) {
    case LIST_SHARDS: return json_shard(ckpt_shard_at(x->c, i));
    case LIST_PATTERNS: return text_json_string(ckpt_get_config(x->c)->not_convert[i]);
    case LIST_TENSORS: return json_tensor(x->c, ckpt_logical_at(x->c, i), NULL);
    default: return json_finding(findings_at(x->fl, i));
    }
}

static cJSON *json_list(int list)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, jsonstream_placeholder(list));
    return a;
}

/* Returns 0, or -1 when out of memory (said on stderr); write errors are
 * the caller's to find on out. */
static int print_json(FILE *out, const ckpt *c, const finding_list *fl, const ckpt_logical *one,
                      const uint64_t *hist)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "mxfp4-check/inspect/1");
    cJSON_AddItemToObject(root, "path", text_json_string(ckpt_path(c)));
    cJSON_AddItemToObject(root, "shards", json_list(LIST_SHARDS));
    const ckpt_config *cfg = ckpt_get_config(c);
    cJSON *q = cfg->has_quant ? cJSON_AddObjectToObject(root, "quantization_config")
                              : (cJSON_AddNullToObject(root, "quantization_config"), NULL);
    if (q) {
        cJSON_AddItemToObject(q, "quant_method", text_json_string(cfg->quant_method));
        cJSON_AddItemToObject(q, "modules_to_not_convert", json_list(LIST_PATTERNS));
    }
    if (one)
        cJSON_AddItemToObject(root, "tensor", json_tensor(c, one, hist));
    else
        cJSON_AddItemToObject(root, "tensors", json_list(LIST_TENSORS));
    cJSON_AddItemToObject(root, "findings", json_list(LIST_FINDINGS));
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    size_t quantized = 0;
    for (size_t i = 0; i < ckpt_logical_count(c); i++)
        quantized += ckpt_logical_at(c, i)->kind == LT_MXFP4;
    cJSON_AddNumberToObject(sum, "tensors", (double)ckpt_logical_count(c));
    cJSON_AddNumberToObject(sum, "quantized", (double)quantized);
    cJSON_AddNumberToObject(sum, "kept", (double)(ckpt_logical_count(c) - quantized));
    cJSON_AddNumberToObject(sum, "bytes", (double)ckpt_data_bytes(c));
    cJSON_AddNumberToObject(sum, "errors", (double)findings_count_sev(fl, SEV_ERROR));
    cJSON_AddNumberToObject(sum, "warnings", (double)findings_count_sev(fl, SEV_WARN));
    json_ctx ctx = {c, fl};
    jsonstream_source src = {list_count, list_element, NULL, &ctx};
    int rc = jsonstream_print(out, root, &src);
    cJSON_Delete(root);
    if (rc < 0 && !ferror(out))
        fputs("mxfp4-check inspect: out of memory printing JSON\n", stderr);
    return rc < 0 && !ferror(out) ? -1 : 0;
}

/* ---- command ------------------------------------------------------------- */

static int parse_args(int argc, char **argv, inspect_opts *o)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"tensor", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = cli_getopt(argc, argv, "h", longopts, "inspect")) != -1) {
        switch (ch) {
        case 'j': o->json = true; break;
        case 't': o->tensor = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return EXIT_INPUT; /* cli_getopt said why */
        }
        if (ch == 'h')
            return 0;
    }
    if (optind != argc - 1)
        return cli_usage_error("inspect", "expected one PATH");
    o->path = argv[optind];
    return -1; /* go on */
}

/* Everything on stdout, every write checked: a full disk or a closed pipe is
 * exit 2, not a silent pass. */
static int print_output(const inspect_opts *o, const ckpt *c, const finding_list *fl, const ckpt_logical *one,
                        const uint64_t *hist)
{
    outfile_text sink;
    FILE *out = outfile_text_open(&sink, STDOUT_FILENO);
    int rc = findings_count_sev(fl, SEV_ERROR) ? EXIT_POLICY : EXIT_PASS;
    if (o->json) {
        if (print_json(out, c, fl, one, one && one->kind == LT_MXFP4 ? hist : NULL) < 0)
            rc = EXIT_INPUT;
    } else {
        if (one)
            print_tensor(out, c, one, hist);
        else
            print_table(out, c);
        print_summary(out, c, fl);
        print_findings(out, fl);
    }
    char err[ST_ERR_LEN];
    if (outfile_text_close(out, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check inspect: %s\n", err);
        rc = EXIT_INPUT;
    }
    return rc;
}

/* The built-in policy decides the severities of inspect's findings, as it
 * does verify's (SPEC §3). */
static int apply_policy(const ckpt *c, finding_list *fl)
{
    policy *p;
    if (rules_policy_load(NULL, 0, false, &p) < 0)
        return -1;
    char err[ST_ERR_LEN];
    int rc = 0;
    for (size_t i = 0; i < ckpt_logical_count(c) && rc == 0; i++) {
        policy_match m;
        rc = policy_match_tensor(p, ckpt_logical_at(c, i)->name, &m, err, sizeof err);
        policy_match_free(&m);
    }
    if (rc == 0)
        rc = policy_apply(p, fl, NULL, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "mxfp4-check inspect: %s\n", err);
    policy_free(p);
    return rc;
}

/* The logical tensor named name, or the MXFP4 pair that a stored name
 * NAME_blocks / NAME_scales belongs to (the name in the file is what people
 * copy from a header dump). */
static const ckpt_logical *find_logical(const ckpt *c, const char *name)
{
    const ckpt_logical *lt = ckpt_logical_find(c, name);
    const char *suffixes[] = {MXFP4_BLOCKS_SUFFIX, MXFP4_SCALES_SUFFIX};
    size_t n = strlen(name);
    for (int k = 0; k < 2 && !lt; k++) {
        size_t m = strlen(suffixes[k]);
        if (n <= m || strcmp(name + n - m, suffixes[k]) != 0)
            continue;
        char *base = xstrdup(name);
        base[n - m] = '\0';
        const ckpt_logical *pair = ckpt_logical_find(c, base);
        free(base);
        if (pair && pair->kind == LT_MXFP4)
            lt = pair;
    }
    return lt;
}

static int run(const inspect_opts *o, const ckpt *c, finding_list *fl)
{
    char err[ST_ERR_LEN], shown[SHOWN];
    check_config(c, fl);
    if (check_scales(c, fl, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check inspect: %s\n", err);
        return EXIT_INPUT;
    }
    const ckpt_logical *one = NULL;
    uint64_t hist[256] = {0};
    if (o->tensor) {
        one = find_logical(c, o->tensor);
        if (!one) {
            char path[SHOWN];
            fprintf(stderr, "mxfp4-check inspect: %s: no tensor '%s'\n",
                    text_escape(ckpt_path(c), path, sizeof path),
                    text_escape(o->tensor, shown, sizeof shown));
            return EXIT_INPUT;
        }
        if (one->kind == LT_MXFP4 && ckpt_scale_histogram(c, one, hist, err, sizeof err) < 0) {
            fprintf(stderr, "mxfp4-check inspect: %s\n", err);
            return EXIT_INPUT;
        }
    }
    if (apply_policy(c, fl) < 0)
        return EXIT_INPUT;
    return print_output(o, c, fl, one, hist);
}

int inspect_main(int argc, char **argv)
{
    inspect_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char err[ST_ERR_LEN];
    finding_list *fl = findings_new();
    ckpt *c = NULL;
    if (ckpt_open(o.path, &c, fl, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check inspect: %s\n", err);
        rc = EXIT_INPUT;
    } else
        rc = run(&o, c, fl);
    ckpt_close(c);
    findings_free(fl);
    return rc;
}
