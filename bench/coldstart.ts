/**
 * `npm run bench:coldstart`: for each bundle, a fresh Node process imports it and runs its initializer (config parse,
 * clients built, no network); for the custom runtime, the time until its server listens. One process at a time, each
 * function's run interleaved with an empty Node process's (so both meet the same machine), 25 pairs. The row's value
 * is the median of the pairs' differences (pairing cancels the machine's drift), against the targets: `speech` and `stream` within 100 ms, every
 * function within 150 ms. Sizes are what a cold start loads: the entry and the chunks it imports statically.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readResources } from "../infra/deploy/s-yaml.js";
import { buildAll } from "../scripts/build.js";
import type { Row } from "./nls-short.js";

const run = promisify(execFile);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ENV = {
  NLS_APPKEY: "appkey",
  OSS_BUCKET: "bench-bucket",
  CALLBACK_SECRET: "x".repeat(40),
  TTS_API_KEYS: "bench-key",
  ALIBABA_CLOUD_ACCESS_KEY_ID: "STS.x",
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: "y",
  ALIBABA_CLOUD_SECURITY_TOKEN: "z",
  FC_ACCOUNT_ID: "1",
};

async function wall(args: string[], env: Record<string, string>): Promise<{ wallMs: number; stdout: string }> {
  const t0 = performance.now();
  const { stdout } = await run(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: tmpdir(),
  });
  return { wallMs: performance.now() - t0, stdout };
}

/** Spawns the custom runtime and resolves when it logs that it listens. */
function untilListening(file: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [file], {
      env: { PATH: process.env.PATH ?? "", ...env, FC_CUSTOM_LISTEN_PORT: "0" },
      cwd: tmpdir(),
    });
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes('"listening"')) {
        resolve(performance.now() - t0);
        child.kill();
      }
    });
    child.on("exit", (code) => code && reject(new Error(`exited ${code}`)));
  });
}

/** What each cold start spends its time on, measured by profiling one (the figures are this machine's). */
const BOUNDS: Record<string, string> = {
  default:
    "node's built-ins (http, https, crypto: ~28 ms), compiling and running the bundle (~40 ms, zod's schemas included), the clients (node's first isIP: ~9 ms)",
  stream: "node's built-ins (~28 ms), compiling and running the bundle, ws, the server's listen",
};

/** The cold-start targets over an empty node: the on-demand functions 100 ms, every other one 150 ms. */
const TARGET_MS: Record<string, number> = { speech: 100, stream: 100 };

export async function benchColdStart(runs = 25): Promise<Row[]> {
  const outdir = mkdtempSync(join(tmpdir(), "coldstart-"));
  const built = await buildAll(outdir);
  const resources = readResources(ENV);
  const rows: Row[] = [];
  for (const f of built) {
    const env = { ...ENV, ...(resources[f.name]?.environmentVariables as Record<string, string>) };
    const walls: number[] = [];
    const empties: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Sequential and interleaved: an empty node, then the function, never two processes at once.
      empties.push((await wall(["-e", ""], {})).wallMs);
      if (f.file.endsWith("main.mjs")) {
        walls.push(await untilListening(f.file, env));
      } else {
        const script = `const m = await import(${JSON.stringify(f.file)}); await m.initialize?.();`;
        walls.push((await wall(["--input-type=module", "-e", script], env)).wallMs);
      }
    }
    const empty = median(empties);
    const over = median(walls.map((w, i) => w - empties[i]!));
    const target = TARGET_MS[f.name] ?? 150;
    rows.push({
      name: `cold start ${f.name} over empty node (${(f.loadedBytes / 1024).toFixed(0)} KiB loaded${f.file.endsWith("main.mjs") ? ", until listening" : ", import + initialize"})`,
      value: `+${over.toFixed(0)} ms`,
      reference: `target +${target} ms; ${median(walls).toFixed(0)} ms vs ${empty.toFixed(0)} ms empty node (bounded by: ${BOUNDS[f.name] ?? BOUNDS.default})`,
      ratio: (over / target).toFixed(2),
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchColdStart());
}
