// test-tokenizer: the Gemma tokenizer and Python's prompt preprocessing against transformers.
//
// usage: test-tokenizer DATA_DIR
// DATA_DIR/tokenizer-gemma holds a tiny Gemma-format tokenizer (tokenizer.json,
// tokenizer_config.json) and golden.json, written by tests/reference/gen_tokenizer.py: for each
// byte string the ids of transformers' GemmaTokenizer, the ids and mask of the pipelines' padded
// and truncated call, and Python's text.lower().strip(). Every one must match exactly; the
// same holds when the merges are stored as "left right" strings (older tokenizers files).
// Then each malformed tokenizer folder must give its own one-line error naming file and key.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "../common/check.h"
#include "tokenizer.h"
#include "unicode.h"
#include "util.h"

static void fx_read(const char *path, char **data, size_t *len) {
    sana_error err = {0};
    if (sana_read_file(path, data, len, &err)) {
        printf("FAIL %s\n", err.message);
        exit(1);
    }
}

static unsigned char *unhex(const char *h, size_t *n) {
    size_t len = strlen(h) / 2;
    unsigned char *b = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    b[len] = 0;
    *n = len;
    return b;
}

static bool same_ids(yyjson_val *arr, const int32_t *ids, size_t n, size_t *where) {
    if (yyjson_arr_size(arr) != n) {
        *where = SANA_MIN(n, yyjson_arr_size(arr));
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if ((int64_t)ids[i] != yyjson_get_sint(yyjson_arr_get(arr, i))) {
            *where = i;
            return false;
        }
    return true;
}

static void print_ids(const char *label, const int32_t *ids, size_t n, yyjson_val *ref) {
    printf("     %s got:", label);
    for (size_t i = 0; i < n && i < 24; i++) printf(" %d", ids[i]);
    printf("\n     %s ref:", label);
    for (size_t i = 0; i < yyjson_arr_size(ref) && i < 24; i++) printf(" %lld", (long long)yyjson_get_sint(yyjson_arr_get(ref, i)));
    printf("\n");
}

typedef struct tally {
    int ids, padded, lower, total;
} tally;

// Runs every golden case through `t`; prints the first few mismatches.
static tally run_golden(const sana_tokenizer *t, yyjson_val *cases, bool check_lower) {
    tally r = {0};
    size_t i, max;
    yyjson_val *c;
    int shown = 0;
    yyjson_arr_foreach(cases, i, max, c) {
        size_t n;
        unsigned char *in = unhex(yyjson_get_str(yyjson_obj_get(c, "in")), &n);
        r.total++;
        int32_t *ids;
        int nids;
        sana_error err = {0};
        size_t where = 0;
        yyjson_val *ref = yyjson_obj_get(c, "ids");
        if (sana_tokenizer_encode(t, (const char *)in, n, true, &ids, &nids, &err) == SANA_OK &&
            same_ids(ref, ids, (size_t)nids, &where)) {
            r.ids++;
        } else if (shown++ < 5) {
            printf("FAIL case %zu (%zu bytes %.60s): ids differ at %zu %s\n", i, n, yyjson_get_str(yyjson_obj_get(c, "in")),
                   where, err.message);
            print_ids("ids", ids, (size_t)nids, ref);
        }
        if (!err.status) free(ids);

        int M = (int)yyjson_get_sint(yyjson_obj_get(c, "max_length"));
        int32_t *pids = malloc((size_t)M * sizeof *pids), *mask = malloc((size_t)M * sizeof *mask);
        err = (sana_error){0};
        yyjson_val *pref = yyjson_obj_get(c, "padded"), *mref = yyjson_obj_get(c, "mask");
        if (sana_tokenizer_encode_padded(t, (const char *)in, n, M, pids, mask, NULL, &err) == SANA_OK &&
            same_ids(pref, pids, (size_t)M, &where) && same_ids(mref, mask, (size_t)M, &where)) {
            r.padded++;
        } else if (shown++ < 5) {
            printf("FAIL case %zu: padded (max_length %d) differs at %zu %s\n", i, M, where, err.message);
            print_ids("padded", pids, (size_t)M, pref);
        }
        free(pids);
        free(mask);

        if (check_lower) {
            size_t sn, ln, rn, b, e;
            char *s = sana_utf8_sanitize((const char *)in, n, &sn);
            char *low = sana_text_lower(s, sn, &ln);
            sana_text_strip(low, ln, &b, &e);
            unsigned char *want = unhex(yyjson_get_str(yyjson_obj_get(c, "lower")), &rn);
            if (e - b == rn && memcmp(low + b, want, rn) == 0) r.lower++;
            else if (shown++ < 5)
                printf("FAIL case %zu: lower().strip() differs: got %zu bytes \"%.*s\", want %zu bytes \"%s\"\n", i,
                       e - b, (int)SANA_MIN(e - b, 80), low + b, rn, want);
            free(s);
            free(low);
            free(want);
        }
        free(in);
    }
    return r;
}

// Writes DIR/tokenizer.json (a copy of the fixture's, edited by `edit`) and returns DIR.
typedef void (*edit_fn)(yyjson_mut_doc *doc, yyjson_mut_val *root);

static const char *write_variant(const char *fixture, const char *name, edit_fn edit) {
    char path[4096];
    yyjson_doc *doc = yyjson_read_file(sana_path_join(path, sizeof path, fixture, "tokenizer.json"), 0, NULL, NULL);
    yyjson_mut_doc *m = yyjson_doc_mut_copy(doc, NULL);
    yyjson_doc_free(doc);
    edit(m, yyjson_mut_doc_get_root(m));
    size_t len;
    char *json = yyjson_mut_write(m, 0, &len);
    yyjson_mut_doc_free(m);
    char file[256];
    snprintf(file, sizeof file, "%s/tokenizer.json", name);
    const char *p = check_write(file, json, (long)len);
    free(json);
    static char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(p) - strlen("/tokenizer.json")), p);
    return dir;
}

static void merges_as_strings(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *merges = yyjson_mut_obj_get(yyjson_mut_obj_get(root, "model"), "merges");
    size_t n = yyjson_mut_arr_size(merges);
    for (size_t i = 0; i < n; i++) {
        yyjson_mut_val *pair = yyjson_mut_arr_get(merges, i);
        char buf[512];
        snprintf(buf, sizeof buf, "%s %s", yyjson_mut_get_str(yyjson_mut_arr_get(pair, 0)),
                 yyjson_mut_get_str(yyjson_mut_arr_get(pair, 1)));
        yyjson_mut_arr_replace(merges, i, yyjson_mut_strcpy(doc, buf));
    }
}

// Drops "<mask>" and "<start_of_turn>" from added_tokens: transformers v5 still matches them as
// special tokens (GemmaTokenizer's mask_token default; tokenizer_config.json's
// extra_special_tokens), and so must the C side.
static void fewer_added(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    (void)doc;
    yyjson_mut_val *added = yyjson_mut_obj_get(root, "added_tokens");
    for (size_t i = yyjson_mut_arr_size(added); i-- > 0;) {
        const char *c = yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(added, i), "content"));
        if (strcmp(c, "<mask>") == 0 || strcmp(c, "<start_of_turn>") == 0) yyjson_mut_arr_remove(added, i);
    }
}

static void bad_merge(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *merges = yyjson_mut_obj_get(yyjson_mut_obj_get(root, "model"), "merges");
    yyjson_mut_val *pair = yyjson_mut_arr_with_strcpy(doc, (const char *[]){"\xe2\x96\x81zq", "xx"}, 2);
    yyjson_mut_arr_insert(merges, pair, 3);
}

static void unigram(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *model = yyjson_mut_obj_get(root, "model");
    yyjson_mut_obj_put(model, yyjson_mut_str(doc, "type"), yyjson_mut_str(doc, "Unigram"));
}

static void no_vocab(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *model = yyjson_mut_obj_get(root, "model");
    yyjson_mut_obj_put(model, yyjson_mut_str(doc, "vocab"), yyjson_mut_arr(doc));
}

static void lstrip(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *tok = yyjson_mut_arr_get(yyjson_mut_obj_get(root, "added_tokens"), 4);
    yyjson_mut_obj_put(tok, yyjson_mut_str(doc, "lstrip"), yyjson_mut_true(doc));
}

static void metaspace(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *pre = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, pre, "type", "Metaspace");
    yyjson_mut_obj_put(root, yyjson_mut_str(doc, "pre_tokenizer"), pre);
}

static void regex_normalizer(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_val *pattern = yyjson_mut_obj_get(yyjson_mut_obj_get(root, "normalizer"), "pattern");
    yyjson_mut_obj_remove_key(pattern, "String");
    yyjson_mut_obj_add_str(doc, pattern, "Regex", "\\s");
}

static void no_model(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    (void)doc;
    yyjson_mut_obj_remove_key(root, "model");
}

static void expect_load_error(const char *what, const char *dir, sana_status want, const char *key) {
    sana_tokenizer *t = NULL;
    sana_error err = {0};
    sana_status s = sana_tokenizer_load(dir, &t, &err);
    check_error(what, s, &err, want, dir, key, NULL);
    sana_tokenizer_free(t);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char fixture[4096], path[4096];
    sana_path_join(fixture, sizeof fixture, argv[1], "tokenizer-gemma");
    yyjson_read_err jerr;
    yyjson_doc *golden = yyjson_read_file(sana_path_join(path, sizeof path, fixture, "golden.json"), 0, NULL, &jerr);
    if (!golden) {
        printf("FAIL %s: %s\n", path, jerr.msg);
        return 1;
    }
    yyjson_val *root = yyjson_doc_get_root(golden), *cases = yyjson_obj_get(root, "cases");

    sana_tokenizer *t;
    sana_error err = {0};
    sana_status s = sana_tokenizer_load(fixture, &t, &err);
    check_true(s == SANA_OK, "load the tiny Gemma tokenizer", "%s", err.message);
    if (s) return check_summary("tokenizer");
    check_true(sana_tokenizer_n_ids(t) == yyjson_get_int(yyjson_obj_get(root, "vocab_size")) &&
                   sana_tokenizer_pad_id(t) == 0 && sana_tokenizer_id(t, "<bos>") == 2 && sana_tokenizer_n_special(t) == 1,
               "vocabulary size and special ids as transformers reports them", "n_ids %d pad %d bos %d",
               sana_tokenizer_n_ids(t), sana_tokenizer_pad_id(t), sana_tokenizer_id(t, "<bos>"));

    tally r = run_golden(t, cases, true);
    check_true(r.ids == r.total, "ids identical to transformers' GemmaTokenizer", "%d of %d strings", r.ids, r.total);
    check_true(r.padded == r.total, "padded/truncated ids and masks identical", "%d of %d strings", r.padded, r.total);
    check_true(r.lower == r.total, "Python's lower().strip() reproduced", "%d of %d strings", r.lower, r.total);
    printf("     %d strings\n", r.total);

    // The CHI's token count (the pipeline's max_length depends on it).
    const char *chi = yyjson_get_str(yyjson_obj_get(root, "chi"));
    int32_t *ids;
    int n;
    s = sana_tokenizer_encode(t, chi, strlen(chi), true, &ids, &n, &err);
    check_true(s == SANA_OK && n == yyjson_get_int(yyjson_obj_get(root, "chi_tokens")),
               "complex human instruction token count", "got %d, want %d", n,
               yyjson_get_int(yyjson_obj_get(root, "chi_tokens")));
    if (!s) free(ids);
    sana_tokenizer_free(t);

    // Merges written as "left right" strings (tokenizers < 0.20) give the same ids.
    const char *dir = write_variant(fixture, "strmerges", merges_as_strings);
    s = sana_tokenizer_load(dir, &t, &err);
    check_true(s == SANA_OK, "load merges stored as strings", "%s", err.message);
    if (!s) {
        tally r2 = run_golden(t, cases, false);
        check_true(r2.ids == r2.total && r2.padded == r2.total, "string merges: identical ids", "%d of %d",
                   r2.ids, r2.total);
        sana_tokenizer_free(t);
    }

    // Special tokens that only tokenizer_config.json (or the class defaults) name.
    dir = write_variant(fixture, "fewer-added", fewer_added);
    char cfg_src[4096], *cfg;
    size_t cfg_len;
    fx_read(sana_path_join(cfg_src, sizeof cfg_src, fixture, "tokenizer_config.json"), &cfg, &cfg_len);
    check_write("fewer-added/tokenizer_config.json", cfg, (long)cfg_len);
    free(cfg);
    s = sana_tokenizer_load(dir, &t, &err);
    check_true(s == SANA_OK, "load without <mask>, <start_of_turn> in added_tokens", "%s", err.message);
    if (!s) {
        tally r3 = run_golden(t, cases, false);
        check_true(r3.ids == r3.total && r3.padded == r3.total, "config-named special tokens still matched",
                   "%d of %d", r3.ids, r3.total);
        sana_tokenizer_free(t);
    }

    // Errors: each names the file and the key.
    expect_load_error("missing folder", "/nonexistent/tokenizer", SANA_STATUS_IO, "tokenizer.json");
    const char *bad = check_write("broken/tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,", -1);
    (void)bad;
    char broken[4096];
    snprintf(broken, sizeof broken, "%s/broken", check_tmpdir());
    expect_load_error("truncated JSON", broken, SANA_STATUS_BAD_FILE, "not valid JSON");
    check_write("array/tokenizer.json", "[1, 2]", -1);
    snprintf(broken, sizeof broken, "%s/array", check_tmpdir());
    expect_load_error("JSON that is not an object", broken, SANA_STATUS_BAD_FILE, "not a JSON object");
    expect_load_error("no model", write_variant(fixture, "nomodel", no_model), SANA_STATUS_BAD_FILE, "\"model\"");
    expect_load_error("vocab not an object", write_variant(fixture, "novocab", no_vocab), SANA_STATUS_BAD_FILE,
                      "\"model.vocab\"");
    expect_load_error("merge of unknown pieces", write_variant(fixture, "badmerge", bad_merge), SANA_STATUS_BAD_FILE,
                      "\"model.merges\"[3]");
    expect_load_error("Unigram model", write_variant(fixture, "unigram", unigram), SANA_STATUS_UNSUPPORTED,
                      "\"model.type\"");
    expect_load_error("lstrip added token", write_variant(fixture, "lstrip", lstrip), SANA_STATUS_UNSUPPORTED,
                      "added_tokens\"[4].lstrip");
    expect_load_error("Metaspace pre-tokenizer", write_variant(fixture, "metaspace", metaspace),
                      SANA_STATUS_UNSUPPORTED, "\"pre_tokenizer\"");
    expect_load_error("Regex normalizer", write_variant(fixture, "regex", regex_normalizer), SANA_STATUS_UNSUPPORTED,
                      "\"normalizer\"");
    dir = write_variant(fixture, "badpad", merges_as_strings);
    check_write("badpad/tokenizer_config.json", "{\"pad_token\": \"<nopad>\"}", -1);
    expect_load_error("unknown pad_token", dir, SANA_STATUS_BAD_FILE, "\"pad_token\"");

    yyjson_doc_free(golden);
    return check_summary("tokenizer");
}
