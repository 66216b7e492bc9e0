// test-gemma-config: text_encoder/config.json parsing (Gemma2Config), the encoder's weight checks
// and the tokenizer / text encoder vocabulary check. Each bad input gives its own one-line error
// naming the file and the key.
//
// usage: test-gemma-config DATA_DIR   (tests/data: gemma-a, tokenizer-gemma)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check.h"
#include "config.h"
#include "models/gemma2.h"
#include "models/prompt-encoder.h"
#include "util.h"

// Gemma-2-2B's config as transformers v5 writes it, with one field replaced (or removed when
// value is NULL, added when absent).
static const char *gemma_config(const char *key, const char *value) {
    static const char *fields[][2] = {
        {"architectures", "[\"Gemma2Model\"]"}, {"attention_bias", "false"}, {"attention_dropout", "0.0"},
        {"attn_logit_softcapping", "50.0"}, {"bos_token_id", "2"}, {"eos_token_id", "1"},
        {"final_logit_softcapping", "30.0"}, {"head_dim", "256"}, {"hidden_activation", "\"gelu_pytorch_tanh\""},
        {"hidden_size", "2304"}, {"intermediate_size", "9216"}, {"max_position_embeddings", "8192"},
        {"model_type", "\"gemma2\""}, {"num_attention_heads", "8"}, {"num_hidden_layers", "26"},
        {"num_key_value_heads", "4"}, {"pad_token_id", "0"}, {"query_pre_attn_scalar", "256"},
        {"rms_norm_eps", "1e-06"}, {"rope_parameters", "{\"rope_theta\": 10000.0, \"rope_type\": \"default\"}"},
        {"sliding_window", "4096"}, {"vocab_size", "256000"},
    };
    static char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{");
    bool first = true, found = false;
    for (size_t i = 0; i < SANA_ARRAY_LEN(fields); i++) {
        const char *v = fields[i][1];
        if (key && strcmp(key, fields[i][0]) == 0) v = value, found = true;
        if (!v) continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%s\": %s", first ? "" : ", ", fields[i][0], v);
        first = false;
    }
    if (key && !found && value) n += (size_t)snprintf(buf + n, sizeof buf - n, ", \"%s\": %s", key, value);
    snprintf(buf + n, sizeof buf - n, "}");
    return buf;
}

static void expect_error(const char *what, const char *key, const char *value, sana_status want, const char *sub) {
    const char *path = check_write("config.json", gemma_config(key, value), -1);
    sana_gemma2_config c;
    sana_error err = {0};
    sana_status s = sana_gemma2_config_load(path, &c, &err);
    check_error(what, s, &err, want, path, sub, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char data[4096], path[4096];
    if (!realpath(argv[1], data)) {
        perror(argv[1]);
        return 1;
    }

    // Gemma-2-2B (v5 layout) and the derived values.
    {
        const char *p = check_write("config.json", gemma_config(NULL, NULL), -1);
        sana_gemma2_config c;
        sana_error err = {0};
        sana_status s = sana_gemma2_config_load(p, &c, &err);
        check_true(s == SANA_OK && c.hidden_size == 2304 && c.num_hidden_layers == 26 && c.attn_scale == 0.0625f &&
                       c.embed_scale == 48.0f && c.attn_logit_softcapping == 50.0f && c.sliding_window == 4096 &&
                       c.rope_theta == 10000.0f && c.sliding[0] && !c.sliding[1] && c.sliding[24] && !c.sliding[25],
                   "Gemma-2-2B config and derived values", "%s", err.message);
        // v4 layout: rope_theta at the top, no layer_types, defaults for what is missing.
        p = check_write("config.json",
                        "{\"model_type\": \"gemma2\", \"vocab_size\": 256000, \"hidden_size\": 2304, "
                        "\"intermediate_size\": 9216, \"num_hidden_layers\": 26, \"num_attention_heads\": 8, "
                        "\"num_key_value_heads\": 4, \"head_dim\": 256, \"rope_theta\": 20000.0, "
                        "\"rope_scaling\": null, \"hidden_act\": \"gelu_pytorch_tanh\", \"cache_implementation\": \"hybrid\"}",
                        -1);
        err = (sana_error){0};
        s = sana_gemma2_config_load(p, &c, &err);
        check_true(s == SANA_OK && c.rope_theta == 20000.0f && c.attn_logit_softcapping == 50.0f &&
                       c.query_pre_attn_scalar == 256.0f && c.sliding_window == 4096 && c.sliding[0] && !c.sliding[1],
                   "v4-style config with defaults", "%s", err.message);
    }

    // Impossible or unsupported configs.
    expect_error("kv heads do not divide heads", "num_key_value_heads", "3", SANA_STATUS_BAD_MODEL,
                 "\"num_key_value_heads\" is 3");
    expect_error("zero heads", "num_attention_heads", "0", SANA_STATUS_BAD_MODEL, "\"num_attention_heads\" is 0");
    expect_error("odd head_dim", "head_dim", "255", SANA_STATUS_BAD_MODEL, "\"head_dim\" is 255");
    expect_error("hidden size not a multiple of the heads", "hidden_size", "2300", SANA_STATUS_BAD_MODEL,
                 "\"hidden_size\" is 2300");
    expect_error("missing vocab_size", "vocab_size", NULL, SANA_STATUS_BAD_MODEL, "\"vocab_size\"");
    expect_error("scaled RoPE", "rope_parameters", "{\"rope_type\": \"linear\", \"factor\": 2.0}",
                 SANA_STATUS_UNSUPPORTED, "\"rope_parameters.rope_type\"");
    expect_error("layer_types of the wrong length", "layer_types", "[\"full_attention\"]", SANA_STATUS_BAD_MODEL,
                 "\"layer_types\" has 1 entries");
    expect_error("null sliding window", "sliding_window", "null", SANA_STATUS_BAD_MODEL, "\"sliding_window\" is null");
    expect_error("other activation", "hidden_activation", "\"relu\"", SANA_STATUS_UNSUPPORTED, "\"hidden_activation\"");
    expect_error("another model type", "model_type", "\"llama\"", SANA_STATUS_BAD_MODEL, "\"model_type\"");
    expect_error("bidirectional attention", "use_bidirectional_attention", "true", SANA_STATUS_UNSUPPORTED,
                 "\"use_bidirectional_attention\"");
    expect_error("not JSON", "vocab_size", "25600O", SANA_STATUS_BAD_FILE, "not valid JSON");

    // Weights that disagree with the config: gemma-a's checkpoint under a config with 4 kv heads.
    {
        char src[4096], *json;
        size_t len;
        sana_error err = {0};
        sana_path_join(src, sizeof src, data, "gemma-a/text_encoder/config.json");
        if (sana_read_file(src, &json, &len, &err)) {
            check_true(false, "read gemma-a config", "%s", err.message);
        } else {
            char *at = strstr(json, "\"num_key_value_heads\": 2");
            if (at) at[strlen("\"num_key_value_heads\": ")] = '4';
            const char *cfg = check_write("badkv/config.json", json, (long)len);
            free(json);
            char dir[4096];
            snprintf(dir, sizeof dir, "%.*s", (int)(strlen(cfg) - strlen("/config.json")), cfg);
            sana_path_join(src, sizeof src, data, "gemma-a/text_encoder/model.safetensors");
            sana_path_join(path, sizeof path, dir, "model.safetensors");
            if (symlink(src, path) != 0) perror(path);
            sana_backend *be;
            sana_backend_cpu_new(1, &be, &err);
            sana_gemma2 *m = NULL;
            sana_status s = sana_gemma2_load(dir, be, &m, &err);
            check_error("weights of 2 kv heads, config of 4", s, &err, SANA_STATUS_BAD_MODEL,
                        "layers.0.self_attn.k_proj.weight", "[48, 64]", "[96, 64]", NULL);
            sana_gemma2_free(m);
            sana_backend_free(be);
        }
    }

    // A tokenizer with more ids than the text encoder's embedding rows.
    {
        const char *cfg = check_write("small-vocab/config.json", gemma_config("vocab_size", "500"), -1);
        char dir[4096], tok[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(strlen(cfg) - strlen("/config.json")), cfg);
        sana_path_join(tok, sizeof tok, data, "tokenizer-gemma");
        sana_backend *be;
        sana_error err = {0};
        sana_backend_cpu_new(1, &be, &err);
        sana_prompt_encoder *pe = NULL;
        sana_status s = sana_prompt_encoder_new(tok, dir, be, &pe, &err);
        check_error("tokenizer vocabulary larger than vocab_size", s, &err, SANA_STATUS_BAD_MODEL, "tokenizer.json",
                    "config.json", "\"vocab_size\" is 500", NULL);
        sana_prompt_encoder_free(pe);
        sana_backend_free(be);
    }
    return check_summary("gemma-config");
}
