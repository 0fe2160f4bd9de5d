/** A text's sentences as spans: each runs to its end punctuation (Chinese or Western) or a line break, inclusive. */
const SENTENCE = /[^。！？!?.\n]+[。！？!?.\n]*/gu;

export interface SentenceSpan {
  readonly text: string;
  /** Offsets in the text, in UTF-16 code units: [start, end). */
  readonly start: number;
  readonly end: number;
}

export function sentenceSpans(text: string): SentenceSpan[] {
  return [...text.matchAll(SENTENCE)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}
