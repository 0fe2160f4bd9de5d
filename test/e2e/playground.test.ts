import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFunctionHost } from "../../infra/local/host.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { createLogger } from "../../lib/log.js";
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

describe.skipIf(!haveChromium)("the playground page", () => {
  it("lists voices, streams speech into the player and starts playing", async () => {
    const page = await browser.newPage();
    await page.goto(`${host.url}/#key=${KEY}`);
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

  it("says so when the API key is refused", async () => {
    const page = await browser.newPage();
    await page.goto(`${host.url}/#key=wrong-key`);
    await page.click("#speak");
    await page.waitForFunction('/refused/.test(document.getElementById("status").textContent)');
    await page.close();
  });
});
