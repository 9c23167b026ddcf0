/* libFuzzer target: the JSON files of a checkpoint directory.
 * The first input byte picks the file (even: model.safetensors.index.json,
 * odd: config.json), the rest is its content. The directory also holds a
 * small valid shard with an MXFP4 pair, so a parsed index or config reaches
 * pairing, index checks and coverage (patterns from the config). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "checkpoint.h"
#include "coverage.h"

static const char shard_header[] =
    "{\"w_blocks\":{\"dtype\":\"U8\",\"shape\":[2,1,16],\"data_offsets\":[0,32]},"
    "\"w_scales\":{\"dtype\":\"U8\",\"shape\":[2,1],\"data_offsets\":[32,34]},"
    "\"model.norm.weight\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[34,38]}}";
static const char default_index[] =
    "{\"weight_map\":{\"w_blocks\":\"s.safetensors\",\"w_scales\":\"s.safetensors\","
    "\"model.norm.weight\":\"s.safetensors\"}}";
static const char default_config[] =
    "{\"quantization_config\":{\"quant_method\":\"mxfp4\",\"modules_to_not_convert\":[\"model.norm\"]}}";

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/fuzz_ckpt_XXXXXX");
    if (!mkdtemp(dir))
        abort();
    uint8_t file[8 + sizeof shard_header - 1 + 38] = {0};
    uint64_t n = sizeof shard_header - 1;
    for (int i = 0; i < 8; i++)
        file[i] = (uint8_t)(n >> (8 * i));
    memcpy(file + 8, shard_header, n);
    fuzz_write_file(dir, "s.safetensors", file, sizeof file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    if (size < 1)
        return 0;
    bool index = (data[0] & 1) == 0;
    fuzz_write_file(dir, CKPT_INDEX_NAME, index ? (const void *)(data + 1) : default_index,
               index ? size - 1 : sizeof default_index - 1);
    fuzz_write_file(dir, CKPT_CONFIG_NAME, index ? (const void *)default_config : (data + 1),
               index ? sizeof default_config - 1 : size - 1);
    finding_list *fl = findings_new();
    ckpt *c = NULL;
    char err[512];
    if (ckpt_open(dir, &c, fl, err, sizeof err) == 0) {
        coverage_free(coverage_build(c, c, NULL, NULL, NULL, fl, err, sizeof err));
        for (size_t i = 0; i < ckpt_logical_count(c); i++)
            (void)ckpt_logical_at(c, i)->bytes;
    }
    ckpt_close(c);
    findings_free(fl);
    return 0;
}
