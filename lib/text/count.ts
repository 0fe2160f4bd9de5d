/**
 * Character counting by the providers' own rules.
 *
 * NLS (seeds 000/003): a Chinese character, an English letter, a punctuation mark or a space counts as one; SSML tags
 * do not count. CosyVoice (seed 001, facts §8): a Han character counts as two, everything else as one, tags excluded.
 * Both count code points, so an emoji or a rare CJK character outside the BMP counts once, not twice.
 */
import { looksLikeSsml, tokenizeMarkup } from "./markup.js";

export type CharWeight = (codePoint: number) => number;

const HAN = /\p{Script=Han}/u;

export const nlsWeight: CharWeight = () => 1;
export const cosyVoiceWeight: CharWeight = (cp) => (HAN.test(String.fromCodePoint(cp)) ? 2 : 1);

/** The spoken text: SSML markup removed and entities decoded; plain text as it is. */
export function spokenText(text: string): string {
  if (!looksLikeSsml(text)) return text;
  return tokenizeMarkup(text)
    .tokens.map((t) => (t.kind === "text" ? t.value : ""))
    .join("");
}

export function weigh(text: string, weight: CharWeight): number {
  if (weight === nlsWeight) return codePointCount(text);
  let n = 0;
  for (const ch of text) n += weight(ch.codePointAt(0)!);
  return n;
}

/**
 * Code points, as `for...of` yields them (a surrogate pair once, a lone surrogate once), without making a string per
 * character: a job's text is counted several times between its request and its task.
 */
export function codePointCount(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

/** Characters as NLS counts them (short-text limit 300, long-text limit 100,000). */
export function countNlsChars(text: string): number {
  return weigh(spokenText(text), nlsWeight);
}

/** Characters as CosyVoice counts them (20,000 per continue-task, 200,000 per task). */
export function countCosyVoiceChars(text: string): number {
  return weigh(spokenText(text), cosyVoiceWeight);
}
