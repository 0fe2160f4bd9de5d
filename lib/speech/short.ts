/**
 * On-demand (short-text) speech: validate, then serve from the cache or stream a fresh synthesis.
 * Validation happens before any cache lookup or upstream connection, so bad input never costs a call.
 */

import { contentAddress, outputLabel } from "../audio/aigc-label.js";
import { labelAudio } from "../audio/label-container.js";
import type { Lease } from "../budget/account-budget.js";
import { InputError } from "../errors.js";
import type { StreamProviderName } from "../provider-registry.js";
import type { CosyVoiceInput, CosyVoiceSynthesizer } from "../providers/dashscope/cosyvoice.js";
import { MINIMAX_DEFAULT_MODEL, type MinimaxClient, minimaxVoiceSetting } from "../providers/dashscope/minimax.js";
import { NLS_SHORT_TEXT_LIMIT, type NlsSpeechInput, type NlsSynthesizer } from "../providers/nls/synthesizer.js";
import { chunkText, codePointCount, countNlsChars } from "../text/index.js";
import { multiplierFromRate } from "../text/speech-rate.js";
import { type CacheKeyFields, cacheKey, prefetched, type SpeechCache } from "./cache.js";
import { finalizeWav, speakPieces } from "./pieces.js";
import { contentTypeOf, refuseCosyVoiceOptions, type SpeechRequest } from "./request.js";

export interface ShortSpeechDeps {
  readonly nls: NlsSynthesizer;
  readonly cosyvoice?: CosyVoiceSynthesizer;
  readonly minimax?: MinimaxClient;
  readonly cache?: SpeechCache;
  /**
   * Whose cache it is: a tenant's cached speech is never another's, so a hit tells nobody what anyone else asked for
   * (the owner digest of the API key, never the key).
   */
  readonly tenant?: string;
  /** Takes the account budget's lease for a synthesis (none: no budget); refuses with 429 when it is spent. */
  readonly lease?: (provider: StreamProviderName, weight: number) => Promise<Lease>;
  /** The most characters one stream takes (STREAM_MAX_CHARS); longer text belongs to the job API. */
  readonly maxChars?: number;
  /** The name the caller gave the text (`input` on the OpenAI-compatible endpoint), for the refusal. */
  readonly textField?: string;
  /** Who the AI-generated-content label names as the service provider (AIGC_PROVIDER_NAME). */
  readonly aigcProducer?: string;
}

/** OpenAI's limit for one speech request, and so the default of STREAM_MAX_CHARS. */
export const STREAM_MAX_CHARS_DEFAULT = 4096;

export interface OpenedSpeech {
  readonly contentType: string;
  readonly cache: "hit" | "miss" | "off";
  readonly body: AsyncIterable<Uint8Array>;
}

/** A validated synthesis, not yet started. */
interface Planned {
  readonly contentType: string;
  readonly key: Omit<CacheKeyFields, "kind" | "tenant">;
  /** Turns the whole audio into what the cache keeps (a streamed WAV gets its real sizes). */
  readonly finalize?: (audio: Buffer) => Buffer;
  start(signal?: AbortSignal): AsyncIterator<Uint8Array>;
}

async function* audioOf(events: AsyncIterable<{ type: string; data?: Buffer }>): AsyncGenerator<Uint8Array> {
  for await (const event of events) if (event.type === "audio" && event.data) yield event.data;
}

function planNls(req: SpeechRequest, nls: NlsSynthesizer): Planned {
  const inputs = nlsPieceInputs(req);
  if (inputs.length > 1) return planNlsPieces(req, nls, inputs);
  const input = inputs[0]!;
  const p = nls.prepare(input);
  return {
    contentType: contentTypeOf(p.format, p.sample_rate),
    key: {
      provider: "nls",
      model: "",
      voice: p.voice,
      format: p.format,
      sampleRate: p.sample_rate,
      volume: p.volume,
      speechRate: p.speech_rate,
      pitchRate: p.pitch_rate,
      text: p.text,
    },
    start: (signal) => audioOf(nls.synthesize(input, { signal, prepared: p }))[Symbol.asyncIterator](),
  };
}

/**
 * Text beyond NLS's 300 characters a request: cut at sentence ends into pieces within it, each checked by NLS's rules
 * now (before anything is sent), spoken one after another as one stream. WAV pieces are asked for as PCM, so the
 * stream has one header.
 */
function planNlsPieces(req: SpeechRequest, nls: NlsSynthesizer, inputs: readonly NlsSpeechInput[]): Planned {
  const prepared = inputs.map((input) => nls.prepare(input));
  const p = prepared[0]!;
  return {
    contentType: contentTypeOf(req.format, p.sample_rate),
    key: {
      provider: "nls",
      model: "",
      voice: p.voice,
      format: req.format,
      sampleRate: p.sample_rate,
      volume: p.volume,
      speechRate: p.speech_rate,
      pitchRate: p.pitch_rate,
      text: req.text ?? req.ssml!,
    },
    ...(req.format === "wav" ? { finalize: finalizeWav } : {}),
    start: (signal) =>
      speakPieces(
        req.format,
        p.sample_rate,
        inputs.map(
          (input, i) => (pieceSignal) =>
            audioOf(nls.synthesize(input, { signal: pieceSignal, prepared: prepared[i] }))[Symbol.asyncIterator](),
        ),
        signal ?? new AbortController().signal,
      ),
  };
}

/** The CosyVoice client of this deployment, or the refusal naming `provider` when DashScope is not configured. */
export function requireCosyVoice(cosyvoice: CosyVoiceSynthesizer | undefined): CosyVoiceSynthesizer {
  if (!cosyvoice)
    throw new InputError(
      "provider",
      '"cosyvoice" is not configured on this deployment (DASHSCOPE_API_KEY); use "nls"',
      { code: "UnsupportedProvider" },
    );
  return cosyvoice;
}

/**
 * A stream request as CosyVoice's input. One rate scale on our API for both providers: NLS's -500..500, turned into
 * CosyVoice's multipliers.
 */
export function cosyVoiceInput(req: SpeechRequest): CosyVoiceInput {
  return {
    ...(req.text !== undefined ? { text: req.text } : { ssml: req.ssml! }),
    model: req.model,
    voice: req.voice,
    format: req.format,
    sampleRate: req.sampleRate as 22050 | undefined,
    volume: req.volume,
    rate: req.speechRate === undefined ? undefined : multiplierFromRate(req.speechRate),
    pitch: req.pitchRate === undefined ? undefined : multiplierFromRate(req.pitchRate),
    seed: req.seed,
    languageHints: req.languageHints,
    instruction: req.instruction,
  };
}

/**
 * A stream request as NLS inputs of at most 300 characters each, cut at sentence ends (one input when it fits). A
 * WAV beyond one piece is asked for as PCM pieces, so the stream carries one header.
 */
export function nlsPieceInputs(req: SpeechRequest, extra: Partial<NlsSpeechInput> = {}): NlsSpeechInput[] {
  const source = req.text ?? req.ssml!;
  const field = req.text !== undefined ? "text" : "ssml";
  // Plain text is counted and cut as text whatever it looks like (it is sent escaped): only `ssml` is markup.
  const ssml = req.ssml !== undefined;
  const count = ssml ? countNlsChars(source) : codePointCount(source);
  const pieces = count > NLS_SHORT_TEXT_LIMIT ? chunkText(source, { max: NLS_SHORT_TEXT_LIMIT, ssml }) : [source];
  const format = req.format === "wav" && pieces.length > 1 ? "pcm" : req.format;
  return pieces.map(
    (piece) =>
      ({
        voice: req.voice,
        format,
        sampleRate: req.sampleRate,
        volume: req.volume,
        speechRate: req.speechRate,
        pitchRate: req.pitchRate,
        ...extra,
        [field]: piece,
      }) as NlsSpeechInput,
  );
}

function planCosyVoice(req: SpeechRequest, client: CosyVoiceSynthesizer | undefined): Planned {
  const cosyvoice = requireCosyVoice(client);
  const input = cosyVoiceInput(req);
  const plan = cosyvoice.prepare(input);
  const p = plan.parameters;
  return {
    contentType: contentTypeOf(req.format, p.sample_rate),
    key: {
      provider: "cosyvoice",
      model: plan.model,
      voice: p.voice,
      format: p.format,
      sampleRate: p.sample_rate,
      volume: p.volume,
      speechRate: p.rate,
      pitchRate: p.pitch,
      text: plan.messages.join(""),
      // Another seed, language or instruction is other audio.
      ...(p.seed !== undefined || p.language_hints || p.instruction
        ? { options: JSON.stringify([p.seed ?? null, p.language_hints ?? null, p.instruction ?? null]) }
        : {}),
    },
    start: (signal) => audioOf(cosyvoice.synthesize(input, { signal }))[Symbol.asyncIterator](),
  };
}

function planMinimax(req: SpeechRequest, minimax: MinimaxClient | undefined): Planned {
  if (!minimax)
    throw new InputError("provider", '"minimax" is not configured on this deployment (DASHSCOPE_API_KEY)', {
      code: "UnsupportedProvider",
    });
  if (req.ssml !== undefined)
    throw new InputError("ssml", "MiniMax takes plain text (with its own (laughs)-style tags), not SSML");
  if (!req.voice) throw new InputError("voice", "MiniMax needs a voice_id, e.g. male-qn-qingse");
  const model = req.model ?? MINIMAX_DEFAULT_MODEL;
  const input = {
    text: req.text!,
    voice_setting: minimaxVoiceSetting(req.voice, req),
    audio_setting: { sample_rate: req.sampleRate ?? 32000, bitrate: 128000, format: req.format, channel: 1 as const },
  };
  const prepared = minimax.prepare(model, input);
  const a = prepared.input.audio_setting;
  return {
    contentType: contentTypeOf(req.format, a.sample_rate),
    key: {
      provider: "minimax",
      model,
      voice: req.voice,
      format: a.format,
      sampleRate: a.sample_rate,
      volume: prepared.input.voice_setting.vol,
      speechRate: prepared.input.voice_setting.speed,
      pitchRate: prepared.input.voice_setting.pitch,
      text: prepared.input.text,
    },
    start: (signal) => minimax.stream(model, input, { signal })[Symbol.asyncIterator](),
  };
}

/** Each stream provider's plan: a provider added to the registry does not compile without one. */
const PLANNERS: Record<StreamProviderName, (req: SpeechRequest, deps: ShortSpeechDeps) => ReturnType<typeof planNls>> =
  {
    nls: (req, deps) => planNls(req, deps.nls),
    cosyvoice: (req, deps) => planCosyVoice(req, deps.cosyvoice),
    minimax: (req, deps) => planMinimax(req, deps.minimax),
  };

/** Refuses text beyond a stream's maximum with 413: nothing is ever cut, and the job API takes any length. */
export function checkStreamLength(req: SpeechRequest, maxChars = STREAM_MAX_CHARS_DEFAULT, textField = "text"): void {
  const count = countNlsChars(req.text ?? req.ssml ?? "");
  if (count > maxChars)
    throw new InputError(
      req.ssml !== undefined ? "ssml" : textField,
      `is ${count} characters; a stream takes at most ${maxChars} (STREAM_MAX_CHARS). Longer text: POST /v1/jobs, which takes any length and stores the audio and subtitles`,
      { limit: maxChars, actual: count, statusCode: 413, code: "TextTooLong" },
    );
}

export async function openShortSpeech(req: SpeechRequest, deps: ShortSpeechDeps): Promise<OpenedSpeech> {
  if (req.provider === "nls" && req.model !== undefined)
    throw new InputError("model", "applies to provider cosyvoice only");
  if (req.provider !== "cosyvoice") refuseCosyVoiceOptions(req, req.provider);
  checkStreamLength(req, deps.maxChars, deps.textField);
  const planned = leased(labelled(PLANNERS[req.provider](req, deps), req.format, deps.aigcProducer), req, deps.lease);
  if (!deps.cache) return { contentType: planned.contentType, cache: "off", body: await prefetched(planned.start()) };
  const key = cacheKey({ ...planned.key, kind: req.ssml !== undefined ? "ssml" : "text", tenant: deps.tenant ?? "" });
  const opened = await deps.cache.open(key, (signal) => planned.start(signal), planned.finalize);
  return { contentType: planned.contentType, cache: opened.cache, body: opened.body };
}

/**
 * The provider tasks a stream runs at once, which its lease counts: NLS speaks text past one task's 300 characters in
 * pieces, the next one started while the current plays (two tasks); every other stream is one task.
 */
export function leaseWeight(req: SpeechRequest): number {
  return req.provider === "nls" && countNlsChars(req.text ?? req.ssml ?? "") > NLS_SHORT_TEXT_LIMIT ? 2 : 1;
}

/**
 * The synthesis under the account's budget: the lease is taken when the synthesis starts (a cache hit takes none) and
 * given back when its audio ends, fails or is abandoned. A refusal is thrown before the first byte, so it is the
 * answer (429), not a broken stream.
 */
function leased(planned: Planned, req: SpeechRequest, lease: ShortSpeechDeps["lease"]): Planned {
  if (!lease) return planned;
  const weight = leaseWeight(req);
  return {
    ...planned,
    start: (signal) =>
      (async function* () {
        const held = await lease(req.provider, weight);
        try {
          yield* { [Symbol.asyncIterator]: () => planned.start(signal) };
        } finally {
          await held.give();
        }
      })(),
  };
}

/**
 * The synthesis with its AI-generated-content label in its container: a streamed MP3 starts with its ID3v2 tag, a
 * WAV carries it before its data; the cache keeps the labelled bytes. The content number is the speech's own address
 * (the same request, the same number), never the tenant.
 */
function labelled(planned: Planned, format: SpeechRequest["format"], producer?: string): Planned {
  const { provider, model, voice } = planned.key;
  const label = outputLabel({
    producer,
    contentId: contentAddress(JSON.stringify(planned.key)),
    synthesis: { provider, ...(model ? { model } : {}), ...(voice ? { voice } : {}) },
  });
  return {
    ...planned,
    start: (signal) =>
      (async function* () {
        const source = { [Symbol.asyncIterator]: () => planned.start(signal) };
        yield* (await labelAudio(format, source, label)).stream;
      })(),
  };
}
