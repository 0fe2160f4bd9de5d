/**
 * A live stream opened for a tenant: its options checked (nothing is asked of a provider before they pass), its lease
 * from the account's budget, then its voice and the stream. Each provider's facts are here once: the unit one request
 * takes, how it weighs a character, and the most one stream takes (STREAM_MAX_CHARS, never past a CosyVoice task's).
 */
import { randomUUID } from "node:crypto";
import { type OutputLabel, outputLabel } from "../../audio/aigc-label.js";
import type { Lease } from "../../budget/account-budget.js";
import { STREAM_LEASE_MS } from "../../budget/interactive.js";
import type { CosyVoiceSynthesizer } from "../../providers/dashscope/cosyvoice.js";
import { COSYVOICE_MESSAGE_LIMIT, COSYVOICE_TASK_LIMIT } from "../../providers/dashscope/limits.js";
import { NLS_SHORT_TEXT_LIMIT, type NlsSynthesizer } from "../../providers/nls/synthesizer.js";
import { type CharWeight, cosyVoiceWeight, nlsWeight } from "../../text/count.js";
import { contentTypeOf } from "../request.js";
import { requireCosyVoice } from "../short.js";
import { planCosyVoiceVoice } from "./cosyvoice-voice.js";
import type { LiveOptions, LiveProvider } from "./live-request.js";
import { LiveSpeech } from "./live-speech.js";
import type { LiveVoice } from "./live-voice.js";
import { openNlsVoice } from "./nls-voice.js";

export interface LiveDeps {
  readonly nls: NlsSynthesizer;
  readonly cosyvoice?: CosyVoiceSynthesizer;
  /** STREAM_MAX_CHARS by provider. */
  readonly maxChars: Readonly<Record<LiveProvider, number>>;
  /** The stream's lease from the account's budget, taken before any provider task (AppError 429 past it). */
  readonly lease: (provider: LiveProvider, weight: number) => Promise<Lease>;
  readonly aigcProducer?: string;
  /** How long a CosyVoice task may be quiet before a flush keeps it alive (tests shorten it). */
  readonly keepAliveMs?: number;
}

export interface OpenedLive {
  readonly session: string;
  readonly speech: LiveSpeech;
  readonly provider: LiveProvider;
  readonly format: LiveOptions["format"];
  readonly sampleRate: number;
  readonly contentType: string;
  /**
   * The stream's AI-generated-content label: MP3 and WAV carry it in their container too; PCM has none, so the
   * `started` message is where a PCM stream's label is.
   */
  readonly label: OutputLabel;
  /** Gives the lease back: when the stream has ended. */
  readonly release: () => Promise<void>;
}

interface ProviderFacts {
  readonly maxUnit: number;
  readonly weight: CharWeight;
  readonly taskLimit: number;
  /** Provider tasks one stream runs at once (NLS starts the next piece while one plays). */
  readonly tasks: number;
}

const FACTS: Record<LiveProvider, ProviderFacts> = {
  nls: { maxUnit: NLS_SHORT_TEXT_LIMIT, weight: nlsWeight, taskLimit: Number.POSITIVE_INFINITY, tasks: 2 },
  cosyvoice: { maxUnit: COSYVOICE_MESSAGE_LIMIT, weight: cosyVoiceWeight, taskLimit: COSYVOICE_TASK_LIMIT, tasks: 1 },
};

export async function openLive(options: LiveOptions, deps: LiveDeps): Promise<OpenedLive> {
  const facts = FACTS[options.provider];
  // Checked before the lease: a bad voice or rate is the client's error, never a task started.
  let sampleRate: number;
  let open: () => Promise<LiveVoice>;
  if (options.provider === "cosyvoice") {
    const planned = planCosyVoiceVoice(requireCosyVoice(deps.cosyvoice), options, deps.keepAliveMs);
    sampleRate = planned.sampleRate;
    open = () => planned.open();
  } else {
    const voice = openNlsVoice(deps.nls, options);
    sampleRate = voice.sampleRate;
    open = async () => voice;
  }
  const lease = await deps.lease(options.provider, facts.tasks);
  let voice: LiveVoice;
  try {
    voice = await open();
  } catch (error) {
    await lease.give().catch(() => undefined);
    throw error;
  }
  const session = randomUUID();
  // A live stream's text is not known when its audio starts: its content number is the session's.
  const label = outputLabel({ producer: deps.aigcProducer, contentId: session, synthesis: voice.synthesis });
  const speech = new LiveSpeech(voice, {
    format: options.format,
    clauseWaitMs: options.clauseWaitMs,
    maxUnit: facts.maxUnit,
    weight: facts.weight,
    maxChars: Math.min(deps.maxChars[options.provider], facts.taskLimit),
    label,
  });
  // The stream may outlast its lease's term: renewed every half term while it runs, so the budget keeps counting it,
  // and a stream whose instance dies stops counting within one term.
  const renewal = setInterval(() => void lease.renew(STREAM_LEASE_MS).catch(() => undefined), STREAM_LEASE_MS / 2);
  renewal.unref();
  let given = false;
  return {
    session,
    speech,
    provider: options.provider,
    format: options.format,
    sampleRate,
    contentType: contentTypeOf(options.format, sampleRate),
    label,
    release: async () => {
      if (given) return;
      given = true;
      clearInterval(renewal);
      await lease.give().catch(() => undefined);
    },
  };
}
