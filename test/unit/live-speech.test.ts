import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { outputLabel } from "../../lib/audio/aigc-label.js";
import { type LiveEvent, LiveSpeech } from "../../lib/speech/live/live-speech.js";
import type { LiveVoice, LiveVoiceEvent } from "../../lib/speech/live/live-voice.js";
import { SpeakableBuffer } from "../../lib/speech/live/speakable-buffer.js";
import { SpokenLedger } from "../../lib/speech/live/spoken-ledger.js";
import { cosyVoiceWeight, nlsWeight } from "../../lib/text/index.js";

const buffer = (maxUnit = 300, clauseWaitMs = 400) => new SpeakableBuffer({ maxUnit, weight: nlsWeight, clauseWaitMs });

describe("cutting text written a fragment at a time into speakable units", () => {
  it("gives a sentence once its end is certain: after the space that follows a full stop", () => {
    const b = buffer();
    expect(b.push("Hello", 0)).toEqual([]);
    expect(b.push(" world.", 0)).toEqual([]);
    expect(b.push(" Next", 0)).toEqual(["Hello world. "]);
    expect(b.held).toBe("Next");
  });

  it("does not end a sentence at a decimal point, nor before the closers after an end mark", () => {
    const b = buffer();
    expect(b.push("Pi is 3.", 0)).toEqual([]);
    expect(b.push("14 exactly", 0)).toEqual([]);
    expect(b.push('. "Really?!', 0)).toEqual(["Pi is 3.14 exactly. "]);
    expect(b.push('" he', 0)).toEqual(['"Really?!" ']);
  });

  it("ends a Chinese sentence at 。 once anything but a closer follows", () => {
    const b = buffer();
    expect(b.push("你好。", 0)).toEqual([]);
    expect(b.push("」", 0)).toEqual([]);
    expect(b.push("今天", 0)).toEqual(["你好。」"]);
  });

  it("speaks a clause alone once it has waited for its sentence's end", () => {
    const b = buffer(300, 400);
    expect(b.push("Well, I think", 1000)).toEqual([]);
    expect(b.dueAt).toBe(1400);
    expect(b.due(1399)).toEqual([]);
    expect(b.due(1400)).toEqual(["Well,"]);
    expect(b.held).toBe(" I think");
    expect(b.dueAt).toBeUndefined();
  });

  it("cuts text that outgrows one request before its sentence ends, at a clause or a space", () => {
    const b = buffer(20);
    const units = b.push("one two three four five six seven eight", 0);
    expect(units.length).toBeGreaterThan(0);
    for (const u of units) expect(u.length).toBeLessThanOrEqual(20);
    expect(units.join("") + b.held).toBe("one two three four five six seven eight");
  });

  it("weighs a Han character twice for CosyVoice", () => {
    const b = new SpeakableBuffer({ maxUnit: 10, weight: cosyVoiceWeight, clauseWaitMs: 400 });
    const units = b.push("床前明月光疑是地上霜", 0);
    for (const u of units) expect(u.length).toBeLessThanOrEqual(5);
  });

  it("loses, adds and reorders nothing, however the text is cut into fragments (property)", () => {
    const alphabet = fc.constantFrom(...'ab 3.14!?。，,」"\n你好'.split(""));
    fc.assert(
      fc.property(
        fc.array(
          fc.array(alphabet, { maxLength: 6 }).map((cs) => cs.join("")),
          { maxLength: 40 },
        ),
        fc.nat(3),
        (fragments, step) => {
          const b = buffer(12, 100);
          const out: string[] = [];
          let now = 0;
          for (const f of fragments) {
            out.push(...b.push(f, now));
            now += step * 40;
            out.push(...b.due(now));
          }
          out.push(...b.flush());
          expect(out.join("")).toBe(fragments.join(""));
          for (const u of out) expect(u.length).toBeLessThanOrEqual(12);
        },
      ),
    );
  });
});

const mark = (text: string, beginMs: number, endMs: number) => ({ text, beginMs, endMs });

describe("the ledger of what a listener heard", () => {
  it("counts a word spoken once its audio is delivered, with the punctuation after it", () => {
    const l = new SpokenLedger();
    l.write("Hello world. Next one.");
    l.sent("Hello world. ");
    l.words([mark("Hello", 0, 300), mark("world", 300, 700)]);
    l.delivered(500);
    expect(l.account()).toEqual({ textSpoken: "Hello", textUnspoken: " world. Next one." });
    l.delivered(700);
    expect(l.account()).toEqual({ textSpoken: "Hello world.", textUnspoken: " Next one." });
  });

  it("passes over a word spoken as something else, and reports a unit's sentence when the next unit's word comes", () => {
    const l = new SpokenLedger();
    l.write("第12句。下一句。");
    l.sent("第12句。");
    l.sent("下一句。");
    expect(l.words([mark("第", 0, 100), mark("十", 100, 200), mark("二", 200, 300), mark("句", 300, 400)])).toEqual([]);
    expect(l.words([mark("下", 500, 600)])).toEqual([{ text: "第12句。", beginMs: 0, endMs: 400 }]);
    l.delivered(450);
    expect(l.account().textSpoken).toBe("第12句。");
  });

  it("never counts text that was not sent", () => {
    const l = new SpokenLedger();
    l.write("one two");
    l.sent("one ");
    l.words([mark("one", 0, 100), mark("two", 100, 200)]);
    l.delivered(1000);
    expect(l.account()).toEqual({ textSpoken: "one", textUnspoken: " two" });
  });

  it("counts a unit whole when the voice says its audio ended, words or none", () => {
    const l = new SpokenLedger();
    l.write("12。34。");
    l.sent("12。");
    l.sent("34。");
    l.unitEnd(800);
    l.delivered(800);
    expect(l.account()).toEqual({ textSpoken: "12。", textUnspoken: "34。" });
  });
});

/** A voice that speaks each unit as one 100 ms word per word, its audio 1 byte a millisecond, timed before or after. */
class FakeVoice implements LiveVoice {
  readonly format = "pcm" as const;
  readonly sampleRate = 16000;
  readonly synthesis = { provider: "nls" };
  readonly said: string[] = [];
  charactersSent = 0;
  stopped = false;
  #queue: LiveVoiceEvent[] = [];
  #wake: (() => void) | undefined;
  #finished = false;
  #ms = 0;
  constructor(private readonly wordsAfterAudio: boolean) {}
  say(unit: string): void {
    this.said.push(unit);
    this.charactersSent += unit.length;
    const words = (unit.match(/[\p{L}\p{N}]+/gu) ?? []).map((text) => {
      const w = mark(text, this.#ms, this.#ms + 100);
      this.#ms += 100;
      return w;
    });
    const audio = words.map((w) => ({
      type: "audio" as const,
      data: Buffer.alloc(100),
      endMs: w.endMs,
      timed: !this.wordsAfterAudio,
    }));
    if (this.wordsAfterAudio) this.#queue.push(...audio, { type: "words", words }, { type: "timed" });
    else this.#queue.push({ type: "words", words }, ...audio, { type: "unit-end", endMs: this.#ms }, { type: "timed" });
    this.#wake?.();
  }
  finish(): void {
    this.#finished = true;
    this.#wake?.();
  }
  stop(): void {
    this.stopped = true;
    this.#wake?.();
  }
  readonly events = async function* (this: FakeVoice): AsyncGenerator<LiveVoiceEvent> {
    for (;;) {
      const e = this.#queue.shift();
      if (e) {
        yield e;
        continue;
      }
      if (this.#finished || this.stopped) return;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
  }.call(this);
}

const live = (voice: LiveVoice, clauseWaitMs = 400) =>
  new LiveSpeech(voice, {
    format: "pcm",
    clauseWaitMs,
    maxUnit: 300,
    weight: nlsWeight,
    maxChars: 100,
    label: outputLabel({ contentId: "test", synthesis: { provider: "nls" } }),
  });

describe("a live stream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("speaks each sentence as it ends, then the rest at the end, and says all of it was spoken", async () => {
    const voice = new FakeVoice(false);
    const s = live(voice);
    for (const f of ["Hel", "lo there. ", "How are", " you"]) s.write(f);
    expect(voice.said).toEqual(["Hello there. "]);
    s.end();
    expect(voice.said).toEqual(["Hello there. ", "How are you"]);
    const events: LiveEvent[] = [];
    for await (const e of s.events()) events.push(e);
    const end = events.at(-1)!;
    expect(end).toMatchObject({
      type: "end",
      reason: "done",
      textSpoken: "Hello there. How are you",
      textUnspoken: "",
    });
    const words = events.filter((e) => e.type === "word");
    expect(words.map((w) => w.type === "word" && w.text)).toEqual(["Hello", "there", "How", "are", "you"]);
    expect(events.filter((e) => e.type === "sentence").map((e) => e.type === "sentence" && e.text)).toEqual([
      "Hello there.",
      "How are you",
    ]);
  });

  it("speaks a clause after its wait, on the clock", async () => {
    const voice = new FakeVoice(false);
    const s = live(voice, 400);
    s.write("Well, I think");
    await vi.advanceTimersByTimeAsync(399);
    expect(voice.said).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(voice.said).toEqual(["Well,"]);
  });

  it("refuses text past the stream's maximum, naming the field and the limit", () => {
    const s = live(new FakeVoice(false));
    s.write("a".repeat(100));
    expect(() => s.write("b")).toThrow(/text.*at most 100/s);
  });

  it("stops at an interrupt: nothing more said or relayed, and what was heard is what was delivered", async () => {
    const voice = new FakeVoice(false);
    const s = live(voice);
    s.write("one two. three four. ");
    s.write("five");
    const it = s.events();
    const got: LiveEvent[] = [];
    for (let step = await it.next(); !step.done; step = await it.next()) {
      got.push(step.value);
      if (got.filter((e) => e.type === "audio").length === 3) s.interrupt();
    }
    expect(voice.stopped).toBe(true);
    expect(() => s.write("six")).toThrow(/ended/);
    const end = got.at(-1)!;
    expect(end).toMatchObject({
      type: "end",
      reason: "interrupted",
      textSpoken: "one two. three",
      textUnspoken: " four. five",
    });
    expect(got.filter((e) => e.type === "audio").length).toBe(3);
  });

  it("waits briefly for the timings of audio delivered before an interrupt, relaying none of what follows", async () => {
    const voice = new FakeVoice(true);
    const s = live(voice);
    s.write("one two. three four. ");
    const it = s.events();
    const got: LiveEvent[] = [];
    for (let step = await it.next(); !step.done; step = await it.next()) {
      got.push(step.value);
      if (step.value.type === "audio") {
        s.interrupt();
      }
    }
    expect(got.filter((e) => e.type === "audio").length).toBe(1);
    expect(got.at(-1)).toMatchObject({ reason: "interrupted", textSpoken: "one", textUnspoken: " two. three four. " });
  });
});

describe("a live stream's invariants (property)", () => {
  const letters = (s: string): string => (s.match(/[\p{L}\p{N}]+/gu) ?? []).join("");
  const piece = fc.constantFrom("one", "two", "three", "十二", "你好", " ", ", ", ". ", "。", "!", "? ", "\n", "3.14");

  it("says as spoken exactly the words whose audio was delivered, and accounts for every character written", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(piece, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.option(fc.nat(40)),
        fc.array(fc.boolean(), { maxLength: 12 }),
        async (fragments, wordsAfterAudio, interruptAt, flushes) => {
          const voice = new FakeVoice(wordsAfterAudio);
          const s = new LiveSpeech(voice, {
            format: "pcm",
            clauseWaitMs: 10_000,
            maxUnit: 12,
            weight: nlsWeight,
            maxChars: 10_000,
            label: outputLabel({ contentId: "p", synthesis: { provider: "nls" } }),
            timingGraceMs: 50,
          });
          let written = "";
          fragments.forEach((parts, i) => {
            const f = parts.join("");
            s.write(f);
            written += f;
            if (flushes[i]) s.flush();
          });
          s.end();
          const got: LiveEvent[] = [];
          let audioAtInterrupt: number | undefined;
          for await (const e of s.events()) {
            got.push(e);
            const audio = got.filter((x) => x.type === "audio").length;
            if (interruptAt !== null && audio === interruptAt && audioAtInterrupt === undefined) {
              audioAtInterrupt = audio;
              s.interrupt();
            }
          }
          const end = got.at(-1) as Extract<LiveEvent, { type: "end" }>;
          // Every character written is accounted for, in order.
          expect(end.textSpoken + end.textUnspoken).toBe(written);
          if (end.reason === "done") expect(end.textUnspoken).toBe("");
          // Nothing is relayed after an interrupt.
          if (audioAtInterrupt !== undefined)
            expect(got.filter((x) => x.type === "audio").length).toBe(audioAtInterrupt);
          // What was spoken is exactly the words whose audio ended within what was delivered (1 byte a millisecond).
          const deliveredMs = got.reduce((n, x) => n + (x.type === "audio" ? x.data.length : 0), 0);
          const heard = got.filter((x): x is Extract<LiveEvent, { type: "word" }> => x.type === "word");
          expect(letters(end.textSpoken)).toBe(
            heard
              .filter((w) => w.endMs <= deliveredMs)
              .map((w) => w.text)
              .join(""),
          );
          // The voice was given the text in order, nothing added.
          expect(letters(written).startsWith(letters(voice.said.join("")))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
