/**
 * Which long-text tasks a lossy provider spoils, and how: a sentence left out of the audio and timings, the audio cut
 * to its first fifth (timings left whole), or 2 s of silence before it (timings shifted with it). Each fault is chosen
 * by a count (the next N tasks) or a share of tasks, picked by a hash of the text so a run is reproducible; a text is
 * spoiled by a fault once at most, so the same text asked again (a repair) comes out whole.
 */
import { createHash } from "node:crypto";

export type SynthesisFault = "dropSentence" | "truncate" | "pad";

/** The silence the pad fault puts before the audio. */
export const PAD_MS = 2000;

export class SynthesisFaults {
  /** The next tasks (counts) to spoil, per fault. */
  readonly next: Record<SynthesisFault, number> = { dropSentence: 0, truncate: 0, pad: 0 };
  /** The share of tasks (0–1) to spoil, per fault. */
  readonly share: Record<SynthesisFault, number> = { dropSentence: 0, truncate: 0, pad: 0 };
  /** Tasks spoiled so far, per fault. */
  readonly spoiled: Record<SynthesisFault, number> = { dropSentence: 0, truncate: 0, pad: 0 };
  readonly #done = new Set<string>();

  /** Whether `fault` spoils this task's `text` (counted once chosen). */
  choose(fault: SynthesisFault, text: string, possible = true): boolean {
    const key = `${fault}\u0000${text}`;
    if (!possible || this.#done.has(key)) return false;
    let chosen = false;
    if (this.next[fault] > 0) {
      this.next[fault]--;
      chosen = true;
    } else if (this.share[fault] > 0) {
      const draw = createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
      chosen = draw < this.share[fault];
    }
    if (!chosen) return false;
    this.#done.add(key);
    this.spoiled[fault]++;
    return true;
  }
}
