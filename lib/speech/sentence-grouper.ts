import { sentenceSpans } from "../text/sentences.js";
import type { Mark } from "./timed.js";

/**
 * Groups NLS's timed words into the sentences of the text they were spoken from. A word is looked for a little ahead
 * of where the last one was found; one that is not there (NLS times pronunciation: "12" comes as 十 and 二) stays in
 * the sentence under way. A sentence is complete when a word is found beyond its end.
 */
export class SentenceGrouper {
  readonly #ends: number[] = [];
  #cursor = 0;
  #sentence = 0;
  #words: Mark[] = [];

  constructor(private readonly text: string) {
    for (const span of sentenceSpans(text)) this.#ends.push(span.end);
  }

  /** Adds words; returns the sentences they completed. */
  add(words: readonly Mark[]): Mark[] {
    const done: Mark[] = [];
    for (const w of words) {
      const at = this.text.indexOf(w.text, this.#cursor);
      if (at !== -1 && at - this.#cursor <= 8) {
        this.#cursor = at + w.text.length;
        while (this.#sentence < this.#ends.length - 1 && at >= this.#ends[this.#sentence]!) {
          const complete = this.#flush();
          if (complete) done.push(complete);
          this.#sentence++;
        }
      }
      this.#words.push(w);
    }
    return done;
  }

  /** The last sentence, once every word is in. */
  end(): Mark | undefined {
    return this.#flush();
  }

  #flush(): Mark | undefined {
    const words = this.#words;
    this.#words = [];
    if (words.length === 0) return undefined;
    const start = this.#sentence === 0 ? 0 : this.#ends[this.#sentence - 1]!;
    return {
      text: this.text.slice(start, this.#ends[this.#sentence]).trim(),
      beginMs: words[0]!.beginMs,
      endMs: words.at(-1)!.endMs,
    };
  }
}
