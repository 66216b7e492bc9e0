// backend.c: what all backends share (sticky errors, sync, free) and the device factory, which
// loads the CUDA backend module at run time.
#include "backend.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void sana_backend_fail(sana_backend *be, sana_status status, const char *fmt, ...) {
    if (be->error.status != SANA_OK) return;
    char msg[SANA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sana_errorf(&be->error, status, "%s: %s", be->i->name, msg);
}

sana_status sana_backend_sync(sana_backend *be, sana_error *err) {
    be->i->sync(be);
    if (be->error.status == SANA_OK) return SANA_OK;
    return sana_errorf(err, be->error.status, "%s", be->error.message);
}

void sana_backend_free(sana_backend *be) {
    if (be) be->i->free(be);
}

// ------------------------------------------------------------------------------------------------
// Devices and modules

#ifndef SANA_MODULE_DIR
#define SANA_MODULE_DIR "/usr/local/lib/sana-sprint"
#endif

// The directory of the program or shared library this code was linked into: the object whose
// loaded segments hold this function's address (the main program has an empty name).
typedef struct self_find {
    uintptr_t addr;
    char path[PATH_MAX];
    bool found;
} self_find;

static int self_find_cb(struct dl_phdr_info *info, size_t size, void *user) {
    (void)size;
    self_find *f = user;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || f->addr < lo || f->addr >= lo + ph->p_memsz) continue;
        if (info->dlpi_name && info->dlpi_name[0]) {
            snprintf(f->path, sizeof f->path, "%s", info->dlpi_name);
        } else {
            ssize_t n = readlink("/proc/self/exe", f->path, sizeof f->path - 1);
            if (n <= 0) return 1;
            f->path[n] = '\0';
        }
        f->found = true;
        return 1;
    }
    return 0;
}

static bool self_dir(char *dir, size_t size) {
    self_find f = {.addr = (uintptr_t)&self_dir};
    dl_iterate_phdr(self_find_cb, &f);
    char *slash = f.found ? strrchr(f.path, '/') : NULL;
    if (!slash) return false;
    *slash = '\0';
    return snprintf(dir, size, "%s", f.path[0] ? f.path : "/") < (int)size;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// Finds, loads and calls the module's entry. The handle is never closed: the CUDA runtime
// inside does not support being unloaded, and dlopen of a loaded module only counts a
// reference.
sana_status sana_backend_cuda_new(int index, sana_backend **out, sana_error *err) {
    *out = NULL;
    char cand[3][PATH_MAX], looked[3 * PATH_MAX + 64] = "";
    int n = 0;
    const char *env = getenv("SANA_CUDA_MODULE");
    if (env && env[0]) {
        if (is_dir(env) && sana_path_join(cand[n], PATH_MAX, env, SANA_CUDA_MODULE_FILE))
            n++;
        else
            snprintf(cand[n++], PATH_MAX, "%s", env);
    } else {
        char dir[PATH_MAX];
        if (self_dir(dir, sizeof dir) && sana_path_join(cand[n], PATH_MAX, dir, SANA_CUDA_MODULE_FILE)) n++;
        if (sana_path_join(cand[n], PATH_MAX, SANA_MODULE_DIR, SANA_CUDA_MODULE_FILE)) n++;
    }
    const char *path = NULL;
    for (int i = 0; i < n && !path; i++) {
        if (access(cand[i], F_OK) == 0)
            path = cand[i];
        else
            snprintf(looked + strlen(looked), sizeof looked - strlen(looked), "%s%s", i ? ", " : "", cand[i]);
    }
    if (!path)
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "cuda: the CUDA module was not found (looked for %s%s); this build or install has "
                           "no CUDA support, or SANA_CUDA_MODULE names the wrong file",
                           looked, env && env[0] ? " from SANA_CUDA_MODULE" : "");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED, "cuda: cannot load %s: %s%s", path, why ? why : "?",
                           why && strstr(why, "libcu") ? " (install the CUDA runtime's cuBLAS and cuBLASLt, or put "
                                                         "them in the loader's path)"
                                                       : "");
    }
    sana_module_new_fn entry;
    void *sym = dlsym(h, SANA_CUDA_MODULE_ENTRY);
    memcpy(&entry, &sym, sizeof entry); // object pointer -> function pointer, as POSIX allows
    if (!entry)
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED, "cuda: %s is not a backend module (no %s)", path,
                           SANA_CUDA_MODULE_ENTRY);
    sana_module_args args = {
        .abi = SANA_BACKEND_ABI,
        .sizeof_backend = sizeof(sana_backend),
        .sizeof_backend_i = sizeof(sana_backend_i),
        .sizeof_tensor = sizeof(sana_tensor),
        .device = index,
        .log = sana_log,
    };
    sana_log(SANA_LOG_DEBUG, "cuda: loaded %s", path);
    return entry(&args, out, err);
}

// "cpu" -> 'c'; "cuda" / "cuda:N" -> 'g' and N; "auto", "" or NULL -> 'a'.
static sana_status parse_device(const char *device, char *kind, int *index, sana_error *err) {
    *index = 0;
    if (!device || !device[0] || strcmp(device, "auto") == 0) {
        *kind = 'a';
        return SANA_OK;
    }
    if (strcmp(device, "cpu") == 0) {
        *kind = 'c';
        return SANA_OK;
    }
    if (strncmp(device, "cuda", 4) == 0 && (device[4] == '\0' || device[4] == ':')) {
        *kind = 'g';
        if (device[4] == '\0') return SANA_OK;
        const char *p = device + 5;
        long v = 0;
        bool ok = *p != '\0';
        for (; ok && *p; p++) {
            ok = *p >= '0' && *p <= '9' && v < 1000000;
            v = v * 10 + (*p - '0');
        }
        if (ok) {
            *index = (int)v;
            return SANA_OK;
        }
    }
    return sana_errorf(err, SANA_STATUS_BAD_INPUT, "device '%s': expected auto, cpu, cuda or cuda:N (N = 0, 1, ...)",
                       device);
}

sana_status sana_backend_new(const char *device, int threads, sana_backend **out, sana_error *err) {
    *out = NULL;
    char kind;
    int index;
    sana_status s = parse_device(device, &kind, &index, err);
    if (s) return s;
    if (kind == 'c') return sana_backend_cpu_new(threads, out, err);
    if (kind == 'g') return sana_backend_cuda_new(index, out, err);
    sana_error why = {0};
    s = sana_backend_cuda_new(0, out, &why);
    if (s == SANA_OK) return SANA_OK;
    // No module (a build without CUDA) or no device is an ordinary CPU machine; a module that is
    // there but cannot run (missing cuBLAS, old driver, other sources) is worth a warning.
    bool ordinary = (s == SANA_STATUS_UNSUPPORTED && strstr(why.message, "was not found")) ||
                    (s == SANA_STATUS_DEVICE && strstr(why.message, "no CUDA device"));
    sana_log(ordinary ? SANA_LOG_INFO : SANA_LOG_WARN, "device auto: using the CPU (%s)", why.message);
    return sana_backend_cpu_new(threads, out, err);
}
