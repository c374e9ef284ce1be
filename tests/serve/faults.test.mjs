// pangu serve under faults: huge bodies, held-open partial requests, clients that vanish mid-stream, a full
// queue, 200 requests mixing good and bad, and SIGTERM while a request streams. The server must stay up,
// complete every good request, keep its memory flat, and drain to exit 0.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { makeSlowModel, rssKiB, startServer } from "./server.mjs";

const slow = makeSlowModel();
const slowModel = slow.dir;
after(() => slow.remove());

const post = (url, body, headers = {}) =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(predicate, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("faults on a slow model", () => {
  let server;
  before(async () => {
    server = await startServer(["--parallel", "2", "--queue", "2", "--max-body", "1", "--read-timeout", "2",
      "--drain-timeout", "10", "-t", "1"], { modelName: slowModel });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("a body over --max-body gets 413 and the server goes on", async () => {
    const r = await post(`${server.url}/v1/completions`, JSON.stringify({ prompt: "x".repeat(2 << 20) }));
    assert.equal(r.status, 413);
    const ok = await post(`${server.url}/v1/completions`, { prompt: "Once", max_tokens: 4 });
    assert.equal(ok.status, 200);
  });

  test("held-open partial requests are closed after --read-timeout, and others are served meanwhile", async () => {
    const sockets = [];
    const closed = [];
    for (let i = 0; i < 4; i++) {
      const s = net.connect(server.port, "127.0.0.1");
      await new Promise((r) => s.on("connect", r));
      s.write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"prompt\":");
      closed.push(new Promise((r) => s.on("close", r)));
      s.on("error", () => {});
      s.resume();  // read what the server answers, so its closing is seen
      sockets.push(s);
    }
    const r = await post(`${server.url}/v1/completions`, { prompt: "Once", max_tokens: 4 });
    assert.equal(r.status, 200);
    const started = Date.now();
    await Promise.all(closed);
    assert.ok(Date.now() - started < 6000, "closed by the server's read timeout");
  });

  test("a client that vanishes mid-stream frees its slot within a step", async () => {
    const before = await metric(server.url, "pangu_completion_tokens_total");
    const r = await post(`${server.url}/v1/completions`,
      { prompt: "Once upon a time", max_tokens: 1500, ignore_eos: true, stream: true }, {});
    const reader = r.body.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel();  // the client goes away
    assert.ok(await until(async () => (await metric(server.url, "pangu_active_slots")) === 0, 3000), "slot freed");
    const generated = (await metric(server.url, "pangu_completion_tokens_total")) - before;
    assert.ok(generated < 1000, `cancelled early: ${generated} of 1500 tokens generated`);
    assert.ok((await metric(server.url, 'pangu_requests_total{status="499"}')) >= 1);
  });

  test("a full queue answers 503 with Retry-After", async () => {
    const body = { prompt: "Once", max_tokens: 150, ignore_eos: true };
    const results = await Promise.all(Array.from({ length: 8 }, () => post(`${server.url}/v1/completions`, body)));
    const statuses = results.map((r) => r.status);
    assert.ok(statuses.includes(503), `statuses ${statuses}`);
    // At least the queue's 2 are admitted; how many more depends on whether the engine has moved queued
    // requests into its 2 slots before the rest arrive (a loaded CI machine admitted 3 of 8).
    assert.ok(statuses.filter((s) => s === 200).length >= 2, `statuses ${statuses}`);
    const refused = results.find((r) => r.status === 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await refused.json()).error.code, "queue_full");
    await Promise.all(results.filter((r) => r !== refused).map((r) => r.text()));
  });

  test("SIGTERM drains: the streaming request finishes, new ones are refused, exit 0", async () => {
    const r = await post(`${server.url}/v1/completions`, { prompt: "Once", max_tokens: 200, ignore_eos: true, stream: true });
    const reader = r.body.getReader();
    await reader.read();
    server.child.kill("SIGTERM");
    assert.ok(await until(async () => {
      try {
        return (await fetch(`${server.url}/health`)).status === 503;
      } catch {
        return true;  // already stopped listening
      }
    }, 3000));
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    assert.match(text, /"finish_reason":"length"/);
    assert.match(text, /data: \[DONE\]/);
    const { code } = await server.exited;
    assert.equal(code, 0);
    server = null;
  });
});

describe("200 requests mixing good and bad", () => {
  test("every good request completes, every bad one gets a 4xx, memory stays flat", async () => {
    const server = await startServer(["--parallel", "4", "--queue", "256"]);
    try {
      const good = (i) => ({ prompt: ["Once upon a time", "Tom and Sue", "The dog"][i % 3], max_tokens: 8 + (i % 5), temperature: 0 });
      const bad = [
        "{not json", "[]", JSON.stringify({ prompt: 3 }), JSON.stringify({ prompt: "x", temperature: "hot" }),
        JSON.stringify({ prompt: "x", n: 3 }), JSON.stringify({ messages: "hi" }), JSON.stringify({ prompt: "x", max_tokens: -4 }),
        JSON.stringify({ prompt: "x", logit_bias: { "-1": 5 } }), "\u0000\u0001\u0002", JSON.stringify({ prompt: "\uD800" }),
      ];
      const run = async (n, offset) => {
        const jobs = Array.from({ length: n }, (_, i) => i + offset);
        const outcomes = [];
        for (let i = 0; i < jobs.length; i += 16) {
          outcomes.push(...await Promise.all(jobs.slice(i, i + 16).map(async (j) => {
            const isBad = j % 3 === 2;
            const r = await post(`${server.url}/v1/completions`, isBad ? bad[j % bad.length] : good(j));
            const body = await r.json();
            return { isBad, status: r.status, body };
          })));
        }
        return outcomes;
      };
      await run(50, 0);  // warm-up: buffers grow to their working size
      const rssBefore = rssKiB(server.child.pid);
      const outcomes = await run(200, 50);
      const rssAfter = rssKiB(server.child.pid);
      for (const o of outcomes) {
        if (o.isBad) {
          assert.ok(o.status >= 400 && o.status < 500, JSON.stringify(o));
          assert.equal(typeof o.body.error.message, "string");
        } else {
          assert.equal(o.status, 200, JSON.stringify(o.body));
          assert.ok(o.body.usage.completion_tokens > 0);
        }
      }
      assert.ok(rssAfter - rssBefore < 8 * 1024, `RSS grew from ${rssBefore} to ${rssAfter} KiB`);
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });
});
