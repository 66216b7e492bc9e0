// test-device: the device factory (sana_backend_new) and the loading of the CUDA module: device
// strings, each way loading can fail with its own message, the auto fallback to the CPU with
// its reason logged, and the module's refusal of a loader built from other sources.
//
// usage: test-device [MODULE]   (MODULE: the libsana-cuda.so this build made, if any)
//
// Runs on any machine: without a GPU the real module must still load and then report that
// there is no device (SANA_STATUS_DEVICE), never fail to load.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "backend.h"

static char logged[2048];

static void capture(sana_log_level level, const char *line, void *user) {
    (void)user;
    if (level >= SANA_LOG_INFO)
        snprintf(logged + strlen(logged), sizeof logged - strlen(logged), "%s %s\n",
                 level == SANA_LOG_INFO ? "info" : "warn", line);
}

static void expect(const char *device, sana_status want, const char *what, const char *s1, const char *s2) {
    sana_error err = {0};
    sana_backend *be = (sana_backend *)1;
    sana_status s = sana_backend_new(device, 1, &be, &err);
    check_error(what, s, &err, want, s1, s2, NULL);
    check_true(be == NULL, "no backend on failure", "got %p", (void *)be);
}

int main(int argc, char **argv) {
    const char *module = argc > 1 ? argv[1] : NULL;
    sana_log_set(capture, NULL);

    // Device strings
    const char *bad[] = {"gpu", "cuda:", "cuda:x", "cuda:-1", "cudax", "CPU", "cuda:1x", "cpu:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "device '%s' is refused", bad[i]);
        expect(bad[i], SANA_STATUS_BAD_INPUT, what, bad[i], "expected auto, cpu, cuda or cuda:N");
    }
    sana_error err = {0};
    sana_backend *be;
    sana_status s = sana_backend_new("cpu", 1, &be, &err);
    check_true(s == SANA_OK && be && strcmp(be->i->name, "cpu") == 0, "device 'cpu'", "%s", err.message);
    sana_backend_free(be);

    // A module that is not there, or is not a library.
    setenv("SANA_CUDA_MODULE", "/nonexistent/libsana-cuda.so", 1);
    expect("cuda", SANA_STATUS_UNSUPPORTED, "a missing module", "/nonexistent/libsana-cuda.so", "not found");
    expect("cuda:1", SANA_STATUS_UNSUPPORTED, "a missing module (cuda:1)", "SANA_CUDA_MODULE", "no CUDA support");
    logged[0] = '\0';
    sana_error_clear(&err);
    s = sana_backend_new("auto", 1, &be, &err);
    check_true(s == SANA_OK && be && strcmp(be->i->name, "cpu") == 0, "auto without a module: the CPU", "%s",
               err.message);
    check_true(strstr(logged, "info device auto: using the CPU") && strstr(logged, "/nonexistent/libsana-cuda.so"),
               "auto says why it uses the CPU (info: a build without CUDA)", "log: %s", logged);
    sana_backend_free(be);
    sana_error_clear(&err);
    s = sana_backend_new(NULL, 1, &be, &err);
    check_true(s == SANA_OK && be, "device NULL means auto", "%s", err.message);
    sana_backend_free(be);

    const char *junk = check_write("libsana-cuda.so", "not a shared library\n", -1);
    setenv("SANA_CUDA_MODULE", junk, 1);
    expect("cuda", SANA_STATUS_UNSUPPORTED, "a module that is not a library", "cannot load", junk);
    // A directory holding that file: the file inside is the one tried.
    setenv("SANA_CUDA_MODULE", check_tmpdir(), 1);
    expect("cuda", SANA_STATUS_UNSUPPORTED, "SANA_CUDA_MODULE as a directory", "cannot load", junk);
    logged[0] = '\0';
    sana_error_clear(&err);
    s = sana_backend_new("auto", 1, &be, &err);
    check_true(s == SANA_OK && be && strcmp(be->i->name, "cpu") == 0 && strstr(logged, "warn device auto") &&
                   strstr(logged, "cannot load"),
               "auto with a module that cannot load: the CPU, and a warning", "log: %s", logged);
    sana_backend_free(be);

    if (module) {
        // The real module loads; without a GPU it says so (DEVICE), with one it runs.
        setenv("SANA_CUDA_MODULE", module, 1);
        sana_error_clear(&err);
        s = sana_backend_new("cuda", 1, &be, &err);
        check_true(s == SANA_OK || s == SANA_STATUS_DEVICE, "the CUDA module loads",
                   "%s: %s", sana_status_name(s), err.message);
        printf("     -> %s%s\n", s ? err.message : "a CUDA backend: ", s ? "" : be->i->name);
        if (s == SANA_OK) sana_backend_free(be);
        sana_error_clear(&err);
        s = sana_backend_new("cuda:4096", 1, &be, &err);
        check_true(s == SANA_STATUS_DEVICE || s == SANA_STATUS_BAD_INPUT, "cuda:4096 is refused", "%s: %s",
                   sana_status_name(s), err.message);
        printf("     -> %s\n", err.message);

        // The module refuses a loader built from other sources.
        void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
        void *sym = h ? dlsym(h, SANA_CUDA_MODULE_ENTRY) : NULL;
        check_true(sym != NULL, "the module exports " SANA_CUDA_MODULE_ENTRY, "%s", h ? "no symbol" : dlerror());
        if (sym) {
            sana_module_new_fn entry;
            memcpy(&entry, &sym, sizeof entry);
            sana_module_args args = {.abi = SANA_BACKEND_ABI + 1,
                                     .sizeof_backend = sizeof(sana_backend),
                                     .sizeof_backend_i = sizeof(sana_backend_i),
                                     .sizeof_tensor = sizeof(sana_tensor),
                                     .log = sana_log};
            sana_error_clear(&err);
            be = NULL;
            s = entry(&args, &be, &err);
            check_error("a loader of another backend ABI", s, &err, SANA_STATUS_UNSUPPORTED, "other sources", NULL);
            args.abi = SANA_BACKEND_ABI;
            args.sizeof_backend_i -= sizeof(void *); // one slot fewer
            sana_error_clear(&err);
            s = entry(&args, &be, &err);
            check_error("a loader with one op slot fewer", s, &err, SANA_STATUS_UNSUPPORTED, "install matching", NULL);
        }
    } else {
        printf("     (this build has no CUDA module: its loading is not checked)\n");
    }
    sana_log_set(NULL, NULL);
    return check_summary("device");
}
