/* test_shard.c - the plan of a sharded verification (src/shard.c): I/N
 * parsing, the launchers' variables for --shard auto, the GPU a local rank
 * takes, and the split itself (contiguous, byte-balanced within one tensor,
 * the same digest for the same plan and another for any change). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"

static char err[256];

static void parses_i_of_n(void **state)
{
    (void)state;
    shard_spec s;
    assert_int_equal(shard_parse("0/1", &s, err, sizeof err), 0);
    assert_int_equal(s.index, 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(shard_parse("65535/65536", &s, err, sizeof err), 0);
    assert_int_equal(s.index, 65535);
    static const char *const bad[] = {"", "1", "1/", "/2", "2/2", "0/0", "-1/2", "1/+2", " 1/2", "01/2",
                                      "1/65537", "1/2/3", "a/b", "1/2 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (shard_parse(bad[i], &s, err, sizeof err) == 0)
            fail_msg("\"%s\" was taken as I/N", bad[i]);
}

/* An environment as a table: NAME=VALUE strings. */
static const char *const *table;

static const char *from_table(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; table[i]; i++)
        if (strncmp(table[i], name, n) == 0 && table[i][n] == '=')
            return table[i] + n + 1;
    return NULL;
}

static void auto_reads_the_launchers(void **state)
{
    (void)state;
    shard_spec s;
    int local;
    static const char *const ompi[] = {"SLURM_PROCID=5", "SLURM_NTASKS=8", "OMPI_COMM_WORLD_RANK=3",
                                       "OMPI_COMM_WORLD_SIZE=4", "OMPI_COMM_WORLD_LOCAL_RANK=1", NULL};
    table = ompi; /* mpirun inside a Slurm allocation: mpirun's ranks decide */
    assert_int_equal(shard_from_env(from_table, &s, &local, err, sizeof err), 0);
    assert_int_equal(s.index, 3);
    assert_int_equal(s.count, 4);
    assert_int_equal(local, 1);
    static const char *const pmi[] = {"PMI_RANK=2", "PMI_SIZE=3", "MPI_LOCALRANKID=0", NULL};
    table = pmi;
    assert_int_equal(shard_from_env(from_table, &s, &local, err, sizeof err), 0);
    assert_int_equal(s.index, 2);
    assert_int_equal(local, 0);
    static const char *const slurm[] = {"SLURM_PROCID=5", "SLURM_NTASKS=8", NULL};
    table = slurm; /* no local rank given */
    assert_int_equal(shard_from_env(from_table, &s, &local, err, sizeof err), 0);
    assert_int_equal(s.index, 5);
    assert_int_equal(local, -1);
    static const char *const none[] = {"PMI_RANK=1", NULL}; /* half a pair is no launcher */
    table = none;
    assert_int_equal(shard_from_env(from_table, &s, &local, err, sizeof err), -1);
    assert_non_null(strstr(err, "no launcher's rank and size are set"));
}

static void a_local_rank_takes_one_gpu(void **state)
{
    (void)state;
    char gpu[16];
    assert_true(shard_gpu_for_rank(NULL, 8, 3, gpu, sizeof gpu));
    assert_string_equal(gpu, "3");
    assert_true(shard_gpu_for_rank(NULL, 8, 11, gpu, sizeof gpu)); /* oversubscribed: shared */
    assert_string_equal(gpu, "3");
    assert_true(shard_gpu_for_rank("4,5,GPU-ab12", 8, 2, gpu, sizeof gpu)); /* the launcher's list */
    assert_string_equal(gpu, "GPU-ab12");
    assert_true(shard_gpu_for_rank("4,5,GPU-ab12", 8, 4, gpu, sizeof gpu));
    assert_string_equal(gpu, "5");
    assert_false(shard_gpu_for_rank(NULL, 0, 0, gpu, sizeof gpu));
    assert_false(shard_gpu_for_rank("", 0, 0, gpu, sizeof gpu));
}

#define N_TENSORS 1000

static shard_tensor tensors[N_TENSORS];
static char names[N_TENSORS][32];

static void make_tensors(void)
{
    for (size_t i = 0; i < N_TENSORS; i++) {
        snprintf(names[i], sizeof names[i], "t.%04zu", i);
        tensors[i].name = names[i];
        /* uneven: every 97th tensor 100 MB, others 0..9 MB, some nothing to read */
        tensors[i].bytes = i % 97 == 0 ? (uint64_t)100 << 20 : (uint64_t)(i % 10) << 20;
    }
}

static void the_split_is_contiguous_and_balanced(void **state)
{
    (void)state;
    make_tensors();
    uint64_t total = 0, largest = 0;
    for (size_t i = 0; i < N_TENSORS; i++) {
        uint64_t w = tensors[i].bytes + SHARD_TENSOR_COST;
        total += w;
        largest = w > largest ? w : largest;
    }
    for (unsigned parts = 1; parts <= 64; parts++) {
        shard_plan p;
        shard_plan_make(tensors, N_TENSORS, parts, &p);
        assert_int_equal(p.bounds[0], 0);
        assert_int_equal(p.bounds[parts], N_TENSORS);
        for (unsigned k = 0; k < parts; k++) {
            assert_true(p.bounds[k] <= p.bounds[k + 1]);
            uint64_t w = 0;
            for (size_t i = p.bounds[k]; i < p.bounds[k + 1]; i++)
                w += tensors[i].bytes + SHARD_TENSOR_COST;
            if (w > total / parts + largest)
                fail_msg("%u parts: part %u weighs %llu, share %llu + largest %llu", parts, k,
                         (unsigned long long)w, (unsigned long long)(total / parts), (unsigned long long)largest);
        }
        shard_plan_free(&p);
    }
    shard_plan p;
    shard_plan_make(tensors, 3, 8, &p); /* more parts than tensors: some parts are empty */
    assert_int_equal(p.bounds[8], 3);
    shard_plan_free(&p);
}

static void the_digest_names_the_plan(void **state)
{
    (void)state;
    make_tensors();
    shard_plan a, b;
    shard_plan_make(tensors, N_TENSORS, 8, &a);
    shard_plan_make(tensors, N_TENSORS, 8, &b);
    assert_string_equal(a.digest, b.digest);
    assert_int_equal(strlen(a.digest), 64);
    shard_plan_free(&b);
    shard_plan_make(tensors, N_TENSORS, 9, &b); /* another N */
    assert_string_not_equal(a.digest, b.digest);
    shard_plan_free(&b);
    tensors[500].bytes++; /* another checkpoint: one tensor a byte longer */
    shard_plan_make(tensors, N_TENSORS, 8, &b);
    assert_string_not_equal(a.digest, b.digest);
    shard_plan_free(&b);
    tensors[500].bytes--;
    names[700][0] = 'u'; /* a renamed tensor */
    shard_plan_make(tensors, N_TENSORS, 8, &b);
    assert_string_not_equal(a.digest, b.digest);
    shard_plan_free(&b);
    shard_plan_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_i_of_n),
        cmocka_unit_test(auto_reads_the_launchers),
        cmocka_unit_test(a_local_rank_takes_one_gpu),
        cmocka_unit_test(the_split_is_contiguous_and_balanced),
        cmocka_unit_test(the_digest_names_the_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
