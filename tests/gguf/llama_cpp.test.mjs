// GGUF files written by `pangu export`, run by llama.cpp itself (the prebuilt CPU build in node-llama-cpp
// 3.22.1, llama.cpp v0.5.0): greedy tokens must equal `pangu run` on the source directory, and llama.cpp's
// tokenization of the file must equal ours. Three layouts: stories260K (llama: q/k rows permuted), stories260K
// expanded to a small openPangu-Embedded shape (pangu-embedded: q/k/v/o biases), and stories260K pruned with
// per-layer MLP widths (deci). Then pangu reads its own exports and llama.cpp's: same tokens again.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const here = path.dirname(new URL(import.meta.url).pathname);
const pangu = process.env.PANGU_BINARY ?? path.join(here, "../../build/pangu");
const shared = process.env.PANGU_SHARED_DIR ?? path.join(here, "../../../shared");
const stories = path.join(shared, "models/stories260K");
const prompts = ["Once upon a time", "The little dog saw a big red ball", "Lily and Tom went to the park. They"];
const nTokens = 64;

let work, llama;

function run(args) {
  return execFileSync(pangu, args, {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]});
}

function panguGreedy(model, promptArgs) {
  return run(["run", "-m", model, ...promptArgs, "-n", String(nTokens), "--greedy", "--ignore-eos", "--print-ids"])
      .trim().split(/\s+/).map(Number);
}

async function llamaCppGreedy(file) {
  const model = await llama.loadModel({modelPath: file, gpuLayers: 0});
  const results = [];
  for (const text of prompts) {
    // llama.cpp's own tokenizer from the file's metadata; BOS as the file says (add_bos_token).
    const ids = [model.tokens.bos, ...Array.from(model.tokenize(text, false)).map(Number)];
    const context = await model.createContext({contextSize: ids.length + nTokens + 8, threads: 2});
    const seq = context.getSequence();
    const out = [];
    for await (const token of seq.evaluate(ids, {temperature: 0, yieldEogToken: true})) {
      out.push(Number(token));
      if (out.length >= nTokens) break;
    }
    await context.dispose();
    results.push({text, ids, out});
  }
  await model.dispose();
  return results;
}

async function checkAgreement(source, file, expectedArch) {
  const header = fs.readFileSync(file).subarray(0, 4096).toString("latin1");
  assert.ok(header.includes(expectedArch), `${file} should have general.architecture ${expectedArch}`);
  for (const {text, ids, out} of await llamaCppGreedy(file)) {
    // Same prompt ids: the decoders must agree token for token.
    assert.deepEqual(panguGreedy(source, ["--ids", ids.join(",")]), out, `${source} vs llama.cpp, prompt "${text}"`);
    // Our tokenizer on the text: the same ids, so the same continuation.
    assert.deepEqual(panguGreedy(source, ["-p", text]), out, `tokenization of "${text}"`);
    // And pangu reading the exported file.
    assert.deepEqual(panguGreedy(file, ["-p", text]), out, `${file} read back by pangu, prompt "${text}"`);
  }
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pangu-gguf-"));
  llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
      progressLogs: false, maxThreads: 2, logLevel: LlamaLogLevel.error});
});

after(async () => {
  await llama?.dispose();
  fs.rmSync(work, {recursive: true, force: true});
});

test("llama: stories260K exported as f32 and q8_0", async () => {
  for (const type of ["f32", "q8_0"]) {
    const file = path.join(work, `stories-${type}.gguf`);
    run(["export", "-m", stories, "-o", file, "--type", type]);
    if (type === "f32") {
      await checkAgreement(stories, file, "llama");
    } else {
      // Q8_0 changes the weights: llama.cpp and pangu must still agree on the file itself.
      for (const {ids, out} of await llamaCppGreedy(file))
        assert.deepEqual(panguGreedy(file, ["--ids", ids.join(",")]), out, "q8_0 file: pangu vs llama.cpp");
    }
  }
});

test("pangu-embedded: stories260K expanded to a small openPangu-Embedded shape (biases)", async () => {
  const config = path.join(work, "small-pangu.json");
  fs.writeFileSync(config, JSON.stringify({
    architectures: ["PanguEmbeddedForCausalLM"], model_type: "PanguEmbedded", bias: true, hidden_size: 256,
    intermediate_size: 512, num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 32,
    vocab_size: 512, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000.0, hidden_act: "silu",
    tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, torch_dtype: "bfloat16"}));
  const dir = path.join(work, "stories-pangu");
  execFileSync("/usr/bin/python3", [path.join(shared, "tools/expand/expand.py"), stories, config, dir],
      {stdio: ["ignore", "ignore", "pipe"]});
  // f32 holds the bf16 weights exactly; a bf16 file would have llama.cpp round activations to bf16 too, and
  // near-ties in the greedy choice then go either way.
  const file = path.join(work, "stories-pangu.gguf");
  run(["export", "-m", dir, "-o", file, "--type", "f32"]);
  await checkAgreement(dir, file, "pangu-embedded");
});

test("deci: stories260K pruned to per-layer MLP widths", async () => {
  const dir = path.join(work, "stories-pruned");
  run(["prune", "-m", stories, "--data", path.join(here, "../data/heldout_stories.txt"), "--ratio", "0.25", "--global",
       "--align", "4", "--rounds", "2", "--steps", "10", "--seq-len", "64", "-o", dir]);
  const widths = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).intermediate_size;
  assert.ok(Array.isArray(widths) && new Set(widths).size > 1, `per-layer widths expected, got ${widths}`);
  const file = path.join(work, "stories-pruned.gguf");
  run(["export", "-m", dir, "-o", file, "--type", "f32"]);
  await checkAgreement(dir, file, "deci");
});
