#include "serve/chat_page.h"

namespace pangu::serve {

const std::string& chat_page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pangu.cpp chat</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { padding: 8px 16px; border-bottom: 1px solid #ddd; display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; flex: 1; }
  #log { flex: 1; overflow-y: auto; padding: 16px; }
  .msg { max-width: 52em; margin: 0 0 14px; white-space: pre-wrap; }
  .user { color: #124; font-weight: 600; }
  .assistant .meta { color: #777; font-size: 12px; margin-top: 2px; }
  .reasoning { color: #777; font-style: italic; }
  .error { color: #a00; }
  form { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid #ddd; }
  textarea { flex: 1; font: inherit; min-height: 2.6em; }
  input { font: inherit; }
</style>
</head>
<body>
<header>
  <h1>pangu.cpp <span id="model"></span></h1>
  <label>max tokens <input id="max-tokens" type="number" value="256" min="1" style="width:6em"></label>
  <label>API key <input id="api-key" type="password" placeholder="(none)" style="width:10em"></label>
  <button id="clear" type="button">New chat</button>
</header>
<div id="log" aria-live="polite"></div>
<form id="form">
  <textarea id="input" placeholder="Type a message; Enter sends, Shift+Enter for a new line"></textarea>
  <button id="send" type="submit">Send</button>
</form>
<script>
"use strict";
const log = document.getElementById("log");
const input = document.getElementById("input");
const keyInput = document.getElementById("api-key");
keyInput.value = localStorage.getItem("pangu-api-key") || "";
keyInput.addEventListener("change", () => localStorage.setItem("pangu-api-key", keyInput.value));
let history = [];

function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const body = document.createElement("div");
  body.className = "body";
  body.textContent = text;
  div.appendChild(body);
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

fetch("/v1/models", { headers: headers() }).then(r => r.json()).then(j => {
  if (j.data && j.data[0]) document.getElementById("model").textContent = "· " + j.data[0].id;
}).catch(() => {});

async function send(text) {
  history.push({ role: "user", content: text });
  addMessage("user", text);
  const div = addMessage("assistant", "");
  const body = div.querySelector(".body");
  const reasoning = document.createElement("div");
  reasoning.className = "reasoning";
  div.insertBefore(reasoning, body);
  const meta = document.createElement("div");
  meta.className = "meta";
  div.appendChild(meta);
  const started = performance.now();
  let answer = "", firstTokenAt = 0;
  document.getElementById("send").disabled = true;
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ messages: history, stream: true, max_tokens: Number(document.getElementById("max-tokens").value) || 256,
                             stream_options: { include_usage: true } }),
    });
    if (!res.ok) {
      const err = await res.json().catch(() => ({}));
      throw new Error((err.error && err.error.message) || ("HTTP " + res.status));
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", info = null, usage = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const line = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 2);
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.pangu) info = chunk.pangu;
        if (chunk.usage) usage = chunk.usage;
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (!delta) continue;
        if (delta.content) {
          if (!firstTokenAt) firstTokenAt = performance.now();
          answer += delta.content;
          body.textContent = answer;
        }
        if (delta.reasoning_content) reasoning.textContent += delta.reasoning_content;
        log.scrollTop = log.scrollHeight;
      }
    }
    history.push({ role: "assistant", content: answer });
    const parts = [];
    if (info) {
      parts.push("strategy " + info.strategy, "category " + info.category,
                 info.timings.decode_tokens_per_second.toFixed(1) + " tokens/s");
      if (info.speculation) parts.push("accepted " + (100 * info.speculation.acceptance_rate).toFixed(0) + "%");
    }
    if (usage) parts.push(usage.completion_tokens + " tokens");
    if (firstTokenAt) parts.push("first token " + Math.round(firstTokenAt - started) + " ms");
    meta.textContent = parts.join(" · ");
    meta.dataset.done = "1";
  } catch (e) {
    history.pop();
    body.textContent = answer;
    meta.className = "meta error";
    meta.textContent = "error: " + e.message;
    meta.dataset.done = "1";
  } finally {
    document.getElementById("send").disabled = false;
  }
}

document.getElementById("form").addEventListener("submit", e => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text);
});
input.addEventListener("keydown", e => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("form").requestSubmit(); }
});
document.getElementById("clear").addEventListener("click", () => { history = []; log.textContent = ""; });
</script>
</body>
</html>
)HTML";
  return html;
}

}  // namespace pangu::serve
