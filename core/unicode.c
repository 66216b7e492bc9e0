// unicode.c: UTF-8 repair, Python's str.lower() and str.strip() (see unicode.h).
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct sana_case_run {
    uint32_t first, last;
    int32_t stride, delta;
} sana_case_run;

typedef struct sana_case_multi {
    uint32_t cp;
    const char *lower; // UTF-8
} sana_case_multi;

typedef struct sana_cp_range {
    uint32_t first, last;
} sana_cp_range;

#include "unicode-tables.h"

#define REPLACEMENT 0xFFFDu

// ------------------------------------------------------------------------------------------------
// UTF-8

// The length of the well-formed sequence at s (n > 0 bytes left), or, when it is ill-formed,
// minus the length of its maximal subpart (at least 1): Unicode Table 3-7.
static int utf8_scan(const unsigned char *s, size_t n) {
    unsigned b = s[0];
    if (b < 0x80) return 1;
    int len;
    unsigned lo = 0x80, hi = 0xBF; // range of the second byte
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F; // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F; // nothing above U+10FFFF
    } else {
        return -1; // 80..C1, F5..FF never start a sequence
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -i;
        unsigned c = s[i];
        if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return -i;
    }
    return len;
}

bool sana_utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int l = utf8_scan(u + i, n - i);
        if (l < 0) return false;
        i += (size_t)l;
    }
    return true;
}

int sana_utf8_decode(const char *s, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0) {
        *cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
        return 3;
    }
    *cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 | (uint32_t)(u[2] & 0x3F) << 6 |
          (u[3] & 0x3F);
    return 4;
}

int sana_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

char *sana_utf8_sanitize(const char *s, size_t n, size_t *out_n) {
    // Each ill-formed byte becomes at most 3 bytes (U+FFFD).
    char *out = malloc(3 * n + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int l = utf8_scan(u + i, n - i);
        if (l > 0) {
            memcpy(out + o, s + i, (size_t)l);
            o += (size_t)l;
            i += (size_t)l;
        } else {
            o += (size_t)sana_utf8_encode(REPLACEMENT, out + o);
            i += (size_t)-l;
        }
    }
    out[o] = '\0';
    *out_n = o;
    return out;
}

// ------------------------------------------------------------------------------------------------
// Character classes

static bool in_ranges(const sana_cp_range *r, size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].first) hi = mid;
        else if (cp > r[mid].last) lo = mid + 1;
        else return true;
    }
    return false;
}

#define IN(table, cp) in_ranges(table, sizeof(table) / sizeof(table[0]), cp)

// The one-to-one lower-case form of cp (cp itself when it has none).
static uint32_t lower_simple(uint32_t cp) {
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    // Runs are sorted by their first code point; stride-2 runs may interleave with others.
    for (size_t i = 0; i < sizeof lower_runs / sizeof lower_runs[0]; i++) {
        const sana_case_run *r = &lower_runs[i];
        if (r->first > cp) break;
        if (cp <= r->last && (cp - r->first) % (uint32_t)r->stride == 0) return (uint32_t)((int32_t)cp + r->delta);
    }
    return cp;
}

// CPython's Final_Sigma test for the U+03A3 at cps[i]: a cased letter before it (skipping
// case-ignorable ones) and none after it.
static bool final_sigma(const uint32_t *cps, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && IN(case_ignorable, cps[j - 1])) j--;
    if (j == 0 || !IN(cased, cps[j - 1])) return false;
    for (j = i + 1; j < n && IN(case_ignorable, cps[j]); j++) {}
    return j == n || !IN(cased, cps[j]);
}

char *sana_text_lower(const char *s, size_t n, size_t *out_n) {
    // Code points first (the sigma rule looks both ways), then the mapped UTF-8.
    uint32_t *cps = malloc((n + 1) * sizeof *cps);
    char *out = malloc(3 * n + 1); // the longest expansion: U+0130 (2 bytes) -> 3 bytes
    if (!cps || !out) {
        free(cps);
        free(out);
        return NULL;
    }
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        i += (size_t)sana_utf8_decode(s + i, &cps[count]);
        count++;
    }
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t cp = cps[i];
        const char *multi = NULL;
        for (size_t k = 0; k < sizeof lower_multi / sizeof lower_multi[0]; k++)
            if (lower_multi[k].cp == cp) multi = lower_multi[k].lower;
        if (multi) {
            size_t l = strlen(multi);
            memcpy(out + o, multi, l);
            o += l;
            continue;
        }
        uint32_t low = cp == 0x03A3 ? (final_sigma(cps, count, i) ? 0x03C2 : 0x03C3) : lower_simple(cp);
        o += (size_t)sana_utf8_encode(low, out + o);
    }
    free(cps);
    out[o] = '\0';
    *out_n = o;
    return out;
}

void sana_text_strip(const char *s, size_t n, size_t *begin, size_t *end) {
    size_t b = 0, e = n;
    while (b < n) {
        uint32_t cp;
        int l = sana_utf8_decode(s + b, &cp);
        if (!IN(white_space, cp)) break;
        b += (size_t)l;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && ((unsigned char)s[start] & 0xC0) == 0x80) start--; // back to a lead byte
        uint32_t cp;
        sana_utf8_decode(s + start, &cp);
        if (!IN(white_space, cp)) break;
        e = start;
    }
    *begin = b;
    *end = e;
}
