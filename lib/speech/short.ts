/**
 * On-demand (short-text) speech: validate, then serve from the cache or stream a fresh synthesis.
 * Validation happens before any cache lookup or upstream connection, so bad input never costs a call.
 */
import type { NlsSynthesisEvent, NlsSynthesizer } from "../providers/nls/synthesizer.js";
import { InputError } from "../errors.js";
import { type SpeechCache, cacheKey, prefetched } from "./cache.js";
import { type SpeechRequest, contentTypeOf } from "./request.js";

export interface ShortSpeechDeps {
  readonly nls: NlsSynthesizer;
  readonly cache?: SpeechCache;
}

export interface OpenedSpeech {
  readonly contentType: string;
  readonly cache: "hit" | "miss" | "off";
  readonly body: AsyncIterable<Uint8Array>;
}

async function* audioOf(events: AsyncIterable<NlsSynthesisEvent>): AsyncGenerator<Uint8Array> {
  for await (const event of events) if (event.type === "audio") yield event.data;
}

export async function openShortSpeech(req: SpeechRequest, deps: ShortSpeechDeps): Promise<OpenedSpeech> {
  if (req.provider !== "nls") throw new InputError("provider", `"${req.provider}" is not available on this deployment; use "nls"`, { code: "UnsupportedProvider" });
  const input = {
    ...(req.text !== undefined ? { text: req.text } : { ssml: req.ssml! }),
    voice: req.voice,
    format: req.format,
    sampleRate: req.sampleRate,
    volume: req.volume,
    speechRate: req.speechRate,
    pitchRate: req.pitchRate,
  };
  const payload = deps.nls.prepare(input);
  const contentType = contentTypeOf(payload.format, payload.sample_rate);
  const start = (signal?: AbortSignal): AsyncIterator<Uint8Array> => audioOf(deps.nls.synthesize(input, { signal }))[Symbol.asyncIterator]();
  if (!deps.cache) return { contentType, cache: "off", body: await prefetched(start()) };
  const key = cacheKey({ provider: "nls", model: "", voice: payload.voice, format: payload.format, sampleRate: payload.sample_rate, volume: payload.volume, speechRate: payload.speech_rate, pitchRate: payload.pitch_rate, text: payload.text });
  const opened = await deps.cache.open(key, start);
  return { contentType, cache: opened.cache, body: opened.body };
}
