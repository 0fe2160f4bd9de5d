/**
 * What a live stream's listener has heard. Every character the client wrote is in the ledger, in order; the units
 * sent to the voice are its first characters. Each timed word the voice reports is found in the text sent (a little
 * ahead of the last word found: a word spoken as something else, NLS's "12" as 十 and 二, is passed over), and each
 * unit's end, when the voice reports one, is a mark too. Audio delivered up to `ms` makes every mark that ends by
 * `ms` spoken: the text spoken is the text up to the last such mark, with the punctuation right after it.
 *
 * Marks are kept only until they are spoken, so memory holds the text and the marks ahead of the listener, however
 * long the stream.
 */
import type { Mark } from "../timed.js";

/** How far past the last word found the next one is looked for, beyond its own length. */
const LOOK_AHEAD = 16;
/** Punctuation right after a spoken word belongs to what was spoken ("world." not "world"). */
const TRAILING = /[^\s\p{L}\p{N}]/u;

export interface SpokenAccount {
  readonly textSpoken: string;
  readonly textUnspoken: string;
}

interface PositionedMark {
  /** Where the mark's text ends in the ledger. */
  readonly end: number;
  readonly endMs: number;
}

/** A unit sent to the voice, for its sentence event: its span in the ledger and its first and last word. */
interface OpenUnit {
  readonly start: number;
  readonly end: number;
  first?: Mark;
  last?: Mark;
}

export class SpokenLedger {
  #text = "";
  #sent = 0;
  #cursor = 0;
  #spoken = 0;
  #deliveredMs = 0;
  readonly #ahead: PositionedMark[] = [];
  readonly #units: OpenUnit[] = [];

  write(fragment: string): void {
    this.#text += fragment;
  }

  /** The next unit went to the voice: it is the text's next `unit.length` characters. */
  sent(unit: string): void {
    this.#units.push({ start: this.#sent, end: this.#sent + unit.length });
    this.#sent += unit.length;
  }

  /** Timed words, in order, with their times in the stream; returns the units (sentences) they complete. */
  words(words: readonly Mark[]): Mark[] {
    const done: Mark[] = [];
    for (const w of words) {
      const at = this.#text.indexOf(w.text, this.#cursor);
      if (at === -1 || at >= this.#sent || at - this.#cursor > LOOK_AHEAD) continue;
      this.#cursor = at + w.text.length;
      done.push(...this.#closeUnitsBefore(at));
      const unit = this.#units[0];
      if (unit) {
        unit.first ??= w;
        unit.last = w;
      }
      this.#mark({ end: this.#cursor, endMs: w.endMs });
    }
    return done;
  }

  /** The voice has spoken the oldest unit not yet reported whole, its audio ending at `endMs`. */
  unitEnd(endMs: number): Mark[] {
    const unit = this.#units[0];
    if (!unit) return [];
    this.#cursor = Math.max(this.#cursor, unit.end);
    this.#mark({ end: unit.end, endMs });
    return this.#closeUnitsBefore(unit.end);
  }

  /** Everything written has been spoken (the stream ended of itself): the sentences still open. */
  allSpoken(endMs: number): Mark[] {
    this.#deliveredMs = Math.max(this.#deliveredMs, endMs);
    this.#ahead.length = 0;
    this.#spoken = this.#text.length;
    return this.#closeUnitsBefore(this.#sent);
  }

  /** Audio up to `ms` has reached the listener. */
  delivered(ms: number): void {
    this.#deliveredMs = Math.max(this.#deliveredMs, ms);
    while (this.#ahead.length > 0 && this.#ahead[0]!.endMs <= this.#deliveredMs) this.#speak(this.#ahead.shift()!.end);
  }

  /** What was spoken and what was not, of everything written. */
  account(): SpokenAccount {
    return { textSpoken: this.#text.slice(0, this.#spoken), textUnspoken: this.#text.slice(this.#spoken) };
  }

  #mark(mark: PositionedMark): void {
    if (mark.endMs <= this.#deliveredMs) this.#speak(mark.end);
    else this.#ahead.push(mark);
  }

  #speak(end: number): void {
    let at = Math.max(this.#spoken, end);
    while (at < this.#sent && TRAILING.test(this.#text[at]!)) at++;
    this.#spoken = at;
  }

  /** The sentence events of the units that end at or before `at` and had words. */
  #closeUnitsBefore(at: number): Mark[] {
    const done: Mark[] = [];
    while (this.#units.length > 0 && this.#units[0]!.end <= at) {
      const unit = this.#units.shift()!;
      const text = this.#text.slice(unit.start, unit.end).trim();
      if (unit.first && unit.last && text) done.push({ text, beginMs: unit.first.beginMs, endMs: unit.last.endMs });
    }
    return done;
  }
}
