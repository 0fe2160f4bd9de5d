/**
 * Text written a fragment at a time, as a language model writes it (word pieces included), cut into units a voice
 * speaks well: a sentence as soon as its end is certain; a clause when its sentence has not ended `clauseWaitMs` after
 * the clause did; whatever is held, on `flush`. No unit is heavier than one provider request (`maxUnit`): text that
 * outgrows it before its sentence ends goes in request-sized units, cut at clauses, then spaces.
 *
 * A sentence's end is certain only once the next character has come: "3." may go on as "3.14", "!" as "!?" or "!」".
 * So "." "!" "?" end a sentence before a space, and 。！？ and a line break before anything but another end mark or a
 * closer. The units, in order, are the text exactly: nothing is dropped, trimmed or added.
 */
import { CLAUSE, CLOSERS, SENTENCE_END } from "../../text/chunk.js";
import { type CharWeight, weigh } from "../../text/count.js";

export interface SpeakableBufferOptions {
  /** The heaviest unit, in the provider's characters (one request's limit). */
  readonly maxUnit: number;
  readonly weight: CharWeight;
  /** How long a clause waits for its sentence's end before it is spoken alone. */
  readonly clauseWaitMs: number;
}

const LATIN_END = /[.!?]/;
const SPACE = /\s/;

export class SpeakableBuffer {
  #held = "";
  /** Where the next scan starts: no certain sentence end lies before it. */
  #scanned = 0;
  /** The end of the last clause in the held text (after its mark), 0 when none. */
  #clauseEnd = 0;
  /** When the held text's first clause ended, for the clause's wait. */
  #clauseSince: number | undefined;

  constructor(private readonly opts: SpeakableBufferOptions) {}

  /** The text held, not yet a unit. */
  get held(): string {
    return this.#held;
  }

  /** When the held clause is due to be spoken alone; undefined when none waits. */
  get dueAt(): number | undefined {
    return this.#clauseSince === undefined ? undefined : this.#clauseSince + this.opts.clauseWaitMs;
  }

  /** Adds a fragment written at `now` (ms); returns the units it completed, in order. */
  push(fragment: string, now: number): string[] {
    this.#held += fragment;
    const units: string[] = [];
    const end = this.#scan();
    if (end > 0) units.push(...this.#take(end));
    if (weigh(this.#held, this.opts.weight) > this.opts.maxUnit) {
      const parts = cutToWeight(this.#held, this.opts.maxUnit, this.opts.weight);
      parts.pop();
      units.push(...this.#take(parts.join("").length));
    }
    if (this.#clauseEnd > 0) this.#clauseSince ??= now;
    return units;
  }

  /** The held text through its last clause, once that clause has waited `clauseWaitMs`; otherwise nothing. */
  due(now: number): string[] {
    const at = this.dueAt;
    if (at === undefined || now < at) return [];
    return this.#take(this.#clauseEnd);
  }

  /** Everything held, as units. */
  flush(): string[] {
    return this.#take(this.#held.length);
  }

  /** The held text's first `length` characters as units, cut to `maxUnit`; the scan state follows the rest. */
  #take(length: number): string[] {
    const taken = this.#held.slice(0, length);
    this.#held = this.#held.slice(length);
    this.#scanned = 0;
    this.#clauseEnd = 0;
    this.#clauseSince = undefined;
    this.#scan();
    if (taken === "") return [];
    return cutToWeight(taken, this.opts.maxUnit, this.opts.weight);
  }

  /**
   * Scans the held text from where the last scan stopped; returns the index after the last certain sentence end (its
   * closers and spaces included), 0 when there is none. Notes the last clause end on the way.
   */
  #scan(): number {
    const text = this.#held;
    let end = 0;
    let i = this.#scanned;
    while (i < text.length) {
      const ch = text[i]!;
      if (CLAUSE.test(ch)) this.#clauseEnd = i + 1;
      if (!SENTENCE_END.test(ch) && !LATIN_END.test(ch)) {
        i++;
        continue;
      }
      // An end mark: the run of end marks and closers after it decides, once something follows the run.
      const start = i;
      let j = i + 1;
      let spaced = false;
      // After a space only spaces belong to the run: a quote there opens the next sentence.
      while (
        j < text.length &&
        (spaced
          ? SPACE.test(text[j]!)
          : SENTENCE_END.test(text[j]!) || LATIN_END.test(text[j]!) || CLOSERS.test(text[j]!))
      ) {
        if (SPACE.test(text[j]!)) spaced = true;
        j++;
      }
      if (j === text.length && !spaced) {
        // Nothing after the run yet: "3." may become "3.14". Scan it again when more has come.
        this.#scanned = start;
        return end;
      }
      if (spaced || !LATIN_END.test(text.slice(start, j).replace(/\s/g, "").at(-1) ?? "") || hasWideEnd(text, start, j))
        end = j;
      i = j;
    }
    this.#scanned = text.length;
    return end;
  }
}

/**
 * The text in consecutive pieces of at most `max` weight, each cut at the last sentence end that fits, else the last
 * clause, else the last space, else between two code points. The pieces join to the text exactly (the chunker for
 * whole requests drops spaces at its cuts; a live stream's account may not).
 */
export function cutToWeight(text: string, max: number, weight: CharWeight): string[] {
  const out: string[] = [];
  let rest = text;
  while (weigh(rest, weight) > max) {
    let w = 0;
    let sentence = 0;
    let clause = 0;
    let space = 0;
    let at = 0;
    for (const ch of rest) {
      const cw = weigh(ch, weight);
      if (w + cw > max) break;
      w += cw;
      at += ch.length;
      if (SENTENCE_END.test(ch) || LATIN_END.test(ch)) sentence = at;
      else if (CLAUSE.test(ch)) clause = at;
      else if (SPACE.test(ch)) space = at;
    }
    const cut = sentence || clause || space || at || rest.length;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== "") out.push(rest);
  return out;
}

/** Whether the run [start, end) holds a mark that ends a sentence wherever it stands (。！？ or a line break). */
function hasWideEnd(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (SENTENCE_END.test(text[k]!) && !LATIN_END.test(text[k]!)) return true;
  return false;
}
