// compare.c: see compare.h.
#include "compare.h"

#include <math.h>
#include <stdio.h>

compare_result compare_f32(const float *got, const float *ref, size_t n) {
    compare_result r = {.finite = true};
    double dot = 0, ng = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) r.finite = false;
        double d = fabs((double)got[i] - (double)ref[i]);
        if (d > r.max_abs || isnan(d)) {
            r.max_abs = isnan(d) ? INFINITY : d;
            r.worst = i;
        }
        if (fabs(ref[i]) > r.max_ref) r.max_ref = fabs(ref[i]);
        dot += (double)got[i] * ref[i];
        ng += (double)got[i] * got[i];
        nr += (double)ref[i] * ref[i];
    }
    r.rel = r.max_ref > 0 ? r.max_abs / r.max_ref : r.max_abs;
    r.cosine = (ng > 0 && nr > 0) ? dot / sqrt(ng * nr) : (ng == nr ? 1.0 : 0.0);
    return r;
}

bool compare_report(const char *name, const float *got, const float *ref, size_t n, double max_rel,
                    double min_cos) {
    compare_result r = compare_f32(got, ref, n);
    bool ok = r.finite && r.rel <= max_rel && r.cosine >= min_cos;
    printf("%-4s %-40s n=%-7zu rel=%.3e abs=%.3e cos=%.9f\n", ok ? "ok" : "FAIL", name, n, r.rel, r.max_abs,
           r.cosine);
    if (!ok) {
        printf("     limits rel<=%.1e cos>=%.7f%s; worst index %zu: got %.9g ref %.9g\n", max_rel, min_cos,
               r.finite ? "" : "; got has NaN/Inf", r.worst, got[r.worst], ref[r.worst]);
        printf("     first values (got | ref):");
        for (size_t i = 0; i < n && i < 6; i++) printf(" %.6g|%.6g", got[i], ref[i]);
        printf("\n");
    }
    return ok;
}
