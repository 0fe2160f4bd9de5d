/**
 * Speech with its timings, for lip-sync and live captions: audio chunks and word and sentence marks as they arrive,
 * every offset counted from the start of the whole stream (across the pieces of a text beyond one request).
 * NLS gives word timings with `enable_subtitle` (seed 000) in MetaInfo frames, one per stretch of speech it makes;
 * CosyVoice gives a sentence's words with `word_timestamp_enabled` (seed 001) at each sentence-end.
 * Timed streams are not cached: the cache keeps audio only.
 */
import { contentAddress, type OutputLabel, outputLabel } from "../audio/aigc-label.js";
import { AudioMeter } from "../audio/audio-meter.js";
import { id3Label, labelledWavHeader } from "../audio/label-container.js";
import { InputError } from "../errors.js";
import type { StreamProviderName } from "../provider-registry.js";
import type { CosyVoiceSynthesizer } from "../providers/dashscope/cosyvoice.js";
import type { NlsSynthesizer } from "../providers/nls/synthesizer.js";
import { spokenText } from "../text/index.js";
import { findNlsVoice } from "../voices/index.js";
import { LOOK_AHEAD_BYTES, ReadAhead, streamingWavHeader } from "./pieces.js";
import { refuseCosyVoiceOptions, type SpeechRequest } from "./request.js";
import { SentenceGrouper } from "./sentence-grouper.js";
import { cosyVoiceInput, nlsPieceInputs, requireCosyVoice } from "./short.js";

export { SentenceGrouper } from "./sentence-grouper.js";
export { serializeTimed } from "./timed-serialize.js";

export interface Mark {
  readonly text: string;
  readonly beginMs: number;
  readonly endMs: number;
}

export type TimedEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  | ({ readonly type: "word" } & Mark)
  | ({ readonly type: "sentence" } & Mark)
  | { readonly type: "end"; readonly durationMs: number };

/** What one piece's synthesis yields: audio, and marks timed from the start of that piece's audio. */
type PieceEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  /** Words; with `sentence`, the words of one whole sentence (CosyVoice's sentence-end). */
  | { readonly type: "marks"; readonly words: readonly Mark[] }
  | ({ readonly type: "sentence" } & Mark);

export interface TimedSpeech {
  /** The audio's own type (the events carry it base64). */
  readonly audioType: string;
  readonly events: AsyncIterable<TimedEvent>;
}

/**
 * The timed synthesis of `req` (which asked for `timestamps`). Everything is checked before any upstream call: the
 * provider must give timings (NLS: a voice with timestamps; CosyVoice: any voice; MiniMax: none here).
 */
export function openTimedSpeech(req: SpeechRequest, deps: TimedDeps, signal: AbortSignal): TimedSpeech {
  return TIMED[req.provider](req, deps, signal);
}

type TimedDeps = {
  nls: NlsSynthesizer;
  cosyvoice?: CosyVoiceSynthesizer;
  /** Who the AI-generated-content label names as the service provider (AIGC_PROVIDER_NAME). */
  aigcProducer?: string;
};

/** The label a timed stream's audio carries: its content number is the request's own address, never the tenant. */
function timedLabel(req: SpeechRequest, deps: TimedDeps, provider: string, model?: string): OutputLabel {
  return outputLabel({
    producer: deps.aigcProducer,
    contentId: contentAddress(JSON.stringify({ ...req, timestamps: true })),
    synthesis: { provider, ...(model ? { model } : {}), ...(req.voice ? { voice: req.voice } : {}) },
  });
}

/** Each stream provider's timed speech, or its refusal: a provider added to the registry does not compile without one. */
const TIMED: Record<StreamProviderName, (req: SpeechRequest, deps: TimedDeps, signal: AbortSignal) => TimedSpeech> = {
  minimax: () => {
    throw new InputError("timestamps", 'provider "minimax" gives no timings on a stream; use "nls" or "cosyvoice"');
  },
  cosyvoice: (req, deps, signal) => timedCosyVoice(req, deps, signal),
  nls: (req, deps, signal) => timedNls(req, deps, signal),
};

function timedCosyVoice(req: SpeechRequest, deps: TimedDeps, signal: AbortSignal): TimedSpeech {
  const format = req.format;
  const cosyvoice = requireCosyVoice(deps.cosyvoice);
  const input = { ...cosyVoiceInput(req), wordTimestamps: true };
  const plan = cosyvoice.prepare(input);
  const rate = plan.parameters.sample_rate;
  return {
    audioType: format,
    events: timeline(
      [
        async function* () {
          // Each sentence-synthesis is followed by that sentence's audio, then its words at sentence-end. Word times
          // that start again from 0 are taken as the sentence's own and shifted by the audio before the sentence.
          // The sentences are the text's own, spaces and punctuation kept, grouped from the words as on NLS's path
          // (CosyVoice's words carry neither).
          const sentences = new SentenceGrouper(spokenText(input.ssml ?? input.text ?? ""));
          let before = 0;
          const meter = new AudioMeter(format, rate);
          for await (const e of cosyvoice.synthesize(input, { signal })) {
            if (e.type === "audio") {
              before = meter.ms;
              meter.push(e.data);
              yield { type: "audio" as const, data: e.data };
              continue;
            }
            const shift = e.words.length > 0 && e.words[0]!.begin_time < before - 50 ? before : 0;
            const words = e.words.map((w) => ({
              text: w.text,
              beginMs: w.begin_time + shift,
              endMs: w.end_time + shift,
            }));
            yield { type: "marks" as const, words };
            for (const sentence of sentences.add(words)) yield { type: "sentence" as const, ...sentence };
          }
          const last = sentences.end();
          if (last) yield { type: "sentence" as const, ...last };
        },
      ],
      format,
      rate,
      timedLabel(req, deps, "cosyvoice", plan.model),
    ),
  };
}

function timedNls(req: SpeechRequest, deps: TimedDeps, signal: AbortSignal): TimedSpeech {
  const format = req.format;
  if (req.model !== undefined) throw new InputError("model", "applies to provider cosyvoice only");
  refuseCosyVoiceOptions(req, "nls");
  const voice = req.voice ?? "xiaoyun";
  if (findNlsVoice(voice) && !findNlsVoice(voice)!.timestamps)
    throw new InputError(
      "timestamps",
      `NLS gives no timings for ${voice} (the voice table's timestamps column); choose a voice that has them, e.g. siqi`,
    );
  const inputs = nlsPieceInputs({ ...req, voice }, { enableSubtitle: true });
  const prepared = inputs.map((input) => deps.nls.prepare(input));
  return {
    audioType: format,
    events: timeline(
      inputs.map(
        (input, i) =>
          async function* () {
            // NLS times words (MetaInfo), not sentences: the words are grouped into the piece's sentences here.
            const sentences = new SentenceGrouper(spokenText(prepared[i]!.text));
            for await (const e of deps.nls.synthesize(input, { signal, prepared: prepared[i] })) {
              if (e.type === "audio") {
                yield { type: "audio" as const, data: e.data };
                continue;
              }
              const words = e.subtitles.map((w) => ({ text: w.text, beginMs: w.begin_time, endMs: w.end_time }));
              yield { type: "marks" as const, words };
              for (const sentence of sentences.add(words)) yield { type: "sentence" as const, ...sentence };
            }
            const last = sentences.end();
            if (last) yield { type: "sentence" as const, ...last };
          },
      ),
      format,
      prepared[0]!.sample_rate,
      timedLabel(req, deps, "nls"),
    ),
  };
}

/**
 * The pieces one after another as one timeline: each piece's marks shifted by the measured length of the audio before
 * it (MP3 by its frames, PCM by its bytes), a WAV header once at the start, and the total length at the end.
 */
async function* timeline(
  pieces: ReadonlyArray<() => AsyncIterable<PieceEvent>>,
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
  label: OutputLabel,
): AsyncGenerator<TimedEvent> {
  let offset = 0;
  // The audio carries its AI-generated-content label, as every output does: an MP3 starts with its tag (the pieces'
  // own tags are dropped as they are re-framed), a WAV's one header holds it before the data.
  if (format === "mp3") yield { type: "audio", data: id3Label(label) };
  if (format === "wav") yield { type: "audio", data: labelledWavHeader(streamingWavHeader(sampleRate), label) };
  // The next piece is read ahead (bounded) while the current one is relayed, as in an audio-only stream.
  const started: ReadAhead<PieceEvent>[] = [];
  const start = (i: number): ReadAhead<PieceEvent> | undefined => {
    if (i >= pieces.length) return undefined;
    started[i] ??= new ReadAhead(pieces[i]!()[Symbol.asyncIterator](), LOOK_AHEAD_BYTES, (e) =>
      e.type === "audio" ? e.data.length : 64,
    );
    return started[i];
  };
  try {
    for (let i = 0; i < pieces.length; i++) {
      const current = start(i)!;
      start(i + 1);
      offset += yield* relayPiece({ [Symbol.asyncIterator]: () => current }, format, sampleRate, offset);
    }
  } finally {
    await Promise.all(started.map((s) => s.return().catch(() => undefined)));
  }
  yield { type: "end", durationMs: Math.round(offset) };
}

/**
 * One piece's events, its marks shifted by `offset`; returns the length of its audio in ms, measured as it passes by
 * an AudioMeter (MP3 re-framed into whole frames, PCM by its bytes), nothing held but an unfinished WAV header.
 */
async function* relayPiece(
  events: AsyncIterable<PieceEvent>,
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
  offset: number,
): AsyncGenerator<TimedEvent, number> {
  // A single-piece WAV comes with its own header: the one written at the start stands for it.
  const meter = new AudioMeter(format, sampleRate);
  for await (const event of events) {
    if (event.type === "audio") {
      const data = meter.push(event.data);
      if (data && data.length > 0) yield { type: "audio", data };
      continue;
    }
    // Every offset is a whole millisecond: a piece's start is measured from its audio (MP3 frames: 1157.142… ms).
    if (event.type === "sentence") {
      yield { ...event, beginMs: Math.round(event.beginMs + offset), endMs: Math.round(event.endMs + offset) };
      continue;
    }
    const shifted = event.words.map((w) => ({
      text: w.text,
      beginMs: Math.round(w.beginMs + offset),
      endMs: Math.round(w.endMs + offset),
    }));
    for (const w of shifted) yield { type: "word", ...w };
  }
  return meter.ms;
}
