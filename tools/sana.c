// sana: the command-line program over the core (DESIGN.md section 1).
//
//   sana generate --prompt TEXT [--model M] [--steps N] [--seed N] [--width W --height H]
//                 [--guidance G] [--negative-prompt TEXT] [--no-binning] [--device D]
//                 [--threads N] [--output out.png]
//                 [--control IMAGE.png [--control-mode as-is|sketch] [--control-scale S]
//                  [--controlnet DIR] [--controlnet-wiring diffusers|nvlabs]]
//   sana inspect [M]      what a model folder holds, what is missing, parameter counts
//   sana bench [...]      per-stage timings over repeated runs
//
// M is a model folder or a Hugging Face repository id (ORG/NAME) in the local cache; without
// one, SANA_MODEL_DIR and the cache are searched.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "png-read.h"
#include "png-write.h"
#include "safetensors.h"
#include "sana.h"

#ifndef SANA_VERSION
#define SANA_VERSION "dev"
#endif

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); // a second Ctrl-C ends the program at once
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// ------------------------------------------------------------------------------------------------
// Argument helpers: each bad value is one line naming the option and the accepted range.

static int parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "sana: %s '%s': expected an integer from %lld to %lld\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "sana: %s '%s': expected an integer from 0 to %llu\n", opt, s, (unsigned long long)UINT64_MAX);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_float(const char *opt, const char *s, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "sana: %s '%s': expected a number from %g to %g\n", opt, s, lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

// ------------------------------------------------------------------------------------------------
// Progress

typedef struct progress_state {
    bool tty;
    double start;
    sana_stage last_stage;
    bool quiet;
} progress_state;

static bool on_progress(void *user, sana_stage stage, int step, int total) {
    progress_state *p = user;
    if (!p->quiet) {
        double t = (now_ms() - p->start) / 1000.0;
        if (p->tty) {
            if (stage != p->last_stage && step == 0) fprintf(stderr, "\n");
            fprintf(stderr, "\r%-16s %d/%d  %6.1f s", sana_stage_name(stage), step, total, t);
        } else if (step == total || step == 0) {
            fprintf(stderr, "%s %d/%d (%.1f s)\n", sana_stage_name(stage), step, total, t);
        }
        fflush(stderr);
    }
    p->last_stage = stage;
    return !interrupted;
}

// ------------------------------------------------------------------------------------------------
// generate / bench

static void usage_generate(FILE *f) {
    fprintf(f,
            "usage: sana generate --prompt TEXT [options]\n"
            "  --prompt TEXT       what to draw (required)\n"
            "  --model M           model folder or ORG/NAME in the Hugging Face cache\n"
            "                      (default: SANA_MODEL_DIR, then the cache)\n"
            "  --steps N           SANA-Sprint: 1 to 4 (default 2); multi-step SANA: 1 to 50 (default 20)\n"
            "  --seed N            (default: random; printed)\n"
            "  --width W --height H  (default 1024 x 1024)\n"
            "  --guidance G        guidance scale (default 4.5): embedded in SANA-Sprint,\n"
            "                      classifier-free in multi-step SANA (1 or less: off)\n"
            "  --negative-prompt TEXT  what to avoid (multi-step SANA with guidance; default \"\")\n"
            "  --max-timestep T    SANA-Sprint: first TrigFlow time (default 1.5708)\n"
            "  --intermediate T    SANA-Sprint: second time of the 2-step schedule (default 1.3)\n"
            "  --no-binning        generate at exactly W x H (multiples of 32)\n"
            "  --no-chi            no complex human instruction before the prompt\n"
            "  --control FILE      a PNG control image for a ControlNet (resized to the generation\n"
            "                      size with Lanczos, as diffusers does)\n"
            "  --control-mode M    as-is (default): the image is a line map, white lines on black;\n"
            "                      sketch: dark strokes on a light background, turned into one\n"
            "  --control-scale S   ControlNet conditioning scale, 0 to 10 (default 1)\n"
            "  --controlnet DIR    a ControlNet folder (SanaControlNetModel, or a pipeline folder\n"
            "                      with controlnet/) or ORG/NAME; default: the model folder's own\n"
            "  --controlnet-wiring W  diffusers (default) or nvlabs: where the residuals enter\n"
            "  --save-control FILE also write the control image as the model sees it\n"
            "  --device D          auto, cpu, cuda or cuda:N (default auto)\n"
            "  --threads N         CPU threads (default: all cores)\n"
            "  --output FILE       PNG to write (default out.png)\n"
            "  --quiet             no progress\n"
            "sana bench takes the same options and:\n"
            "  --runs N            timed runs after the untimed ones (default 5)\n"
            "  --warmup N          untimed runs first (default 1; the second records CUDA graphs)\n"
            "  --vary WHAT         none (default), seed (the prompt's encoding is reused) or prompt\n"
            "                      (a new prompt every run)\n"
            "  --json FILE         every run's timings, memory and profile as JSON\n");
}

enum { OPT_PROMPT = 256, OPT_MODEL, OPT_STEPS, OPT_SEED, OPT_WIDTH, OPT_HEIGHT, OPT_GUIDANCE, OPT_MAXT,
       OPT_INTER, OPT_NOBIN, OPT_NOCHI, OPT_DEVICE, OPT_THREADS, OPT_OUTPUT, OPT_QUIET, OPT_RUNS, OPT_HELP,
       OPT_NEGATIVE, OPT_CONTROL, OPT_CONTROL_MODE, OPT_CONTROL_SCALE, OPT_CONTROLNET, OPT_WIRING,
       OPT_SAVE_CONTROL, OPT_VARY, OPT_JSON, OPT_WARMUP };

static const struct option gen_opts[] = {
    {"prompt", required_argument, 0, OPT_PROMPT},   {"model", required_argument, 0, OPT_MODEL},
    {"steps", required_argument, 0, OPT_STEPS},     {"seed", required_argument, 0, OPT_SEED},
    {"width", required_argument, 0, OPT_WIDTH},     {"height", required_argument, 0, OPT_HEIGHT},
    {"guidance", required_argument, 0, OPT_GUIDANCE}, {"max-timestep", required_argument, 0, OPT_MAXT},
    {"intermediate", required_argument, 0, OPT_INTER}, {"no-binning", no_argument, 0, OPT_NOBIN},
    {"no-chi", no_argument, 0, OPT_NOCHI},          {"device", required_argument, 0, OPT_DEVICE},
    {"threads", required_argument, 0, OPT_THREADS}, {"output", required_argument, 0, OPT_OUTPUT},
    {"quiet", no_argument, 0, OPT_QUIET},           {"runs", required_argument, 0, OPT_RUNS},
    {"help", no_argument, 0, OPT_HELP},             {"negative-prompt", required_argument, 0, OPT_NEGATIVE},
    {"control", required_argument, 0, OPT_CONTROL}, {"control-mode", required_argument, 0, OPT_CONTROL_MODE},
    {"control-scale", required_argument, 0, OPT_CONTROL_SCALE},
    {"controlnet", required_argument, 0, OPT_CONTROLNET},
    {"controlnet-wiring", required_argument, 0, OPT_WIRING},
    {"save-control", required_argument, 0, OPT_SAVE_CONTROL},
    {"vary", required_argument, 0, OPT_VARY},
    {"json", required_argument, 0, OPT_JSON},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {0, 0, 0, 0},
};

typedef struct gen_args {
    sana_pipeline_params pp;
    sana_generate_params g;
    const char *output;
    bool seed_given, steps_given, quiet;
    int runs;
    const char *control, *save_control; // --control FILE, --save-control FILE
    sana_control_mode control_mode;
    sana_image control_image;           // read from `control`, then as the model sees it
    int vary;                           // bench: VARY_NONE, VARY_SEED or VARY_PROMPT
    const char *json;                   // bench: write every run here as JSON
    int warmup;                         // bench: untimed runs first (default 1)
} gen_args;

enum { VARY_NONE = 0, VARY_SEED, VARY_PROMPT };

static uint64_t random_seed(void) {
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&s, sizeof s, 1, f) != 1) s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (f) fclose(f);
    return s & 0xffffffffu; // short enough to type back
}

// Returns 0, or 2 after printing a one-line error.
static int parse_gen(int argc, char **argv, gen_args *a, bool bench) {
    a->pp = sana_pipeline_default_params();
    a->g = sana_generate_default_params();
    a->output = "out.png";
    a->runs = 5;
    a->warmup = 1;
    long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", gen_opts, NULL)) != -1) {
        switch (c) {
        case OPT_PROMPT: a->g.prompt = optarg; break;
        case OPT_MODEL: a->pp.model = optarg; break;
        case OPT_STEPS: // the model's own range is checked once it is loaded
            if (parse_int("--steps", optarg, 1, 50, &v)) return 2;
            a->g.steps = (int)v;
            a->steps_given = true;
            break;
        case OPT_SEED:
            if (parse_u64("--seed", optarg, &a->g.seed)) return 2;
            a->seed_given = true;
            break;
        case OPT_WIDTH:
            if (parse_int("--width", optarg, 32, SANA_MAX_SIDE, &v)) return 2;
            a->g.width = (int)v;
            break;
        case OPT_HEIGHT:
            if (parse_int("--height", optarg, 32, SANA_MAX_SIDE, &v)) return 2;
            a->g.height = (int)v;
            break;
        case OPT_GUIDANCE:
            if (parse_float("--guidance", optarg, 0.0, 100.0, &a->g.guidance)) return 2;
            break;
        case OPT_MAXT:
            if (parse_float("--max-timestep", optarg, 0.01, 1.6, &a->g.max_timestep)) return 2;
            break;
        case OPT_INTER:
            if (parse_float("--intermediate", optarg, 0.01, 1.6, &a->g.intermediate_timestep)) return 2;
            break;
        case OPT_NOBIN: a->g.resolution_binning = false; break;
        case OPT_NOCHI: a->g.complex_human_instruction = ""; break;
        case OPT_DEVICE: a->pp.device = optarg; break;
        case OPT_THREADS:
            if (parse_int("--threads", optarg, 1, 1024, &v)) return 2;
            a->pp.threads = (int)v;
            break;
        case OPT_OUTPUT: a->output = optarg; break;
        case OPT_QUIET: a->quiet = true; break;
        case OPT_RUNS:
            if (!bench || parse_int("--runs", optarg, 1, 1000, &v)) {
                if (!bench) fprintf(stderr, "sana: --runs is an option of 'sana bench'\n");
                return 2;
            }
            a->runs = (int)v;
            break;
        case OPT_NEGATIVE: a->g.negative_prompt = optarg; break;
        case OPT_CONTROL: a->control = optarg; break;
        case OPT_CONTROL_MODE:
            if (strcmp(optarg, "as-is") == 0) a->control_mode = SANA_CONTROL_AS_IS;
            else if (strcmp(optarg, "sketch") == 0) a->control_mode = SANA_CONTROL_SKETCH;
            else {
                fprintf(stderr, "sana: --control-mode '%s': expected as-is or sketch\n", optarg);
                return 2;
            }
            break;
        case OPT_CONTROL_SCALE:
            if (parse_float("--control-scale", optarg, 0.0, 10.0, &a->g.control_scale)) return 2;
            break;
        case OPT_CONTROLNET: a->pp.controlnet = optarg; break;
        case OPT_WIRING:
            if (strcmp(optarg, "diffusers") == 0) a->pp.controlnet_wiring = SANA_CONTROLNET_DIFFUSERS;
            else if (strcmp(optarg, "nvlabs") == 0) a->pp.controlnet_wiring = SANA_CONTROLNET_NVLABS;
            else {
                fprintf(stderr, "sana: --controlnet-wiring '%s': expected diffusers or nvlabs\n", optarg);
                return 2;
            }
            break;
        case OPT_SAVE_CONTROL: a->save_control = optarg; break;
        case OPT_VARY:
        case OPT_JSON:
        case OPT_WARMUP:
            if (!bench) {
                fprintf(stderr, "sana: --%s is an option of 'sana bench'\n",
                        c == OPT_VARY ? "vary" : c == OPT_JSON ? "json" : "warmup");
                return 2;
            }
            if (c == OPT_WARMUP) {
                if (parse_int("--warmup", optarg, 1, 100, &v)) return 2;
                a->warmup = (int)v;
            } else if (c == OPT_JSON) {
                a->json = optarg;
            } else if (strcmp(optarg, "none") == 0 || strcmp(optarg, "seed") == 0 || strcmp(optarg, "prompt") == 0) {
                a->vary = optarg[0] == 'n' ? VARY_NONE : optarg[0] == 's' ? VARY_SEED : VARY_PROMPT;
            } else {
                fprintf(stderr, "sana: --vary '%s': expected none, seed or prompt\n", optarg);
                return 2;
            }
            break;
        case OPT_HELP: usage_generate(stdout); exit(0);
        default: usage_generate(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sana: unexpected argument '%s' (quote a prompt with spaces: --prompt \"...\")\n", argv[optind]);
        return 2;
    }
    if (!a->g.prompt) {
        if (!bench) {
            fprintf(stderr, "sana: --prompt is required (sana generate --help)\n");
            return 2;
        }
        a->g.prompt = "a photo of a red fox in a snowy forest, soft morning light, detailed fur";
    }
    if (!a->seed_given) a->g.seed = bench ? 42 : random_seed();
    if (!a->control && a->save_control) {
        fprintf(stderr, "sana: --save-control needs --control FILE\n");
        return 2;
    }
    // Read the control image now: a bad file is reported before the model is loaded.
    if (a->control) {
        sana_error err = {0};
        if (png_read_rgb8(a->control, a->control_mode == SANA_CONTROL_SKETCH, &a->control_image, &err)) {
            fprintf(stderr, "sana: --control %s\n", err.message);
            return 2;
        }
    }
    return 0;
}

// After loading: the model's step range and defaults, and the control image at the generation
// size, prepared as --control-mode says. Returns 0, or 1/2 after printing a one-line error.
static int finish_args(gen_args *a, sana_pipeline *p) {
    sana_pipeline_info info;
    sana_pipeline_get_info(p, &info);
    if (!a->steps_given) a->g.steps = info.default_steps;
    if (a->g.steps < info.min_steps || a->g.steps > info.max_steps) {
        fprintf(stderr, "sana: --steps '%d': expected an integer from %d to %d for this %s model\n", a->g.steps,
                info.min_steps, info.max_steps, info.kind == SANA_MODEL_SPRINT ? "SANA-Sprint" : "multi-step SANA");
        return 2;
    }
    if (!a->control) return 0;
    if (!info.has_controlnet) {
        fprintf(stderr, "sana: --control %s: %s has no ControlNet; name one with --controlnet DIR\n", a->control,
                sana_pipeline_model_dir(p));
        return 2;
    }
    sana_error err = {0};
    int W, H;
    if (sana_pipeline_generation_size(p, a->g.width, a->g.height, a->g.resolution_binning, &W, &H, &err)) {
        fprintf(stderr, "sana: %s\n", err.message);
        return 2;
    }
    if (a->control_image.width != W || a->control_image.height != H) {
        sana_image r;
        if (sana_image_resize_lanczos(&a->control_image, W, H, &r, &err)) {
            fprintf(stderr, "sana: --control %s: %s\n", a->control, err.message);
            return 1;
        }
        sana_image_free(&a->control_image);
        a->control_image = r;
    }
    if (sana_control_preprocess(&a->control_image, a->control_mode, &err)) {
        fprintf(stderr, "sana: --control %s: %s\n", a->control, err.message);
        return 1;
    }
    a->g.control_image = &a->control_image;
    if (a->save_control && png_write_rgb8(a->save_control, &a->control_image, NULL, 0, &err)) {
        fprintf(stderr, "sana: %s\n", err.message);
        return 1;
    }
    return 0;
}

// The output's folder must be writable before minutes are spent generating.
static int check_output(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "sana: %s: cannot write into %s: %s\n", path, dir, strerror(errno));
        return 2;
    }
    return 0;
}

static int cmd_generate(int argc, char **argv) {
    gen_args a = {0};
    int rc = parse_gen(argc, argv, &a, false);
    if (rc || (rc = check_output(a.output))) {
        sana_image_free(&a.control_image);
        return rc;
    }
    progress_state ps = {.tty = isatty(2), .start = now_ms(), .last_stage = SANA_STAGE_COUNT, .quiet = a.quiet};
    a.pp.progress = a.g.progress = on_progress;
    a.pp.progress_user = a.g.progress_user = &ps;
    signal(SIGINT, on_sigint);

    sana_error err = {0};
    sana_pipeline *p;
    if (sana_pipeline_new(&a.pp, &p, &err)) {
        fprintf(stderr, "%ssana: %s\n", ps.tty && !a.quiet ? "\n" : "", err.message);
        sana_image_free(&a.control_image);
        return err.status == SANA_STATUS_CANCELLED ? 130 : 1;
    }
    if ((rc = finish_args(&a, p))) {
        sana_image_free(&a.control_image);
        sana_pipeline_free(p);
        return rc;
    }
    sana_image img;
    sana_status s = sana_generate(p, &a.g, &img, &err);
    if (ps.tty && !a.quiet) fprintf(stderr, "\n");
    if (s) {
        fprintf(stderr, "sana: %s\n", err.message);
        sana_image_free(&a.control_image);
        sana_pipeline_free(p);
        return s == SANA_STATUS_CANCELLED ? 130 : 1;
    }
    char seed[32], steps[8], guidance[32], size[32], cscale[32];
    snprintf(seed, sizeof seed, "%" PRIu64, a.g.seed);
    snprintf(steps, sizeof steps, "%d", a.g.steps);
    snprintf(guidance, sizeof guidance, "%g", a.g.guidance);
    snprintf(size, sizeof size, "%dx%d", img.width, img.height);
    snprintf(cscale, sizeof cscale, "%g", a.g.control_scale);
    sana_pipeline_info info;
    sana_pipeline_get_info(p, &info);
    png_text_kv text[12] = {
        {"prompt", a.g.prompt}, {"seed", seed}, {"steps", steps}, {"guidance", guidance},
        {"size", size}, {"model", sana_pipeline_model_dir(p)}, {"software", "sana " SANA_VERSION},
    };
    int n_text = 7;
    if (info.kind == SANA_MODEL_MULTISTEP && a.g.negative_prompt && a.g.negative_prompt[0])
        text[n_text++] = (png_text_kv){"negative_prompt", a.g.negative_prompt};
    if (a.g.control_image) {
        text[n_text++] = (png_text_kv){"control", a.control};
        text[n_text++] = (png_text_kv){"control_mode", a.control_mode == SANA_CONTROL_SKETCH ? "sketch" : "as-is"};
        text[n_text++] = (png_text_kv){"control_scale", cscale};
        text[n_text++] = (png_text_kv){"controlnet", info.controlnet_dir};
    }
    s = png_write_rgb8(a.output, &img, text, n_text, &err);
    if (s == SANA_OK) printf("%s (seed %s, %d steps, %s, %s)\n", a.output, seed, a.g.steps, size, sana_pipeline_device(p));
    else fprintf(stderr, "sana: %s\n", err.message);
    sana_image_free(&img);
    sana_image_free(&a.control_image);
    sana_pipeline_free(p);
    return s ? 1 : 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0.0;
}

// Per run: total, wall per stage, device per stage, device per step (up to 4 shown).
#define BENCH_COLS (1 + 2 * 3 + 4)

static int cmd_bench(int argc, char **argv) {
    gen_args a = {0};
    int rc = parse_gen(argc, argv, &a, true);
    if (rc) return rc;
    signal(SIGINT, on_sigint);
    progress_state ps = {.quiet = true};
    a.g.progress = on_progress;
    a.g.progress_user = &ps;
    sana_error err = {0};
    sana_pipeline *p;
    if (sana_pipeline_new(&a.pp, &p, &err)) {
        fprintf(stderr, "sana: %s\n", err.message);
        sana_image_free(&a.control_image);
        return 1;
    }
    if ((rc = finish_args(&a, p))) {
        sana_image_free(&a.control_image);
        sana_pipeline_free(p);
        return rc;
    }
    FILE *json = NULL;
    if (a.json && !(json = fopen(a.json, "w"))) {
        fprintf(stderr, "sana: --json %s: %s\n", a.json, strerror(errno));
        sana_image_free(&a.control_image);
        sana_pipeline_free(p);
        return 1;
    }
    double load[SANA_STAGE_COUNT];
    sana_pipeline_timings(p, load);
    static const char *vary_name[] = {"none", "seed", "prompt"};
    printf("model %s on %s: loaded in %.0f ms\n", sana_pipeline_model_dir(p), sana_pipeline_device(p),
           load[SANA_STAGE_LOAD]);
    printf("%dx%d, %d steps, %d untimed run%s then %d more, varying %s (ms):\n", a.g.width, a.g.height, a.g.steps,
           a.warmup, a.warmup > 1 ? "s" : "", a.runs,
           a.vary == VARY_PROMPT ? "the prompt" : a.vary == VARY_SEED ? "the seed" : "nothing");
    if (json)
        fprintf(json, "{\"model\": \"%s\", \"device\": \"%s\", \"load_ms\": %.3f, \"width\": %d, \"height\": %d, "
                "\"steps\": %d, \"vary\": \"%s\", \"runs\": [\n", sana_pipeline_model_dir(p), sana_pipeline_device(p),
                load[SANA_STAGE_LOAD], a.g.width, a.g.height, a.g.steps, vary_name[a.vary]);
    double *t = calloc((size_t)a.runs * BENCH_COLS, sizeof *t), first[BENCH_COLS] = {0};
    const char *prompt0 = a.g.prompt;
    const uint64_t seed0 = a.g.seed;
    char prompt[4096];
    int done = 0;
    sana_profile last = {0};
    for (int r = -a.warmup; r < a.runs && !interrupted; r++) {
        // The untimed runs (r < 0: the first fills the caches and runs eagerly, the second records
        // the graphs) use the prompt as given; each timed one a new prompt (--vary prompt: the
        // instruction's cache holds, the prompt is encoded again) or a new seed (--vary seed: the
        // prompt cache holds).
        if (a.vary == VARY_PROMPT && r >= 0) {
            snprintf(prompt, sizeof prompt, "%s, variation %d", prompt0, r + 1);
            a.g.prompt = prompt;
        }
        if (a.vary == VARY_SEED) a.g.seed = seed0 + (uint64_t)(r + 1);
        sana_image img;
        double t0 = now_ms();
        if (sana_generate(p, &a.g, &img, &err)) {
            fprintf(stderr, "sana: %s\n", err.message);
            free(t);
            if (json) fclose(json);
            sana_image_free(&a.control_image);
            sana_pipeline_free(p);
            return 1;
        }
        double total = now_ms() - t0;
        sana_image_free(&img);
        sana_profile pr;
        sana_pipeline_profile(p, &pr);
        last = pr;
        double row[BENCH_COLS];
        row[0] = total;
        for (int s = 0; s < 3; s++) {
            row[1 + s] = pr.wall_ms[SANA_STAGE_ENCODE + s];
            row[4 + s] = pr.device_ms[SANA_STAGE_ENCODE + s];
        }
        for (int s = 0; s < 4; s++) row[7 + s] = s < pr.steps ? pr.step_ms[s] : -1.0;
        if (json) {
            fprintf(json, "  %s{\"run\": %d, \"total_ms\": %.4f, \"prompt_cached\": %s, \"graph_launches\": %d, "
                    "\"wall_ms\": [%.4f, %.4f, %.4f], \"device_ms\": [%.4f, %.4f, %.4f], \"step_ms\": [",
                    r == -a.warmup ? "" : ",", r, total, pr.prompt_cached ? "true" : "false", pr.graph_launches, row[1], row[2],
                    row[3], row[4], row[5], row[6]);
            for (int s = 0; s < pr.steps; s++) fprintf(json, "%s%.4f", s ? ", " : "", pr.step_ms[s]);
            fprintf(json, "], \"mem_peak\": %zu, \"device_used\": %zu}\n", pr.mem_peak, pr.device_used);
        }
        if (r < 0) { // untimed; the first: a new prompt (no instruction cache yet), cold caches, eager
            if (r == -a.warmup) memcpy(first, row, sizeof row);
            continue;
        }
        for (int c = 0; c < BENCH_COLS; c++) t[c * a.runs + r] = row[c];
        done++;
    }
    static const char *names[BENCH_COLS] = {"total",         "encode (wall)",   "denoise (wall)", "decode (wall)",
                                            "encode (dev)",  "denoise (dev)",   "decode (dev)",   "step 1 (dev)",
                                            "step 2 (dev)",  "step 3 (dev)",    "step 4 (dev)"};
    printf("  %-16s %10s %10s %10s\n", "", "first", "median", "min");
    for (int c = 0; c < BENCH_COLS && done > 0; c++) {
        if (c >= 7 && c - 7 >= last.steps) break;
        double *col = t + c * a.runs;
        if (col[0] < 0) continue; // not measured here
        const double med = median(col, done);
        printf("  %-16s %10.2f %10.2f %10.2f\n", names[c], first[c], med, col[0]);
    }
    printf("  prompt reused %s, graph launches %d (last run)\n", last.prompt_cached ? "yes" : "no",
           last.graph_launches);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  peak RSS %.0f MB; backend memory %.0f MB now, peak %.0f MB", ru.ru_maxrss / 1024.0,
           last.mem_held / 1048576.0, last.mem_peak / 1048576.0);
    if (last.device_total)
        printf("; device %.0f of %.0f MB used", last.device_used / 1048576.0, last.device_total / 1048576.0);
    printf("\n");
    if (json) {
        fprintf(json, "], \"peak_rss\": %ld, \"mem_held\": %zu, \"mem_peak\": %zu, \"device_used\": %zu, "
                "\"device_total\": %zu}\n", ru.ru_maxrss * 1024L, last.mem_held, last.mem_peak, last.device_used,
                last.device_total);
        fclose(json);
    }
    free(t);
    sana_image_free(&a.control_image);
    sana_pipeline_free(p);
    return 0;
}

// ------------------------------------------------------------------------------------------------
// inspect

// Parameter count and dtypes of one checkpoint.
static void inspect_checkpoint(const char *dir, const char *component, const char *stem) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, component);
    sana_error err = {0};
    sana_safetensors *st;
    if (sana_st_open_dir(path, stem, &st, &err)) {
        printf("  %-13s %s\n", component, err.message);
        return;
    }
    int64_t params = 0, by_dtype[SANA_DTYPE_COUNT] = {0};
    for (int i = 0; i < sana_st_count(st); i++) {
        sana_tensor t;
        sana_st_get(st, sana_st_name(st, i), &t, &err);
        params += sana_tensor_numel(&t);
        by_dtype[t.dtype] += sana_tensor_numel(&t);
    }
    char cls[128] = "?";
    sana_json j;
    snprintf(path, sizeof path, "%s/%s/config.json", dir, component);
    if (sana_json_open(path, &j, &err) == SANA_OK) {
        const char *c = sana_json_str(&j, "_class_name", false, "?");
        snprintf(cls, sizeof cls, "%s", c);
    }
    sana_json_close(&j);
    printf("  %-13s %-24s %8.1f M parameters in %d tensors (", component, cls, params / 1e6, sana_st_count(st));
    bool first = true;
    for (int d = 0; d < SANA_DTYPE_COUNT; d++)
        if (by_dtype[d]) {
            printf("%s%s", first ? "" : ", ", sana_dtype_name((sana_dtype)d));
            first = false;
        }
    printf(")\n");
    sana_st_free(st);
}

static int cmd_inspect(int argc, char **argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: sana inspect [MODEL]\n");
        return 2;
    }
    if (argc < 2) {
        sana_model_info found[64];
        int n = sana_model_list(found, 64);
        if (n == 0) {
            printf("no model found in SANA_MODEL_DIR or the Hugging Face cache\n"
                   "download one with: hf download Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers\n");
            return 1;
        }
        for (int i = 0; i < n && i < 64; i++) printf("%-56s %s\n", found[i].name, found[i].path);
        return 0;
    }
    char dir[4096];
    sana_error err = {0};
    if (sana_model_resolve(argv[1], dir, sizeof dir, &err)) {
        fprintf(stderr, "sana: %s\n", err.message);
        return 1;
    }
    printf("%s\n", dir);
    sana_status complete = sana_model_check(dir, &err);
    inspect_checkpoint(dir, "transformer", "diffusion_pytorch_model");
    inspect_checkpoint(dir, "text_encoder", "model");
    inspect_checkpoint(dir, "vae", "diffusion_pytorch_model");
    char cn[4200];
    snprintf(cn, sizeof cn, "%s/controlnet/config.json", dir);
    if (access(cn, F_OK) == 0) inspect_checkpoint(dir, "controlnet", "diffusion_pytorch_model");
    if (complete) {
        printf("incomplete: %s\n", err.message);
        return 1;
    }
    printf("complete\n");
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0) {
        printf("sana %s\n", SANA_VERSION);
        return 0;
    }
    FILE *f = strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 ? stdout : stderr;
    fprintf(f, "usage: sana generate --prompt TEXT [options]   make an image (sana generate --help)\n"
               "       sana inspect [MODEL]                  what a model folder holds; no MODEL: list models\n"
               "       sana bench [options]                  per-stage timings (generate's options, --runs N)\n");
    return f == stdout ? 0 : 2;
}
