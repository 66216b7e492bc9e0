// test-safetensors: the safetensors reader on good files and on every kind of bad one.
// Each bad file must give its own status and a one-line message naming the file and the key.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "safetensors.h"

// Writes a safetensors file: 8-byte header length (or `fake_len` when >= 0), the header, data.
static const char *write_st(const char *name, const char *header, const void *data, size_t n, long fake_len) {
    size_t hl = strlen(header);
    size_t total = 8 + hl + n;
    unsigned char *buf = malloc(total);
    unsigned long long len = fake_len >= 0 ? (unsigned long long)fake_len : hl;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (n) memcpy(buf + 8 + hl, data, n);
    const char *p = check_write(name, buf, (long)total);
    free(buf);
    return p;
}

// A header padded with spaces to a multiple of 8 bytes, as the reference writer does.
static const char *padded(const char *json) {
    static char buf[4096];
    size_t n = strlen(json);
    memcpy(buf, json, n);
    while ((8 + n) % 8) buf[n++] = ' ';
    buf[n] = '\0';
    return buf;
}

static void expect_open_error(const char *what, const char *file, sana_status want, const char *sub1,
                              const char *sub2) {
    sana_error err = {0};
    sana_safetensors *st = NULL;
    sana_status s = sana_st_open_file(file, &st, &err);
    check_error(what, s, &err, want, file, sub1, sub2, NULL);
    sana_st_free(st);
}

int main(void) {
    const float six[6] = {1, 2, 3, 4, 5, 6};

    // A good file: values, shape, dtype, metadata skipped, lookups.
    {
        char data[26];
        memcpy(data, six, 24);
        data[24] = 0x80, data[25] = 0x3f; // bf16 1.0
        const char *p = write_st("good.safetensors",
                     padded("{\"__metadata__\":{\"format\":\"pt\"},"
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                            "\"a\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[24,26]}}"),
                     data, 26, -1);
        sana_error err = {0};
        sana_safetensors *st = NULL;
        sana_status s = sana_st_open_file(p, &st, &err);
        check_true(s == SANA_OK, "good file opens", "%s", err.message);
        if (st) {
            sana_tensor t;
            check_true(sana_st_count(st) == 2, "metadata is not a tensor", "count %d", sana_st_count(st));
            check_true(sana_st_get(st, "b", &t, &err) == SANA_OK && t.ndim == 2 && t.shape[0] == 2 &&
                           t.shape[1] == 3 && t.dtype == SANA_DTYPE_F32 && ((float *)t.data)[5] == 6.0f,
                       "F32 tensor shape and values", "ndim %d", t.ndim);
            check_true(sana_st_get(st, "a", &t, &err) == SANA_OK && t.ndim == 1 && t.shape[0] == 1 &&
                           sana_bf16_to_f32(((uint16_t *)t.data)[0]) == 1.0f,
                       "0-dim BF16 scalar reads as shape [1]", "ndim %d", t.ndim);
            check_true(strcmp(sana_st_name(st, 0), "a") == 0, "names are sorted", "%s", sana_st_name(st, 0));
            sana_error e2 = {0};
            s = sana_st_get(st, "transformer_blocks.0.missing", &t, &e2);
            check_error("missing key", s, &e2, SANA_STATUS_BAD_MODEL, p, "'transformer_blocks.0.missing'", NULL);
            sana_st_free(st);
        }
    }

    expect_open_error("file shorter than the header length field",
                      check_write("short.safetensors", "abc", 3), SANA_STATUS_BAD_FILE, "truncated", "3 bytes");
    expect_open_error("missing file", "/nonexistent/x.safetensors", SANA_STATUS_IO, "cannot open", NULL);
    expect_open_error("header length past EOF", write_st("pasteof.safetensors", "{}", NULL, 0, 1000),
                      SANA_STATUS_BAD_FILE, "header length 1000", "past the end");
    expect_open_error("invalid header JSON", write_st("badjson.safetensors", "{\"a\": [1, 2", NULL, 0, -1),
                      SANA_STATUS_BAD_FILE, "not valid JSON", NULL);
    expect_open_error("header not an object", write_st("array.safetensors", "[1,2]   ", NULL, 0, -1),
                      SANA_STATUS_BAD_FILE, "not a JSON object", NULL);
    expect_open_error("tensor offsets outside the data (truncated data)",
                      write_st("offsets.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}"), six,
                               20, -1),
                      SANA_STATUS_BAD_FILE, "'w'", "outside the 20 data bytes");
    expect_open_error("begin after end",
                      write_st("order.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}"), six, 24,
                               -1),
                      SANA_STATUS_BAD_FILE, "'w'", "[8, 4]");
    expect_open_error("unknown dtype",
                      write_st("dtype.safetensors",
                               padded("{\"w\":{\"dtype\":\"Q7\",\"shape\":[6],\"data_offsets\":[0,24]}}"), six, 24,
                               -1),
                      SANA_STATUS_BAD_FILE, "'w'", "unknown dtype 'Q7'");
    expect_open_error("known but unsupported dtype",
                      write_st("f64.safetensors",
                               padded("{\"w\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}"), six, 24,
                               -1),
                      SANA_STATUS_UNSUPPORTED, "'w'", "F64");
    expect_open_error("shape x dtype != byte count",
                      write_st("count.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,24]}}"), six,
                               24, -1),
                      SANA_STATUS_BAD_FILE, "'w'", "holds 24 bytes but shape [2, 2] x F32 needs 16");
    expect_open_error("negative shape entry",
                      write_st("neg.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,6],\"data_offsets\":[0,24]}}"), six,
                               24, -1),
                      SANA_STATUS_BAD_FILE, "'w'", "shape entry 0");
    expect_open_error("no dtype",
                      write_st("nodtype.safetensors", padded("{\"w\":{\"shape\":[6],\"data_offsets\":[0,24]}}"),
                               six, 24, -1),
                      SANA_STATUS_BAD_FILE, "'w'", "dtype");
    expect_open_error("too many dimensions",
                      write_st("dims.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,2,3],\"data_offsets\":[0,24]}}"),
                               six, 24, -1),
                      SANA_STATUS_UNSUPPORTED, "'w'", "5 dimensions");
    expect_open_error("absurd shape",
                      write_st("huge.safetensors",
                               padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                      "\"data_offsets\":[0,24]}}"),
                               six, 24, -1),
                      SANA_STATUS_BAD_FILE, "'w'", "absurdly large");
    expect_open_error("unaligned data (header not padded)",
                      write_st("align.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}",
                               six, 24, -1),
                      SANA_STATUS_UNSUPPORTED, "'w'", "aligned");

    // Sharded checkpoints.
    {
        write_st("sharded/m-1.safetensors",
                 padded("{\"x\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}"), six, 24, -1);
        write_st("sharded/m-2.safetensors",
                 padded("{\"y\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"), six, 12, -1);
        check_write("sharded/m.safetensors.index.json",
                    "{\"metadata\":{\"total_size\":36},\"weight_map\":{\"x\":\"m-1.safetensors\",\"y\":\"m-2.safetensors\"}}",
                    -1);
        char dir[512];
        snprintf(dir, sizeof dir, "%s/sharded", check_tmpdir());
        sana_error err = {0};
        sana_safetensors *st = NULL;
        sana_status s = sana_st_open_dir(dir, "m", &st, &err);
        check_true(s == SANA_OK && st && sana_st_count(st) == 2 && sana_st_has(st, "x") && sana_st_has(st, "y"),
                   "sharded index opens both shards", "%s", err.message);
        sana_st_free(st);

        const struct {
            const char *what, *index, *sub;
            sana_status want;
        } bad[] = {
            {"index: shard outside the folder", "{\"weight_map\":{\"x\":\"../m-1.safetensors\"}}",
             "does not name a file beside the index", SANA_STATUS_BAD_FILE},
            {"index: missing shard file", "{\"weight_map\":{\"x\":\"m-9.safetensors\"}}", "m-9.safetensors",
             SANA_STATUS_IO},
            {"index: key not in its shard", "{\"weight_map\":{\"x\":\"m-1.safetensors\",\"z\":\"m-2.safetensors\"}}",
             "'z'", SANA_STATUS_BAD_FILE},
            {"index: no weight_map", "{\"metadata\":{}}", "weight_map", SANA_STATUS_BAD_FILE},
            {"index: invalid JSON", "{\"weight_map\":", "not valid JSON", SANA_STATUS_BAD_FILE},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            check_write("bad/m.safetensors.index.json", bad[i].index, -1);
            check_write("bad/m-1.safetensors", "", 0);
            write_st("bad/m-1.safetensors",
                     padded("{\"x\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}"), six, 24, -1);
            write_st("bad/m-2.safetensors",
                     padded("{\"y\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"), six, 12, -1);
            snprintf(dir, sizeof dir, "%s/bad", check_tmpdir());
            sana_error e = {0};
            st = NULL;
            s = sana_st_open_dir(dir, "m", &st, &e);
            check_error(bad[i].what, s, &e, bad[i].want, dir, bad[i].sub, NULL);
            sana_st_free(st);
        }
        // The same key in two shards.
        write_st("dup/m-1.safetensors", padded("{\"x\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}"),
                 six, 24, -1);
        write_st("dup/m-2.safetensors", padded("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"),
                 six, 12, -1);
        check_write("dup/m.safetensors.index.json",
                    "{\"weight_map\":{\"x\":\"m-1.safetensors\",\"y\":\"m-2.safetensors\"}}", -1);
        snprintf(dir, sizeof dir, "%s/dup", check_tmpdir());
        sana_error e = {0};
        s = sana_st_open_dir(dir, "m", &st, &e);
        check_error("index: a key in two shards", s, &e, SANA_STATUS_BAD_FILE, "'x'", "twice", NULL);
        sana_st_free(st);
        // Neither a file nor an index.
        e = (sana_error){0};
        s = sana_st_open_dir(check_tmpdir(), "diffusion_pytorch_model", &st, &e);
        check_error("folder without the checkpoint", s, &e, SANA_STATUS_BAD_MODEL,
                    "missing diffusion_pytorch_model.safetensors", NULL);
    }
    return check_summary("safetensors");
}
