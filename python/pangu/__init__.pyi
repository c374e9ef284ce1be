"""Type stubs for pangu (the C++ module pangu._pangu and its re-exports)."""

from typing import Iterator, Literal, Mapping, Sequence, TypedDict, overload

import numpy as np
import numpy.typing as npt

__version__: str
INTENTS: tuple[str, ...]

IntentName = Literal["chat", "translation", "summarization", "qa", "rag", "math", "code", "exam"]

class Error(RuntimeError):
    """A library error, with the message the `pangu` command prints."""

class IntentResult(TypedDict):
    category: IntentName
    confidence: float
    uncertain: bool
    scores: dict[str, float]

class SpeculationStats(TypedDict):
    steps: int
    plain_steps: int
    proposed: int
    accepted: int
    acceptance_rate: float
    mean_accepted_length: float

class PerplexityResult(TypedDict):
    ppl: float
    ppl_stderr: float
    n_ctx: int
    n_chunks: int
    n_scored: int
    seconds: float

class QuantizeReport(TypedDict):
    quantized_matrices: int
    float_tensors: int
    bytes_in: int
    bytes_out: int

class StrategyChoice(TypedDict):
    category: IntentName
    confidence: float
    variant: str
    path: str
    method: str
    why: str

class Completion:
    @property
    def text(self) -> str: ...
    @property
    def tokens(self) -> list[int]: ...
    @property
    def finish_reason(self) -> Literal["eos", "stop", "length", "context", "callback"]: ...
    @property
    def n_prompt(self) -> int: ...
    @property
    def prefill_seconds(self) -> float: ...
    @property
    def decode_seconds(self) -> float: ...
    @property
    def speculation(self) -> SpeculationStats: ...
    @property
    def strategy(self) -> StrategyChoice | None:
        """What strategy= chose (category, variant, method, why); None without strategy=."""

class TokenStream(Iterator[str]):
    def __iter__(self) -> TokenStream: ...
    def __next__(self) -> str: ...
    def cancel(self) -> None: ...
    @property
    def completion(self) -> Completion | None:
        """The whole result once the iterator is exhausted, else None."""

Prompt = str | Sequence[int]

class Model:
    @staticmethod
    def load(path: str, threads: int | None = None, n_ctx: int | None = None, int8_head: bool = False) -> Model: ...
    @overload
    def generate(
        self,
        prompt: Prompt,
        *,
        stream: Literal[False] = False,
        max_tokens: int = 128,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float = 0.05,
        repetition_penalty: float | None = None,
        presence_penalty: float = 0.0,
        frequency_penalty: float = 0.0,
        penalty_last_n: int = 64,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        logit_bias: Mapping[int, float] | None = None,
        ignore_eos: bool = False,
        add_bos: bool = True,
        spec: Literal["none", "pld", "draft"] | None = None,
        spec_k: int = 4,
        spec_n: int = 3,
        spec_adaptive: bool = False,
        spec_p_min: float = 0.0,
        draft: str | Model | None = None,
        strategy: str | None = None,
        profile: str | None = None,
        max_quality_drop: float = 1.0,
        objective: Literal["speed", "quality", "memory"] = "speed",
    ) -> str: ...
    @overload
    def generate(
        self,
        prompt: Prompt,
        *,
        stream: Literal[True],
        max_tokens: int = 128,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float = 0.05,
        repetition_penalty: float | None = None,
        presence_penalty: float = 0.0,
        frequency_penalty: float = 0.0,
        penalty_last_n: int = 64,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        logit_bias: Mapping[int, float] | None = None,
        ignore_eos: bool = False,
        add_bos: bool = True,
        spec: Literal["none", "pld", "draft"] | None = None,
        spec_k: int = 4,
        spec_n: int = 3,
        spec_adaptive: bool = False,
        spec_p_min: float = 0.0,
        draft: str | Model | None = None,
        strategy: str | None = None,
        profile: str | None = None,
        max_quality_drop: float = 1.0,
        objective: Literal["speed", "quality", "memory"] = "speed",
    ) -> TokenStream: ...
    def complete(self, prompt: Prompt, **kwargs: object) -> Completion:
        """generate() returning a Completion (text, ids, finish reason, timings, speculation statistics)."""
    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        chat_template: str = "",
        stream: bool = False,
        **kwargs: object,
    ) -> str | TokenStream: ...
    def tokenize(self, text: str, add_special: bool = True) -> list[int]: ...
    def detokenize(self, ids: Sequence[int], skip_special: bool = False) -> str: ...
    def logits(self, ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """[len(ids), vocab_size] float32."""
    def perplexity(self, text: str, n_ctx: int | None = None, max_chunks: int = 0) -> PerplexityResult: ...
    def classify_intent(
        self, text: str, recognizer: Literal["probe", "prompt", "lexical"] = "probe", probe: str = ""
    ) -> IntentResult: ...
    @property
    def path(self) -> str: ...
    @property
    def n_ctx(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def architecture(self) -> str: ...
    @property
    def eos_token_ids(self) -> list[int]: ...

def classify_intent(text: str, intent_model: str = "") -> IntentResult: ...
def quantize(
    model: str,
    out: str,
    scheme: str = "w8a16",
    group_size: int = 0,
    lm_head: bool = False,
    exclude: str = "",
    float_dtype: Literal["bf16", "f16"] = "bf16",
    force: bool = False,
    threads: int | None = None,
) -> QuantizeReport: ...
