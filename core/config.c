// config.c: checked config.json reading and the per-class parsers (see config.h).
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "util.h"

sana_status sana_json_open(const char *path, sana_json *j, sana_error *err) {
    memset(j, 0, sizeof *j);
    j->path = path;
    j->err = err;
    char *text;
    size_t len;
    sana_status s = sana_read_file(path, &text, &len, err);
    if (s) return j->status = s;
    yyjson_read_err jerr;
    // Python's json module writes (and diffusers' save_config leaves) Infinity / -Infinity / NaN,
    // e.g. DPMSolverMultistepScheduler's "lambda_min_clipped": -Infinity.
    yyjson_doc *doc = yyjson_read_opts(text, len, YYJSON_READ_ALLOW_INF_AND_NAN, NULL, &jerr);
    free(text);
    if (!doc)
        return j->status = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: not valid JSON: %s at byte %zu",
                                       path, jerr.msg, jerr.pos);
    j->doc = doc;
    j->root = yyjson_doc_get_root(doc);
    if (!yyjson_is_obj((yyjson_val *)j->root))
        return j->status = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: not a JSON object", path);
    return SANA_OK;
}

sana_status sana_json_close(sana_json *j) {
    yyjson_doc_free(j->doc);
    j->doc = j->root = NULL;
    return j->status;
}

void sana_json_fail(sana_json *j, sana_status status, const char *fmt, ...) {
    if (j->status) return;
    char msg[SANA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    j->status = sana_errorf(j->err, status, "%s: %s", j->path, msg);
}

static yyjson_val *get(sana_json *j, const char *key) {
    return j->root ? yyjson_obj_get((yyjson_val *)j->root, key) : NULL;
}

bool sana_json_has(sana_json *j, const char *key) { return get(j, key) != NULL; }

bool sana_json_is_null(sana_json *j, const char *key) {
    yyjson_val *v = get(j, key);
    return !v || yyjson_is_null(v);
}

// Returns the value of key, or NULL after recording "missing" (required) or when absent/null.
static yyjson_val *field(sana_json *j, const char *key, bool required) {
    if (j->status) return NULL;
    yyjson_val *v = get(j, key);
    if ((!v || yyjson_is_null(v)) && required) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "missing required field \"%s\"", key);
        return NULL;
    }
    return v && !yyjson_is_null(v) ? v : NULL;
}

// A short rendering of a JSON value for messages.
static const char *show(yyjson_val *v, char *buf, size_t size) {
    size_t len;
    char *s = yyjson_val_write(v, YYJSON_WRITE_NOFLAG, &len);
    snprintf(buf, size, "%.60s%s", s ? s : "?", s && len > 60 ? "..." : "");
    free(s);
    return buf;
}

int64_t sana_json_int(sana_json *j, const char *key, int64_t min, int64_t max, bool required,
                      int64_t def) {
    yyjson_val *v = field(j, key, required);
    if (!v) return def;
    char buf[80];
    // 2.0 is accepted as 2 (Python writes floats for some integer fields); 2.5 is not.
    double d = yyjson_is_int(v) ? (double)yyjson_get_sint(v) : yyjson_is_real(v) ? yyjson_get_real(v) : NAN;
    if (yyjson_is_uint(v) && yyjson_get_uint(v) > (uint64_t)INT64_MAX) d = INFINITY;
    if (isnan(d) || d != floor(d)) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected an integer", key,
                       show(v, buf, sizeof buf));
        return def;
    }
    if (d < (double)min || d > (double)max) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected %lld to %lld", key,
                       show(v, buf, sizeof buf), (long long)min, (long long)max);
        return def;
    }
    return yyjson_is_int(v) ? yyjson_get_sint(v) : (int64_t)d;
}

double sana_json_num(sana_json *j, const char *key, double min, double max, bool required,
                     double def) {
    yyjson_val *v = field(j, key, required);
    if (!v) return def;
    char buf[80];
    if (!yyjson_is_num(v)) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected a number", key,
                       show(v, buf, sizeof buf));
        return def;
    }
    double d = yyjson_get_num(v);
    if (!(d >= min && d <= max)) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected %g to %g", key,
                       show(v, buf, sizeof buf), min, max);
        return def;
    }
    return d;
}

bool sana_json_bool(sana_json *j, const char *key, bool required, bool def) {
    yyjson_val *v = field(j, key, required);
    if (!v) return def;
    if (!yyjson_is_bool(v)) {
        char buf[80];
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected true or false", key,
                       show(v, buf, sizeof buf));
        return def;
    }
    return yyjson_get_bool(v);
}

const char *sana_json_str(sana_json *j, const char *key, bool required, const char *def) {
    yyjson_val *v = field(j, key, required);
    if (!v) return def;
    if (!yyjson_is_str(v)) {
        char buf[80];
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected a string", key,
                       show(v, buf, sizeof buf));
        return def;
    }
    return yyjson_get_str(v);
}

int sana_json_int_array(sana_json *j, const char *key, int64_t *out, int max_len, int64_t min,
                        int64_t max, bool required) {
    yyjson_val *v = field(j, key, required);
    if (!v) return 0;
    char buf[80];
    if (!yyjson_is_arr(v) || yyjson_arr_size(v) > (size_t)max_len) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected an array of at most %d integers",
                       key, show(v, buf, sizeof buf), max_len);
        return 0;
    }
    size_t i, n;
    yyjson_val *e;
    yyjson_arr_foreach(v, i, n, e) {
        if (!yyjson_is_int(e) || yyjson_get_sint(e) < min || yyjson_get_sint(e) > max) {
            sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\"[%zu] is %s; expected an integer %lld to %lld",
                           key, i, show(e, buf, sizeof buf), (long long)min, (long long)max);
            return 0;
        }
        out[i] = yyjson_get_sint(e);
    }
    return (int)yyjson_arr_size(v);
}

int sana_json_str_array(sana_json *j, const char *key, const char **out, int max_len,
                        bool required) {
    yyjson_val *v = field(j, key, required);
    if (!v) return 0;
    char buf[80];
    if (!yyjson_is_arr(v) || yyjson_arr_size(v) > (size_t)max_len) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected an array of at most %d strings",
                       key, show(v, buf, sizeof buf), max_len);
        return 0;
    }
    size_t i, n;
    yyjson_val *e;
    yyjson_arr_foreach(v, i, n, e) {
        if (!yyjson_is_str(e)) {
            sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\"[%zu] is %s; expected a string", key, i,
                           show(e, buf, sizeof buf));
            return 0;
        }
        out[i] = yyjson_get_str(e);
    }
    return (int)yyjson_arr_size(v);
}

void sana_json_expect_class(sana_json *j, const char *expected) {
    const char *cls = sana_json_str(j, "_class_name", false, NULL);
    if (cls && strcmp(cls, expected) != 0)
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"_class_name\" is \"%.60s\"; expected \"%s\"", cls,
                       expected);
}

// ------------------------------------------------------------------------------------------------
// DPMSolverMultistepScheduler (flow sigmas)

sana_status sana_flow_dpm_config_load(const char *path, sana_flow_dpm_config *c, sana_error *err) {
    memset(c, 0, sizeof *c);
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    sana_json_expect_class(&j, "DPMSolverMultistepScheduler");
    c->num_train_timesteps = (int)sana_json_int(&j, "num_train_timesteps", 1, 1000000, false, 1000);
    c->flow_shift = sana_json_num(&j, "flow_shift", 1e-6, 1e6, false, 1.0);
    c->solver_order = (int)sana_json_int(&j, "solver_order", 1, 3, false, 2);
    c->lower_order_final = sana_json_bool(&j, "lower_order_final", false, true);
    c->euler_at_final = sana_json_bool(&j, "euler_at_final", false, false);
    // The settings the SANA pipelines use; each other value of the class is refused by name.
    static const struct {
        const char *key, *want;
    } strs[] = {
        {"prediction_type", "flow_prediction"},
        {"algorithm_type", "dpmsolver++"},
        {"final_sigmas_type", "zero"},
    };
    static const char *const defaults[] = {"epsilon", "dpmsolver++", "zero"};
    for (size_t i = 0; i < SANA_ARRAY_LEN(strs) && !j.status; i++) {
        const char *v = sana_json_str(&j, strs[i].key, false, defaults[i]);
        if (v && strcmp(v, strs[i].want) != 0)
            sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"%s\" is \"%.40s\"; only \"%s\" (as the SANA pipelines) is "
                           "supported", strs[i].key, v, strs[i].want);
    }
    const char *solver = sana_json_str(&j, "solver_type", false, "midpoint");
    // The constructor maps the DEIS / UniPC names "logrho", "bh1", "bh2" to midpoint.
    if (solver && strcmp(solver, "heun") == 0)
        c->heun = true;
    else if (solver && strcmp(solver, "midpoint") && strcmp(solver, "logrho") && strcmp(solver, "bh1") &&
             strcmp(solver, "bh2"))
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"solver_type\" is \"%.40s\"; expected \"midpoint\" or \"heun\"",
                       solver);
    if (!j.status && !sana_json_bool(&j, "use_flow_sigmas", false, false))
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"use_flow_sigmas\" is not true; only the flow-matching "
                       "schedule of the SANA pipelines is supported");
    static const char *const off[] = {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
                                      "use_lu_lambdas", "thresholding", "use_dynamic_shifting"};
    for (size_t i = 0; i < SANA_ARRAY_LEN(off) && !j.status; i++)
        if (sana_json_bool(&j, off[i], false, false))
            sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"%s\" is true; only false is supported", off[i]);
    if (!j.status && c->solver_order == 3)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"solver_order\" is 3; supported are 1 and 2 (SANA uses 2)");
    return sana_json_close(&j);
}

sana_status sana_json_class_name(const char *path, char *buf, size_t size, sana_error *err) {
    buf[0] = '\0';
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    const char *cls = sana_json_str(&j, "_class_name", false, "");
    snprintf(buf, size, "%s", cls ? cls : "");
    return sana_json_close(&j);
}

// ------------------------------------------------------------------------------------------------
// SanaTransformer2DModel

// SanaTransformer2DModel and SanaControlNetModel share their fields; the ControlNet's
// num_layers defaults to 7 and its config has no guidance_embeds / qk_norm / timestep_scale (a
// Sprint-style ControlNet adds the first two, see sana_controlnet_config_load).
static sana_status dit_config_read(const char *path, const char *class_name, bool controlnet, sana_dit_config *c,
                                   sana_error *err) {
    memset(c, 0, sizeof *c);
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    sana_json_expect_class(&j, class_name);
    // Architecture: required (every published config has them).
    c->in_channels = (int)sana_json_int(&j, "in_channels", 1, 1024, true, 0);
    c->num_attention_heads = (int)sana_json_int(&j, "num_attention_heads", 1, 1024, true, 0);
    c->attention_head_dim = (int)sana_json_int(&j, "attention_head_dim", 1, 1024, true, 0);
    c->num_layers = (int)sana_json_int(&j, "num_layers", 1, 256, !controlnet, 7);
    c->num_cross_attention_heads = (int)sana_json_int(&j, "num_cross_attention_heads", 1, 1024, true, 0);
    c->cross_attention_head_dim = (int)sana_json_int(&j, "cross_attention_head_dim", 1, 1024, true, 0);
    c->cross_attention_dim = (int)sana_json_int(&j, "cross_attention_dim", 1, 65536, true, 0);
    c->caption_channels = (int)sana_json_int(&j, "caption_channels", 1, 65536, true, 0);
    // Optional, with the constructor's defaults.
    c->out_channels = (int)sana_json_int(&j, "out_channels", 1, 1024, false, c->in_channels);
    c->mlp_ratio = sana_json_num(&j, "mlp_ratio", 0.01, 64.0, false, 2.5);
    c->attention_bias = sana_json_bool(&j, "attention_bias", false, false);
    c->sample_size = (int)sana_json_int(&j, "sample_size", 1, 1024, false, 32);
    c->patch_size = (int)sana_json_int(&j, "patch_size", 1, 64, false, 1);
    c->norm_elementwise_affine = sana_json_bool(&j, "norm_elementwise_affine", false, false);
    c->norm_eps = (float)sana_json_num(&j, "norm_eps", 0.0, 1.0, false, 1e-6);
    c->guidance_embeds_in_config = sana_json_has(&j, "guidance_embeds");
    c->qk_norm_in_config = sana_json_has(&j, "qk_norm");
    c->guidance_embeds = sana_json_bool(&j, "guidance_embeds", false, false);
    c->guidance_embeds_scale = (float)sana_json_num(&j, "guidance_embeds_scale", -1e6, 1e6, false, 0.1);
    c->timestep_scale = (float)sana_json_num(&j, "timestep_scale", -1e6, 1e6, false, 1.0);
    const char *qk = sana_json_str(&j, "qk_norm", false, NULL);
    if (qk && strcmp(qk, "rms_norm_across_heads") != 0)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                       "field \"qk_norm\" is \"%.40s\"; supported are null and \"rms_norm_across_heads\"", qk);
    c->qk_norm = qk != NULL;
    if (!j.status && c->patch_size != 1)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"patch_size\" is %d; only 1 is supported",
                       c->patch_size);
    if (!j.status && c->norm_elementwise_affine)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                       "field \"norm_elementwise_affine\" is true; only false (as every published "
                       "SANA model) is supported");
    if (!j.status && !sana_json_is_null(&j, "interpolation_scale"))
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                       "field \"interpolation_scale\" is set (2K/4K sincos position embedding); only null "
                       "(512/1024 models) is supported");

    if (!j.status) {
        int64_t D = (int64_t)c->num_attention_heads * c->attention_head_dim;
        int64_t Dc = (int64_t)c->num_cross_attention_heads * c->cross_attention_head_dim;
        if (D > 65536)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL,
                           "num_attention_heads %d x attention_head_dim %d = %lld exceeds 65536",
                           c->num_attention_heads, c->attention_head_dim, (long long)D);
        else if (Dc > 65536)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL,
                           "num_cross_attention_heads %d x cross_attention_head_dim %d = %lld exceeds 65536",
                           c->num_cross_attention_heads, c->cross_attention_head_dim, (long long)Dc);
        else if (c->cross_attention_dim != D)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL,
                           "field \"cross_attention_dim\" is %d; expected num_attention_heads x "
                           "attention_head_dim = %lld (captions are projected to the hidden size)",
                           c->cross_attention_dim, (long long)D);
        c->inner_dim = (int)D;
        c->cross_inner_dim = (int)Dc;
        c->ffn_dim = (int)(c->mlp_ratio * (double)D); // Python int(mlp_ratio * D): truncation
        if (!j.status && c->ffn_dim < 1)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"mlp_ratio\" %g gives an empty feed-forward layer",
                           c->mlp_ratio);
    }
    return sana_json_close(&j);
}

sana_status sana_dit_config_load(const char *path, sana_dit_config *c, sana_error *err) {
    return dit_config_read(path, "SanaTransformer2DModel", false, c, err);
}

sana_status sana_controlnet_config_load(const char *path, sana_dit_config *c, sana_error *err) {
    return dit_config_read(path, "SanaControlNetModel", true, c, err);
}

// ------------------------------------------------------------------------------------------------
// SCMScheduler

sana_status sana_scm_config_load(const char *path, sana_scm_config *c, sana_error *err) {
    memset(c, 0, sizeof *c);
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    sana_json_expect_class(&j, "SCMScheduler");
    c->num_train_timesteps = (int)sana_json_int(&j, "num_train_timesteps", 1, 1000000, false, 1000);
    c->sigma_data = (float)sana_json_num(&j, "sigma_data", 1e-6, 1e6, false, 0.5);
    const char *pred = sana_json_str(&j, "prediction_type", false, "trigflow");
    if (pred && strcmp(pred, "trigflow") != 0)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"prediction_type\" is \"%.40s\"; only \"trigflow\" is supported",
                       pred);
    return sana_json_close(&j);
}

// ------------------------------------------------------------------------------------------------
// Gemma2Config

sana_status sana_gemma2_config_load(const char *path, sana_gemma2_config *c, sana_error *err) {
    memset(c, 0, sizeof *c);
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    char buf[80];
    const char *type = sana_json_str(&j, "model_type", false, "gemma2");
    if (type && strcmp(type, "gemma2") != 0)
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"model_type\" is \"%.40s\"; expected \"gemma2\"", type);
    // Architecture: required (every published config has them).
    c->vocab_size = (int)sana_json_int(&j, "vocab_size", 1, 1 << 24, true, 0);
    c->hidden_size = (int)sana_json_int(&j, "hidden_size", 1, 65536, true, 0);
    c->intermediate_size = (int)sana_json_int(&j, "intermediate_size", 1, 1 << 20, true, 0);
    c->num_hidden_layers = (int)sana_json_int(&j, "num_hidden_layers", 1, SANA_GEMMA2_MAX_LAYERS, true, 0);
    c->num_attention_heads = (int)sana_json_int(&j, "num_attention_heads", 1, 1024, true, 0);
    c->num_key_value_heads = (int)sana_json_int(&j, "num_key_value_heads", 1, 1024, true, 0);
    c->head_dim = (int)sana_json_int(&j, "head_dim", 2, 1024, true, 0);
    // Optional, with Gemma2Config's defaults.
    c->max_position_embeddings = (int)sana_json_int(&j, "max_position_embeddings", 1, 1 << 30, false, 8192);
    c->rms_norm_eps = (float)sana_json_num(&j, "rms_norm_eps", 0.0, 1.0, false, 1e-6);
    c->attention_bias = sana_json_bool(&j, "attention_bias", false, false);
    c->query_pre_attn_scalar = (float)sana_json_num(&j, "query_pre_attn_scalar", 1e-6, 1e9, false, 256);
    // null is refused as transformers v5 refuses it (create_sliding_window_causal_mask raises).
    if (sana_json_has(&j, "sliding_window") && sana_json_is_null(&j, "sliding_window"))
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"sliding_window\" is null; expected 1 to %d "
                       "(transformers' Gemma2Model cannot run without one)", INT32_MAX);
    c->sliding_window = (int)sana_json_int(&j, "sliding_window", 1, INT32_MAX, false, 4096);
    c->attn_logit_softcapping = (float)sana_json_num(&j, "attn_logit_softcapping", 1e-6, 1e9, false, 50.0);
    if (sana_json_has(&j, "attn_logit_softcapping") && sana_json_is_null(&j, "attn_logit_softcapping"))
        c->attn_logit_softcapping = 0.0f;
    c->pad_token_id = (int)sana_json_int(&j, "pad_token_id", 0, 1 << 24, false, 0);
    const char *act = sana_json_str(&j, "hidden_activation", false, "gelu_pytorch_tanh");
    if (act && strcmp(act, "gelu_pytorch_tanh") != 0)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                       "field \"hidden_activation\" is \"%.40s\"; only \"gelu_pytorch_tanh\" is supported", act);
    if (sana_json_bool(&j, "use_bidirectional_attention", false, false))
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                       "field \"use_bidirectional_attention\" is true; only causal attention is supported");

    // RoPE: v5 writes "rope_parameters": {"rope_type", "rope_theta"}, v4 "rope_theta" (+ "rope_scaling").
    c->rope_theta = (float)sana_json_num(&j, "rope_theta", 1e-6, 1e12, false, 10000.0);
    yyjson_val *rp = j.root ? yyjson_obj_get((yyjson_val *)j.root, "rope_parameters") : NULL;
    if (!j.status && rp && !yyjson_is_null(rp)) {
        yyjson_val *rt = yyjson_obj_get(rp, "rope_type"), *th = yyjson_obj_get(rp, "rope_theta");
        if (!yyjson_is_obj(rp))
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"rope_parameters\" is %s; expected an object",
                           show(rp, buf, sizeof buf));
        else if (rt && !yyjson_equals_str(rt, "default"))
            sana_json_fail(&j, SANA_STATUS_UNSUPPORTED,
                           "field \"rope_parameters.rope_type\" is %s; only \"default\" is supported", show(rt, buf, sizeof buf));
        else if (th && !(yyjson_is_num(th) && yyjson_get_num(th) > 0))
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"rope_parameters.rope_theta\" is %s; expected a positive number",
                           show(th, buf, sizeof buf));
        else if (th)
            c->rope_theta = (float)yyjson_get_num(th);
    }
    if (!j.status && !sana_json_is_null(&j, "rope_scaling"))
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"rope_scaling\" is set; only null (default RoPE) is supported");

    // Layer types: default "sliding_attention" for even layers (Gemma2Config.__post_init__).
    const char *types[SANA_GEMMA2_MAX_LAYERS];
    int nt = sana_json_str_array(&j, "layer_types", types, SANA_GEMMA2_MAX_LAYERS, false);
    if (!j.status && nt && nt != c->num_hidden_layers)
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"layer_types\" has %d entries; expected num_hidden_layers = %d",
                       nt, c->num_hidden_layers);
    for (int i = 0; !j.status && i < c->num_hidden_layers; i++) {
        c->sliding[i] = i % 2 == 0;
        if (!nt) continue;
        if (strcmp(types[i], "sliding_attention") == 0) c->sliding[i] = true;
        else if (strcmp(types[i], "full_attention") == 0) c->sliding[i] = false;
        else
            sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"layer_types\"[%d] is \"%.40s\"; expected "
                           "\"sliding_attention\" or \"full_attention\"", i, types[i]);
    }

    // Head counts that cannot work.
    if (!j.status && c->num_attention_heads % c->num_key_value_heads != 0)
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"num_key_value_heads\" is %d; expected a divisor of "
                       "num_attention_heads %d (grouped-query attention)", c->num_key_value_heads, c->num_attention_heads);
    if (!j.status && c->head_dim % 2 != 0)
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"head_dim\" is %d; expected an even number (rotary "
                       "embedding pairs)", c->head_dim);
    if (!j.status && c->hidden_size % c->num_attention_heads != 0) // Gemma2Config.validate_architecture
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"hidden_size\" is %d; expected a multiple of "
                       "num_attention_heads %d (transformers' Gemma2Config rejects it)", c->hidden_size,
                       c->num_attention_heads);
    if (!j.status && (int64_t)c->num_attention_heads * c->head_dim > 65536)
        sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "num_attention_heads %d x head_dim %d exceeds 65536",
                       c->num_attention_heads, c->head_dim);
    c->attn_scale = (float)pow((double)c->query_pre_attn_scalar, -0.5);
    c->embed_scale = (float)sqrt((double)c->hidden_size);
    return sana_json_close(&j);
}

// ------------------------------------------------------------------------------------------------
// AutoencoderDC

// A string or an array of exactly n strings (upstream accepts either for per-stage fields and
// repeats a single string over every stage). Returns the number filled (0 on error or absent).
static int str_or_array(sana_json *j, const char *key, const char **out, int n, const char *def) {
    yyjson_val *v = field(j, key, false);
    char buf[80];
    if (!v) {
        for (int i = 0; i < n; i++) out[i] = def;
        return n;
    }
    if (yyjson_is_str(v)) {
        for (int i = 0; i < n; i++) out[i] = yyjson_get_str(v);
        return n;
    }
    if (!yyjson_is_arr(v) || yyjson_arr_size(v) != (size_t)n) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected a string or an array of %d strings (one per stage)",
                       key, show(v, buf, sizeof buf), n);
        return 0;
    }
    return sana_json_str_array(j, key, out, n, true);
}

// An array of n integer arrays (qkv_multiscales: kernel sizes per stage).
static void multiscales(sana_json *j, const char *key, sana_dcae_stage *st, int n) {
    yyjson_val *v = field(j, key, false);
    char buf[80];
    if (!v) { // upstream default: ((), (), (), (5,), (5,), (5,)) for six stages
        if (n != 6) {
            sana_json_fail(j, SANA_STATUS_BAD_MODEL, "missing field \"%s\" (its default only fits 6 stages, the config has %d)",
                           key, n);
            return;
        }
        for (int i = 3; i < 6; i++) st[i].n_scales = 1, st[i].scales[0] = 5;
        return;
    }
    if (!yyjson_is_arr(v) || yyjson_arr_size(v) != (size_t)n) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is %s; expected an array of %d arrays of kernel sizes (one per stage)",
                       key, show(v, buf, sizeof buf), n);
        return;
    }
    size_t i, ni;
    yyjson_val *e;
    yyjson_arr_foreach(v, i, ni, e) {
        if (!yyjson_is_arr(e) || yyjson_arr_size(e) > SANA_DCAE_MAX_SCALES) {
            sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\"[%zu] is %s; expected an array of at most %d kernel sizes",
                           key, i, show(e, buf, sizeof buf), SANA_DCAE_MAX_SCALES);
            return;
        }
        size_t k, nk;
        yyjson_val *s;
        yyjson_arr_foreach(e, k, nk, s) {
            int64_t ks = yyjson_is_int(s) ? yyjson_get_sint(s) : 0;
            if (ks < 1 || ks > 31 || ks % 2 == 0) {
                sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\"[%zu][%zu] is %s; expected an odd kernel size 1 to 31",
                               key, i, k, show(s, buf, sizeof buf));
                return;
            }
            st[i].scales[k] = (int)ks;
        }
        st[i].n_scales = (int)yyjson_arr_size(e);
    }
}

// Per-stage config of the encoder (prefix "encoder") or the decoder ("decoder").
static void dcae_stages(sana_json *j, const char *prefix, sana_dcae_stage *st, int *n_out,
                        const int64_t *def_layers) {
    char key[64];
    int64_t ch[SANA_DCAE_MAX_STAGES], layers[SANA_DCAE_MAX_STAGES];
    snprintf(key, sizeof key, "%s_block_out_channels", prefix);
    int n = 6;
    const int64_t def_ch[6] = {128, 256, 512, 512, 1024, 1024};
    if (sana_json_has(j, key) && !sana_json_is_null(j, key))
        n = sana_json_int_array(j, key, ch, SANA_DCAE_MAX_STAGES, 1, 16384, true);
    else
        memcpy(ch, def_ch, sizeof def_ch);
    if (j->status) return;
    if (n < 1) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" is empty; expected 1 to %d stages", key, SANA_DCAE_MAX_STAGES);
        return;
    }
    *n_out = n;
    snprintf(key, sizeof key, "%s_layers_per_block", prefix);
    int nl = 6;
    if (sana_json_has(j, key) && !sana_json_is_null(j, key))
        nl = sana_json_int_array(j, key, layers, SANA_DCAE_MAX_STAGES, 0, 256, true);
    else
        memcpy(layers, def_layers, 6 * sizeof *layers);
    if (j->status) return;
    if (nl != n) {
        sana_json_fail(j, SANA_STATUS_BAD_MODEL, "field \"%s\" has %d entries; expected %d (one per %s_block_out_channels entry)",
                       key, nl, n, prefix);
        return;
    }
    const char *types[SANA_DCAE_MAX_STAGES];
    snprintf(key, sizeof key, "%s_block_types", prefix);
    if (!str_or_array(j, key, types, n, "ResBlock")) return;
    for (int i = 0; i < n; i++) {
        st[i].out_channels = (int)ch[i];
        st[i].layers = (int)layers[i];
        if (strcmp(types[i], "ResBlock") == 0) {
            st[i].block_type = SANA_DCAE_RES_BLOCK;
        } else if (strcmp(types[i], "EfficientViTBlock") == 0) {
            st[i].block_type = SANA_DCAE_EFFICIENTVIT_BLOCK;
        } else {
            sana_json_fail(j, SANA_STATUS_UNSUPPORTED, "field \"%s\"[%d] is \"%.40s\"; expected \"ResBlock\" or \"EfficientViTBlock\"",
                           key, i, types[i]);
            return;
        }
    }
    snprintf(key, sizeof key, "%s_qkv_multiscales", prefix);
    multiscales(j, key, st, n);
}

sana_status sana_dcae_config_load(const char *path, sana_dcae_config *c, sana_error *err) {
    memset(c, 0, sizeof *c);
    sana_json j;
    if (sana_json_open(path, &j, err)) return sana_json_close(&j);
    sana_json_expect_class(&j, "AutoencoderDC");
    // Optional, with the constructor's defaults.
    c->in_channels = (int)sana_json_int(&j, "in_channels", 1, 64, false, 3);
    c->latent_channels = (int)sana_json_int(&j, "latent_channels", 1, 4096, false, 32);
    c->attention_head_dim = (int)sana_json_int(&j, "attention_head_dim", 1, 1024, false, 32);
    c->scaling_factor = (float)sana_json_num(&j, "scaling_factor", 1e-6, 1e6, false, 1.0);
    c->encoder_out_shortcut = sana_json_bool(&j, "encoder_out_shortcut", false, true);
    c->decoder_in_shortcut = sana_json_bool(&j, "decoder_in_shortcut", false, true);
    const int64_t enc_layers[6] = {2, 2, 2, 3, 3, 3}, dec_layers[6] = {3, 3, 3, 3, 3, 3};
    int ne = 0, nd = 0;
    dcae_stages(&j, "encoder", c->encoder, &ne, enc_layers);
    dcae_stages(&j, "decoder", c->decoder, &nd, dec_layers);
    if (!j.status && ne != nd)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "encoder_block_out_channels has %d stages and decoder_block_out_channels %d; "
                       "only equal depths are supported", ne, nd);
    c->n_stages = ne;

    // Upstream only tests for "pixel_unshuffle" / "interpolate"; the published configs spell
    // the other modes "Conv" or "conv" and "pixel_shuffle". Anything else is refused here, so a
    // misspelt mode cannot silently select the other block.
    const char *down = sana_json_str(&j, "downsample_block_type", false, "pixel_unshuffle");
    if (down && strcmp(down, "pixel_unshuffle") != 0 && strcmp(down, "conv") != 0 && strcmp(down, "Conv") != 0)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"downsample_block_type\" is \"%.40s\"; expected \"pixel_unshuffle\", "
                       "\"conv\" or \"Conv\"", down);
    c->downsample_pixel_unshuffle = down && strcmp(down, "pixel_unshuffle") == 0;
    const char *up = sana_json_str(&j, "upsample_block_type", false, "pixel_shuffle");
    if (up && strcmp(up, "pixel_shuffle") != 0 && strcmp(up, "interpolate") != 0)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"upsample_block_type\" is \"%.40s\"; expected \"pixel_shuffle\" or "
                       "\"interpolate\"", up);
    c->upsample_interpolate = up && strcmp(up, "interpolate") == 0;

    // Decoder norms and activations, per stage; the encoder's are fixed (rms_norm, silu).
    const int n = c->n_stages;
    const char *norms[SANA_DCAE_MAX_STAGES], *acts[SANA_DCAE_MAX_STAGES];
    if (!j.status && str_or_array(&j, "decoder_norm_types", norms, n, "rms_norm") &&
        str_or_array(&j, "decoder_act_fns", acts, n, "silu")) {
        for (int i = 0; i < n && !j.status; i++) {
            if (strcmp(norms[i], "rms_norm") == 0) c->decoder[i].norm_type = SANA_DCAE_RMS_NORM;
            else if (strcmp(norms[i], "batch_norm") == 0) c->decoder[i].norm_type = SANA_DCAE_BATCH_NORM;
            else
                sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"decoder_norm_types\"[%d] is \"%.40s\"; expected \"rms_norm\" or "
                               "\"batch_norm\"", i, norms[i]);
            if (strcmp(acts[i], "silu") == 0 || strcmp(acts[i], "swish") == 0) c->decoder[i].act_fn = SANA_DCAE_SILU;
            else if (strcmp(acts[i], "relu") == 0) c->decoder[i].act_fn = SANA_DCAE_RELU;
            else
                sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"decoder_act_fns\"[%d] is \"%.40s\"; expected \"silu\", \"swish\" "
                               "or \"relu\"", i, acts[i]);
        }
    }
    for (int i = 0; i < n; i++) {
        c->encoder[i].norm_type = SANA_DCAE_RMS_NORM;
        c->encoder[i].act_fn = SANA_DCAE_SILU;
    }
    const char *cact = sana_json_str(&j, "decoder_conv_act_fn", false, "relu");
    if (cact && strcmp(cact, "relu") == 0) c->decoder_conv_act_fn = SANA_DCAE_RELU;
    else if (cact && (strcmp(cact, "silu") == 0 || strcmp(cact, "swish") == 0)) c->decoder_conv_act_fn = SANA_DCAE_SILU;
    else if (cact)
        sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"decoder_conv_act_fn\" is \"%.40s\"; expected \"relu\", \"silu\" or "
                       "\"swish\"", cact);

    // Cross-field checks: the channel maps of the shortcuts must be whole, as the reference's
    // unflatten / repeat_interleave + pixel_shuffle require.
    for (int side = 0; side < 2 && !j.status; side++) {
        const sana_dcae_stage *st = side ? c->decoder : c->encoder;
        const char *pre = side ? "decoder" : "encoder";
        for (int i = 0; i < n && !j.status; i++) {
            if (i > 0 && st[i].layers == 0)
                sana_json_fail(&j, SANA_STATUS_UNSUPPORTED, "field \"%s_layers_per_block\"[%d] is 0; only stage 0 may be empty", pre, i);
            else if (st[i].block_type == SANA_DCAE_EFFICIENTVIT_BLOCK && st[i].out_channels < c->attention_head_dim)
                sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "%s stage %d has %d channels, fewer than attention_head_dim %d (no attention head)",
                               pre, i, st[i].out_channels, c->attention_head_dim);
            else if (i + 1 < n && (4 * st[i].out_channels) % st[i + 1].out_channels != 0)
                sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "%s_block_out_channels %d -> %d: 4 x %d is not a multiple of %d "
                               "(the shortcut of the resampling block)", pre, st[i].out_channels, st[i + 1].out_channels,
                               st[i].out_channels, st[i + 1].out_channels);
            else if (i + 1 < n && !side && c->downsample_pixel_unshuffle && st[i + 1].out_channels % 4 != 0)
                sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "encoder_block_out_channels[%d] = %d is not a multiple of 4 (pixel_unshuffle "
                               "down-sampling)", i + 1, st[i + 1].out_channels);
        }
        int last = st[n - 1].out_channels;
        bool shortcut = side ? c->decoder_in_shortcut : c->encoder_out_shortcut;
        if (!j.status && shortcut && last % c->latent_channels != 0)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "%s_block_out_channels[%d] = %d is not a multiple of latent_channels %d (the %s shortcut)",
                           pre, n - 1, last, c->latent_channels, side ? "decoder's input" : "encoder's output");
        if (!j.status && st[0].layers == 0 && n < 2)
            sana_json_fail(&j, SANA_STATUS_BAD_MODEL, "field \"%s_layers_per_block\"[0] is 0 in a one-stage model", pre);
    }
    c->spatial_compression_ratio = 1 << (n > 0 ? n - 1 : 0);
    return sana_json_close(&j);
}
