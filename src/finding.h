/* finding.h - the findings of a check, with their stable ids.
 *
 * A finding list is owned by whoever created it; each finding owns copies of
 * its strings. Ids are the ones of SPEC §3 (FIND_* below), so gates and rule
 * files can name them. */
#ifndef MXC_FINDING_H
#define MXC_FINDING_H

#include <stddef.h>

#define FIND_HEADER "safetensors.header"
#define FIND_INDEX_MISMATCH "index.mismatch"
#define FIND_INDEX_TOTAL_SIZE "index.total_size"
#define FIND_CONFIG_QUANT "config.quantization"
#define FIND_FILES_COPIED "files.copied"
#define FIND_PAIRING "mxfp4.pairing"
#define FIND_SCALE_NAN "mxfp4.scale_nan"
#define FIND_SHOULD_KEEP "coverage.should_keep"
#define FIND_SHOULD_QUANTIZE "coverage.should_quantize"
#define FIND_MISSING "coverage.missing"
#define FIND_EXTRA "coverage.extra"
#define FIND_STALE_PATTERN "coverage.stale_pattern"
#define FIND_VIEW_MISMATCH "coverage.view_mismatch"
#define FIND_KEPT_MODIFIED "kept.modified"
#define FIND_THRESHOLD "numerics.threshold"
#define FIND_NONFINITE "numerics.nonfinite"
#define FIND_REQUANT_MISMATCH "numerics.requant_mismatch"
#define FIND_DIAGNOSIS "numerics.diagnosis"

typedef enum { SEV_OFF = 0, SEV_INFO, SEV_WARN, SEV_ERROR } severity;

typedef struct {
    char *id;       /* one of FIND_* */
    severity sev;
    char *tensor;   /* raw name from the file, or NULL; escape before display */
    char *file;     /* file name relative to its checkpoint, or NULL */
    char *message;  /* already escaped, printable */
    char *cause;    /* numerics.diagnosis only: nibble_swap, missing_transpose, scale_bias */
    int scale_bias_k; /* cause scale_bias: the exponent offset k */
} finding;

typedef struct finding_list finding_list;

finding_list *findings_new(void);
void findings_free(finding_list *fl); /* NULL is a no-op */

/* Appends a finding; message is printf-formatted. A finding of severity
 * SEV_OFF is dropped. Returns the new finding (NULL when dropped), so the
 * caller can set cause. Aborts on allocation failure (out of memory is not an
 * input error). */
finding *findings_add(finding_list *fl, const char *id, severity sev, const char *tensor,
                      const char *file, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

size_t findings_count(const finding_list *fl);
const finding *findings_at(const finding_list *fl, size_t i);
finding *findings_mut(finding_list *fl, size_t i); /* for the policy to set severities */
size_t findings_count_sev(const finding_list *fl, severity sev);

const char *severity_name(severity sev); /* "error", "warn", "info", "off" */

#endif
