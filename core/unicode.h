// unicode.h: the little Unicode the prompt path needs, with Python's semantics.
//
// The SANA pipelines receive the prompt as a Python str and preprocess it with
// `text.lower().strip()` before tokenizing. A C caller holds bytes instead, so:
// - bytes become text as Python's `bytes.decode("utf-8", errors="replace")` makes them: every
//   maximal ill-formed subsequence (Unicode 3.9, "substitution of maximal subparts", which
//   CPython implements) becomes U+FFFD;
// - sana_text_lower() is Python's str.lower(): the full lower-case mapping (U+0130 becomes two
//   code points) with the Final_Sigma rule (U+03A3 becomes U+03C2 at the end of a word);
// - sana_text_strip() is Python's str.strip() without arguments (str.isspace() characters).
// The tables come from Python itself (core/unicode-tables.h, written by
// tests/reference/gen_unicode_tables.py; its header names the Python and Unicode versions).
//
// What it is not: no normalisation (NFC/NFKC), no locale-dependent casing (Python has none).
#ifndef SANA_UNICODE_H
#define SANA_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A malloc'd, NUL-terminated, well-formed UTF-8 copy of the n bytes at s, with ill-formed
// sequences replaced by U+FFFD as Python's errors="replace" does; *out_n gets its length.
// NULL when out of memory.
char *sana_utf8_sanitize(const char *s, size_t n, size_t *out_n);

// True when the n bytes at s are well-formed UTF-8 (what sana_utf8_sanitize() would not change).
bool sana_utf8_valid(const char *s, size_t n);

// Decodes the code point at s (well-formed UTF-8, at least one byte); returns its byte length.
int sana_utf8_decode(const char *s, uint32_t *cp);

// Writes cp as UTF-8 into out (4 bytes of room); returns the byte length.
int sana_utf8_encode(uint32_t cp, char *out);

// Python's str.lower() of well-formed UTF-8: a malloc'd NUL-terminated copy, its length in
// *out_n; NULL when out of memory.
char *sana_text_lower(const char *s, size_t n, size_t *out_n);

// Python's str.strip(): the well-formed UTF-8 text s[*begin .. *end) without leading and
// trailing white space.
void sana_text_strip(const char *s, size_t n, size_t *begin, size_t *end);

#endif // SANA_UNICODE_H
