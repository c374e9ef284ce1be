// strategy "auto" in pangu serve: the policy over a profile's rows of the served model, then a bandit that
// learns per category from what requests measure. Outputs stay exactly those of plain decoding.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { model, startServer } from "./server.mjs";

let server, client, dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pangu-profile-"));
  const rows = (plain, pld) => ({
    quality: [],
    speed: [
      { variant: "base", method: "plain", decode_tps: plain, decode_tps_ci: [plain * 0.95, plain * 1.05], n: 10 },
      { variant: "base", method: "pld:3:4", decode_tps: pld, decode_tps_ci: [pld * 0.95, pld * 1.05], n: 10 },
      { variant: "small", method: "plain", decode_tps: 99999, decode_tps_ci: [99990, 99999], n: 10 },
    ],
  });
  const profile = {
    format: "pangu-strategy-profile", version: 1, threads: 1,
    variants: {
      base: { path: model("stories260K"), resident_bytes: 2000000 },
      small: { path: model("zh-poem-750K"), resident_bytes: 1000000 },
    },
    categories: { qa: rows(10000, 15000), chat: rows(10000, 5000) },
    overall: rows(10000, 12000),
  };
  fs.writeFileSync(path.join(dir, "profile.json"), JSON.stringify(profile));
  server = await startServer(["--strategy", "auto", "--profile", path.join(dir, "profile.json")]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
});

after(async () => {
  if (server) assert.equal((await server.stop()).code, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("each request gets the policy's rows of the served model and a method the bandit picks", async () => {
  const prompt = "What is the capital of France? Tom and Sue went to the park.";
  const plain = await client.completions.create({ model: "m", prompt, max_tokens: 32, temperature: 0, strategy: "plain" });
  for (let i = 0; i < 6; i++) {
    const r = await client.completions.create({ model: "m", prompt, max_tokens: 32, temperature: 0 });
    assert.equal(r.choices[0].text, plain.choices[0].text, "lossless whatever the method");
    assert.match(r.pangu.strategy, /^auto:(plain|pld:3:4)$/);
    const methods = r.pangu.auto.arms.map((a) => a.method).sort();
    // The zh-poem variant is not the served model: never an arm, however fast its row.
    assert.deepEqual(methods, ["plain", "pld:3:4"]);
  }
  // Six requests of one category were measured: their weight is on the arms now.
  const last = await client.completions.create({ model: "m", prompt, max_tokens: 8, temperature: 0 });
  const weight = last.pangu.auto.arms.reduce((w, a) => w + a.weight, 0);
  assert.ok(weight > 2, `arms ${JSON.stringify(last.pangu.auto.arms)}`);
});

test("the first choice follows the profile: pld where it measured faster, plain where it did not", async () => {
  const fresh = await startServer(["--strategy", "auto", "--profile", path.join(dir, "profile.json")]);
  try {
    const c = new OpenAI({ baseURL: `${fresh.url}/v1`, apiKey: "none", maxRetries: 0 });
    const chat = await c.chat.completions.create({
      model: "m", messages: [{ role: "user", content: "Tell me a story about a brave knight, please!" }], max_tokens: 8, temperature: 0,
    });
    assert.equal(chat.pangu.category, "chat");
    assert.equal(chat.pangu.strategy, "auto:plain");  // pld measured slower for chat: not eligible
    assert.deepEqual(chat.pangu.auto.arms.map((a) => a.method), ["plain"]);
  } finally {
    assert.equal((await fresh.stop()).code, 0);
  }
});

test("what was learned is saved at shutdown (--save-learned) and taken up after a restart", async () => {
  const saved = path.join(dir, "learned.json");
  const first = await startServer(["--strategy", "auto", "--profile", path.join(dir, "profile.json"), "--save-learned", saved]);
  const prompt = "What is the capital of France? Tom and Sue went to the park.";
  try {
    const c = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: "none", maxRetries: 0 });
    for (let i = 0; i < 4; i++) await c.completions.create({ model: "m", prompt, max_tokens: 16, temperature: 0 });
  } finally {
    assert.equal((await first.stop()).code, 0);
  }
  const learned = JSON.parse(fs.readFileSync(saved, "utf8")).learned.base;
  const arms = learned.qa;
  assert.ok(arms && arms.length === 2, `learned ${JSON.stringify(learned)}`);
  // The prior counts 1 per arm; four measured requests add up to more.
  const weight = arms.reduce((w, a) => w + a.weight, 0);
  assert.ok(weight > 2, `arms ${JSON.stringify(arms)}`);
  for (const a of arms) assert.ok(a.mean_tps > 0);

  const second = await startServer(["--strategy", "auto", "--profile", saved]);
  try {
    const c = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: "none", maxRetries: 0 });
    const r = await c.completions.create({ model: "m", prompt, max_tokens: 8, temperature: 0 });
    // The restarted server starts from the saved arms, not from the profile's priors alone.
    const restored = r.pangu.auto.arms.reduce((w, a) => w + a.weight, 0);
    assert.ok(restored > 2, `arms after the restart ${JSON.stringify(r.pangu.auto.arms)}`);
  } finally {
    assert.equal((await second.stop()).code, 0);
  }
});
