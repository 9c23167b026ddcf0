/* libFuzzer target: verify on a converted checkpoint whose only shard is the
 * input. The source is fixed (written once): "w" BF16 [64, 64] (a GPT-OSS-
 * style transposed pair in a faithful DST), "keep" BF16 [4] and
 * "model.norm.weight" F32 [2]; DST's config keeps "keep". Any header or data
 * the parser accepts reaches coverage, planning, the engine and diagnosis,
 * which must neither crash nor read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_files.h"
#include "verify.h"

static char src_dir[64], dst_dir[80];

static void write_source(void)
{
    static const char header[] =
        "{\"keep\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]},"
        "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
        "\"w\":{\"dtype\":\"BF16\",\"shape\":[64,64],\"data_offsets\":[16,8208]}}";
    size_t n = sizeof header - 1, total = 8 + n + 8208;
    uint8_t *file = calloc(1, total);
    for (int i = 0; i < 8; i++)
        file[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    uint8_t *data = file + 8 + n;
    for (size_t i = 0; i < 8208; i += 2) { /* small BF16 values around 0.01..1 */
        data[i] = (uint8_t)(i * 37);
        data[i + 1] = (uint8_t)(0x3C + (i / 2) % 3);
    }
    fuzz_write_file(src_dir, "model.safetensors", file, total);
    free(file);
}

static void setup(void)
{
    strcpy(src_dir, "/tmp/fuzz_verify_XXXXXX");
    if (!mkdtemp(src_dir))
        abort();
    snprintf(dst_dir, sizeof dst_dir, "%s/dst", src_dir);
    mkdir(dst_dir, 0755);
    write_source();
    static const char config[] =
        "{\"quantization_config\":{\"quant_method\":\"mxfp4\",\"modules_to_not_convert\":[\"keep\",\"model.norm\"]}}";
    fuzz_write_file(dst_dir, "config.json", config, sizeof config - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!src_dir[0])
        setup();
    fuzz_write_file(dst_dir, "model.safetensors", data, size);
    setenv("MXFP4_CHECK_SLAB_BYTES", size % 2 ? "4096" : "65536", 1); /* partial slabs too */
    verify_opts o = {.src = src_dir, .dst = dst_dir, .backend = "cpu", .threads = 1};
    verify_result *r = NULL;
    char err[512];
    if (verify_run(&o, &r, err, sizeof err) == 0)
        (void)verify_passed(r);
    verify_result_free(r);
    return 0;
}
