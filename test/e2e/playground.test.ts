import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFunctionHost } from "../../infra/local/host.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { createLogger } from "../../lib/log.js";
import { epubOf, fixtureBook } from "../helpers/book-fixture.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// CI installs Debian's chromium (.ci/run) and requires it; a developer's machine without it is told why the browser
// test did not run, instead of failing `npm test`.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium, and CI requires the browser test`);
if (!haveChromium)
  console.warn(
    `playground browser test did not run: ${CHROMIUM} does not exist (apt-get install chromium, or set CHROMIUM_PATH)`,
  );

const cloud = useLocalCloud();
const KEY = "playground-key";
let host: Awaited<ReturnType<typeof startFunctionHost>>;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  host = await startFunctionHost({
    env: { ...cloud().env(), TTS_API_KEYS: KEY },
    log: createLogger({ level: "error" }),
  });
  // Debian's chromium, installed by .ci/run; the flags keep it off the (closed) network. Playwright gives it a fresh profile.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

/** A fresh page on the playground, with `key` handed over in the URL fragment as a user would bookmark it. */
async function openPlayground(key = KEY) {
  const page = await browser.newPage();
  await page.goto(`${host.url}/#key=${key}`);
  return page;
}

describe.skipIf(!haveChromium)("the playground page", () => {
  it("lists voices, streams speech into the player and starts playing", async () => {
    const page = await openPlayground();
    // Page functions are strings: they run in the browser, and the project's types are Node's, not the DOM's.
    await page.waitForFunction('document.getElementById("voice").options.length > 100');
    expect(await page.locator("#voice").inputValue()).toBe("siqi");
    await page.fill("#text", "浏览器里的语音合成。Speech in the browser.");
    const audioResponse = page.waitForResponse(
      (r) => r.url().includes("/v1/stream?") && r.request().method() === "GET",
    );
    await page.click("#speak");
    const response = await audioResponse;
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toBe("audio/mpeg");
    expect(response.url()).not.toContain(KEY);
    const body = await response.body();
    expect(mp3Frames(body).length).toBeGreaterThan(10);
    await page.waitForFunction('document.getElementById("player").currentTime > 0', undefined, { timeout: 15_000 });
    expect(await page.locator("#status").textContent()).toMatch(/Playing|Done/);
    await page.close();
  });

  it("speaks through another provider and model with the rate, pitch and volume set on the page", async () => {
    const page = await openPlayground();
    await page.waitForFunction('document.getElementById("provider").options.length >= 3');
    await page.selectOption("#provider", "cosyvoice");
    await page.waitForFunction('document.getElementById("model").value.startsWith("cosyvoice")');
    await page.locator("#speechRate").fill("200");
    await page.locator("#pitchRate").fill("-100");
    await page.locator("#volume").fill("80");
    await page.fill("#text", "换一个声音。");
    const audioResponse = page.waitForResponse((r) => r.url().includes("/v1/stream?"));
    await page.click("#speak");
    const response = await audioResponse;
    expect(response.status()).toBe(200);
    const sent = new URL(response.url()).searchParams;
    expect(Object.fromEntries(["provider", "speechRate", "pitchRate", "volume"].map((k) => [k, sent.get(k)]))).toEqual({
      provider: "cosyvoice",
      speechRate: "200",
      pitchRate: "-100",
      volume: "80",
    });
    expect(sent.get("model")).toMatch(/^cosyvoice-/);
    expect(mp3Frames(await response.body()).length).toBeGreaterThan(5);
    await page.close();
  });

  it("speaks a text longer than a URL holds: POSTed, and played as the MP3 arrives", async () => {
    const page = await openPlayground();
    await page.waitForFunction('document.getElementById("count").textContent.endsWith("/ 4096")');
    await page.fill("#text", "这是一段很长的文字，要分成几段来合成。".repeat(60));
    const audioResponse = page.waitForResponse(
      (r) => r.url().endsWith("/v1/stream") && r.request().method() === "POST",
    );
    await page.click("#speak");
    const response = await audioResponse;
    expect(response.status()).toBe(200);
    expect(response.request().headers().authorization).not.toContain(KEY);
    await page.waitForFunction('document.getElementById("player").currentTime > 0', undefined, { timeout: 30_000 });
    await page.close();
  });

  it("shows the SSML validator's problems and selects the first one in the text", async () => {
    const page = await openPlayground();
    await page.waitForFunction('document.getElementById("voice").options.length > 100');
    await page.selectOption("#mode", "ssml");
    const ssml = '<speak>\n好的。<break time="20s"/>再见。\n</speak>';
    await page.fill("#text", ssml);
    await page.click("#speak");
    await page.waitForFunction('!document.getElementById("problems").hidden');
    const problem = await page.locator("#problems li").first().textContent();
    expect(problem).toMatch(/^line 2, column 4: .*break/);
    const selected = (await page.evaluate(
      '[document.getElementById("text").selectionStart, document.getElementById("text").selectionEnd]',
    )) as [number, number];
    expect(ssml.slice(selected[0], selected[1])).toBe('<break time="20s"/>');
    expect(await page.locator("#status").textContent()).toMatch(/invalid SSML/);
    // One mistake is one problem, at its cause: a <break> left open, not the <speak> it seems to leave unclosed.
    await page.fill("#text", '<speak>\n好的。<break time="1s">再见。\n</speak>');
    await page.click("#speak");
    await page.waitForFunction('/empty tag/.test(document.querySelector("#problems li")?.textContent ?? "")');
    expect(await page.locator("#problems li").allTextContents()).toEqual([
      "line 2, column 4: <break> is an empty tag: write <break .../>",
    ]);
    await page.close();
  });

  it("submits a long-text job, plays it with its cues listed, keeps it across a reload, and clears it on an error", async () => {
    const page = await openPlayground();
    await page.click("#tab-jobs");
    await page.waitForFunction('document.getElementById("job-voice").options.length > 10');
    await page.fill(
      "#job-text",
      "Chapter one. The long winter was over at last. Spring has come, and the birds are singing. We walk to the park together.",
    );
    await page.click("#submit-job");
    await page.waitForFunction('/parts \\d\\/\\d/.test(document.getElementById("job-status").textContent)', undefined, {
      timeout: 15_000,
    });
    await page.waitForFunction('/ done/.test(document.getElementById("job-status").textContent)', undefined, {
      timeout: 60_000,
    });
    expect(await page.evaluate('document.getElementById("job-player").hidden')).toBe(false);
    // An audio player (no picture to show), with the cues as a list beside it.
    expect(await page.evaluate('document.getElementById("job-player").tagName')).toBe("AUDIO");
    await page.waitForFunction('document.querySelectorAll("#job-cues li").length === 4', undefined, {
      timeout: 10_000,
    });
    expect(await page.locator("#job-download").getAttribute("href")).toMatch(/^http/);
    // A cue clicked plays from it: the caption line shows it and the list marks it.
    await page.evaluate('document.getElementById("job-player").muted = true');
    await page.click("#job-cues li:nth-child(3) button");
    await page.waitForFunction('document.getElementById("job-caption").textContent.includes("Spring")', undefined, {
      timeout: 10_000,
    });
    await page.waitForFunction('document.querySelector("#job-cues li:nth-child(3)").classList.contains("active")');
    if (process.env.PLAYGROUND_SCREENSHOT)
      await page.screenshot({ path: process.env.PLAYGROUND_SCREENSHOT, fullPage: true });
    const jobId = /Job (\S+) done/.exec((await page.locator("#job-status").textContent()) ?? "")?.[1];
    // A refused submission leaves nothing of the last job on screen.
    await page.fill("#job-text", "   ");
    await page.click("#submit-job");
    await page.waitForFunction('document.getElementById("job-status").classList.contains("error")');
    for (const id of ["job-player", "job-download", "job-cues", "job-progress"])
      expect(await page.evaluate(`document.getElementById("${id}").hidden`), id).toBe(true);
    expect(await page.locator("#job-caption").textContent()).toBe("");
    // Reloaded, the key's jobs are listed with their downloads.
    await page.reload();
    await page.click("#tab-jobs");
    await page.waitForFunction(`document.querySelector('#job-list li[data-job="${jobId}"] a') !== null`, undefined, {
      timeout: 10_000,
    });
    expect(await page.locator(`#job-list li[data-job="${jobId}"]`).textContent()).toMatch(/done/);
    await page.close();
  });

  it("makes an uploaded EPUB into a book and shows it: chapters to play, the spoken sentence marked, every figure's check", async () => {
    const page = await openPlayground();
    await page.click("#tab-jobs");
    await page.waitForFunction('document.getElementById("job-voice").options.length > 10');
    const book = fixtureBook(3, 300);
    await page.setInputFiles("#book-file", {
      name: "three.epub",
      mimeType: "application/epub+zip",
      buffer: epubOf(book),
    });
    await page.click("#submit-book");
    await page.waitForFunction('!document.getElementById("book-view").hidden', undefined, { timeout: 120_000 });
    expect(await page.locator("#book-title").textContent()).toContain(book.title);
    expect(await page.locator("#book-chapters li").allTextContents()).toEqual(
      book.chapters.map((c) => expect.stringContaining(c.title)),
    );
    // The report: a row per chapter and one for the book, each figure passed or failed as the report says. (espeak-ng's
    // peaks stand about 18 dB above its loudness: one linear gain cannot bring it to −20 LUFS under −3 dBTP, so its
    // chapters land below the target, evenly, and the page says which fail.)
    const jobId = /Book (\S+) done/.exec((await page.locator("#job-status").textContent()) ?? "")?.[1];
    const view = (await (
      await fetch(`${host.url}/v1/jobs/${jobId}/book`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { failed: string[]; spread: { pass: boolean } };
    expect(view.spread.pass).toBe(true);
    expect(await page.locator("#book-report tr").count()).toBe(1 + 3 + 1);
    expect(await page.locator("#book-report td.fail").count()).toBe(view.failed.length);
    expect(await page.locator("#book-report td.pass").count()).toBe(3 * 3 + 2 - view.failed.length);
    expect(await page.locator("#book-summary").textContent()).toBe(
      view.failed.length ? `Failed: ${view.failed.join(", ")}` : expect.stringMatching(/Every figure passes/),
    );
    // A chapter played: its text is shown, and the sentence being spoken is marked as the audio moves.
    await page.evaluate('document.getElementById("book-player").muted = true');
    await page.click("#book-chapters li:nth-child(2) button");
    await page.waitForFunction('document.querySelectorAll("#book-text span").length > 3');
    expect(await page.locator("#book-text").textContent()).toContain(book.chapters[1]!.paragraphs[0]!.slice(0, 30));
    await page.waitForFunction('document.querySelector("#book-text span.spoken") !== null', undefined, {
      timeout: 20_000,
    });
    expect(await page.locator("#book-chapters li:nth-child(2)").getAttribute("class")).toBe("active");
    if (process.env.PLAYGROUND_BOOK_SCREENSHOT)
      await page.screenshot({ path: process.env.PLAYGROUND_BOOK_SCREENSHOT, fullPage: true });
    await page.close();
  }, 180_000);

  it("says so when the API key is refused", async () => {
    const page = await openPlayground("wrong-key");
    await page.click("#speak");
    await page.waitForFunction('/refused/.test(document.getElementById("status").textContent)');
    await page.close();
  });
});
