/**
 * Child process of `npm run bench:store`: runs the real `store` step (or, with --plain, a plain streamed copy of the
 * same bytes) once, then prints its timing and this process's peak RSS, so the parent can compare them.
 */
import { readFileSync } from "node:fs";
import { request } from "undici";
import { createClients } from "../lib/clients.js";
import { parseConfig } from "../lib/config.js";
import { createLogger } from "../lib/log.js";
import { createJobRuntime } from "../lib/runtime.js";

const [mode, arg1, arg2] = process.argv.slice(2);
const env = JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let bytes = 0;
if (mode === "--plain") {
  // The same two legs without OSS: GET from the source, streamed into a PUT to a bare loopback sink.
  const source = await request(arg1!);
  const sink = await request(arg2!, {
    method: "PUT",
    body: source.body,
    headers: { "content-type": "application/octet-stream" },
  });
  bytes = Number(await sink.body.text());
} else {
  const config = parseConfig(env);
  const rt = createJobRuntime(
    config,
    createClients(config),
    { invokeAsync: async () => undefined },
    createLogger({ level: "warn", write: (l) => process.stderr.write(`${l}\n`) }),
  );
  const outcome = await rt.storeOutputs(arg1!);
  if (outcome !== "done") process.stderr.write(`store: ${outcome} ${JSON.stringify(await rt.jobs.get(arg1!))}\n`);
  bytes = (await rt.jobs.get(arg1!))?.result?.size ?? 0;
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
process.stdout.write(
  `${JSON.stringify({ ms, bytes, peakRssMb: peakKb / 1024, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
);
