/**
 * `npm run bench:coldstart`: for each bundle, a fresh Node process imports it and runs its initializer (config parse,
 * clients built, no network); for the custom runtime, the time until its server listens. Medians of 5 runs, with the
 * bundle size, against an empty Node process.
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

export async function benchColdStart(runs = 5): Promise<Row[]> {
  const outdir = mkdtempSync(join(tmpdir(), "coldstart-"));
  const built = await buildAll(outdir);
  const resources = readResources(ENV);
  const empty = median(
    await Promise.all(Array.from({ length: runs }, async () => (await wall(["-e", ""], {})).wallMs)),
  );
  const rows: Row[] = [];
  for (const f of built) {
    const env = { ...ENV, ...(resources[f.name]?.environmentVariables as Record<string, string>) };
    const walls: number[] = [];
    const inits: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (f.file.endsWith("main.mjs")) {
        walls.push(await untilListening(f.file, env));
      } else {
        const script = `const t0 = performance.now(); const m = await import(${JSON.stringify(f.file)}); await m.initialize?.(); console.log(performance.now() - t0);`;
        const r = await wall(["--input-type=module", "-e", script], env);
        walls.push(r.wallMs);
        inits.push(Number(r.stdout.trim()));
      }
    }
    const init = inits.length ? `, import+init ${median(inits).toFixed(0)} ms` : " (until listening)";
    rows.push({
      name: `cold start ${f.name} (${(f.bytes / 1024).toFixed(0)} KiB)`,
      value: `${median(walls).toFixed(0)} ms`,
      reference: `${empty.toFixed(0)} ms empty node${init}`,
      ratio: (median(walls) / empty).toFixed(2),
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchColdStart());
}
