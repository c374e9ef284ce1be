// The chat page in a real browser (Debian's chromium driven by playwright-core): type a message, watch the
// answer stream in, see the strategy and the speed under it, and go on with a second turn.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { chromium } from "playwright-core";
import { makeSlowModel, startServer } from "./server.mjs";

const executablePath = process.env.CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
let slow, server, browser;

before(async () => {
  slow = makeSlowModel();
  server = await startServer(["-t", "1"], { modelName: slow.dir });
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
});

after(async () => {
  await browser?.close();
  if (server) assert.equal((await server.stop()).code, 0);
  slow?.remove();
});

test("a message typed into the page is answered, streamed, with strategy and speed", async () => {
  const page = await browser.newPage();
  await page.goto(server.url + "/");
  await page.waitForSelector("#model:not(:empty)");
  assert.match(await page.textContent("#model"), /model/);
  // Count the distinct texts the answer shows while it arrives: more than one means it streamed.
  await page.evaluate(() => {
    window.seen = new Set();
    new MutationObserver(() => {
      for (const b of document.querySelectorAll(".assistant .body")) if (b.textContent) window.seen.add(b.textContent);
    }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#max-tokens", "200");
  await page.fill("#input", "Once upon a time");
  await page.press("#input", "Enter");
  await page.waitForSelector(".assistant .meta[data-done='1']", { timeout: 60000 });
  const answer = await page.textContent(".assistant .body");
  const meta = await page.textContent(".assistant .meta");
  assert.ok(answer.length > 0);
  assert.match(meta, /strategy plain/);
  assert.match(meta, /[\d.]+ tokens\/s/);
  assert.match(meta, /200 tokens/);
  assert.ok((await page.evaluate(() => window.seen.size)) > 3, "the answer grew piece by piece");
  assert.equal(await page.textContent(".user .body"), "Once upon a time");

  await page.fill("#input", "And then?");
  await page.press("#input", "Enter");
  await page.waitForFunction(() => document.querySelectorAll(".assistant .meta[data-done='1']").length === 2, null, { timeout: 60000 });
  assert.equal(await page.locator(".assistant").count(), 2);
  assert.doesNotMatch(await page.locator(".assistant .meta").nth(1).textContent(), /error/);
});
