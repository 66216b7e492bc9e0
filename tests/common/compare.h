// compare.h: numeric comparison for parity tests (DESIGN.md section 5).
//
// The measure is max|got - ref| / max|ref| (relative to the reference's scale) and the cosine
// similarity. A failing comparison prints the first values side by side, the worst index, the
// max absolute and relative error and the cosine.
#ifndef SANA_TEST_COMPARE_H
#define SANA_TEST_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct compare_result {
    double max_abs;  // max |got - ref|
    double max_ref;  // max |ref|
    double rel;      // max_abs / max_ref
    double cosine;
    size_t worst;    // index of max_abs
    bool finite;     // no NaN/Inf in got
} compare_result;

compare_result compare_f32(const float *got, const float *ref, size_t n);

// Compares, prints one line "ok|FAIL name rel=.. cos=.." and, on failure, the details.
// Passes when rel <= max_rel and cosine >= min_cos and got is finite.
bool compare_report(const char *name, const float *got, const float *ref, size_t n, double max_rel,
                    double min_cos);

#endif // SANA_TEST_COMPARE_H
