"""pangu.cpp from Python: openPangu-Embedded, Llama and Qwen2 models on CPUs.

    import pangu
    m = pangu.Model.load("../shared/models/stories260K")
    print(m.generate("Once upon a time", max_tokens=16, temperature=0))
    for piece in m.generate("Once upon a time", max_tokens=64, stream=True):
        print(piece, end="", flush=True)

The computation runs in C++ with the GIL released. Library errors raise pangu.Error (a RuntimeError) with
the messages the `pangu` command prints; bad arguments raise ValueError or TypeError naming the keyword.
"""

from ._pangu import (  # noqa: F401
    Completion,
    Error,
    Model,
    TokenStream,
    __version__,
    classify_intent,
    quantize,
)

INTENTS = ("chat", "translation", "summarization", "qa", "rag", "math", "code", "exam")

__all__ = [
    "Completion",
    "Error",
    "INTENTS",
    "Model",
    "TokenStream",
    "__version__",
    "classify_intent",
    "quantize",
]
