/**
 * How long speech takes, by script, at the normal speech rate: the band a voice's audio must fall in for its text.
 * Calibrated on the local cloud's voices (espeak-ng, `cmn` and `en-us`, female and male, at rate 0): 283–286 ms a Han
 * character, 70–71 ms a Latin letter or digit; the band is half to twice that, meant to hold any provider's voice at
 * its normal pace (Mandarin speech synthesis commonly runs 4–5 characters a second, 200–250 ms each; unconfirmed for
 * Alibaba's voices, see docs/sources.md) and narrow enough that audio cut to half its text is caught. Punctuation and
 * spaces take no time of their own here.
 */
import { multiplierFromRate } from "./speech-rate.js";

export const PACE_MS = { han: 284, other: 71 } as const;
/** The band around the calibrated pace: half to twice. */
export const PACE_BAND = [0.5, 2] as const;

/** The calibrated time of `text` at `speechRate` (NLS's -500..500), in ms. */
export function pacedMs(text: string, speechRate = 0): number {
  let ms = 0;
  for (const ch of text) {
    if (/\p{Script=Han}/u.test(ch)) ms += PACE_MS.han;
    else if (/[\p{L}\p{N}]/u.test(ch)) ms += PACE_MS.other;
  }
  return ms / multiplierFromRate(speechRate);
}

/** The least and most time `text` may take at `speechRate`, in ms. */
export function paceBand(text: string, speechRate = 0): { lowMs: number; highMs: number } {
  const ms = pacedMs(text, speechRate);
  return { lowMs: ms * PACE_BAND[0], highMs: ms * PACE_BAND[1] };
}
