/**
 * `npm start`: the local cloud and every function of s.yaml on this machine, and one real synthesis through the
 * stream function, so a new user hears speech within a minute without an account. Runs until Ctrl-C; `--once`
 * exits after the demo. `--text` and `--voice` change what is said.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { SECRET_NAMES } from "../../lib/config.js";
import { createLogger } from "../../lib/log.js";
import { sYamlVariables } from "../deploy/s-yaml.js";
import { startLocalCloud } from "./cloud.js";
import { startFunctionHost } from "./host.js";
import { localEnvironment } from "./local-env.js";

const { values } = parseArgs({
  options: {
    once: { type: "boolean", default: false },
    text: {
      type: "string",
      default: "你好，欢迎使用本地语音合成。Hello! This speech was synthesized on your own machine, no account needed.",
    },
    voice: { type: "string", default: "siqi" },
    "data-dir": { type: "string", default: ".local-cloud" },
    /** 0 = ephemeral ports for everything (used by the test that keeps this quick start true). */
    "port-base": { type: "string", default: process.env.LOCAL_CLOUD_PORT_BASE ?? "9100" },
    port: { type: "string", default: process.env.PORT ?? "9000" },
  },
});

/** A mistake in how `npm start` was called is one line on stderr and exit status 2, never a stack trace. */
function refuse(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}
function portOf(value: string, name: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535)
    refuse(`${name}=${value}: a port is a whole number from 0 to 65535`);
  return port;
}

const log = createLogger({ base: { service: "local" } });
const base = portOf(
  values["port-base"],
  values["port-base"] === process.env.LOCAL_CLOUD_PORT_BASE ? "LOCAL_CLOUD_PORT_BASE" : "--port-base",
);
const functionsPort = portOf(values.port, values.port === process.env.PORT ? "PORT" : "--port");
const cloudPort = (offset: number): number => (base === 0 ? 0 : base + offset);
const dataDir = resolve(values["data-dir"]);
await mkdir(dataDir, { recursive: true });
/** A port already taken is a user's situation, not a crash: say which and what to do, in one line. */
let explained = false;
async function orExplain<T>(what: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    if (explained) process.exit(1);
    explained = true;
    process.stderr.write(
      `${what}: ${(error as { address?: string }).address ?? "127.0.0.1"}:${(error as { port?: number }).port ?? "?"} is already in use. Stop what uses it, or start on other ports (PORT=… for the functions, LOCAL_CLOUD_PORT_BASE=… for the emulators, 0 for any free ones).\n`,
    );
    process.exit(1);
  }
}
const cloud = await orExplain("the local cloud", () =>
  startLocalCloud({
    dataDir,
    accessKey: { id: "local-ak", secret: "local-sk" },
    ports: {
      oss: cloudPort(0),
      nlsMeta: cloudPort(1),
      nlsGateway: cloudPort(2),
      ice: cloudPort(3),
      dashscope: cloudPort(4),
      eventbridge: cloudPort(5),
    },
    // MiniMax refuses voices it does not have; a cloned voice (or a system voice the emulator does not list) is added here.
    // The functions verify ICE's callbacks with ICE_CALLBACK_AUTH_KEY; the emulator signs them with the same key.
    ...(process.env.ICE_CALLBACK_AUTH_KEY ? { ice: { authKey: process.env.ICE_CALLBACK_AUTH_KEY } } : {}),
    minimax: {
      voices: (process.env.LOCAL_MINIMAX_VOICES ?? "")
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean),
    },
  }),
);
const apiKey = (process.env.TTS_API_KEYS ?? "dev-key").split(",")[0]!.trim();
// The callback and webhook secret: from the environment, or made once and kept in the data directory, so a restart
// keeps verifying the callback URLs of jobs in flight, and a webhook's signature can be checked with a known key.
const secretFile = resolve(dataDir, "callback-secret");
const callbackSecret =
  process.env.CALLBACK_SECRET ??
  (existsSync(secretFile) ? (await readFile(secretFile, "utf8")).trim() : randomBytes(24).toString("base64url"));
if (!process.env.CALLBACK_SECRET) await writeFile(secretFile, callbackSecret, { mode: 0o600 });
// s.yaml rendered with the user's environment, as `s deploy` would, over the local cloud's endpoints and keys.
const local = localEnvironment(process.env, cloud.env(), sYamlVariables());
const env: Record<string, string> = {
  ...local.env,
  TTS_API_KEYS: process.env.TTS_API_KEYS ?? "dev-key",
  CALLBACK_SECRET: callbackSecret,
};
const shown = (name: string): string =>
  (SECRET_NAMES as readonly string[]).includes(name) ? `${name}=(set)` : `${name}=${env[name]}`;
const host = await orExplain("the functions", () =>
  startFunctionHost({
    env,
    log,
    cloud,
    port: base === 0 ? 0 : functionsPort,
    timerMs: values.once ? 0 : 60_000,
  }),
);
log.info("local stack started", {
  functions: host.functions,
  url: host.url,
  cloud: cloud.urls,
  bucket: cloud.bucket,
  dataDir,
});

const started = performance.now();
const response = await fetch(`${host.url}/v1/stream`, {
  method: "POST",
  headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
  body: JSON.stringify({ text: values.text, voice: values.voice, format: "mp3" }),
});
if (!response.ok) {
  // A refused --text or --voice is the user's to fix: the function's own message, in one line.
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  await Promise.all([host.stop(), cloud.stop()]);
  refuse(`the demo synthesis was refused (HTTP ${response.status}): ${body.error?.message ?? response.statusText}`);
}
const mp3 = Buffer.from(await response.arrayBuffer());
const totalMs = Math.round(performance.now() - started);
const file = resolve(dataDir, "hello.mp3");
await writeFile(file, mp3);
log.info("synthesized", {
  voice: values.voice,
  file,
  bytes: mp3.length,
  audioMs: Math.round(mp3DurationMs(mp3)),
  totalMs,
  cache: response.headers.get("x-cache"),
});

const curl = `curl -sS -X POST ${host.url}/v1/stream -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' -d '{"text":"你好，世界","voice":"xiaoyun","format":"mp3"}' -o hello.mp3`;
const settings =
  (local.taken.length ? `Settings:    from your environment: ${local.taken.map(shown).join(", ")}\n` : "") +
  (local.overridden.length
    ? `             not taken, the local cloud sets them: ${local.overridden.join(", ")}\n`
    : "");
process.stdout.write(
  `\nSpeech written to ${file} (${Math.round(mp3DurationMs(mp3) / 100) / 10} s of audio in ${totalMs} ms)\n` +
    settings +
    // With --once everything stops now: no address that would not answer is printed.
    (values.once
      ? "Stopped (--once). Run `npm start` to keep the functions running for the playground and your clients.\n"
      : `Playground:  ${host.url}/#key=${apiKey}   (API key: ${apiKey})\n` +
        `Try it:      ${curl}\n` +
        `OpenAI SDK:  new OpenAI({ apiKey: "${apiKey}", baseURL: "${host.url}/v1" })\n` +
        `NLS SDK:     new SpeechSynthesizer({ url: "${host.url.replace("http", "ws")}/ws/v1", appkey: "any", token: "${apiKey}" })\n` +
        `Long text:   upload a .txt under input/ (e.g. with ali-oss) and find .mp3/.srt/.vtt under output/, or POST ${host.url}/v1/jobs\n` +
        `Local cloud: OSS ${cloud.urls.oss} (bucket ${cloud.bucket}, AccessKey ${cloud.accessKey.accessKeyId}/${cloud.accessKey.accessKeySecret}), NLS ${cloud.urls.nlsGateway}, ICE ${cloud.urls.ice}, DashScope ${cloud.urls.dashscopeWs}, EventBridge ${cloud.urls.eventbridge}\n` +
        `Secrets:     CALLBACK_SECRET ${callbackSecret} (signs callback URLs and batch webhooks: X-TTS-Signature)\n` +
        "Press Ctrl-C to stop.\n"),
);

const stop = async (): Promise<void> => {
  await host.stop();
  await cloud.stop();
};
if (values.once) await stop();
else {
  const exit = (): void => void stop().then(() => process.exit(0));
  process.once("SIGINT", exit);
  process.once("SIGTERM", exit);
}
