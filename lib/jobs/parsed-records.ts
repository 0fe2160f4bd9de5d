/**
 * The records this instance has parsed, by id, with the bytes each came from: a record read again unchanged (reconcile
 * re-reads every unfinished job each tick, a split job's drive every part on every part's event, `GET /v1/jobs` the
 * same record on every poll) is not validated again. Schema validation is most of a read's CPU: about 11 µs of 16 for
 * a 0.8 KB record, 2.4 ms of 3.4 for one holding 3,000 sentences (a record read as JSON alone takes the rest).
 *
 * A parsed record is shared by every caller that reads the same bytes, so it is frozen: code that changes a record
 * makes a new one (`transition`, spreads), and a write through a shared one throws instead of corrupting another read.
 */
import type { Job } from "./schema.js";

/** How many bytes of records are kept at most (the least recently read go first). */
const DEFAULT_BUDGET = 8 * 1024 * 1024;

export class ParsedRecords {
  readonly #entries = new Map<string, { body: Buffer; job: Job }>();
  #bytes = 0;

  constructor(
    private readonly parse: (body: Buffer) => Job,
    private readonly budget = DEFAULT_BUDGET,
  ) {}

  /** The record `body` holds: the one parsed before when `id`'s bytes are the same, else parsed now and kept. */
  get(id: string, body: Buffer): Job {
    const kept = this.#entries.get(id);
    if (kept?.body.equals(body)) {
      // Read again: now the most recently used.
      this.#entries.delete(id);
      this.#entries.set(id, kept);
      return kept.job;
    }
    const job = deepFreeze(this.parse(body));
    this.#forget(id);
    if (body.length <= this.budget) {
      // Kept as read: a body the object store answered is the caller's own (never a pooled buffer), and no caller
      // writes into one.
      this.#entries.set(id, { body, job });
      this.#bytes += body.length;
      for (const [oldest] of this.#entries) {
        if (this.#bytes <= this.budget) break;
        this.#forget(oldest);
      }
    }
    return job;
  }

  #forget(id: string): void {
    const kept = this.#entries.get(id);
    if (!kept) return;
    this.#entries.delete(id);
    this.#bytes -= kept.body.length;
  }

  /** Bytes kept now (for tests). */
  get bytes(): number {
    return this.#bytes;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
