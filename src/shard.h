/* shard.h - the split of one verification into parts that hosts run apart
 * (SPEC §10): `--shard I/N`, and `--shard auto` from the launcher's
 * variables.
 *
 * The plan is made from the headers alone, so every host makes the same:
 * the tensors in name order, each weighted by the bytes verify reads for it
 * (a quantized tensor's source, blocks and scales together; a kept tensor's
 * two copies) plus a fixed cost per tensor, cut into N contiguous runs of
 * nearly equal weight. Contiguous runs in name order keep the findings of
 * the parts in the single run's order (merge.h concatenates them) and each
 * host's reads close together in the files. The digest names the plan: the
 * same tensors, weights and N give the same digest on every host, any other
 * checkpoint or N another one. */
#ifndef MXC_SHARD_H
#define MXC_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHARD_MAX_PARTS 65536u
/* What a tensor costs besides its bytes (the open, the hand-over, its
 * findings): a million tiny tensors are shared out by count, not all given to
 * one part because they weigh nothing. */
#define SHARD_TENSOR_COST ((uint64_t)64 << 10)

typedef struct {
    unsigned index, count; /* part index of count parts; count 0: not sharded */
} shard_spec;

/* "I/N" with 0 <= I < N <= SHARD_MAX_PARTS (decimal, no sign, no spaces).
 * Returns 0, or -1 with err saying what is wrong. */
int shard_parse(const char *text, shard_spec *out, char *err, size_t errlen);

/* The text of s, "I/N". */
void shard_format(const shard_spec *s, char *out, size_t len);

/* A variable of the environment (getenv, or a table in tests). */
typedef const char *(*shard_env_fn)(const char *name);

/* `--shard auto`: the rank and size of the process from OpenMPI
 * (OMPI_COMM_WORLD_RANK/SIZE), PMI (PMI_RANK/SIZE) or Slurm
 * (SLURM_PROCID/NTASKS), the first launcher whose pair is set, and the rank
 * on this host (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID or PMI_LOCAL_RANK,
 * SLURM_LOCALID; -1 when not given). Returns 0, or -1 with err when no
 * launcher's variables are set or they are not a valid I/N (naming them). */
int shard_from_env(shard_env_fn env, shard_spec *out, int *local_rank, char *err, size_t errlen);

/* The GPU a local rank takes: the (local_rank mod n)-th entry of visible
 * (CUDA_VISIBLE_DEVICES: a comma-separated list) when set, else the index
 * local_rank mod gpus. Writes it to out for CUDA_VISIBLE_DEVICES; false when
 * there is nothing to choose from (no GPU). */
bool shard_gpu_for_rank(const char *visible, unsigned gpus, unsigned local_rank, char *out, size_t len);

typedef struct {
    const char *name;
    uint64_t bytes;   /* tensor data verify reads for it (0: nothing to compare) */
} shard_tensor;

typedef struct {
    unsigned parts;
    size_t *bounds;   /* part k is tensors [bounds[k], bounds[k + 1]); parts + 1 entries */
    char digest[65];  /* SHA-256 hex of the plan */
} shard_plan;

/* Cuts t[0..n) (in name order) into parts contiguous runs: part k ends
 * where the running weight comes nearest k+1 parts' share of the total.
 * Linear in n. shard_plan_free frees bounds. */
void shard_plan_make(const shard_tensor *t, size_t n, unsigned parts, shard_plan *out);
void shard_plan_free(shard_plan *p); /* NULL is a no-op */

#endif
