"""Reference fixtures for the Gemma tokenizer (core/tokenizer.c) and Python's prompt preprocessing.

1. Trains a tiny SentencePiece BPE model with Gemma's trainer options (spec part B.6: byte
   fallback, no dummy prefix, identity normalization, digits split, whitespace-only pieces,
   user-defined "\n"/"\t"/U+2581 runs and tags as in the Gemma vocabulary).
2. Converts it with transformers: GemmaTokenizer.from_pretrained() on a folder holding only
   tokenizer.model runs transformers' SentencePiece extractor (vocab + generated merges), with
   add_bos_token=True / add_eos_token=False as the Gemma checkpoints' tokenizer_config.json
   says; save_pretrained() writes tokenizer.json + tokenizer_config.json.
3. Loads that folder back the way the SANA pipelines do (AutoTokenizer, padding_side "right")
   and records, for a few thousand byte strings (ASCII, Korean, Chinese, emoji, combining
   marks, whitespace runs, control characters, ill-formed UTF-8, added-token literals, 10 kB
   texts, upper-case letters of every script): the ids of tokenizer(text), the ids and mask of
   tokenizer(text, padding="max_length", max_length=M, truncation=True), and the UTF-8 of
   text.lower().strip(). A C caller passes bytes, a Python caller a str: the reference turns
   the bytes into text with bytes.decode("utf-8", errors="replace"), as core/unicode.c does.
   Every string is also encoded with tokenizers.Tokenizer.from_file(tokenizer.json) (must
   agree) and with SentencePiece itself (agreement counted, for information).

Run from the repository root:  python tests/reference/gen_tokenizer.py
Writes tests/data/tokenizer-gemma/{tokenizer.json, tokenizer_config.json, golden.json}.
"""

import json
import os
import random
import shutil
import sys
import tempfile

import sentencepiece as spm
import tokenizers
import transformers
from transformers import AutoTokenizer, GemmaTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tokenizer-gemma")

# The default complex human instruction of SanaSprintPipeline.__call__ (diffusers).
CHI = [
    "Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions suitable for image generation. Evaluate the level of detail in the user prompt:",
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial relationships to create vivid and concrete scenes.",
    "- If the prompt is already detailed, refine and enhance the existing details slightly without overcomplicating.",
    "Here are examples of how to transform or refine prompts:",
    "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
    "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass skyscrapers.",
    "Please generate only the enhanced description for the prompt below and avoid including any additional commentary or evaluations:",
    "User Prompt: ",
]

# Gemma's user-defined pieces, in kind (spec B.2): tags, turn markers, newline / U+2581 / tab runs.
USER_DEFINED = (["<mask>", "[@BOS@]"] + [f"<unused{i}>" for i in range(4)] + ["<start_of_turn>", "<end_of_turn>"]
                + ["\n" * k for k in range(1, 9)] + ["\u2581" * k for k in range(2, 9)]
                + ["<table>", "<tr>", "<td>", "</td>", "</tr>", "</table>", "<h1>", "</h1>", "<b>", "</b>"]
                + ["\t" * k for k in range(1, 5)])

WORDS = ("the a an of and in on with by at to from is are was cat cats dog dogs bird small large tiny huge fluffy "
         "white black red green blue yellow golden silver warm cold sunny rainy quiet busy city street forest river "
         "mountain ocean beach sky night morning evening dusk dawn light lights glowing lamp lamps window windowsill "
         "house castle bridge tower glass stone wooden painting photo portrait landscape detailed realistic vivid "
         "beautiful old young woman man child people crowd walking sleeping running flying sitting standing under "
         "over near behind flowers flower tree trees garden park road car bus train boat ship moon sun stars clouds "
         "rain snow fire water shadow reflection style art digital oil watercolor sketch cinematic lighting soft "
         "sharp focus background foreground colorful bright dark mysterious peaceful dramatic ancient modern future "
         "robot dragon knight wizard tea coffee cup book table chair room kitchen library museum market").split()
KOREAN = list("고양이가창가에서자고있다사람들도시거리풍경밤하늘별빛바다산강나무꽃아름다운작은큰하얀검은빨간")
CHINESE = list("一只猫在窗台上睡觉城市街道黄昏人群灯光玻璃摩天大楼红色花朵温暖阳光山水画月亮星空雨雪")
JAPANESE = list("ねこがまどのそばでねむっているカタカナ漢字")
EMOJI = ["🐱", "🐶", "🌸", "🌆", "🚌", "✨", "🔥", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "🏳️‍🌈", "😀", "🎨", "🖼️"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "u\u0308\u0301", "z\u0336\u0335\u0334",
             "\u1100\u1161\u11a8", "नमस्ते", "مرحبا", "שָׁלוֹם", "สวัสดี", "ก\u0e34\u0e49", "Ä", "é", "ñ"]
SPACES = [" ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n ", "\u3000", "\u00a0",
          "\u2028", "\u2029", "\u2581", "\u2581\u2581", "\u2581 \u2581", "\x0b", "\x0c", "\x1c", "\x85", "\u200a"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\u200b", "\u200d", "\ufeff",
            "\u202e", "\u2066", "\ufffd", "\U000e0001"]
ADDED = ["<start_of_turn>", "<end_of_turn>", "<mask>", "<bos>", "<eos>", "<pad>", "<unk>", "<table>", "<td>",
         "</table>", "<unused0>", "<unused3>", "<tabl", "<<mask>>", "<start_of_turn", "[@BOS@]", "<0x41>", "<h1>x</h1>"]
CASED = ["ΟΔΥΣΣΕΥΣ", "Σ", "ΑΣ", "ΑΣ.", "ΑΣ'", "Α'Σ", "ΑΣ'Α", "ΣΑ", "1Σ", "Α\u0301Σ", "ΑΣ\u0301", "ΑΣ\u0301Β",
         "İstanbul", "İ", "I\u0307", "ǅ", "ǈ", "ß", "ẞ", "ПРИВЕТ", "ԱԲԳ", "ᲐᲑᲒ", "𐐀𐐁", "ᎠᎡ", "ꭰ", "ＡＢＣ", "Ⅻ",
         "Ⓐ", "ᾈ", "ῼ", "Ω", "K", "Å", "ꞵꞴ", "𞤀", "𖹀", "DŽ", "ΣΣΣ", "Σ Σ", "A\u00adΣ", "A\u00adΣ\u00ad"]

# Ill-formed UTF-8 (and well-formed edge cases), as raw bytes.
BAD_UTF8 = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\x81", b"\xc2", b"\xc2\x41", b"\xe0\x80\x80", b"\xe0\xa0",
            b"\xe2\x82", b"\xe2\x82\x41", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xef\xbf\xbf", b"\xf0\x80\x80\x80",
            b"\xf0\x90\x80", b"\xf0\x90\x80\x41", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xff",
            b"\xfe\xff", b"\xf8\x88\x80\x80\x80", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",
            b"\xf0\x90\x28\xbc", b"\xf0\x28\x8c\x28"]


def build_corpus(rng):
    lines = list(CHI) * 20
    for _ in range(6000):
        kind = rng.random()
        if kind < 0.6:
            words = [rng.choice(WORDS) for _ in range(rng.randint(2, 14))]
            if rng.random() < 0.3:
                words[0] = words[0].capitalize()
            line = " ".join(words) + rng.choice(["", ".", ",", "!", "?", ":"])
            if rng.random() < 0.2:
                line += " " + str(rng.randint(0, 2025))
        elif kind < 0.75:
            line = " ".join("".join(rng.choice(KOREAN) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 6)))
        elif kind < 0.88:
            line = "".join(rng.choice(CHINESE) for _ in range(rng.randint(3, 12)))
        elif kind < 0.93:
            line = "".join(rng.choice(JAPANESE) for _ in range(rng.randint(3, 10)))
        else:
            line = " ".join(rng.choice(COMBINING + EMOJI[:6] + ["café", "naïve", "über", "façade"]) for _ in range(4))
        lines.append(line)
    return lines


def train(folder, rng):
    corpus = os.path.join(folder, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(build_corpus(rng)))
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(folder, "tokenizer"), model_type="bpe", vocab_size=1000,
        byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
        bos_piece="<bos>", unk_piece="<unk>", user_defined_symbols=USER_DEFINED, add_dummy_prefix=False,
        normalization_rule_name="identity", remove_extra_whitespaces=False, split_digits=True,
        allow_whitespace_only_pieces=True, split_by_whitespace=True, split_by_unicode_script=True,
        split_by_number=True, character_coverage=1.0, num_threads=1, minloglevel=2)
    return os.path.join(folder, "tokenizer.model")


def random_text(rng, category):
    def pick(pool, lo, hi):
        return "".join(rng.choice(pool) for _ in range(rng.randint(lo, hi)))

    if category == "ascii":
        s = ""
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            s += rng.choice(WORDS) if r < 0.6 else str(rng.randint(0, 99999)) if r < 0.7 else \
                pick([chr(c) for c in range(33, 127)], 1, 4)
            s += rng.choice([" ", " ", " ", "", "  ", ", ", ". "])
        return s.encode()
    if category == "korean":
        return " ".join(pick(KOREAN, 1, 5) for _ in range(rng.randint(1, 8))).encode()
    if category == "chinese":
        return pick(CHINESE + ["，", "。", " "], 1, 30).encode()
    if category == "mixed":
        pools = [WORDS, KOREAN, CHINESE, JAPANESE, EMOJI, COMBINING, SPACES]
        return "".join(rng.choice(rng.choice(pools)) + rng.choice(["", " "]) for _ in range(rng.randint(1, 16))).encode()
    if category == "emoji":
        return "".join(rng.choice(EMOJI + [" ", "cat", "\u200d", "\ufe0f", "\U0001f3fb"]) for _ in range(rng.randint(1, 10))).encode()
    if category == "combining":
        return "".join(rng.choice(COMBINING + WORDS[:20] + [" ", chr(rng.randint(0x300, 0x36f))])
                       for _ in range(rng.randint(1, 10))).encode()
    if category == "spaces":
        return "".join(rng.choice(SPACES + WORDS[:30] + ["▁cat", "a"]) for _ in range(rng.randint(1, 12))).encode()
    if category == "controls":
        return "".join(rng.choice(CONTROLS + WORDS[:30] + [" "]) for _ in range(rng.randint(1, 10))).encode()
    if category == "bad_utf8":
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.4:
                parts.append(rng.choice(BAD_UTF8))
            elif r < 0.6:
                parts.append(bytes(rng.randint(0x80, 0xff) for _ in range(rng.randint(1, 4))))
            elif r < 0.7:
                parts.append(rng.choice(EMOJI + COMBINING).encode()[: rng.randint(1, 3)])  # truncated sequences
            else:
                parts.append(rng.choice(WORDS + KOREAN + [" "]).encode())
        return b"".join(parts)
    if category == "random_bytes":
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 40)))
    if category == "added":
        return "".join(rng.choice(ADDED + WORDS[:20] + [" ", "<", ">", "\n"]) for _ in range(rng.randint(1, 10))).encode()
    if category == "cased":
        return "".join(rng.choice(CASED + WORDS[:10] + [" ", "'", ".", "\u0301"]) for _ in range(rng.randint(1, 8))).encode()
    if category == "codepoints":  # any code point of any plane, assigned or not (no surrogates)
        cps = []
        for _ in range(rng.randint(1, 20)):
            plane = rng.choice([0, 0, 0, 1, 2, 14, 15, 16])
            cp = rng.randint(plane << 16, (plane << 16) + 0xffff)
            if 0xd800 <= cp <= 0xdfff:
                cp = 0xfffd
            cps.append(chr(cp))
        return "".join(cps).encode()
    if category == "strip":
        ws = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
              "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u180e", "\ufeff"]
        return (pick(ws, 0, 4) + pick(WORDS[:10] + [" "], 0, 3) + pick(ws, 0, 4)).encode()
    raise ValueError(category)


def strings(rng):
    out = [b"", b" ", b"\n", b"\xe2\x96\x81", b"cat", b" cat", b"a  cat", b"\x00", b"A CAT", "\n".join(CHI).encode()]
    out += ["\n".join(CHI).encode() + p for p in (b"a cat", b"\xf0\x9f\x90\xb1 cat", b"1 cat", b"\n", b"  x")]
    out += BAD_UTF8
    # Runs of one character: where the order of equal-rank merges shows (leftmost first).
    for c in [" ", "\n", "\t", "\u2581", ".", "a", "0", "!", "\u3000", "\u00a0", "\r\n"]:
        out += [(c * k).encode() for k in range(1, 41)]
        out += [("x" + c * k + "y").encode() for k in range(1, 41, 3)]
    # Every code point str.lower() changes, in order, 48 per string; Final_Sigma contexts.
    changed = [chr(c) for c in range(0x110000) if not 0xd800 <= c <= 0xdfff and chr(c).lower() != chr(c)]
    out += ["".join(changed[i:i + 48]).encode() for i in range(0, len(changed), 48)]
    out += [s.encode() for s in CASED]
    cats = {"ascii": 400, "korean": 150, "chinese": 150, "mixed": 250, "emoji": 120, "combining": 120,
            "spaces": 200, "controls": 120, "bad_utf8": 200, "random_bytes": 80, "added": 150, "cased": 150,
            "codepoints": 120, "strip": 100}
    for cat, n in cats.items():
        out += [random_text(rng, cat) for _ in range(n)]
    # 10 kB texts.
    for i in range(10):
        s = b""
        while len(s) < 10240:
            s += random_text(rng, rng.choice(list(cats))) + rng.choice([b" ", b"\n", b""])
        out.append(s)
    return out


def main():
    rng = random.Random(1234)
    tmp = tempfile.mkdtemp()
    try:
        model = train(tmp, rng)
        spmdir = os.path.join(tmp, "spm")
        os.makedirs(spmdir)
        shutil.copy(model, os.path.join(spmdir, "tokenizer.model"))
        tok = GemmaTokenizer.from_pretrained(spmdir, add_bos_token=True, add_eos_token=False)
        os.makedirs(OUT, exist_ok=True)
        tok.save_pretrained(OUT)
        sp = spm.SentencePieceProcessor(model_file=model)
    finally:
        shutil.rmtree(tmp)
    for extra in os.listdir(OUT):  # keep only what the C side reads (and golden.json)
        if extra not in ("tokenizer.json", "tokenizer_config.json", "golden.json"):
            os.remove(os.path.join(OUT, extra))
    cfg_path = os.path.join(OUT, "tokenizer_config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg.pop("vocab_file", None)  # a temporary path
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)

    # The reference: loaded the way the SANA pipelines load it.
    ref = AutoTokenizer.from_pretrained(OUT)
    ref.padding_side = "right"
    raw = tokenizers.Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    assert ref("cat").input_ids[0] == ref.bos_token_id, "BOS must be added"
    cases, spm_agree = [], 0
    for b in strings(rng):
        text = b.decode("utf-8", errors="replace")
        ids = ref(text).input_ids
        assert ids == raw.encode(text).ids, (b, ids)
        spm_agree += ids == [ref.bos_token_id] + sp.encode(text)
        n = len(ids)
        case = {"in": b.hex(), "ids": ids, "lower": text.lower().strip().encode("utf-8").hex()}
        if len(b) < 4096:
            M = rng.choice([max(1, n // 2), n, n + rng.randint(1, 6), rng.randint(1, 3)])
            enc = ref(text, padding="max_length", max_length=M, truncation=True, add_special_tokens=True)
            case.update(max_length=M, padded=enc.input_ids, mask=enc.attention_mask)
        else:  # long texts: truncated hard
            enc = ref(text, padding="max_length", max_length=40, truncation=True, add_special_tokens=True)
            case.update(max_length=40, padded=enc.input_ids, mask=enc.attention_mask)
        cases.append(case)
    golden = {
        "about": "tests/reference/gen_tokenizer.py: ids of transformers' GemmaTokenizer for byte strings decoded "
                 "with errors='replace', padded/truncated calls, and Python's text.lower().strip()",
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "python": sys.version.split()[0], "vocab_size": len(ref),
        "chi": "\n".join(CHI), "chi_tokens": len(ref.encode("\n".join(CHI))),
        "cases": cases,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"), ensure_ascii=True)
    print(f"{len(cases)} strings, vocab {len(ref)}, SentencePiece agrees on {spm_agree}, "
          f"CHI = {golden['chi_tokens']} tokens; transformers {transformers.__version__}, tokenizers "
          f"{tokenizers.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
