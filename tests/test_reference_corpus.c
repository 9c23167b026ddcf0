/* test_reference_corpus.c - our parser against the reference parser's verdicts.
 *
 * tests/data/reference-corpus/ holds whole .safetensors files (valid headers
 * and mutants of them) and verdicts.tsv, the verdict of the reference parser
 * (huggingface/safetensors, SafeTensors::deserialize, built from source by
 * tests/reference/make-corpus.sh) on each: "ok" or its error variant. Every
 * file is opened with st_open, as the tool opens a shard. The rules:
 *   - where the reference rejects, we reject: "looser" must be 0, since a
 *     file the reference cannot load is not a checkpoint;
 *   - where the reference accepts, we accept, except the vectors listed in
 *     STRICTER below, each with the reason we refuse it on purpose and the
 *     words our message must contain (so it is refused for that reason);
 *   - the list stays true: a listed vector we now accept, or that the
 *     reference rejects, is a stale entry and fails the suite.
 * The suite prints the counts (agree / stricter / looser) and every vector
 * that breaks a rule, with the reference's verdict and our message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors.h"

#define CORPUS_REL "tests/data/reference-corpus"
#define CORPUS_MIN_VECTORS 600 /* it has 648: fewer means it was cut, not regenerated */
#define CORPUS_LINE_MAX 4096
#define REFERENCE_TAG "# reference: huggingface/safetensors "

/* ---- where we are stricter than the reference, and why ------------------ */

typedef struct {
    const char *why;  /* the reason, for people */
    const char *says; /* what our message must contain */
} reason;

static const reason DUPLICATE_TENSOR = {
    "duplicate tensor names: the reference keeps the last entry silently (and cJSON the first), "
    "so two readers of one file would load different tensors (SPEC 1, Traps)",
    "duplicate tensor name"};
static const reason DUPLICATE_KEY = {
    "duplicate members in any object of the header (a tensor entry, __metadata__, an ignored "
    "value): the reference ignores repeated unknown keys and keeps the last metadata value; "
    "which value is meant is ambiguous, so the one JSON reader refuses them at every level",
    "duplicate member"};
static const reason LONG_NUMBER = {
    "numbers longer than JSONREAD_MAX_NUMBER_LEN (63) characters: cJSON reads at most 63 "
    "characters of a number; a valid header's integers have at most 16 digits",
    "number longer than 63 characters"};
static const reason ESCAPED_NUL = {
    "\\u0000 escapes: cJSON strings end at NUL, so a name, key or value holding one would be "
    "silently cut short (SPEC 1, Traps); no real checkpoint has one",
    "escaped NUL"};
static const reason DEPTH = {
    "nesting beyond ST_MAX_JSON_DEPTH (4 levels: root, tensor, array, value): bounds cJSON's "
    "recursion; a valid header never nests deeper (the reference allows about 128)",
    "nests deeper than"};
static const reason ABOVE_2_53 = {
    "integers above ST_MAX_INTEGER (2^53): a double cannot hold them exactly, so the value we "
    "would check is not the value in the file; only a zero-sized tensor can carry one",
    "not an integer in 0..2^53"};
static const reason RANK = {
    "rank above ST_MAX_RANK (16): st_tensor holds a fixed shape array; no real checkpoint "
    "comes close",
    "rank"};
static const reason ENUM_MAP = {
    "a dtype spelled as serde's externally tagged enum ({\"U8\":null}): an artefact of the "
    "reference's derive, not the format; SPEC 1 says a dtype is a string",
    "unknown dtype '(not a string)'"};
static const reason ARRAY_ENTRY = {
    "a tensor entry spelled as a JSON array of its three fields: serde's derive also reads a "
    "struct from a sequence, but the format (SPEC 1) is an object",
    "entry is not an object"};

typedef struct {
    const char *file;
    const reason *reason;
} stricter_entry;

static const stricter_entry STRICTER[] = {
    {"dup-tensor-same.safetensors", &DUPLICATE_TENSOR},
    {"dup-tensor-last-wins.safetensors", &DUPLICATE_TENSOR},
    {"dup-tensor-different-dtype.safetensors", &DUPLICATE_TENSOR},
    {"dup-tensor-escaped.safetensors", &DUPLICATE_TENSOR},
    {"dup-tensor-three.safetensors", &DUPLICATE_TENSOR},
    {"dup-key-ignored.safetensors", &DUPLICATE_KEY},
    {"dup-metadata-key.safetensors", &DUPLICATE_KEY},
    {"dup-key-ignored-in-nested-object.safetensors", &DUPLICATE_KEY},
    {"num-ok-long-frac-ignored.safetensors", &LONG_NUMBER},
    {"num-ok-digits-300-ignored.safetensors", &LONG_NUMBER},
    {"esc-nul-in-name.safetensors", &ESCAPED_NUL},
    {"esc-nul-in-key.safetensors", &ESCAPED_NUL},
    {"esc-nul-in-ignored-value.safetensors", &ESCAPED_NUL},
    {"esc-nul-in-metadata-key.safetensors", &ESCAPED_NUL},
    {"esc-nul-in-metadata-value.safetensors", &ESCAPED_NUL},
    {"esc-nul-then-key-suffix.safetensors", &ESCAPED_NUL},
    {"depth-array-3.safetensors", &DEPTH},
    {"depth-array-4.safetensors", &DEPTH},
    {"depth-array-10.safetensors", &DEPTH},
    {"depth-array-100.safetensors", &DEPTH},
    {"depth-array-124.safetensors", &DEPTH},
    {"depth-array-125.safetensors", &DEPTH},
    {"depth-object-3.safetensors", &DEPTH},
    {"depth-object-125.safetensors", &DEPTH},
    {"depth-mixed-3.safetensors", &DEPTH},
    {"shape-2p53-plus-1-times-zero.safetensors", &ABOVE_2_53},
    {"shape-u64-max-times-zero.safetensors", &ABOVE_2_53},
    {"shape-overflow-bits-zero.safetensors", &ABOVE_2_53},
    {"shape-zero-first-then-huge.safetensors", &ABOVE_2_53},
    {"shape-rank17.safetensors", &RANK},
    {"shape-rank32.safetensors", &RANK},
    {"shape-rank64.safetensors", &RANK},
    {"shape-rank17-zero.safetensors", &RANK},
    {"dtype-enum-map-null.safetensors", &ENUM_MAP},
    {"json-entry-array-form.safetensors", &ARRAY_ENTRY},
};
#define STRICTER_COUNT (sizeof STRICTER / sizeof STRICTER[0])

/* ---- the corpus ---------------------------------------------------------- */

typedef struct {
    char *file, *verdict, *what, *detail; /* the columns of verdicts.tsv */
    bool present;                         /* the vector file exists */
    bool ref_ok, our_ok;
    char our_err[ST_ERR_LEN];
} vector;

typedef struct {
    char dir[1024];
    char reference[128]; /* the commit named in verdicts.tsv */
    vector *v;
    size_t n, cap;
    size_t agree, stricter, looser;
    char error[2200]; /* why the corpus could not be read, else "" */
} corpus;

static const stricter_entry *find_stricter(const char *file)
{
    for (size_t i = 0; i < STRICTER_COUNT; i++)
        if (strcmp(STRICTER[i].file, file) == 0)
            return &STRICTER[i];
    return NULL;
}

static char *dup_field(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Splits "file\tverdict\twhat\tdetail" into v; -1 when a column is missing. */
static int parse_line(char *line, vector *v)
{
    line[strcspn(line, "\n")] = '\0';
    char *col[4];
    char *p = line;
    for (int i = 0; i < 4; i++) {
        char *tab = strchr(p, '\t');
        if (!tab && i < 3)
            return -1;
        col[i] = dup_field(p, tab ? (size_t)(tab - p) : strlen(p));
        if (!col[i])
            return -1;
        p = tab ? tab + 1 : p + strlen(p);
    }
    *v = (vector){.file = col[0], .verdict = col[1], .what = col[2], .detail = col[3]};
    return 0;
}

/* A vector's file name is plain ([a-z0-9-]+.safetensors): nothing in the
 * corpus can name a path outside it. */
static bool plain_name(const char *s)
{
    size_t len = strlen(s), suffix = strlen(".safetensors");
    if (len <= suffix || strcmp(s + len - suffix, ".safetensors") != 0)
        return false;
    for (size_t i = 0; i < len - suffix; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static void run_vector(const corpus *c, vector *v)
{
    char path[2048];
    struct stat sb;
    snprintf(path, sizeof path, "%s/vectors/%s", c->dir, v->file);
    v->present = plain_name(v->file) && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    v->ref_ok = strcmp(v->verdict, "ok") == 0;
    st_file *f = NULL;
    v->our_ok = v->present && st_open(path, v->file, &f, v->our_err, sizeof v->our_err) == 0;
    st_close(f);
}

static int load_corpus(corpus *c)
{
    char path[2048], line[CORPUS_LINE_MAX];
    snprintf(path, sizeof path, "%s/verdicts.tsv", c->dir);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(c->error, sizeof c->error, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(c->error, sizeof c->error, "%s: a line longer than %d bytes", path,
                     CORPUS_LINE_MAX);
            rc = -1;
            break;
        }
        if (strncmp(line, REFERENCE_TAG, strlen(REFERENCE_TAG)) == 0)
            snprintf(c->reference, sizeof c->reference, "%.*s",
                     (int)strcspn(line + strlen(REFERENCE_TAG), "\n"), line + strlen(REFERENCE_TAG));
        if (line[0] == '#')
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 1024;
            vector *nv = realloc(c->v, c->cap * sizeof *nv);
            if (!nv) {
                snprintf(c->error, sizeof c->error, "out of memory");
                rc = -1;
                break;
            }
            c->v = nv;
        }
        if (parse_line(line, &c->v[c->n]) < 0) {
            snprintf(c->error, sizeof c->error, "%s: malformed entry %zu", path, c->n + 1);
            rc = -1;
            break;
        }
        run_vector(c, &c->v[c->n++]);
    }
    fclose(fp);
    return rc;
}

static void count(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const vector *v = &c->v[i];
        if (v->ref_ok == v->our_ok)
            c->agree++;
        else if (v->ref_ok)
            c->stricter++;
        else
            c->looser++;
    }
}

static int group_setup(void **state)
{
    corpus *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    *state = c;
    const char *root = getenv("MXC_SRCDIR");
    snprintf(c->dir, sizeof c->dir, "%s/%s", root && *root ? root : ".", CORPUS_REL);
    if (load_corpus(c) < 0)
        return 0; /* each test reports c->error */
    count(c);
    size_t listed = 0;
    for (size_t i = 0; i < c->n; i++)
        listed += c->v[i].ref_ok && !c->v[i].our_ok && find_stricter(c->v[i].file);
    printf("reference corpus (huggingface/safetensors %s): %zu vectors: %zu agree, "
           "%zu stricter (%zu of them listed on purpose), %zu looser\n",
           c->reference, c->n, c->agree, c->stricter, listed, c->looser);
    return 0;
}

static int group_teardown(void **state)
{
    corpus *c = *state;
    if (!c)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].file);
        free(c->v[i].verdict);
        free(c->v[i].what);
        free(c->v[i].detail);
    }
    free(c->v);
    free(c);
    return 0;
}

/* ---- the rules ------------------------------------------------------------ */

/* A corpus that cannot be read fails every test, not the group setup:
 * scripts/run-tests.sh counts failed tests, and a failed setup runs none. */
static const corpus *loaded(void **state)
{
    const corpus *c = *state;
    if (c->error[0])
        fail_msg("reference corpus: %s", c->error);
    return c;
}

/* The corpus is whole: regenerated, not cut; every vector is there, and it
 * holds both verdicts, so neither rule below can pass vacuously. */
static void test_corpus_is_whole(void **state)
{
    const corpus *c = loaded(state);
    assert_true(strlen(c->reference) == 40 && strspn(c->reference, "0123456789abcdef") == 40);
    if (c->n < CORPUS_MIN_VECTORS)
        fail_msg("only %zu vectors in %s (expected at least %d)", c->n, c->dir, CORPUS_MIN_VECTORS);
    size_t missing = 0, accepted = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->v[i].present) {
            print_error("missing or misnamed vector file: %s\n", c->v[i].file);
            missing++;
        }
        if (c->v[i].verdict[0] == '\0') {
            print_error("%s: empty verdict\n", c->v[i].file);
            missing++;
        }
        accepted += c->v[i].ref_ok;
    }
    assert_int_equal(missing, 0);
    assert_true(accepted > 0 && accepted < c->n);
}

/* Looser must be 0: every file the reference refuses, we refuse. */
static void test_we_reject_what_the_reference_rejects(void **state)
{
    const corpus *c = loaded(state);
    for (size_t i = 0; i < c->n; i++) {
        const vector *v = &c->v[i];
        if (v->present && !v->ref_ok && v->our_ok)
            print_error("LOOSER %s: the reference says %s (%s), we accept it [%s]\n", v->file,
                        v->verdict, v->detail, v->what);
    }
    assert_int_equal(c->looser, 0);
}

/* Every file the reference accepts, we accept, unless it is listed with its
 * reason and our message says that reason. */
static void test_we_accept_what_the_reference_accepts(void **state)
{
    const corpus *c = loaded(state);
    size_t unexplained = 0;
    for (size_t i = 0; i < c->n; i++) {
        const vector *v = &c->v[i];
        if (!v->ref_ok || v->our_ok)
            continue;
        const stricter_entry *s = find_stricter(v->file);
        if (!s) {
            print_error("STRICTER, not listed: %s [%s]: we say: %s\n", v->file, v->what, v->our_err);
            unexplained++;
        } else if (!strstr(v->our_err, s->reason->says)) {
            print_error("STRICTER for another reason: %s [%s]: listed for \"%s\" (%s), we say: %s\n",
                        v->file, v->what, s->reason->says, s->reason->why, v->our_err);
            unexplained++;
        }
    }
    assert_int_equal(unexplained, 0);
}

/* Each listed vector is in the corpus, accepted by the reference and refused
 * by us: an entry that is no longer true is removed, not kept as an excuse. */
static void test_stricter_list_is_current(void **state)
{
    const corpus *c = loaded(state);
    size_t stale = 0;
    for (size_t k = 0; k < STRICTER_COUNT; k++) {
        const vector *v = NULL;
        for (size_t i = 0; i < c->n && !v; i++)
            if (strcmp(c->v[i].file, STRICTER[k].file) == 0)
                v = &c->v[i];
        if (!v || !v->ref_ok || v->our_ok) {
            print_error("stale STRICTER entry %s: %s\n", STRICTER[k].file,
                        !v ? "not in the corpus"
                           : !v->ref_ok ? "the reference rejects it"
                                        : "we accept it now");
            stale++;
        }
    }
    assert_int_equal(stale, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_is_whole),
        cmocka_unit_test(test_we_reject_what_the_reference_rejects),
        cmocka_unit_test(test_we_accept_what_the_reference_accepts),
        cmocka_unit_test(test_stricter_list_is_current),
    };
    return cmocka_run_group_tests_name("reference_corpus", tests, group_setup, group_teardown);
}
