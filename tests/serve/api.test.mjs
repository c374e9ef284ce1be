// pangu serve through the official openai client: chat, completions, streaming, stop sequences, usage,
// logprobs, errors and the API key; and batching that is invisible (concurrent greedy requests return exactly
// what each returns alone, which `pangu run` independently gives).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import OpenAI from "openai";
import { binary, model, startServer } from "./server.mjs";

const KEY = "test-key-123";
let server;
let client;

before(async () => {
  server = await startServer(["--parallel", "4", "--api-key", KEY]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, "SIGTERM drains and exits 0");
});

function panguRun(prompt, n) {
  return execFileSync(binary, ["run", "-m", model("stories260K"), "-p", prompt, "-n", String(n), "--greedy"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).replace(/\n$/, "");
}

describe("the OpenAI API", () => {
  test("models lists the served model", async () => {
    const models = await client.models.list();
    assert.equal(models.data[0].id, "stories260K");
  });

  test("a completion equals pangu run, with usage and finish_reason", async () => {
    const r = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0].text, panguRun("Once upon a time", 24));
    assert.equal(r.choices[0].finish_reason, "length");
    assert.equal(r.usage.completion_tokens, 24);
    assert.equal(r.usage.prompt_tokens, 5);
    assert.equal(r.usage.total_tokens, 29);
    assert.equal(typeof r.pangu.category, "string");
  });

  test("chat renders the template and answers", async () => {
    const r = await client.chat.completions.create({
      model: "stories260K",
      messages: [{ role: "system", content: "Tell stories." }, { role: "user", content: "Tom and Sue" }],
      max_completion_tokens: 16,
      temperature: 0,
    });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0].message.role, "assistant");
    assert.ok(r.choices[0].message.content.length > 0);
    assert.equal(r.usage.completion_tokens, 16);
  });

  test("streaming chunks join to the whole answer, ending with usage when asked", async () => {
    const whole = (await client.chat.completions.create({
      model: "stories260K", messages: [{ role: "user", content: "The little dog" }], max_tokens: 40, temperature: 0,
    })).choices[0].message.content;
    const stream = await client.chat.completions.create({
      model: "stories260K", messages: [{ role: "user", content: "The little dog" }], max_tokens: 40, temperature: 0,
      stream: true, stream_options: { include_usage: true },
    });
    let text = "", chunks = 0, finish = null, usage = null;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.ok(chunks > 5);
    assert.equal(text, whole);
    assert.equal(finish, "length");
    assert.equal(usage.completion_tokens, 40);
  });

  test("a streamed completion", async () => {
    const stream = await client.completions.create({ model: "m", prompt: "Lily had", max_tokens: 12, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, panguRun("Lily had", 12));
  });

  test("stop sequences end the text before them, as a string or a list", async () => {
    const full = panguRun("Once upon a time", 48);
    const cut = full.indexOf(".");
    assert.ok(cut > 0, "the reference text holds a period");
    for (const stop of [".", ["zzz", "."]]) {
      const r = await client.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 48, temperature: 0, stop });
      assert.equal(r.choices[0].text, full.slice(0, cut));
      assert.equal(r.choices[0].finish_reason, "stop");
    }
  });

  test("a seed makes sampling reproducible", async () => {
    const ask = () => client.completions.create({ model: "m", prompt: "Once", max_tokens: 32, temperature: 1.0, seed: 42 });
    assert.equal((await ask()).choices[0].text, (await ask()).choices[0].text);
  });

  test("logprobs: the chosen token and its alternatives", async () => {
    const r = await client.chat.completions.create({
      model: "m", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 5, temperature: 0,
      logprobs: true, top_logprobs: 3,
    });
    const content = r.choices[0].logprobs.content;
    assert.equal(content.length, 5);
    for (const entry of content) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 3);
      // Greedy: the chosen token is the most likely one.
      assert.equal(entry.top_logprobs[0].logprob, entry.logprob);
    }
  });

  test("logit_bias and penalties are applied", async () => {
    const base = await client.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 1, temperature: 0, logprobs: 1 });
    const first = base.choices[0].logprobs.tokens[0];
    const ids = execFileSync(binary, ["run", "-m", model("stories260K"), "-p", "Once upon a time", "-n", "1", "--greedy", "--print-ids"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const banned = await client.completions.create({
      model: "m", prompt: "Once upon a time", max_tokens: 1, temperature: 0, logprobs: 1, logit_bias: { [ids]: -100 },
    });
    assert.notEqual(banned.choices[0].logprobs.tokens[0], first);
  });
});

describe("errors", () => {
  const expectError = async (promise, status, param) => {
    await assert.rejects(promise, (e) => {
      assert.equal(e.status, status, e.message);
      if (param) assert.equal(e.param ?? e.error?.param, param);
      return true;
    });
  };

  test("a wrong API key is refused with 401; /health needs none", async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expectError(bad.models.list(), 401);
    const none = await fetch(`${server.url}/v1/models`);
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, "invalid_api_key");
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  test("bad fields get 400 naming the field", async () => {
    const m = [{ role: "user", content: "hi" }];
    await expectError(client.chat.completions.create({ model: "m", messages: m, temperature: 5 }), 400, "temperature");
    await expectError(client.chat.completions.create({ model: "m", messages: m, n: 2 }), 400, "n");
    await expectError(client.chat.completions.create({ model: "m", messages: [] }), 400, "messages");
    await expectError(client.chat.completions.create({ model: "m", messages: [{ role: "wizard", content: "x" }] }), 400, "messages[0].role");
    await expectError(client.chat.completions.create({ model: "m", messages: m, max_tokens: "many" }), 400, "max_tokens");
    await expectError(client.chat.completions.create({ model: "m", messages: m, top_logprobs: 2 }), 400, "top_logprobs");
    await expectError(client.completions.create({ model: "m", prompt: "x", logit_bias: { 99999999: 1 } }), 400, "logit_bias.99999999");
    await expectError(client.completions.create({ model: "m", prompt: "x", strategy: "auto" }), 400, "strategy");
  });

  test("a prompt longer than the context gets 400 with the numbers", async () => {
    await assert.rejects(client.completions.create({ model: "m", prompt: "word ".repeat(2000), max_tokens: 4 }), (e) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /prompt has \d+ tokens; the context of a slot holds 512/);
      return true;
    });
    await assert.rejects(client.completions.create({ model: "m", prompt: "Once", max_tokens: 100000 }), (e) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /context holds 512 tokens/);
      return true;
    });
  });

  test("malformed JSON and unknown routes", async () => {
    const headers = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };
    let r = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers, body: "{not json" });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /not valid JSON/);
    r = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers, body: "[1,2]" });
    assert.equal(r.status, 400);
    r = await fetch(`${server.url}/v1/nothing`, { headers });
    assert.equal(r.status, 404);
    assert.ok((await r.json()).error.message.includes("/v1/nothing"));
  });
});

describe("continuous batching", () => {
  test("concurrent greedy requests return exactly what each returns alone", async () => {
    const prompts = ["Once upon a time", "Tom and Sue went to the park", "The little dog", "Lily had a red ball",
                     "One day, a boy", "The sun was", "Mom said", "A cat and a dog"];
    const ask = (p, n) => client.completions.create({ model: "m", prompt: p, max_tokens: n, temperature: 0 });
    const alone = [];
    for (const [i, p] of prompts.entries()) alone.push((await ask(p, 30 + 7 * i)).choices[0].text);
    const together = await Promise.all(prompts.map((p, i) => ask(p, 30 + 7 * i)));
    assert.deepEqual(together.map((r) => r.choices[0].text), alone);
    // And independently of the server: the CLI gives the same.
    assert.equal(alone[2], panguRun(prompts[2], 30 + 7 * 2));
  });

  test("PLD speculation per request is lossless inside a batch", async () => {
    const p = "Tom had a ball. Tom had a ball. Tom had a";
    const plain = await client.completions.create({ model: "m", prompt: p, max_tokens: 40, temperature: 0 });
    const runs = await Promise.all([0, 1, 2].map(() =>
      client.completions.create({ model: "m", prompt: p, max_tokens: 40, temperature: 0, speculative: { method: "pld", k: 4 } })));
    for (const r of runs) {
      assert.equal(r.choices[0].text, plain.choices[0].text);
      assert.equal(r.pangu.strategy, "pld");
      assert.ok(r.pangu.speculation.proposed > 0);
    }
  });

  test("a continued conversation reuses the cached prefix", async () => {
    const messages = [{ role: "user", content: "Once upon a time there was a girl named Lily who loved to play" }];
    const first = await client.chat.completions.create({ model: "m", messages, max_tokens: 20, temperature: 0 });
    messages.push(first.choices[0].message, { role: "user", content: "And then?" });
    const second = await client.chat.completions.create({ model: "m", messages, max_tokens: 10, temperature: 0 });
    assert.ok(second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens,
      `cached ${second.usage.prompt_tokens_details.cached_tokens} of ${second.usage.prompt_tokens}`);
  });

  test("metrics count what happened", async () => {
    const r = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } });
    const text = await r.text();
    assert.match(text, /pangu_requests_total\{status="200"\} \d+/);
    assert.match(text, /pangu_requests_total\{status="400"\} \d+/);
    assert.match(text, /pangu_time_to_first_token_seconds_count [1-9]/);
    assert.match(text, /pangu_speculative_accepted_total\{category="[a-z]+"\} \d+/);
    assert.match(text, /pangu_strategy_choices_total\{strategy="pld"\} [1-9]/);
    assert.match(text, /pangu_active_slots 0/);
  });
});
