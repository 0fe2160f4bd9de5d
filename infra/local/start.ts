/**
 * `npm start`: the local cloud on fixed ports, and one real synthesis through the project's own clients, so a new
 * user hears speech within a minute without an account. `--once` exits after the demo; `--text` and `--voice`
 * change what is said.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { createClients } from "../../lib/clients.js";
import { parseConfig } from "../../lib/config.js";
import { createLogger } from "../../lib/log.js";
import { startLocalCloud } from "./cloud.js";

const { values } = parseArgs({
  options: {
    once: { type: "boolean", default: false },
    text: { type: "string", default: "你好，欢迎使用本地语音合成。Hello! This speech was synthesized on your own machine, no account needed." },
    voice: { type: "string", default: "siqi" },
    "data-dir": { type: "string", default: ".local-cloud" },
    /** 0 = ephemeral ports (used by the test that keeps this quick start true). */
    "port-base": { type: "string", default: process.env.LOCAL_CLOUD_PORT_BASE ?? "9100" },
  },
});

const log = createLogger({ base: { service: "local-cloud" } });
const base = Number(values["port-base"]);
const port = (offset: number): number => (base === 0 ? 0 : base + offset);
const dataDir = resolve(values["data-dir"]);
await mkdir(dataDir, { recursive: true });
const cloud = await startLocalCloud({ dataDir, ports: { oss: port(0), nlsMeta: port(1), nlsGateway: port(2) } });
log.info("local cloud started", { urls: cloud.urls, bucket: cloud.bucket, dataDir });

const config = parseConfig(cloud.env());
const clients = createClients(config, {});
const started = performance.now();
let firstByteMs: number | undefined;
const audio: Buffer[] = [];
async function* speech(): AsyncGenerator<Buffer> {
  for await (const event of clients.nls.synthesize({ text: values.text, voice: values.voice, format: "mp3", sampleRate: 16000 })) {
    if (event.type !== "audio") continue;
    firstByteMs ??= performance.now() - started;
    audio.push(event.data);
    yield event.data;
  }
}
const key = `${config.OSS_OUTPUT_PREFIX}hello.mp3`;
await clients.storage.putStream(key, speech(), { contentType: "audio/mpeg" });
const totalMs = performance.now() - started;
const file = resolve(dataDir, "hello.mp3");
const mp3 = Buffer.concat(audio);
await writeFile(file, mp3);
log.info("synthesized", { voice: values.voice, key, file, bytes: mp3.length, audioMs: Math.round(mp3DurationMs(mp3)), firstByteMs: Math.round(firstByteMs ?? 0), totalMs: Math.round(totalMs) });

process.stdout.write(
  `\nSpeech written to ${file}\n  and to oss://${cloud.bucket}/${key} (signed URL: ${clients.storage.signedUrl(key, { expiresSeconds: 3600 })})\n` +
    `  ${Math.round(mp3DurationMs(mp3) / 100) / 10} s of audio, first byte after ${Math.round(firstByteMs ?? 0)} ms, done in ${Math.round(totalMs)} ms\n` +
    `Play it: ffplay ${file}   (or open it in any audio player)\n` +
    (values.once ? "" : `\nThe local cloud keeps running (OSS ${cloud.urls.oss}, NLS gateway ${cloud.urls.nlsGateway}); environment for clients:\n${Object.entries(cloud.env()).map(([k, v]) => `  ${k}=${v}`).join("\n")}\nPress Ctrl-C to stop.\n`),
);

if (values.once) {
  await cloud.stop();
} else {
  const stop = async (): Promise<void> => {
    await cloud.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
