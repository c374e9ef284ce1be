// Load generator for an OpenAI-compatible server (pangu serve, or any other): C concurrent clients on loopback,
// each sending streamed chat requests built from Spec-Bench prompts one after another, with a fixed seed.
//
//   node bench/serve_bench.mjs --url http://127.0.0.1:8080 [--concurrency 1,2,4,8,16] [--requests 4]
//        [--max-tokens 64] [--prompts ../shared/data/spec_bench/question.jsonl] [--seed 1] [--json out.json]
//        [--random-prompt N --vocab V --greedy]
//
// --random-prompt N sends /v1/completions prompts of N pseudo-random token ids (BOS first) instead, the
// workload of ../shared/tools/peer-bench/node/bench_parallel.mjs, for a side-by-side with llama.cpp.
//
// Per concurrency: requests/s, aggregate output tokens/s over the run, the decode rate while all C streams are
// generating at once (the window from the last stream's first token to the first stream's last token, when
// every prompt is in: what a step over C sequences delivers), TTFT and inter-token latency p50 / p99, and
// errors. Needs node 18+ only.
import fs from "node:fs";

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf("--" + name);
  return i >= 0 ? argv[i + 1] : def;
};
const url = opt("url", "http://127.0.0.1:8080");
const levels = opt("concurrency", "1,2,4,8,16").split(",").map(Number);
const perClient = Number(opt("requests", 4));
const maxTokens = Number(opt("max-tokens", 64));
const promptFile = opt("prompts", new URL("../../shared/data/spec_bench/question.jsonl", import.meta.url).pathname);
const seed = Number(opt("seed", 1));
const apiKey = opt("api-key", process.env.PANGU_API_KEY ?? "");
const jsonOut = opt("json", null);
const randomPrompt = Number(opt("random-prompt", 0));
const vocab = Number(opt("vocab", 150000));
const greedy = argv.includes("--greedy");
let lcg = 777;
const rnd = () => {
  lcg = (lcg * 1103515245 + 12345) & 0x7fffffff;
  return lcg;
};

const prompts = fs.readFileSync(promptFile, "utf8").split("\n").filter(Boolean).map((line) => {
  const j = JSON.parse(line);
  return j.turns ? j.turns[0] : j.prompt ?? j.text;
});
const quantile = (values, q) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const now = () => performance.now() / 1000;

// One streamed request: the arrival time of every content chunk.
async function request(prompt, index) {
  const started = now();
  const sampling = { max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, ignore_eos: true, ...(greedy ? { temperature: 0 } : { temperature: 0.7, seed: seed + index }) };
  const body = randomPrompt > 0
    ? { model: "bench", prompt: [1, ...Array.from({ length: randomPrompt - 1 }, () => 300 + (rnd() % (vocab - 300)))], ...sampling }
    : { model: "bench", messages: [{ role: "user", content: prompt }], ...sampling };
  const res = await fetch(`${url}/v1/${randomPrompt > 0 ? "completions" : "chat/completions"}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) return { ok: false, status: res.status };
  const times = [];
  let generated = 0;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const part of res.body) {
    buffer += decoder.decode(part, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const line = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) return { ok: false, status: 500 };
      if (chunk.usage) generated = chunk.usage.completion_tokens;
      const choice = chunk.choices?.[0];
      if (choice && !choice.finish_reason && (choice.delta?.content || choice.text)) times.push(now());
    }
  }
  // Tokens that complete no character yet (or could begin a stop string) arrive with a later chunk: the
  // count comes from usage, the times from the chunks.
  return { ok: true, started, times, generated };
}

async function level(c) {
  let next = 0;
  const results = [];
  const t0 = now();
  await Promise.all(Array.from({ length: c }, async () => {
    for (let i = 0; i < perClient; i++) {
      const index = next++;
      results.push(await request(prompts[index % prompts.length], index));
    }
  }));
  const wall = now() - t0;
  const ok = results.filter((r) => r.ok && r.times.length);
  const ttft = ok.map((r) => r.times[0] - r.started);
  const itl = ok.flatMap((r) => r.times.slice(1).map((t, i) => t - r.times[i]));
  const tokens = ok.reduce((n, r) => n + r.generated, 0);
  // Decode rate with all streams active: the first round of requests starts together; in the window from the
  // last stream's first token to the first stream's last token every stream decodes (all prompts are in) and
  // each step runs all C. Tokens in the window: each stream's chunks there, scaled by its tokens per chunk
  // (a token that completes no character yet comes with a later chunk).
  const first = ok.slice(0, c);
  let allActive = NaN;
  if (first.length === c && first.every((r) => r.times.length > 1)) {
    const from = Math.max(...first.map((r) => r.times[0]));
    const to = Math.min(...first.map((r) => r.times[r.times.length - 1]));
    const inside = first.reduce((n, r) => n + r.times.filter((t) => t > from && t <= to).length * (r.generated / r.times.length), 0);
    if (to > from) allActive = inside / (to - from);
  }
  return {
    concurrency: c, requests: results.length, errors: results.length - ok.length, wall_s: wall,
    requests_per_s: ok.length / wall, output_tokens_per_s: tokens / wall, decode_tokens_per_s_all_active: allActive,
    ttft_p50_ms: 1000 * quantile(ttft, 0.5), ttft_p99_ms: 1000 * quantile(ttft, 0.99),
    itl_p50_ms: 1000 * quantile(itl, 0.5), itl_p99_ms: 1000 * quantile(itl, 0.99),
  };
}

const rows = [];
await request(prompts[0], 0);  // warm-up
for (const c of levels) {
  const row = await level(c);
  rows.push(row);
  console.error(`[serve-bench] C=${c}: ${row.output_tokens_per_s.toFixed(2)} tokens/s, decode with all active ` +
    `${row.decode_tokens_per_s_all_active.toFixed(2)} tokens/s, ${row.requests_per_s.toFixed(3)} requests/s, ` +
    `TTFT p50 ${row.ttft_p50_ms.toFixed(0)} ms, ITL p50 ${row.itl_p50_ms.toFixed(1)} ms, errors ${row.errors}`);
}
console.log("| C | requests/s | output tokens/s | decode tokens/s, all C active | TTFT p50 / p99 ms | ITL p50 / p99 ms | errors |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
  console.log(`| ${r.concurrency} | ${r.requests_per_s.toFixed(3)} | ${r.output_tokens_per_s.toFixed(2)} | ` +
    `${r.decode_tokens_per_s_all_active.toFixed(2)} | ${r.ttft_p50_ms.toFixed(0)} / ${r.ttft_p99_ms.toFixed(0)} | ` +
    `${r.itl_p50_ms.toFixed(1)} / ${r.itl_p99_ms.toFixed(1)} | ${r.errors} |`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ url, max_tokens: maxTokens, per_client: perClient, seed, rows }, null, 2));
