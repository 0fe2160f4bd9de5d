/**
 * A live stream: text written a fragment at a time becomes speech as soon as a unit of it is speakable, audio and
 * word and sentence marks timed from the stream's start come back as they are made, and at the end (or an interrupt)
 * the account of what the listener heard. Provider-neutral: the voice (./nls-voice.ts, ./cosyvoice-voice.ts) speaks
 * the units.
 *
 * An interrupt stops everything at once: no unit is said after it, no audio is relayed after it, and the voice's
 * upstream tasks are closed. Only when audio already delivered is still waiting for its word timings (CosyVoice times
 * a sentence's words after its audio) does the voice run on, for at most `timingGraceMs` and with nothing new said,
 * so the account covers exactly the audio delivered.
 */
import type { OutputLabel } from "../../audio/aigc-label.js";
import { id3Label, labelledWavHeader } from "../../audio/label-container.js";
import { InputError } from "../../errors.js";
import type { CharWeight } from "../../text/count.js";
import { weigh } from "../../text/count.js";
import { streamingWavHeader } from "../pieces.js";
import type { Mark } from "../timed.js";
import type { LiveVoice, LiveVoiceEvent } from "./live-voice.js";
import { SpeakableBuffer } from "./speakable-buffer.js";
import { type SpokenAccount, SpokenLedger } from "./spoken-ledger.js";

export interface LiveSpeechOptions {
  readonly format: "mp3" | "wav" | "pcm";
  readonly clauseWaitMs: number;
  /** One provider request's limit, and how the provider weighs a character. */
  readonly maxUnit: number;
  readonly weight: CharWeight;
  /** The most characters the whole stream takes, as the provider counts them. */
  readonly maxChars: number;
  readonly label: OutputLabel;
  /** How long an interrupt waits for the word timings of audio already delivered. */
  readonly timingGraceMs?: number;
}

export type LiveEnd = SpokenAccount & {
  readonly type: "end";
  /** done: everything written was spoken; interrupted: the client interrupted or left; failed: the provider failed. */
  readonly reason: "done" | "interrupted" | "failed";
  readonly durationMs: number;
  /** The characters sent to the provider, as it counts them: at most what it bills. */
  readonly charactersSent: number;
  readonly error?: unknown;
};

export type LiveEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  | ({ readonly type: "word" } & Mark)
  | ({ readonly type: "sentence" } & Mark)
  | LiveEnd;

/** A unit ends a sentence when it ends with an end mark (and closers): otherwise the voice speaks it without waiting. */
const ENDS_SENTENCE = /[。！？!?.\n]["'”’」』）)\]》〉\s]*$/u;
/** A unit with nothing to pronounce (spaces, punctuation) goes with the next one. */
const PRONOUNCEABLE = /[\p{L}\p{N}]/u;
const STOP = Symbol("stop");

export class LiveSpeech {
  readonly #buffer: SpeakableBuffer;
  readonly #ledger = new SpokenLedger();
  #characters = 0;
  #carry = "";
  #ended = false;
  #durationMs = 0;
  #reason: LiveEnd["reason"] | undefined;
  #clause: NodeJS.Timeout | undefined;
  /** Wakes the wait under way when the stream is interrupted. */
  #wake: ((value: typeof STOP) => void) | undefined;

  constructor(
    private readonly voice: LiveVoice,
    private readonly opts: LiveSpeechOptions,
  ) {
    this.#buffer = new SpeakableBuffer({ maxUnit: opts.maxUnit, weight: opts.weight, clauseWaitMs: opts.clauseWaitMs });
  }

  /** Takes the next fragment; refused (naming `text` and the limit) past the stream's maximum, or after the end. */
  write(fragment: string): void {
    if (this.#ended) throw new InputError("type", "the stream has ended; nothing more can be written");
    const weight = weigh(fragment, this.opts.weight);
    if (this.#characters + weight > this.opts.maxChars)
      throw new InputError(
        "text",
        `would make the stream ${this.#characters + weight} characters; one stream takes at most ${this.opts.maxChars} (STREAM_MAX_CHARS)`,
        { limit: this.opts.maxChars, actual: this.#characters + weight, statusCode: 413, code: "TextTooLong" },
      );
    this.#characters += weight;
    this.#ledger.write(fragment);
    this.#say(this.#buffer.push(fragment, Date.now()));
    this.#armClause();
  }

  /** Speaks what is held now, sentence end or not. */
  flush(): void {
    if (this.#ended) return;
    this.#say(this.#buffer.flush());
  }

  /** Nothing more will be written: the rest is spoken, then the stream ends. */
  end(): void {
    if (this.#ended) return;
    this.flush();
    this.#ended = true;
    clearTimeout(this.#clause);
    this.voice.finish();
  }

  /** Stops now: nothing more is said or relayed; the end event says what was heard. */
  interrupt(): void {
    this.#ended = true;
    this.#reason ??= "interrupted";
    clearTimeout(this.#clause);
    this.#wake?.(STOP);
  }

  /** What was heard so far, and what was sent: the record of a stream whose client has gone. */
  account(): Omit<LiveEnd, "type" | "error"> {
    return {
      reason: this.#reason ?? "interrupted",
      durationMs: Math.round(this.#durationMs),
      charactersSent: this.voice.charactersSent,
      ...this.#ledger.account(),
    };
  }

  /** The stream's events: its container's head, audio and marks as they come, and the end. */
  async *events(): AsyncGenerator<LiveEvent> {
    const { format, label } = this.opts;
    if (format === "mp3") yield { type: "audio", data: id3Label(label) };
    if (format === "wav")
      yield { type: "audio", data: labelledWavHeader(streamingWavHeader(this.voice.sampleRate), label) };
    const source = this.voice.events[Symbol.asyncIterator]();
    let next = source.next();
    let untimed = false;
    let error: unknown;
    try {
      for (;;) {
        // An interrupt that came while an event was being handed on found no wait to wake: it is looked at here.
        if (this.#interrupted()) break;
        const step = await this.#nextOrStop(next);
        if (step === STOP) break;
        if (this.#interrupted()) {
          // Taken after the interrupt: its audio is not relayed, its marks still count.
          if (!step.done) {
            next = source.next();
            if (step.value.type === "timed") untimed = false;
            else yield* this.#deliveredMarks(step.value);
          }
          break;
        }
        if (step.done) {
          this.#reason ??= "done";
          break;
        }
        next = source.next();
        const e = step.value;
        if (e.type === "audio") {
          this.#durationMs = e.endMs;
          this.#ledger.delivered(e.endMs);
          untimed ||= !e.timed;
          yield { type: "audio", data: e.data };
          continue;
        }
        if (e.type === "timed") untimed = false;
        yield* this.#marks(e);
      }
      // Audio delivered before the interrupt may still wait for its words: they are taken (never its audio), briefly.
      if (this.#reason === "interrupted" && untimed) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<typeof STOP>((resolve) => {
          timer = setTimeout(() => resolve(STOP), this.opts.timingGraceMs ?? 1000);
        });
        try {
          while (untimed) {
            const step = await Promise.race([next, grace]);
            if (step === STOP || step.done) break;
            next = source.next();
            if (step.value.type === "timed") untimed = false;
            else yield* this.#deliveredMarks(step.value);
          }
        } finally {
          clearTimeout(timer);
        }
      }
    } catch (caught) {
      this.#reason = "failed";
      error = caught;
    } finally {
      clearTimeout(this.#clause);
      this.#ended = true;
      this.voice.stop();
      next.catch(() => undefined);
      void source.return?.()?.catch(() => undefined);
    }
    if (this.#reason === "done")
      for (const s of this.#ledger.allSpoken(this.#durationMs)) yield { type: "sentence", ...s };
    yield { type: "end", ...this.account(), ...(error === undefined ? {} : { error }) };
  }

  /** The word and sentence events of a voice's marks, every offset a whole millisecond. */
  *#marks(e: Exclude<LiveVoiceEvent, { type: "audio" }>): Generator<LiveEvent> {
    if (e.type === "words") {
      const words = e.words.map((w) => ({ text: w.text, beginMs: Math.round(w.beginMs), endMs: Math.round(w.endMs) }));
      const sentences = this.#ledger.words(words);
      for (const w of words) yield { type: "word", ...w };
      for (const s of sentences) yield { type: "sentence", ...s };
    } else if (e.type === "unit-end") {
      for (const s of this.#ledger.unitEnd(e.endMs)) yield { type: "sentence", ...s };
    }
  }

  /**
   * The next event, or STOP when the stream is interrupted first. Each wait has a promise of its own: racing every
   * event against one long-lived promise would keep every event (and its audio) reachable from it until the end.
   */
  async #nextOrStop<T>(next: Promise<T>): Promise<T | typeof STOP> {
    try {
      return await Promise.race([
        next,
        new Promise<typeof STOP>((resolve) => {
          this.#wake = resolve;
        }),
      ]);
    } finally {
      this.#wake = undefined;
    }
  }

  /** Read through a method: the reason changes while an await is pending, which narrowing cannot see. */
  #interrupted(): boolean {
    return this.#reason === "interrupted";
  }

  /** An event after an interrupt: its audio is dropped; its marks count, and those of audio delivered are sent. */
  *#deliveredMarks(e: LiveVoiceEvent): Generator<LiveEvent> {
    if (e.type === "audio" || e.type === "timed") return;
    for (const m of this.#marks(e))
      if (m.type !== "word" && m.type !== "sentence") yield m;
      else if (m.endMs <= this.#durationMs) yield m;
  }

  /** Sends units to the voice; one with nothing to pronounce waits to go with the next. */
  #say(units: readonly string[]): void {
    for (const unit of units) {
      const text = this.#carry + unit;
      if (!PRONOUNCEABLE.test(text)) {
        this.#carry = text;
        continue;
      }
      this.#carry = "";
      this.#ledger.sent(text);
      // What was carried has nothing to pronounce: it is left out rather than let it take a unit past one request.
      const said = weigh(text, this.opts.weight) <= this.opts.maxUnit ? text : unit;
      this.voice.say(said, !ENDS_SENTENCE.test(said));
    }
  }

  /** A held clause is spoken alone once it has waited `clauseWaitMs` for its sentence's end. */
  #armClause(): void {
    clearTimeout(this.#clause);
    const at = this.#buffer.dueAt;
    if (at === undefined) return;
    this.#clause = setTimeout(
      () => {
        if (this.#ended) return;
        this.#say(this.#buffer.due(Date.now()));
        this.#armClause();
      },
      Math.max(0, at - Date.now()),
    );
  }
}
