/**
 * The record of each live stream: what was spoken and what was not, kept in OSS under its key's owner, so a client
 * whose socket is gone (or who interrupted by closing) can still learn what its listener heard. Another key's records
 * are under another owner: nobody reads, or learns of, a stream that is not theirs.
 */
import type { Bucket } from "../../storage/bucket.js";
import * as z from "../../zod.js";

export const LiveRecordSchema = z.object({
  session: z.string(),
  provider: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  reason: z.enum(["done", "interrupted", "failed"]),
  durationMs: z.number(),
  charactersSent: z.number(),
  textSpoken: z.string(),
  textUnspoken: z.string(),
});
export type LiveRecord = z.infer<typeof LiveRecordSchema>;

/** A session's id as this service makes them (a UUID): anything else names no record. */
const SESSION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class LiveRecords {
  constructor(
    private readonly bucket: Bucket,
    /** Where records live, e.g. `jobs/live/`. */
    private readonly root: string,
  ) {}

  async put(owner: string, record: LiveRecord): Promise<void> {
    await this.bucket.put(this.#key(owner, record.session), JSON.stringify(record), {
      contentType: "application/json",
    });
  }

  async get(owner: string, session: string): Promise<LiveRecord | undefined> {
    if (!SESSION.test(session)) return undefined;
    const body = await this.bucket.get(this.#key(owner, session));
    return body ? LiveRecordSchema.parse(JSON.parse(body.toString("utf8"))) : undefined;
  }

  #key(owner: string, session: string): string {
    return `${this.root}${owner}/${session}.json`;
  }
}
