import type { LocalCloud } from "../../infra/local/cloud.js";
import type { FunctionHost } from "../../infra/local/host.js";
import { ownerOfKey } from "../../lib/auth.js";
import { tenantOutputPrefix } from "../../lib/jobs/output-namespace.js";
import type { Job } from "../../lib/jobs/schema.js";

/** Waits until the providers' emulators, their callbacks and every async invocation have finished. */
export async function settle(host: FunctionHost, cloud: LocalCloud): Promise<void> {
  // Work hops between the functions and the emulators (an invocation submits a task, whose callback invokes a function):
  // settled is a whole round in which neither side had anything under way.
  for (let round = 0; round < 100_000; round++) {
    const busy = [await host.idle(), await cloud.nls.longText.idle(), await cloud.ice.idle()];
    if (!busy.includes(true)) return;
  }
  throw new Error("the local stack never settled");
}

/** The job made from an uploaded object (the first, when options made it again). */
export async function jobFor(host: FunctionHost, sourceKey: string): Promise<Job> {
  const [job] = await jobsFor(host, sourceKey);
  if (!job) throw new Error(`no job for ${sourceKey}`);
  return job;
}

/** Every job made from an uploaded object, oldest first. */
export async function jobsFor(host: FunctionHost, sourceKey: string): Promise<Job[]> {
  const storage = host.platform.clients.storage;
  const jobs: Job[] = [];
  for (const o of (await storage.list("jobs/records/", { maxKeys: 1000 })).objects) {
    const job = JSON.parse((await storage.get(o.key))!.toString()) as Job;
    if (job.source.kind === "oss" && job.source.key === sourceKey) jobs.push(job);
  }
  return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Counts successful writes (PutObject or a completed multipart upload) to one key. */
export function writesTo(cloud: LocalCloud, key: string): { count: () => number; stop: () => void } {
  let n = 0;
  const observer = (e: { op: string; key: string; status: number }): void => {
    if (e.key === key && (e.op === "PutObject" || e.op === "CompleteMultipartUpload") && e.status === 200) n++;
  };
  cloud.oss.observers.add(observer);
  return { count: () => n, stop: () => cloud.oss.observers.delete(observer) };
}

/** An output key in `apiKey`'s own namespace, where its jobs' explicit outputs must go. */
export function ownOutput(apiKey: string, rest: string): string {
  return `${tenantOutputPrefix("output/", ownerOfKey(apiKey))}${rest}`;
}

/** Submits a job through `POST /v1/jobs` with `apiKey`, expecting 202; its id. */
export async function submitJob(host: FunctionHost, apiKey: string, body: unknown): Promise<string> {
  const res = await fetch(`${host.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
