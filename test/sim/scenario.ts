/**
 * What one seed's users ask for: a few jobs (some over the provider's limit, so split into parts) and a batch whose
 * items include a split one, all through the production entry points (JobService.create, BatchService.start).
 */
import { ownerOfKey } from "../../lib/auth.js";
import { InputError } from "../../lib/errors.js";
import { jobFromRequest } from "../../lib/jobs/intake.js";
import { tenantOutputPrefix } from "../../lib/jobs/output-namespace.js";
import type { NewJob } from "../../lib/jobs/service.js";
import type { Prng } from "./prng.js";
import { SIM_OPTIONS, type World } from "./world.js";

/** `n` sentences of about 14 characters: over the provider's 40 from 3 on. */
const sentences = (n: number, tag: string): string =>
  Array.from({ length: n }, (_, i) => `第${i}句${tag}，很长的一句。`).join("");

/** A client's request, sent again after an error as clients do: it is idempotent (same key, same batch id). */
async function again<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

export function scenario(world: World, prng: Prng): () => Promise<void> {
  // Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed leaves some workloads out at random, so no
  // one of them always crowds the others' interleavings, and the same CPU runs more, more varied seeds.
  const withBatch = prng.chance(0.7);
  const tenantJobs = prng.int(3);
  const jobs = withBatch || tenantJobs > 0 ? prng.int(4) : 1 + prng.int(3);
  const items = withBatch ? 2 + prng.int(4) : 0;
  const lengths = Array.from({ length: jobs }, () => 1 + prng.int(7));
  const itemLengths = Array.from({ length: items }, () => 1 + prng.int(5));
  // Some seeds cancel a job (its owner's DELETE) or the batch, at whatever moment the schedule gives the request.
  const cancelJob = jobs > 0 && prng.chance(0.3) ? prng.int(jobs) : -1;
  const cancelBatch = withBatch && prng.chance(0.3);
  return async () => {
    const creates = lengths.map((n, i) => {
      const text = sentences(n, `j${i}`);
      const job: NewJob = {
        provider: "ice",
        text,
        ssml: false,
        options: SIM_OPTIONS,
        audioKey: `output/j${i}.pcm`,
        idempotencyKey: `k:${i}`,
        source: { kind: "inline" },
      };
      const created = again(() => world.service.create(job));
      return i === cancelJob ? created.then(({ job }) => again(() => world.service.cancel(job))) : created;
    });
    const batch =
      withBatch &&
      again(() =>
        world.batches.start({
          id: "evt-1",
          data: {
            batchId: "b1",
            defaults: { format: "pcm", subtitles: [], voice: "siqi", provider: "ice" },
            items: itemLengths.map((n, i) => ({ id: `i${i}`, text: sentences(n, `b${i}`) })),
            outputPrefix: "output/b1/",
            notify: { url: "https://hooks.example.com/tts" },
          },
        }),
      ).then((manifest) => (cancelBatch ? again(() => world.batches.cancel(manifest.batchId)) : manifest));
    // Two tenants through the API's own intake, each naming outputs (its own, or trying the other's namespace).
    const tenants = [ownerOfKey("sim-tenant-a-key"), ownerOfKey("sim-tenant-b-key")];
    const ctx = {
      storage: world.store,
      service: world.service,
      inputPrefix: "input/",
      outputPrefix: "output/",
      defaultProvider: "ice" as const,
    };
    const owned = tenants.flatMap((owner, t) =>
      Array.from({ length: tenantJobs }, (_, i) => {
        const other = tenants[1 - t]!;
        const target = i % 2 === 0 ? owner : other;
        const body = {
          provider: "ice",
          text: sentences(1 + (i % 3), `t${t}${i}`),
          format: "pcm",
          voice: "siqi",
          subtitles: [],
          ...(i < 2 ? { output: { key: `${tenantOutputPrefix("output/", target)}shared-${i}.pcm` } } : {}),
        };
        return again(async () => {
          let job: NewJob;
          try {
            job = await jobFromRequest(body, null, owner, ctx);
          } catch (error) {
            // Another tenant's namespace is refused up front: nothing to make.
            if (error instanceof InputError && error.field === "output.key" && target !== owner) return undefined;
            throw error;
          }
          return world.service.create(job);
        });
      }),
    );
    await Promise.all([...creates, batch, ...owned]);
  };
}
