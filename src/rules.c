#include "rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_builtin.h"
#include "sha256.h"
#include "text.h"
#include "util.h"
#include "yamlread.h"

#define BUILTIN_PREFIX "builtin:"
#define RULES_STR_(x) #x
#define RULES_STR(x) RULES_STR_(x)

/* ---- built-ins ------------------------------------------------------------ */

const char *rules_builtin_text(const char *name, size_t *len)
{
    for (const rules_builtin *b = rules_builtins; b->name; b++) {
        if (strcmp(b->name, name) == 0) {
            if (len)
                *len = b->len;
            return b->text;
        }
    }
    return NULL;
}

/* ---- the loader ------------------------------------------------------------ */

typedef struct {
    char *key;  /* "builtin:NAME" or the file's real path */
    char sha[SHA256_HEX_LEN];
    bool builtin;
    bool done;  /* loaded; false while its extends are being read (a cycle) */
} loaded;

struct rules_loader {
    policy *p;
    loaded *files;
    size_t nfiles, capfiles;
    char *problems;
    size_t problems_len, problems_cap, nproblems;
    int depth;
};

rules_loader *rules_loader_new(void)
{
    rules_loader *l = xcalloc(1, sizeof *l);
    l->p = policy_new();
    l->problems = xstrdup("");
    l->problems_cap = 1;
    return l;
}

void rules_loader_free(rules_loader *l)
{
    if (!l)
        return;
    policy_free(l->p);
    for (size_t i = 0; i < l->nfiles; i++)
        free(l->files[i].key);
    free(l->files);
    free(l->problems);
    free(l);
}

const char *rules_problems(const rules_loader *l) { return l->problems; }
size_t rules_problem_count(const rules_loader *l) { return l->nproblems; }

policy *rules_take_policy(rules_loader *l)
{
    if (l->nproblems)
        return NULL;
    policy *p = l->p;
    l->p = NULL;
    return p;
}

static void problem(rules_loader *l, const char *file, unsigned long line, unsigned long col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(rules_loader *l, const char *file, unsigned long line, unsigned long col,
                    const char *fmt, ...)
{
    if (l->nproblems++ >= RULES_MAX_PROBLEMS)
        return;
    char msg[512], shown[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    text_escape(file, shown, sizeof shown);
    char *line_text = line ? xasprintf("%s:%lu:%lu: %s\n", shown, line, col, msg)
                           : xasprintf("%s: %s\n", shown, msg);
    size_t n = strlen(line_text);
    xgrow(&l->problems, &l->problems_cap, l->problems_len + n + 1, 1);
    memcpy(l->problems + l->problems_len, line_text, n + 1);
    l->problems_len += n;
    free(line_text);
}

/* A YAML reader message is already "FILE:LINE:COL: message". */
static void reader_problem(rules_loader *l, const char *msg)
{
    if (l->nproblems++ >= RULES_MAX_PROBLEMS)
        return;
    size_t n = strlen(msg);
    xgrow(&l->problems, &l->problems_cap, l->problems_len + n + 2, 1);
    memcpy(l->problems + l->problems_len, msg, n);
    l->problems[l->problems_len + n] = '\n';
    l->problems[l->problems_len + n + 1] = '\0';
    l->problems_len += n + 1;
}

/* ---- one file's schema ------------------------------------------------------ */

typedef struct {
    rules_loader *l;
    const char *file;  /* as shown */
    const char *dir;   /* for relative extends; NULL for a built-in */
} ctx;

static void at(const ctx *c, const yr_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void at(const ctx *c, const yr_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    problem(c->l, c->file, n ? n->line : 1, n ? n->column : 1, "%s", msg);
}

static policy_origin origin(const ctx *c, const yr_node *n)
{
    return (policy_origin){c->file, n->line, n->column};
}

static const char *kind_name(const yr_node *n)
{
    return n->kind == YR_MAP ? "a mapping" : n->kind == YR_SEQ ? "a list" : "a scalar";
}

/* A scalar's text, escaped for a message. */
static const char *shown(const yr_node *n, char *buf, size_t len)
{
    return text_escape(n->kind == YR_SCALAR ? n->value : kind_name(n), buf, len);
}

static bool is_scalar(const ctx *c, const yr_node *n, const char *what)
{
    if (n->kind == YR_SCALAR)
        return true;
    at(c, n, "%s must be a scalar, not %s", what, kind_name(n));
    return false;
}

/* Keys of map that are not in allowed[] are problems. */
static void known_keys(const ctx *c, const yr_node *map, const char *const *allowed, const char *where)
{
    for (size_t i = 0; i < map->count; i++) {
        const yr_node *k = map->items[2 * i];
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(k->value, *a) == 0;
        if (ok)
            continue;
        char list[256] = "", buf[128];
        for (const char *const *a = allowed; *a; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
        at(c, k, "unknown key '%s' in %s (expected one of: %s)", shown(k, buf, sizeof buf), where, list);
    }
}

/* A number scalar: the whole text read as a finite double. */
static bool number(const ctx *c, const yr_node *n, const char *what, double *out)
{
    if (!is_scalar(c, n, what))
        return false;
    char *end;
    errno = 0;
    double v = strtod(n->value, &end);
    char buf[128];
    if (!n->plain || end == n->value || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        at(c, n, "%s must be a number, not '%s'", what, shown(n, buf, sizeof buf));
        return false;
    }
    *out = v;
    return true;
}

/* The items of a value written as one scalar or as a list of them (select,
 * exclude, extends): a list's items, or n itself as a list of one. */
static const yr_node *const *as_list(const yr_node *const *n, size_t *count)
{
    *count = (*n)->kind == YR_SEQ ? (*n)->count : 1;
    return (*n)->kind == YR_SEQ ? (const yr_node *const *)(*n)->items : n;
}

/* select/exclude: a scalar or a list of scalars, globs or "re:" regexes. */
static policy_selectors *selectors(const ctx *c, const yr_node *n, const char *what, bool *bad)
{
    size_t count;
    const yr_node *const *items = as_list(&n, &count);
    if (n->kind == YR_MAP || count == 0) {
        at(c, n, "%s must be a pattern or a list of patterns%s", what, count ? "" : " (it is empty)");
        *bad = true;
        return NULL;
    }
    const char **texts = xcalloc(count, sizeof *texts);
    for (size_t i = 0; i < count; i++) {
        if (!is_scalar(c, items[i], what)) {
            free(texts);
            *bad = true;
            return NULL;
        }
        texts[i] = items[i]->value;
    }
    char why[256];
    size_t which = 0;
    policy_selectors *s = policy_selectors_new(texts, count, why, sizeof why, &which);
    free(texts);
    if (!s) {
        char buf[128];
        at(c, items[which], "%s '%s': %s", what, shown(items[which], buf, sizeof buf), why);
        *bad = true;
    }
    return s;
}

static bool severity_from(const char *s, severity *out)
{
    static const struct {
        const char *name;
        severity sev;
    } names[] = {{"error", SEV_ERROR}, {"warn", SEV_WARN}, {"info", SEV_INFO}, {"off", SEV_OFF}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].sev;
            return true;
        }
    return false;
}

static bool severity_node(const ctx *c, const yr_node *n, severity *out)
{
    char buf[128];
    if (!is_scalar(c, n, "severity"))
        return false;
    if (severity_from(n->value, out))
        return true;
    at(c, n, "severity must be error, warn, info or off, not '%s'", shown(n, buf, sizeof buf));
    return false;
}

static void read_limits(const ctx *c, const yr_node *n, policy_rule *r)
{
    if (n->kind != YR_MAP) {
        at(c, n, "limits must be a mapping of limit names to numbers, not %s", kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        const yr_node *k = n->items[2 * i], *v = n->items[2 * i + 1];
        policy_check pc;
        char buf[128];
        if (!policy_check_from_key(k->value, &pc) || pc == PC_EXPECT) {
            char list[400] = "";
            for (int x = 0; x < PC_LIMIT_COUNT; x++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", x ? ", " : "",
                         policy_check_at((policy_check)x)->key);
            at(c, k, "unknown limit '%s' (expected one of: %s)", shown(k, buf, sizeof buf), list);
            continue;
        }
        double value;
        if (!number(c, v, k->value, &value))
            continue;
        const policy_check_info *info = policy_check_at(pc);
        if (value < info->lo || value > info->hi) {
            at(c, v, "%s %s is out of range (%g to %g)", k->value, v->value, info->lo, info->hi);
            continue;
        }
        if (pc == PC_MAX_NONFINITE && value != floor(value)) {
            at(c, v, "max_nonfinite must be a whole number, not %s", v->value);
            continue;
        }
        r->has_limit[pc] = true;
        r->limit[pc] = value;
    }
}

static bool valid_id(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-_.", *s)))
            return false;
    return true;
}

static void read_rule(const ctx *c, const yr_node *n)
{
    static const char *const keys[] = {"id", "select", "exclude", "expect", "limits", "severity", NULL};
    if (n->kind != YR_MAP) {
        at(c, n, "a rule must be a mapping, not %s", kind_name(n));
        return;
    }
    known_keys(c, n, keys, "a rule");
    policy_rule r = {.at = origin(c, n)};
    bool bad = false;
    char buf[128];
    const yr_node *id = yr_get(n, "id"), *sel = yr_get(n, "select"), *ex = yr_get(n, "exclude");
    if (!id) {
        at(c, n, "a rule needs an id");
        bad = true;
    } else if (is_scalar(c, id, "id") && valid_id(id->value)) {
        r.id = id->value;
        r.at = origin(c, id); /* reports name the rule by its id's line */
    } else {
        if (id->kind == YR_SCALAR)
            at(c, id, "rule id '%s' must be letters, digits, '-', '_' or '.'", shown(id, buf, sizeof buf));
        bad = true;
    }
    if (!sel) {
        at(c, n, "rule%s%s needs a select", r.id ? " " : "", r.id ? r.id : "");
        bad = true;
    } else {
        r.select = selectors(c, sel, "select", &bad);
    }
    if (ex)
        r.exclude = selectors(c, ex, "exclude", &bad);
    const yr_node *expect = yr_get(n, "expect"), *limits = yr_get(n, "limits"), *sev = yr_get(n, "severity");
    if (expect && is_scalar(c, expect, "expect")) {
        if (strcmp(expect->value, "quantized") == 0)
            r.expect = EXPECT_QUANTIZED;
        else if (strcmp(expect->value, "kept") == 0)
            r.expect = EXPECT_KEPT;
        else if (strcmp(expect->value, "absent") == 0)
            r.expect = EXPECT_ABSENT;
        else
            at(c, expect, "expect must be quantized, kept or absent, not '%s'", shown(expect, buf, sizeof buf));
    }
    if (limits)
        read_limits(c, limits, &r);
    if (sev && severity_node(c, sev, &r.sev))
        r.has_severity = true;
    if (!bad) {
        const policy_rule *first = NULL;
        if (policy_add_rule(c->l->p, &r, &first))
            return; /* the policy has the selectors now */
        at(c, id, "duplicate rule id '%s' (first at %s:%lu)", shown(id, buf, sizeof buf), first->at.file,
           first->at.line);
    }
    policy_selectors_free(r.select);
    policy_selectors_free(r.exclude);
}

static void read_rules(const ctx *c, const yr_node *n)
{
    if (n->kind != YR_SEQ) {
        at(c, n, "rules must be a list of rules, not %s", kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->count; i++)
        read_rule(c, n->items[i]);
}

static bool known_finding(const ctx *c, const yr_node *n)
{
    char buf[128];
    if (!is_scalar(c, n, "a finding id"))
        return false;
    if (finding_kind_find(n->value))
        return true;
    at(c, n, "unknown finding id '%s' (see `mxfp4-check verify --help`)", shown(n, buf, sizeof buf));
    return false;
}

static void read_findings(const ctx *c, const yr_node *n)
{
    static const char *const keys[] = {"severity", "select", NULL};
    if (n->kind != YR_MAP) {
        at(c, n, "findings must be a mapping of finding ids to severities, not %s", kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        const yr_node *k = n->items[2 * i], *v = n->items[2 * i + 1];
        if (!known_finding(c, k))
            continue;
        severity sev;
        if (v->kind == YR_SCALAR) {
            if (severity_node(c, v, &sev))
                policy_add_severity(c->l->p, k->value, sev, NULL, origin(c, k));
            continue;
        }
        if (v->kind != YR_MAP) {
            at(c, v, "%s must be a severity or {severity, select}, not %s", k->value, kind_name(v));
            continue;
        }
        known_keys(c, v, keys, k->value);
        const yr_node *sv = yr_get(v, "severity"), *sel = yr_get(v, "select");
        bool bad = false;
        if (!sv) {
            at(c, v, "%s needs a severity", k->value);
            continue;
        }
        policy_selectors *s = sel ? selectors(c, sel, "select", &bad) : NULL;
        if (severity_node(c, sv, &sev) && !bad)
            policy_add_severity(c->l->p, k->value, sev, s, origin(c, k));
        else
            policy_selectors_free(s);
    }
}

static void read_required(const ctx *c, const yr_node *n)
{
    if (n->kind != YR_SEQ) {
        at(c, n, "require_not_converted must be a list of patterns, not %s", kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->count; i++)
        if (is_scalar(c, n->items[i], "a require_not_converted pattern"))
            policy_add_required(c->l->p, n->items[i]->value, origin(c, n->items[i]));
}

bool rules_valid_date(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] && !(m == 2 && d == 29 && !leap);
}

static void read_waiver(const ctx *c, const yr_node *n)
{
    static const char *const keys[] = {"finding", "rule", "select", "reason", "expires", NULL};
    if (n->kind != YR_MAP) {
        at(c, n, "a waiver must be a mapping, not %s", kind_name(n));
        return;
    }
    known_keys(c, n, keys, "a waiver");
    const yr_node *f = yr_get(n, "finding"), *r = yr_get(n, "rule"), *sel = yr_get(n, "select");
    const yr_node *reason = yr_get(n, "reason"), *exp = yr_get(n, "expires");
    bool bad = false;
    char buf[128];
    if (!f == !r) {
        at(c, n, "a waiver names exactly one of finding or rule");
        bad = true;
    }
    if (f && !known_finding(c, f))
        bad = true;
    if (r && !is_scalar(c, r, "rule"))
        bad = true;
    if (!reason) {
        at(c, n, "a waiver needs a reason");
        bad = true;
    } else if (!is_scalar(c, reason, "reason") || !*reason->value) {
        if (reason->kind == YR_SCALAR)
            at(c, reason, "a waiver's reason must not be empty");
        bad = true;
    }
    if (exp && (!is_scalar(c, exp, "expires") || !rules_valid_date(exp->value))) {
        if (exp->kind == YR_SCALAR)
            at(c, exp, "expires must be a date YYYY-MM-DD, not '%s'", shown(exp, buf, sizeof buf));
        bad = true;
    }
    policy_selectors *s = sel ? selectors(c, sel, "select", &bad) : NULL;
    if (bad) {
        policy_selectors_free(s);
        return;
    }
    policy_add_waiver(c->l->p, f ? f->value : NULL, r ? r->value : NULL, s, reason->value,
                      exp ? exp->value : NULL, origin(c, n));
}

static void read_waivers(const ctx *c, const yr_node *n)
{
    if (n->kind != YR_SEQ) {
        at(c, n, "waivers must be a list, not %s", kind_name(n));
        return;
    }
    for (size_t i = 0; i < n->count; i++)
        read_waiver(c, n->items[i]);
}

static int add_source(rules_loader *l, const char *key, const char *shown_as, const char *text,
                      size_t len, const char *dir, bool builtin, const ctx *from, const yr_node *entry);

static int add_path(rules_loader *l, const char *path, const ctx *from, const yr_node *entry);

/* extends: built-in names or paths relative to the file's directory. */
static void read_extends(const ctx *c, const yr_node *n)
{
    size_t count;
    const yr_node *const *items = as_list(&n, &count);
    if (n->kind == YR_MAP) {
        at(c, n, "extends must be a name or a list of names, not a mapping");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const yr_node *e = items[i];
        if (!is_scalar(c, e, "extends"))
            continue;
        if (rules_builtin_text(e->value, NULL)) {
            rules_add_builtin(c->l, e->value);
            continue;
        }
        if (!c->dir) {
            at(c, e, "a built-in rule file extends only built-ins ('%s' is not one)", e->value);
            continue;
        }
        char *path = e->value[0] == '/' ? xstrdup(e->value) : xasprintf("%s/%s", c->dir, e->value);
        add_path(c->l, path, c, e);
        free(path);
    }
}

static void read_document(const ctx *c, const yr_node *root)
{
    static const char *const keys[] = {"version", "extends", "rules", "findings",
                                       "require_not_converted", "waivers", NULL};
    if (root->kind != YR_MAP) {
        at(c, root, "a rule file is a mapping (version, extends, rules, ...), not %s", kind_name(root));
        return;
    }
    known_keys(c, root, keys, "a rule file");
    const yr_node *v = yr_get(root, "version");
    char buf[128];
    if (!v)
        at(c, root, "missing 'version: 1'");
    else if (is_scalar(c, v, "version") && strcmp(v->value, "1") != 0)
        at(c, v, "version %s is not supported (this mxfp4-check reads version 1)", shown(v, buf, sizeof buf));
    const yr_node *n;
    if ((n = yr_get(root, "extends")))
        read_extends(c, n);
    if ((n = yr_get(root, "rules")))
        read_rules(c, n);
    if ((n = yr_get(root, "findings")))
        read_findings(c, n);
    if ((n = yr_get(root, "require_not_converted")))
        read_required(c, n);
    if ((n = yr_get(root, "waivers")))
        read_waivers(c, n);
}

/* ---- sources ---------------------------------------------------------------- */

static loaded *find_loaded(rules_loader *l, const char *key)
{
    for (size_t i = 0; i < l->nfiles; i++)
        if (strcmp(l->files[i].key, key) == 0)
            return &l->files[i];
    return NULL;
}

/* A problem of a file as a whole: at the extends entry that named it, when
 * one did, else at the file. */
static void file_problem(rules_loader *l, const char *shown_as, const ctx *from, const yr_node *entry,
                         const char *what)
{
    if (from) {
        char buf[128];
        at(from, entry, "extends '%s': %s", shown(entry, buf, sizeof buf), what);
    } else {
        problem(l, shown_as, 0, 0, "%s", what);
    }
}

/* A built-in already read with these bytes (rules/default.yaml given as a
 * file is the built-in default), or NULL. */
static const loaded *same_builtin(const rules_loader *l, const char *sha)
{
    for (size_t i = 0; i < l->nfiles; i++)
        if (l->files[i].builtin && strcmp(l->files[i].sha, sha) == 0)
            return &l->files[i];
    return NULL;
}

/* Each source once, known by its real path (two files of equal bytes in two
 * directories extend different neighbours: both are read). */
static int add_source(rules_loader *l, const char *key, const char *shown_as, const char *text,
                      size_t len, const char *dir, bool builtin, const ctx *from, const yr_node *entry)
{
    char sha[SHA256_HEX_LEN];
    sha256_hex(text, len, sha);
    loaded *had = find_loaded(l, key);
    if (had && !had->done) {
        file_problem(l, shown_as, from, entry, "makes a cycle (it is being read already)");
        return -1;
    }
    if (had || same_builtin(l, sha))
        return 0;
    if (l->depth >= RULES_MAX_EXTENDS_DEPTH) {
        file_problem(l, shown_as, from, entry, "extends nest deeper than " RULES_STR(RULES_MAX_EXTENDS_DEPTH) " files");
        return -1;
    }
    xgrow(&l->files, &l->capfiles, l->nfiles + 1, sizeof(loaded));
    size_t me = l->nfiles++;
    l->files[me] = (loaded){.key = xstrdup(key), .builtin = builtin};
    snprintf(l->files[me].sha, sizeof l->files[me].sha, "%s", sha);
    size_t before = l->nproblems;
    char err[YR_ERR_LEN];
    yr_doc *doc = NULL;
    if (yr_parse(text, len, shown_as, &doc, err, sizeof err) < 0) {
        reader_problem(l, err);
    } else {
        l->depth++;
        read_document(&(ctx){l, shown_as, dir}, yr_root(doc));
        l->depth--;
        /* after what it extends: the order of SPEC §7 */
        policy_add_file(l->p, shown_as, sha, builtin);
        yr_free(doc);
    }
    l->files[me].done = true;
    return l->nproblems > before ? -1 : 0;
}

int rules_add_builtin(rules_loader *l, const char *name)
{
    size_t len;
    const char *text = rules_builtin_text(name, &len);
    if (!text) {
        problem(l, name, 0, 0, "no built-in rule file of that name (default, strict, gpt-oss)");
        return -1;
    }
    char *shown_as = xasprintf(BUILTIN_PREFIX "%s", name);
    int rc = add_source(l, shown_as, shown_as, text, len, NULL, true, NULL, NULL);
    free(shown_as);
    return rc;
}

static int add_path(rules_loader *l, const char *path, const ctx *from, const yr_node *entry)
{
    struct stat sb;
    char why[UTIL_WHY_LEN], what[UTIL_WHY_LEN + 64];
    int fd = util_open_regular(path, &sb, why, sizeof why);
    if (fd < 0) {
        if (from && strncmp(why, "cannot open", 11) == 0)
            snprintf(what, sizeof what, "no built-in of that name, and cannot open it%s", why + 11);
        else
            snprintf(what, sizeof what, "%s", why);
        file_problem(l, path, from, entry, what);
        return -1;
    }
    if ((uint64_t)sb.st_size > YR_MAX_FILE_BYTES) {
        close(fd);
        snprintf(what, sizeof what, "larger than the %u-byte limit of a rule file", YR_MAX_FILE_BYTES);
        file_problem(l, path, from, entry, what);
        return -1;
    }
    size_t len = (size_t)sb.st_size;
    char *text = xmalloc(len + 1);
    int got = util_pread_exact(fd, text, len, 0, why, sizeof why);
    close(fd);
    if (got < 0) {
        free(text);
        file_problem(l, path, from, entry, why);
        return -1;
    }
    text[len] = '\0';
    char *dir = util_dirname(path);
    char *real = realpath(path, NULL);
    int rc = add_source(l, real ? real : path, path, text, len, dir, false, from, entry);
    free(real);
    free(dir);
    free(text);
    return rc;
}

int rules_add_file(rules_loader *l, const char *path)
{
    return add_path(l, path, NULL, NULL);
}

int rules_finish(rules_loader *l)
{
    /* a waiver of a rule must name one that some file defines */
    for (size_t i = 0; i < policy_waiver_count(l->p); i++) {
        policy_origin at;
        const char *rule = policy_waiver_rule_at(l->p, i, &at);
        if (rule && !policy_find_rule(l->p, rule)) {
            char shown[128];
            problem(l, at.file, at.line, at.column, "the waiver names rule '%s', which no rule file defines",
                    text_escape(rule, shown, sizeof shown));
        }
    }
    return l->nproblems ? -1 : 0;
}
