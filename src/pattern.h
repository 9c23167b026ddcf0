/* pattern.h - matching `modules_to_not_convert` patterns against tensor names.
 *
 * Two views exist and both are reported (SPEC §1, §3):
 *
 *  - converter view: `*` matches any run of characters (dots included), every
 *    other character is literal; a pattern matches a tensor name when it
 *    matches the whole name, or the name is (a match of the pattern) followed
 *    by "." and anything. Anchored at both ends, so "mlp.gate" matches neither
 *    "mlp.gate_proj.weight" nor "model.layers.0.mlp.gate.weight".
 *
 *  - loader view (Hugging Face transformers, quantizers_utils.py
 *    should_convert_module, called by replace_with_mxfp4_linear for every
 *    entry of model.named_modules()): transformers asks about MODULES, never
 *    about tensors. The module of a tensor is its name minus the last dotted
 *    component ("model.layers.0.mlp.experts.down_proj" -> "model.layers.0.mlp.
 *    experts"; a name without a dot belongs to the root module ""). A pattern
 *    matches when, on that module name,
 *      - the pattern is a regular expression that matches at the START
 *        (Python re.match: anchored at the start only, so "model.layers.*.mlp.
 *        gate" matches "model.layers.0.mlp.gate_proj"), or
 *      - the module name ends with the pattern taken literally (str.endswith,
 *        not bounded by a dot: "mlp.gate" matches "model.layers.0.mlp.gate").
 *    transformers' third clause, re.match(pattern + "\\."), implies the first
 *    and adds nothing. Consequences worth knowing: a pattern naming a tensor
 *    ("model.norm.weight", "...experts.down_proj_bias") never matches in this
 *    view, since the loader only sees "model.norm" and "...mlp.experts"; the
 *    empty pattern matches everything (re.match("") always succeeds).
 *    A pattern that transformers could not compile makes it raise re.error; we
 *    say it matches nothing and pat_loader_error() says why.
 *
 * The loader view compiles the pattern with PCRE2 in Python's dialect
 * (pyre.h: `\d`, `(?:...)` and lazy quantifiers mean what they mean to
 * transformers' re.match), with match limits: a pattern that reaches one on a
 * name gives PYRE_LIMIT, and the caller must stop with an error rather than
 * read it as "no match" (a hostile config must not be able to change a
 * verdict by exhausting the engine).
 *
 * Where the views disagree on a tensor, that is a coverage.view_mismatch.
 * The converter view is pure and thread-safe. A pat_loader is not (it keeps
 * PCRE2's match data); pat_match_loader compiles the pattern on every call;
 * compile once with pat_loader_new for many names, and free it before the
 * next, so memory stays that of one pattern however many the config has. */
#ifndef MXC_PATTERN_H
#define MXC_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "pyre.h"

/* Converter view. O(len(pattern) * len(name)) whatever the pattern, no
 * allocation. NULL pattern or name matches nothing. */
bool pat_match_converter(const char *pattern, const char *name);

/* Loader view. A pattern that is not a valid regular expression matches
 * nothing in this view (not even by the suffix rule). NULL matches nothing. */
pyre_result pat_match_loader(const char *pattern, const char *name);

/* The glob alone, matched against the whole name (`*` any run of
 * characters, dots included; everything else literal): rule selectors. Same
 * cost and guarantees as the converter view. */
bool pat_match_glob(const char *pattern, const char *name);

/* Index of the first pattern of patterns[0..n) that matches name in the
 * converter view, or -1. NULL entries are skipped; n <= 0 gives -1. */
int pat_first_match(const char *const *patterns, int n, const char *name);

/* Length of the module part of a tensor name, as the loader view cuts it
 * (everything before the last '.', 0 without one). */
size_t pat_module_len(const char *name);

/* A loader-view pattern compiled once. pat_loader_new never returns NULL (out
 * of memory aborts) and copies pattern; an invalid pattern gives a matcher
 * that matches nothing. pat_loader_free(NULL) is a no-op. */
typedef struct pat_loader pat_loader;

pat_loader *pat_loader_new(const char *pattern);
pyre_result pat_loader_match(pat_loader *m, const char *name, char *err, size_t errlen);
/* Why the pattern matches nothing in the loader view (PCRE2's compile error
 * and its byte: "quantifier does not follow a repeatable item at byte 0"), or
 * NULL when it compiled. Owned by m. */
const char *pat_loader_error(const pat_loader *m);
void pat_loader_free(pat_loader *m);

#endif
