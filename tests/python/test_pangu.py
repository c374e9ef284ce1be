"""The Python module against independent references: the CLI's output, ../shared's float64 goldens and
SentencePiece's own Python tokenizer."""

import ast
import json
import pathlib
import threading
import time

import numpy as np
import pytest

import pangu
from conftest import ROOT, golden, model_dir, run_cli

PROMPTS = ["Once upon a time", "Tom and Sue went to the park", "The little dog"]


def cli_greedy_ids(model: str, prompt: str, n: int, *extra: str) -> list[int]:
    r = run_cli("run", "-m", model_dir(model), "-p", prompt, "-n", str(n), "--greedy", "--print-ids", *extra)
    assert r.returncode == 0, r.stderr
    return [int(t) for t in r.stdout.split()]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_generation_equals_pangu_run_token_for_token(stories, prompt):
    c = stories.complete(prompt, max_tokens=48, temperature=0)
    assert c.tokens == cli_greedy_ids("stories260K", prompt, 48)
    assert c.finish_reason in ("length", "eos")


def test_chinese_model_with_suppressed_tokens_equals_pangu_run(poem):
    case = golden("zh-poem-750K")["cases"][0]
    c = poem.complete(case["prompt"], max_tokens=len(case["greedy_ids"]), temperature=0)
    assert c.tokens == case["greedy_ids"]
    assert c.tokens == cli_greedy_ids("zh-poem-750K", case["prompt"], len(case["greedy_ids"]))
    assert c.text == case["greedy_text"]


def test_sampling_with_a_seed_equals_pangu_run(stories):
    got = stories.complete("Tom said", max_tokens=32, temperature=0.9, top_k=20, seed=1234).tokens
    r = run_cli("run", "-m", model_dir("stories260K"), "-p", "Tom said", "-n", "32", "--temp", "0.9", "--top-k", "20",
                "--seed", "1234", "--print-ids")
    assert got == [int(t) for t in r.stdout.split()]


@pytest.mark.parametrize("spec", ["pld", "draft"])
def test_speculative_decoding_is_lossless(stories, spec):
    plain = stories.complete(PROMPTS[1], max_tokens=64, temperature=0).tokens
    extra = {"draft": stories} if spec == "draft" else {}
    c = stories.complete(PROMPTS[1], max_tokens=64, temperature=0, spec=spec, spec_k=4, **extra)
    assert c.tokens == plain
    assert c.speculation["proposed"] > 0


def write_profile(path: pathlib.Path) -> str:
    """A hand-written strategy profile (docs/formats.md): on the stories model, prompt lookup measured faster than
    plain for qa and slower for chat; a draft "self" (the same model) is listed for named strategies."""

    def rows(plain, pld):
        return {"quality": [], "speed": [
            {"variant": "base", "method": m, "decode_tps": t, "decode_tps_ci": [t * 0.95, t * 1.05], "n": 10}
            for m, t in (("plain", plain), ("pld:3:4", pld))]}

    profile = {"format": "pangu-strategy-profile", "version": 1, "threads": 1,
               "variants": {"base": {"path": model_dir("stories260K"), "resident_bytes": 2000000}},
               "drafts": {"self": {"path": model_dir("stories260K"), "resident_bytes": 2000000}},
               "categories": {"qa": rows(10000, 15000), "chat": rows(10000, 5000)},
               "overall": rows(10000, 9000)}
    path.write_text(json.dumps(profile))
    return str(path)


QA = "What is the capital of France? Tom and Sue went to the park."
CHAT = "Tom and Sue went to the park. Hello, how are you today?"


def test_strategy_auto_picks_the_method_the_profile_measured_fastest(stories, tmp_path):
    profile = write_profile(tmp_path / "profile.json")
    plain = stories.complete(QA, max_tokens=32, temperature=0)
    assert plain.strategy is None
    c = stories.complete(QA, max_tokens=32, temperature=0, strategy="auto", profile=profile)
    assert c.tokens == plain.tokens
    assert (c.strategy["category"], c.strategy["variant"], c.strategy["method"]) == ("qa", "base", "pld:3:4")
    assert c.speculation["proposed"] > 0
    chat = stories.complete(CHAT, max_tokens=8, temperature=0, strategy="auto", profile=profile)
    assert (chat.strategy["category"], chat.strategy["method"]) == ("chat", "plain")
    assert chat.speculation["proposed"] == 0
    # The same choice as `pangu run -m MODEL --strategy auto`.
    r = run_cli("run", "-m", model_dir("stories260K"), "--strategy", "auto", "--profile", profile, "-p", QA, "-n", "32",
                "--greedy", "--stats-json", str(tmp_path / "run.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run.json").read_text())["strategy"]["method"] == c.strategy["method"]


def test_a_named_strategy_with_a_draft_is_applied_and_lossless(stories, tmp_path):
    profile = write_profile(tmp_path / "profile.json")
    plain = stories.complete(CHAT, max_tokens=32, temperature=0).tokens
    c = stories.complete(CHAT, max_tokens=32, temperature=0, strategy="base/draft:self:3", profile=profile)
    assert c.tokens == plain
    assert c.strategy["method"] == "draft:self:3"
    assert c.speculation["proposed"] > 0 and c.speculation["accepted"] >= 0.9 * c.speculation["proposed"]
    stream = stories.generate(CHAT, max_tokens=8, temperature=0, strategy="base/pld:2:3", profile=profile, stream=True)
    list(stream)
    assert stream.completion.strategy["method"] == "pld:2:3"


def test_strategy_mistakes_are_named(stories, poem, tmp_path):
    profile = write_profile(tmp_path / "profile.json")
    with pytest.raises(pangu.Error, match="none of the variants"):
        poem.generate("x", strategy="auto", profile=profile)
    with pytest.raises(ValueError, match="drop spec="):
        stories.generate("x", strategy="auto", profile=profile, spec="pld")
    with pytest.raises(ValueError, match="profile: needs strategy"):
        stories.generate("x", profile=profile)
    with pytest.raises(pangu.Error, match="no variant \"w4\""):
        stories.generate("x", strategy="w4/plain", profile=profile)
    with pytest.raises(pangu.Error, match="draft \"other\""):
        stories.generate("x", strategy="base/draft:other:3", profile=profile)
    with pytest.raises(ValueError, match="objective='fast'"):
        stories.generate("x", strategy="auto", profile=profile, objective="fast")


def test_the_readme_one_liner_prints_the_cli_text(stories):
    text = stories.generate("Once upon a time", max_tokens=16, temperature=0)
    r = run_cli("run", "-m", model_dir("stories260K"), "-p", "Once upon a time", "-n", "16", "--greedy")
    assert text == r.stdout.rstrip("\n")


def test_streaming_pieces_join_to_the_whole_text(stories, poem):
    for model, prompt in ((stories, PROMPTS[0]), (poem, golden("zh-poem-750K")["cases"][1]["prompt"])):
        whole = model.generate(prompt, max_tokens=40, temperature=0)
        stream = model.generate(prompt, max_tokens=40, temperature=0, stream=True)
        pieces = list(stream)
        assert len(pieces) > 1
        assert "".join(pieces) == whole
        assert stream.completion is not None and stream.completion.text == whole


def test_a_dropped_stream_stops_and_frees_the_model(stories):
    stream = stories.generate(PROMPTS[0], max_tokens=-1, ignore_eos=True, temperature=0, stream=True)
    first = next(iter(stream))
    assert first
    del stream  # cancels at the next token; the model's lock is released
    assert stories.generate(PROMPTS[0], max_tokens=4, temperature=0)


def test_logits_equal_the_float64_goldens():
    tiny = pangu.Model.load(model_dir("tiny-pangu-random"))
    g = golden("tiny-pangu-random")
    logits = tiny.logits(g["input_ids"])
    assert logits.dtype == np.float32 and logits.shape == (len(g["input_ids"]), tiny.vocab_size)
    assert np.abs(logits - np.array(g["logits"])).max() < 2e-3  # the C++ golden test's bound
    assert logits.flags["C_CONTIGUOUS"] and logits.flags["OWNDATA"]


def test_logits_of_the_prompt_equal_the_first_step_goldens(stories):
    for case in golden("stories260K")["cases"]:
        last = stories.logits(case["prompt_ids"])[-1]
        assert np.abs(last - np.array(case["first_step_logits"])).max() < 1e-3


def test_tokenizer_equals_sentencepiece_and_the_goldens(stories):
    sentencepiece = pytest.importorskip("sentencepiece")
    sp = sentencepiece.SentencePieceProcessor(model_file=model_dir("stories260K") + "/tokenizer.model")
    for text in ["Once upon a time", "  two  spaces and\nnew lines ", "numbers 12345, punctuation!?", "é ü ß"]:
        assert stories.tokenize(text) == [sp.bos_id()] + sp.encode(text)
        assert stories.detokenize(stories.tokenize(text), skip_special=True) == sp.decode(sp.encode(text))
    for case in golden("stories260K")["cases"]:
        assert stories.tokenize(case["prompt"]) == case["prompt_ids"]
        assert stories.detokenize(case["greedy_ids"], skip_special=True) == case["greedy_text"]


def test_chat_renders_the_template_as_pangu_run_does(stories):
    text = stories.chat([{"role": "user", "content": "Hi"}], max_tokens=12, temperature=0)
    r = run_cli("run", "-m", model_dir("stories260K"), "--chat", "-p", "Hi", "-n", "12", "--greedy")
    assert text == r.stdout.rstrip("\n")


def test_perplexity_equals_pangu_perplexity(stories):
    text = (ROOT / "tests" / "data" / "heldout_stories.txt").read_text()
    got = stories.perplexity(text)
    r = run_cli("perplexity", "-m", model_dir("stories260K"), "-f", str(ROOT / "tests/data/heldout_stories.txt"),
                "--json")
    want = json.loads(r.stdout)
    assert got["n_scored"] == want["n_scored"] and got["n_chunks"] == want["n_chunks"]
    assert got["ppl"] == pytest.approx(want["ppl"], rel=1e-6)


def test_quantize_writes_a_model_that_loads_and_agrees(tmp_path, stories):
    out = tmp_path / "w8a16"
    report = pangu.quantize(model_dir("stories260K"), str(out))
    assert report["quantized_matrices"] > 0 and report["bytes_out"] < report["bytes_in"]
    q = pangu.Model.load(str(out))
    ids = stories.tokenize(PROMPTS[0])
    a, b = stories.logits(ids), q.logits(ids)
    assert (a.argmax(axis=1) == b.argmax(axis=1)).mean() >= 0.8
    with pytest.raises(pangu.Error, match="exists"):
        pangu.quantize(model_dir("stories260K"), str(out))


def test_classify_intent_equals_pangu_adapt_classify():
    for text in ["Translate to French: good morning", "把这段话翻译成英文：今天天气很好", "def f(x): return x +",
                 "What is 17 * 23?", ""]:
        got = pangu.classify_intent(text)
        r = run_cli("adapt", "classify", "-p", text, "--json") if text else None
        if r is not None:
            want = json.loads(r.stdout)
            assert got["category"] == want["category"]
            assert got["confidence"] == pytest.approx(want["confidence"], rel=1e-6)
            assert set(got["scores"]) == set(pangu.INTENTS)
    assert pangu.classify_intent("")["uncertain"]


def test_prompt_recognizer_runs_on_the_model(stories):
    r = stories.classify_intent("Write a poem about the sea", recognizer="prompt")
    assert r["category"] in pangu.INTENTS and abs(sum(r["scores"].values()) - 1) < 1e-4


# ---- bad input raises, never crashes ----


def test_a_missing_model_raises_the_cli_message():
    with pytest.raises(pangu.Error) as e:
        pangu.Model.load("/nonexistent/model")
    r = run_cli("run", "-m", "/nonexistent/model", "-p", "x")
    assert str(e.value) in r.stderr


def test_a_truncated_checkpoint_raises(tmp_path):
    src = pathlib.Path(model_dir("stories260K"))
    for f in src.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(pangu.Error, match="model.safetensors"):
        pangu.Model.load(str(tmp_path))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"temperature": -1.0}, ValueError, "temperature -1"),
        ({"top_p": 0.0}, ValueError, "top_p 0"),
        ({"max_tokens": -5}, ValueError, "max_tokens=-5"),
        ({"logit_bias": {10**6: 1.0}}, ValueError, "logit_bias"),
        ({"spec": "magic"}, ValueError, "spec='magic'"),
        ({"spec": "draft"}, ValueError, "draft="),
        ({"strategy": "auto"}, ValueError, "strategy='auto'"),
        ({"temperature": "hot"}, TypeError, "temperature"),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_bad_arguments_name_the_keyword(stories, kwargs, error, match):
    with pytest.raises(error, match=match):
        stories.generate("Hi", **kwargs)


def test_bad_ids_and_texts(stories):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        stories.generate([1, 10**6])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        stories.logits([-3])
    with pytest.raises(ValueError, match="empty"):
        stories.logits([])
    with pytest.raises(TypeError):
        stories.generate(3.5)
    with pytest.raises(pangu.Error, match="context"):
        stories.generate("word " * 2000)
    # Invalid UTF-8 bytes are a prompt like any other; the reply is valid text.
    assert isinstance(stories.generate(b"\xff\xfe Once", max_tokens=4, temperature=0), str)
    with pytest.raises(ValueError, match="role"):
        stories.chat([{"role": "wizard", "content": "x"}])
    with pytest.raises(ValueError, match="recognizer"):
        stories.classify_intent("x", recognizer="oracle")
    with pytest.raises(pangu.Error, match="intent_probe.json"):
        stories.classify_intent("x", recognizer="probe")


# ---- threads and the GIL ----


def test_generate_while_another_thread_loads_a_model(stories):
    want = stories.complete(PROMPTS[2], max_tokens=64, temperature=0).tokens
    results, errors = {}, []

    def generate():
        try:
            results["tokens"] = [stories.complete(PROMPTS[2], max_tokens=64, temperature=0).tokens for _ in range(5)]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def load():
        try:
            results["models"] = [pangu.Model.load(model_dir("zh-poem-750K")) for _ in range(5)]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=generate), threading.Thread(target=load)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(tokens == want for tokens in results["tokens"])
    assert len(results["models"]) == 5


def count_for(seconds: float, stop: threading.Event | None = None) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while (stop is None and time.perf_counter() - start < seconds) or (stop is not None and not stop.is_set()):
        count += 1
    return count, time.perf_counter() - start


def test_the_gil_is_released_while_generating(stories):
    # A pure-Python loop keeps its pace while another thread generates. Were the GIL held during each 500-token
    # call (~40 ms), the loop would run only in the gaps between calls: about a tenth of its pace.
    alone, alone_seconds = count_for(0.3)
    done = threading.Event()

    def generate():
        for _ in range(8):
            stories.generate(PROMPTS[0], max_tokens=500, ignore_eos=True, temperature=0)
        done.set()

    t = threading.Thread(target=generate)
    t.start()
    beside, beside_seconds = count_for(0, done)
    t.join()
    assert beside_seconds > 0.1
    assert beside / beside_seconds > 0.3 * alone / alone_seconds


def test_concurrent_generations_from_two_threads_are_each_exact(stories):
    want = {p: stories.complete(p, max_tokens=48, temperature=0).tokens for p in PROMPTS}
    got, errors = {}, []

    def worker(p):
        try:
            got[p] = stories.complete(p, max_tokens=48, temperature=0).tokens
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(p,)) for p in PROMPTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == want


# ---- type stubs ----


def test_the_stubs_cover_the_module():
    stub = ast.parse((pathlib.Path(pangu.__file__).parent / "__init__.pyi").read_text())
    top = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    top |= {t.id for n in stub.body if isinstance(n, ast.AnnAssign) for t in [n.target] if isinstance(t, ast.Name)}
    assert set(pangu.__all__) <= top
    classes = {n.name: n for n in stub.body if isinstance(n, ast.ClassDef)}
    for cls in (pangu.Model, pangu.Completion, pangu.TokenStream):
        stubbed = {f.name for f in classes[cls.__name__].body if isinstance(f, ast.FunctionDef)}
        public = {name for name in dir(cls) if not name.startswith("_")}
        assert public <= stubbed, f"{cls.__name__}: not in the stubs: {public - stubbed}"
