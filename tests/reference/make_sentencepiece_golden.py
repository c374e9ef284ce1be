#!/usr/bin/python3
"""Reference encodings of the Llama-2 SentencePiece tokenizer, made with Debian's python3-sentencepiece
(the upstream Python bindings, independent of pangu's C++ code).

    /usr/bin/python3 tests/reference/make_sentencepiece_golden.py \
        ../shared/tokenizers/llama2/tokenizer.model > tests/data/llama2_sentencepiece_golden.jsonl

Each line: {"text", "ids" (encode, no BOS), "pieces", "decoded" (decode of ids)}.
"""
import json
import sys

import sentencepiece as spm

TEXTS = [
    "Hello, world!",
    "Once upon a time, there was a little girl named Lily.",
    "The quick brown fox jumps over the lazy dog 1234567890 times.",
    "  leading spaces and trailing spaces  ",
    "line one\n\nline three\r\nwindows line\ttab\tseparated",
    "emoji \U0001F600\U0001F680 and accents: café naïve résumé Ångström",
    "盘古大模型是华为推出的大语言模型。",
    "日本語のテキストと한국어 텍스트도 있습니다.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "It's a dog's life; they'll've done it, won't they?",
    "x = [i**2 for i in range(10) if i % 2 == 0]  # squares",
    "ＦＵＬＬＷＩＤＴＨ　ｃｈａｒａｃｔｅｒｓ　１２３",
    "URL: https://example.com/path?query=1&x=2#frag",
    "a",
    "\u0000 control \u0007 bytes \u001b[0m",
    "Rare script: ᚠᛇᚻ᛫ᛒᛦᚦ and math ∮ E⋅da = Q",
]


def main() -> None:
    sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
    for text in TEXTS:
        ids = sp.encode(text)
        print(json.dumps({"text": text, "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids],
                          "decoded": sp.decode(ids)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
