/**
 * What a live stream asks of a provider: speak units of text as they come, and report audio with its place in the
 * stream, words timed from the stream's start, and where each unit's audio ends when the provider knows it.
 */
import type { OutputLabel } from "../../audio/aigc-label.js";
import type { Mark } from "../timed.js";

export type LiveVoiceEvent =
  /**
   * Audio in the stream's format (MP3 whole frames, or PCM), `endMs` the stream's length after it. `timed`: the words
   * of this audio have been reported already (NLS reports a piece's words before its audio; CosyVoice after).
   */
  | { readonly type: "audio"; readonly data: Buffer; readonly endMs: number; readonly timed: boolean }
  | { readonly type: "words"; readonly words: readonly Mark[] }
  /** The oldest unit not yet reported whole has been spoken, its audio ending at `endMs`. */
  | { readonly type: "unit-end"; readonly endMs: number }
  /** Every word of the audio so far has been reported. */
  | { readonly type: "timed" };

export interface LiveVoice {
  /** The audio the events carry: MP3 frames or 16-bit mono PCM (a WAV stream's header is the stream's to write). */
  readonly format: "mp3" | "pcm";
  readonly sampleRate: number;
  /** What the AI-generated-content label says made the speech. */
  readonly synthesis: OutputLabel["synthesis"];
  /** Speaks `unit` after the units before it; `now`: it does not end a sentence, speak it without waiting for one. */
  say(unit: string, now: boolean): void;
  /** No more units: the events end once every unit is spoken. */
  finish(): void;
  /** Stops every upstream task at once; the events end. */
  stop(): void;
  /** The characters sent to the provider so far, as it counts them. */
  readonly charactersSent: number;
  readonly events: AsyncIterable<LiveVoiceEvent>;
}
