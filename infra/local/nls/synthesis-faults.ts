/**
 * Which long-text tasks a lossy provider spoils, and how: a sentence left out of the audio and timings, the audio cut
 * to its first fifth (timings left whole), or 2 s of silence before it (timings shifted with it). Each fault is chosen
 * by a count (the next N tasks) or a share of tasks: of the tasks a fault could spoil, the n-th is spoiled when
 * ⌊n × share + phase⌋ steps up, so a run spoils its share exactly (rounded), at places that do not depend on the text
 * and differ between faults. A text is spoiled by a fault once at most, so the same text asked again (a repair) comes
 * out whole.
 */
export type SynthesisFault = "dropSentence" | "truncate" | "pad";

/** Where in its period each fault falls, so shares alike do not spoil the same task. */
const PHASE: Record<SynthesisFault, number> = { dropSentence: 0.5, truncate: 0.6, pad: 0.25 };

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
  /** Tasks each fault has considered. */
  readonly #seen: Record<SynthesisFault, number> = { dropSentence: 0, truncate: 0, pad: 0 };

  /** Whether `fault` spoils this task's `text` (counted once chosen). */
  choose(fault: SynthesisFault, text: string, possible = true): boolean {
    const key = `${fault}\u0000${text}`;
    if (!possible || this.#done.has(key)) return false;
    let chosen = false;
    if (this.next[fault] > 0) {
      this.next[fault]--;
      chosen = true;
    } else if (this.share[fault] > 0) {
      const n = ++this.#seen[fault];
      const at = (k: number) => Math.floor(k * this.share[fault] + PHASE[fault]);
      chosen = at(n) > at(n - 1);
    }
    if (!chosen) return false;
    this.#done.add(key);
    this.spoiled[fault]++;
    return true;
  }
}
