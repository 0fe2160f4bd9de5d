// Worker thread of the local cloud's speech engine: espeak-ng (WASM) synthesis, resampling and encoding.
// Plain JS so it loads unchanged under node, tsx and vitest. Runs off the main thread because one synthesis
// blocks for 150-500 ms and the emulators must keep answering meanwhile.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parentPort } from "node:worker_threads";
import ESpeakNg from "espeak-ng";
import { encodeMp3 } from "./mp3-encode.mjs";

const require = createRequire(import.meta.url);
const wasmPath = join(dirname(require.resolve("espeak-ng")), "espeak-ng.wasm");
// Compile once; every synthesis needs a fresh instance (a reused one silently writes nothing: peers.md §7).
const compiled = WebAssembly.compile(readFileSync(wasmPath));

async function espeak(args, text) {
  const mod = await compiled;
  const es = await ESpeakNg({
    arguments: [...args, "-w", "/out.wav", text],
    print() {},
    printErr() {},
    instantiateWasm(imports, done) {
      WebAssembly.instantiate(mod, imports).then((instance) => done(instance, mod));
      return {};
    },
  });
  const wav = es.FS.readFile("/out.wav");
  return parseWav(wav);
}

function parseWav(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let sampleRate = 22050;
  while (offset + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt ") sampleRate = view.getUint32(offset + 12, true);
    if (id === "data") {
      // espeak may leave the size at 0 or past EOF when writing to a virtual FS; trust the bytes present.
      const end = size === 0 || offset + 8 + size > bytes.length ? bytes.length : offset + 8 + size;
      const data = bytes.slice(offset + 8, end);
      return { pcm: new Int16Array(data.buffer, 0, Math.floor(data.length / 2)), sampleRate };
    }
    offset += 8 + size + (size % 2);
  }
  return { pcm: new Int16Array(0), sampleRate };
}

function resample(pcm, from, to) {
  if (from === to) return pcm;
  const out = new Int16Array(Math.floor((pcm.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const pos = i * step;
    const j = Math.floor(pos);
    const frac = pos - j;
    const a = pcm[j] ?? 0;
    const b = pcm[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * frac);
  }
  return out;
}

function scale(pcm, gain) {
  if (gain === 1) return pcm;
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i] * gain)));
  return out;
}

/** Whether the speech is all zeros (volume 0): it then has no pauses to time sentences by. */
function loudestIsZero(pcm) {
  for (let i = 0; i < pcm.length; i++) if (pcm[i] !== 0) return false;
  return true;
}

/**
 * The quiet stretches of the speech, as [startMs, endMs] pairs flattened: windows of 10 ms whose peak stays under 3% of
 * the loudest sample, in runs of at least 100 ms, and the lead-in before the first sound however short. The engine
 * times sentences between them (espeak pauses 180-330 ms at a sentence's end, 60-140 ms at a comma, at its default rate).
 */
function quietRuns(pcm, sampleRate) {
  const window = Math.max(1, Math.round(sampleRate / 100));
  let loudest = 0;
  for (let i = 0; i < pcm.length; i++) loudest = Math.max(loudest, Math.abs(pcm[i]));
  const threshold = loudest * 0.03;
  const runs = [];
  let start = -1;
  const windows = Math.ceil(pcm.length / window);
  for (let w = 0; w <= windows; w++) {
    let quiet = w < windows;
    for (let i = w * window; quiet && i < Math.min(pcm.length, (w + 1) * window); i++)
      if (Math.abs(pcm[i]) > threshold) quiet = false;
    if (quiet && start < 0) start = w;
    if (!quiet && start >= 0) {
      if (w - start >= 10 || start === 0)
        runs.push(
          Math.round((start * window * 1000) / sampleRate),
          Math.round((Math.min(pcm.length, w * window) * 1000) / sampleRate),
        );
      start = -1;
    }
  }
  return runs;
}

parentPort.on("message", async ({ id, args, text, sampleRate, format, gain }) => {
  try {
    const raw = await espeak(args, text);
    const pcm = scale(resample(raw.pcm, raw.sampleRate, sampleRate), gain);
    const pcmBytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    // WAV is PCM here; the engine adds the header (lib/audio/wav.ts) on the main thread.
    const audio = format === "mp3" ? encodeMp3(pcm, sampleRate) : pcmBytes;
    const durationMs = Math.round((pcm.length / sampleRate) * 1000);
    parentPort.postMessage({ id, audio, durationMs, quiet: loudestIsZero(pcm) ? [] : quietRuns(pcm, sampleRate) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error?.stack ?? error) });
  }
});
