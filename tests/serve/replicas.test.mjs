// Two `pangu serve` replicas behind nginx on loopback (docs/serve.md): requests and streams pass through,
// both replicas take work, and when one drains and stops the other takes everything (nginx's passive health
// checks: max_fails / fail_timeout, with proxy_next_upstream for errors and 503).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { startServer } from "./server.mjs";

const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));
let replicas = [], proxy, work, port;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  assert.ok(nginx, "nginx is installed (scripts/setup.sh)");
  replicas = [await startServer(["--parallel", "2"]), await startServer(["--parallel", "2"])];
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pangu-nginx-"));
  port = await freePort();
  const conf = `
worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  upstream pangu {
    least_conn;
${replicas.map((r) => `    server 127.0.0.1:${r.port} max_fails=1 fail_timeout=10s;`).join("\n")}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pangu;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`;
  fs.writeFileSync(path.join(work, "nginx.conf"), conf);
  proxy = spawn(nginx, ["-c", path.join(work, "nginx.conf"), "-p", work], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  proxy?.kill("SIGTERM");
  for (const r of replicas) await r.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function requestsServed(replica) {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return Number(/pangu_requests_total\{status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
}

test("requests through nginx reach both replicas and come back whole, streams included", async () => {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "none", maxRetries: 0 });
  const ask = (i) => client.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 16 + (i % 4), temperature: 0 });
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => ask(i)));
  for (const [i, a] of answers.entries()) assert.equal(a.usage.completion_tokens, 16 + (i % 4));
  assert.equal(answers[0].choices[0].text, answers[4].choices[0].text, "the same answer whichever replica served it");
  const served = await Promise.all(replicas.map(requestsServed));
  assert.ok(served.every((n) => n > 0), `requests per replica: ${served}`);

  const stream = await client.chat.completions.create({
    model: "m", messages: [{ role: "user", content: "The little dog" }], max_tokens: 30, temperature: 0, stream: true,
  });
  let text = "", chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? "";
  }
  assert.ok(chunks > 5 && text.length > 0);
});

test("when a replica stops, the other serves everything", async () => {
  const [gone, left] = replicas;
  const { code } = await gone.stop();
  assert.equal(code, 0);
  const before = await requestsServed(left);
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "none", maxRetries: 0 });
  for (let i = 0; i < 8; i++) {
    const r = await client.completions.create({ model: "m", prompt: "Tom and Sue", max_tokens: 8, temperature: 0 });
    assert.equal(r.usage.completion_tokens, 8);
  }
  assert.equal((await requestsServed(left)) - before, 8);
});
