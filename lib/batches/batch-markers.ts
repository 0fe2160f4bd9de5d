/**
 * Where a batch keeps its state, and the one place that knows the key layout:
 * - `batches/<id>.json`: the manifest (running, then final); `batches/rejected/<id>.json`: why an event was refused;
 * - `batch-state/<id>/items-<event>.json`: the item specs; `ended/<group>/<index>.<state>` markers, the items in groups
 *   of `groupSize` by index, and `groups/<group>` once every item of a group has ended;
 * - `batch-pending/<id>`: batches not yet final, for reconcile;
 * - elections (through the job store's, under `batch-<id>`): `dispatch-<index>` per item and `final` per batch.
 * Progress is kept in markers a listing counts, a thousand per request, never in per-item record reads.
 */
import { createHash } from "node:crypto";
import type { JobRecords } from "../jobs/records.js";
import { type Bucket, keysUnder } from "../storage/bucket.js";
import { type Manifest, ManifestSchema, type Rejection, RejectionSchema } from "./schema.js";

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const pad = (index: number): string => String(index).padStart(5, "0");
/** Items per group of ended markers: an item's end lists its group's markers and, when it completes it, the groups. */
export const ENDED_GROUP_SIZE = 100;
const JSON_TYPE = { contentType: "application/json" } as const;

export class BatchMarkers {
  constructor(
    private readonly storage: Bucket,
    private readonly jobs: JobRecords,
    private readonly prefix = "jobs/",
    readonly groupSize = ENDED_GROUP_SIZE,
  ) {}

  /** The group item `index`'s ended marker is in. */
  groupOf(index: number): number {
    return Math.floor(index / this.groupSize);
  }

  /** The items of `group`: from its first index to before the next group's. */
  groupRange(group: number): [from: number, to: number] {
    return [group * this.groupSize, (group + 1) * this.groupSize];
  }

  /** How many groups `items` items make. */
  groupCount(items: number): number {
    return Math.ceil(items / this.groupSize);
  }

  #endedDir(batchId: string, group: number): string {
    return `${this.#dir(batchId)}ended/${pad(group)}/`;
  }

  #manifestKey(batchId: string): string {
    return `${this.prefix}batches/${batchId}.json`;
  }

  #dir(batchId: string): string {
    return `${this.prefix}batch-state/${batchId}/`;
  }

  #pendingKey(batchId: string): string {
    return `${this.prefix}batch-pending/${batchId}`;
  }

  #specsKey(batchId: string, eventId: string): string {
    return `${this.#dir(batchId)}items-${createHash("sha256").update(eventId).digest("hex").slice(0, 16)}.json`;
  }

  /** A batch's JSON object, by an id safe to put in a key (anything else has no object). */
  async #read<T>(batchId: string, key: string, schema: { parse(v: unknown): T }): Promise<T | undefined> {
    const body = SAFE_ID.test(batchId) ? await this.storage.get(key) : undefined;
    return body ? schema.parse(JSON.parse(body.toString("utf8"))) : undefined;
  }

  manifest(batchId: string): Promise<Manifest | undefined> {
    return this.#read(batchId, this.#manifestKey(batchId), ManifestSchema);
  }

  /** Writes the first manifest of a batch; false when one exists already (a re-delivered or racing event). */
  async createManifest(manifest: Manifest): Promise<boolean> {
    return (
      await this.storage.put(this.#manifestKey(manifest.batchId), JSON.stringify(manifest), {
        ...JSON_TYPE,
        ifAbsent: true,
      })
    ).created;
  }

  async putManifest(manifest: Manifest): Promise<void> {
    await this.storage.put(this.#manifestKey(manifest.batchId), JSON.stringify(manifest), JSON_TYPE);
  }

  rejection(batchId: string): Promise<Rejection | undefined> {
    return this.#read(batchId, `${this.prefix}batches/rejected/${batchId}.json`, RejectionSchema);
  }

  async putRejection(rejection: Rejection): Promise<void> {
    await this.storage.put(
      `${this.prefix}batches/rejected/${rejection.batchId}.json`,
      JSON.stringify(rejection),
      JSON_TYPE,
    );
  }

  /** The item specs, keyed by the event, so two events racing for one batch id never mix. */
  async putSpecs(batchId: string, eventId: string, specs: unknown[]): Promise<void> {
    await this.storage.put(this.#specsKey(batchId, eventId), JSON.stringify({ eventId, items: specs }), JSON_TYPE);
  }

  async specs(batchId: string, eventId: string): Promise<unknown | undefined> {
    const body = await this.storage.get(this.#specsKey(batchId, eventId));
    return body ? JSON.parse(body.toString("utf8")) : undefined;
  }

  async markPending(batchId: string): Promise<void> {
    await this.storage.put(this.#pendingKey(batchId), "", { contentType: "text/plain" });
  }

  async clearPending(batchId: string): Promise<void> {
    await this.storage.delete(this.#pendingKey(batchId));
  }

  /** Ids of batches not yet final. */
  pending(): AsyncGenerator<string> {
    return this.#names(`${this.prefix}batch-pending/`);
  }

  /** Records that item `index` ended in `state`; true for the first report of it. */
  async markEnded(batchId: string, index: number, state: string): Promise<boolean> {
    return (
      await this.storage.put(`${this.#endedDir(batchId, this.groupOf(index))}${pad(index)}.${state}`, "", {
        ifAbsent: true,
        contentType: "text/plain",
      })
    ).created;
  }

  /** Item index → the state its job ended in, for one group's items (one listing: at most `groupSize` markers). */
  async endedInGroup(batchId: string, group: number): Promise<Map<number, string>> {
    return this.#endedUnder(this.#endedDir(batchId, group));
  }

  /** Records that every item of `group` has ended (idempotent). */
  async markGroupEnded(batchId: string, group: number): Promise<void> {
    await this.storage.put(`${this.#dir(batchId)}groups/${pad(group)}`, "", { contentType: "text/plain" });
  }

  /** The groups every item of which has ended (one listing: a 10,000-item batch has 100). */
  async endedGroups(batchId: string): Promise<Set<number>> {
    const groups = new Set<number>();
    for await (const name of this.#names(`${this.#dir(batchId)}groups/`)) groups.add(Number(name));
    return groups;
  }

  /** Item index → the state its job ended in, for the whole batch. */
  ended(batchId: string): Promise<Map<number, string>> {
    return this.#endedUnder(`${this.#dir(batchId)}ended/`);
  }

  async #endedUnder(prefix: string): Promise<Map<number, string>> {
    const ended = new Map<number, string>();
    for await (const name of this.#names(prefix)) {
      // `<group>/<index>.<state>`; markers written before they were grouped are `<index>.<state>`.
      const m = /^(?:\d{5}\/)?(\d{5})\.(done|failed)$/.exec(name);
      if (m) ended.set(Number(m[1]), m[2]!);
    }
    return ended;
  }

  /** Elects item `index` for a slot: true for exactly one caller. */
  electDispatch(batchId: string, index: number, at: Date): Promise<boolean> {
    return this.jobs.elect(`batch-${batchId}`, `dispatch-${pad(index)}`, at);
  }

  /** Indexes of the items handed a slot so far. */
  async dispatched(batchId: string): Promise<Set<number>> {
    const dispatched = new Set<number>();
    for await (const step of this.jobs.elections(`batch-${batchId}`, "dispatch-"))
      dispatched.add(Number(step.slice("dispatch-".length)));
    return dispatched;
  }

  /** Elects the one finisher of a batch. */
  electFinal(batchId: string, at: Date): Promise<boolean> {
    return this.jobs.elect(`batch-${batchId}`, "final", at);
  }

  async *#names(prefix: string): AsyncGenerator<string> {
    for await (const key of keysUnder(this.storage, prefix)) yield key.slice(prefix.length);
  }
}
