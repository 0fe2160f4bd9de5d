/**
 * What each key has started billing, per UTC day and month: one object per provider task, written just before the
 * provider is asked (create-if-absent, so a retried call counts once), everything a sum needs in its name:
 *
 *   <jobs prefix>usage/<owner>/<YYYY-MM>/<DD>/<job>.<attempt>-<provider>-<characters>
 *
 * One listing of the month's prefix gives the day's and the month's figures.
 */
import type { Bucket } from "../storage/bucket.js";
import { keysUnder } from "../storage/bucket.js";

export interface Spent {
  readonly charactersToday: number;
  readonly charactersThisMonth: number;
  /** Characters by provider, today and this month (money is priced from them). */
  readonly byProviderToday: ReadonlyMap<string, number>;
  readonly byProviderThisMonth: ReadonlyMap<string, number>;
}

const month = (at: Date) => at.toISOString().slice(0, 7);
const day = (at: Date) => at.toISOString().slice(8, 10);

export class UsageLedger {
  constructor(
    private readonly bucket: Bucket,
    private readonly root: string,
  ) {}

  /** Counts a task about to start (once per job and attempt, however often it is called). */
  async record(
    owner: string,
    task: { jobId: string; attempt: number; provider: string; characters: number },
    at: Date,
  ): Promise<void> {
    const key = `${this.root}${owner}/${month(at)}/${day(at)}/${task.jobId}.${task.attempt}-${task.provider}-${task.characters}`;
    await this.bucket.put(key, "", { ifAbsent: true });
  }

  async spent(owner: string, at: Date): Promise<Spent> {
    const prefix = `${this.root}${owner}/${month(at)}/`;
    const today = day(at);
    const byProviderToday = new Map<string, number>();
    const byProviderThisMonth = new Map<string, number>();
    let charactersToday = 0;
    let charactersThisMonth = 0;
    for await (const key of keysUnder(this.bucket, prefix)) {
      const m = /^(\d{2})\/[^/]+-([a-z]+)-(\d+)$/.exec(key.slice(prefix.length));
      if (!m) continue;
      const chars = Number(m[3]);
      charactersThisMonth += chars;
      byProviderThisMonth.set(m[2]!, (byProviderThisMonth.get(m[2]!) ?? 0) + chars);
      if (m[1] === today) {
        charactersToday += chars;
        byProviderToday.set(m[2]!, (byProviderToday.get(m[2]!) ?? 0) + chars);
      }
    }
    return { charactersToday, charactersThisMonth, byProviderToday, byProviderThisMonth };
  }
}
