// Starts and stops `pangu serve` for the tests: a free port (--port 0, read back from the start-up line), ready
// once /health answers, stopped with SIGTERM (the drain path) and its exit code returned.
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const binary = process.env.PANGU_BINARY ?? path.join(root, "build/pangu");
export const shared = process.env.PANGU_SHARED_DIR ?? path.resolve(root, "../shared");
export const model = (name) => path.join(shared, "models", name);

export async function startServer(args = [], { modelName = "stories260K" } = {}) {
  const modelPath = path.isAbsolute(modelName) ? modelName : model(modelName);
  const child = spawn(binary, ["serve", "-m", modelPath, "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pangu serve did not start:\n${log}`)), 30000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = /http:\/\/[^:]+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`pangu serve exited with ${code}:\n${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    port,
    url,
    log: () => log,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

// Resident memory of a process, in KiB.
export function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
}

// A model slow enough (a few ms a token on one thread) that streaming, cancellation and draining can be seen:
// random weights of a larger Llama shape with stories260K's tokenizer. Returns its directory; remove() it.
export function makeSlowModel() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pangu-slow-"));
  const config = {
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 512, intermediate_size: 2048,
    num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 64, vocab_size: 512,
    max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: true,
    bos_token_id: 1, eos_token_id: 2, torch_dtype: "bfloat16",
  };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  const modelDir = path.join(dir, "model");
  execFileSync(binary, ["synth", "--config", path.join(dir, "config.json"), "-o", modelDir, "--tokenizer",
    model("stories260K")], { stdio: "ignore" });
  return { dir: modelDir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
