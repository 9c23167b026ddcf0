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
 * The loader view compiles the pattern with glibc's regcomp (POSIX ERE), and
 * patterns come from config.json: untrusted. regcomp expands every repetition
 * into copies of its operand and computes epsilon closures over them, which
 * takes seconds to minutes and gigabytes on short patterns (measured, glibc
 * 2.36): "((a{1,100}){1,100}){1,100}" 2.3 s; "(a?){0,400}" 3.4 s and
 * "(a?){0,1000}" over 30 s; "(a*)*" written 25 times, over 30 s (the anchor
 * of our "^(...)" makes it exponential); "(\ba*)*" 12 times 13 s;
 * "^((a|(b|^)*(){1,5}\B)*)" 2.4 s; 24 nested "(...)+" 9 GB. Such a pattern is
 * refused before regcomp sees it and, like an invalid one, matches nothing in
 * the loader view (pat_loader_error says which limit it broke). The limits
 * count the pattern as regcomp expands it: "x{m,n}" makes n copies of x,
 * "x{m,}" m+1, "x+" 2 (glibc builds "xx*"), "x*" and "x?" one; counts
 * multiply over nesting. Refused:
 *   - more than PAT_LOADER_MAX_LEN bytes;
 *   - a product of repetition counts over nesting above PAT_LOADER_MAX_REPEAT;
 *   - more than PAT_LOADER_MAX_EXPANDED atoms after expansion (a literal, '.',
 *     a bracket expression, an anchor, a group's parentheses);
 *   - more than PAT_LOADER_MAX_LOOPS loops after expansion, a loop being an
 *     optional or repeated node: one for each "*", "?", "+", "{m,}" and
 *     empty alternative ("a|", "()"), n-m for "{m,n}" ("{m}" adds none);
 *   - an anchor (^ $ \b \B \< \> \` \') inside a repetition, or more than
 *     PAT_LOADER_MAX_ANCHORS anchors: anchors multiply the closures.
 * The counts over-approximate (alternatives add up, "{0}" counts one copy),
 * and the limits were set by timing regcomp on the worst patterns a search
 * could find within them; real modules_to_not_convert entries
 * ("model.layers.*.self_attn", "lm_head", "^lm_head$") are far inside.
 *
 * Where the views disagree on a tensor, that is a coverage.view_mismatch.
 * All functions are pure and thread-safe. pat_match_loader compiles the
 * pattern on every call; compile once with pat_loader_new for many names. */
#ifndef MXC_PATTERN_H
#define MXC_PATTERN_H

#include <stdbool.h>

#define PAT_LOADER_MAX_LEN 1024      /* bytes of a loader-view pattern */
#define PAT_LOADER_MAX_REPEAT 1000   /* product of repetition counts over nesting */
#define PAT_LOADER_MAX_EXPANDED 4096 /* atoms after expansion */
#define PAT_LOADER_MAX_LOOPS 16      /* loops and empty alternatives after expansion */
#define PAT_LOADER_MAX_ANCHORS 2     /* anchors, none inside a repetition */

/* Converter view. O(len(pattern) * len(name)) whatever the pattern, no
 * allocation. NULL pattern or name matches nothing. */
bool pat_match_converter(const char *pattern, const char *name);

/* Loader view. A pattern that is not a valid regular expression matches
 * nothing in this view (not even by the suffix rule). NULL matches nothing. */
bool pat_match_loader(const char *pattern, const char *name);

/* Index of the first pattern of patterns[0..n) that matches name in the
 * converter view, or -1. NULL entries are skipped; n <= 0 gives -1. */
int pat_first_match(const char *const *patterns, int n, const char *name);

/* A loader-view pattern compiled once. pat_loader_new never returns NULL (out
 * of memory aborts) and copies pattern; an invalid pattern gives a matcher
 * that matches nothing. pat_loader_free(NULL) is a no-op. */
typedef struct pat_loader pat_loader;

pat_loader *pat_loader_new(const char *pattern);
bool pat_loader_match(const pat_loader *m, const char *name);
/* Why the pattern matches nothing in the loader view ("Unmatched [ ...",
 * "unbalanced parenthesis", "repetition counts multiply past 1000 ...", ...),
 * or NULL when it compiled. Owned by m. */
const char *pat_loader_error(const pat_loader *m);
void pat_loader_free(pat_loader *m);

#endif
