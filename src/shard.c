/* shard.c - the plan of a sharded verification (shard.h). */
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

/* A decimal count without sign, spaces or leading zeros (but "0"). */
static bool parse_count(const char *s, size_t len, unsigned long *out)
{
    if (len == 0 || len > 9 || (len > 1 && s[0] == '0'))
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

int shard_parse(const char *text, shard_spec *out, char *err, size_t errlen)
{
    const char *slash = strchr(text, '/');
    unsigned long i, n;
    if (!slash || !parse_count(text, (size_t)(slash - text), &i) || !parse_count(slash + 1, strlen(slash + 1), &n)) {
        snprintf(err, errlen, "--shard wants I/N (part I of N, from 0), or auto");
        return -1;
    }
    if (n < 1 || n > SHARD_MAX_PARTS || i >= n) {
        snprintf(err, errlen, "--shard %lu/%lu: the part must be below the count, and the count from 1 to %u",
                 i, n, SHARD_MAX_PARTS);
        return -1;
    }
    *out = (shard_spec){(unsigned)i, (unsigned)n};
    return 0;
}

void shard_format(const shard_spec *s, char *out, size_t len)
{
    snprintf(out, len, "%u/%u", s->index, s->count);
}

typedef struct {
    const char *launcher, *rank, *size;
    const char *local[2];
} launcher_vars;

static const launcher_vars launchers[] = {
    {"OpenMPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", {"OMPI_COMM_WORLD_LOCAL_RANK", NULL}},
    {"PMI", "PMI_RANK", "PMI_SIZE", {"MPI_LOCALRANKID", "PMI_LOCAL_RANK"}},
    {"Slurm", "SLURM_PROCID", "SLURM_NTASKS", {"SLURM_LOCALID", NULL}},
};

int shard_from_env(shard_env_fn env, shard_spec *out, int *local_rank, char *err, size_t errlen)
{
    *local_rank = -1;
    for (size_t k = 0; k < sizeof launchers / sizeof launchers[0]; k++) {
        const launcher_vars *l = &launchers[k];
        const char *rank = env(l->rank), *size = env(l->size);
        if (!rank || !size)
            continue;
        char text[64], why[128];
        snprintf(text, sizeof text, "%.24s/%.24s", rank, size);
        if (shard_parse(text, out, why, sizeof why) < 0) {
            snprintf(err, errlen, "--shard auto: %s's %s=%.24s and %s=%.24s are not a rank below a size",
                     l->launcher, l->rank, rank, l->size, size);
            return -1;
        }
        for (size_t j = 0; j < 2 && l->local[j]; j++) {
            unsigned long v;
            const char *s = env(l->local[j]);
            if (s && parse_count(s, strlen(s), &v)) {
                *local_rank = (int)v;
                break;
            }
        }
        return 0;
    }
    snprintf(err, errlen, "--shard auto: no launcher's rank and size are set (OMPI_COMM_WORLD_RANK/SIZE, "
             "PMI_RANK/SIZE, SLURM_PROCID/NTASKS); give --shard I/N");
    return -1;
}

bool shard_gpu_for_rank(const char *visible, unsigned gpus, unsigned local_rank, char *out, size_t len)
{
    if (visible && *visible) {
        size_t n = 1;
        for (const char *p = visible; *p; p++)
            n += *p == ',';
        size_t want = local_rank % n;
        const char *start = visible;
        for (size_t k = 0; k < want; k++)
            start = strchr(start, ',') + 1;
        size_t span = strcspn(start, ",");
        if (span == 0)
            return false;
        snprintf(out, len, "%.*s", (int)span, start);
        return true;
    }
    if (gpus == 0)
        return false;
    snprintf(out, len, "%u", local_rank % gpus);
    return true;
}

/* floor(total * k / parts) without overflow (parts <= SHARD_MAX_PARTS). */
static uint64_t share(uint64_t total, unsigned k, unsigned parts)
{
    return total / parts * k + total % parts * k / parts;
}

static void digest_u64(sha256_stream *s, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    sha256_update(s, b, sizeof b);
}

void shard_plan_make(const shard_tensor *t, size_t n, unsigned parts, shard_plan *out)
{
    out->parts = parts;
    out->bounds = xcalloc((size_t)parts + 1, sizeof *out->bounds);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i].bytes + SHARD_TENSOR_COST;
    uint64_t before = 0; /* weight of tensors [0, i) */
    size_t i = 0;
    for (unsigned k = 1; k < parts; k++) {
        uint64_t target = share(total, k, parts);
        while (i < n && before + t[i].bytes + SHARD_TENSOR_COST <= target)
            before += t[i++].bytes + SHARD_TENSOR_COST;
        /* the tensor across the target goes to whichever side it mostly lies on */
        if (i < n && target - before > before + t[i].bytes + SHARD_TENSOR_COST - target)
            before += t[i++].bytes + SHARD_TENSOR_COST;
        out->bounds[k] = i;
    }
    out->bounds[parts] = n;
    sha256_stream *s = sha256_begin();
    static const char tag[] = "mxfp4-check plan 1";
    sha256_update(s, tag, sizeof tag);
    digest_u64(s, parts);
    digest_u64(s, n);
    for (size_t k = 0; k < n; k++) {
        sha256_update(s, t[k].name, strlen(t[k].name) + 1);
        digest_u64(s, t[k].bytes);
    }
    for (unsigned k = 0; k <= parts; k++)
        digest_u64(s, out->bounds[k]);
    sha256_end(s, out->digest);
}

void shard_plan_free(shard_plan *p)
{
    if (!p)
        return;
    free(p->bounds);
    p->bounds = NULL;
}
