/**
 * Wire messages of the NLS WebSocket TTS protocol (seed 000, facts §6), as zod schemas.
 */
import { randomUUID } from "node:crypto";
import * as z from "../../zod.js";

export const NlsFormatSchema = z.enum(["pcm", "wav", "mp3"]);

/**
 * StartSynthesis's payload, with the seed's ranges.
 * @example {"voice":"xiaoyun","format":"mp3","sample_rate":16000,"volume":50,"speech_rate":0,"pitch_rate":0,"enable_subtitle":false,"text":"你好"}
 */
export const StartSynthesisPayloadSchema = z.object({
  text: z.string().check(z.minLength(1)),
  voice: z._default(z.string(), "xiaoyun"),
  format: z._default(NlsFormatSchema, "pcm"),
  sample_rate: z._default(z.int(), 16000),
  volume: z._default(z.int().check(z.gte(0), z.lte(100)), 50),
  speech_rate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
  pitch_rate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
  enable_subtitle: z._default(z.boolean(), false),
});
export type StartSynthesisPayload = z.infer<typeof StartSynthesisPayloadSchema>;

/**
 * The one text frame a client sends (exactly as the official SDK builds it).
 * @example {"header":{"message_id":"c1c0…","task_id":"e9aa…","namespace":"SpeechSynthesizer","name":"StartSynthesis","appkey":"APPKEY"},"payload":{…},"context":{"sdk":{…}}}
 */
export const StartSynthesisSchema = z.object({
  header: z.object({
    message_id: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
    task_id: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
    namespace: z.enum(["SpeechSynthesizer", "SpeechLongSynthesizer"]),
    name: z.literal("StartSynthesis"),
    appkey: z.string().check(z.minLength(1)),
  }),
  payload: StartSynthesisPayloadSchema,
  context: z.optional(z.record(z.string(), z.unknown())),
});
export type StartSynthesis = z.infer<typeof StartSynthesisSchema>;

/** An id as NLS writes them: 32 lowercase hex characters. */
export const nlsId = (): string => randomUUID().replace(/-/g, "");

/**
 * The StartSynthesis frame for `payload`, as the official SDK builds it (a fresh message id; the task id given or new).
 * Payload fields left out are not defaulted here: the gateway applies NLS's defaults.
 */
export function startSynthesis(
  appkey: string,
  payload: Partial<StartSynthesisPayload> & { text: string },
  taskId = nlsId(),
): StartSynthesis {
  return {
    header: { message_id: nlsId(), task_id: taskId, namespace: "SpeechSynthesizer", name: "StartSynthesis", appkey },
    payload: payload as StartSynthesisPayload,
  };
}

export const SubtitleSchema = z.object({ text: z.string(), begin_time: z.number(), end_time: z.number() });
export type Subtitle = z.infer<typeof SubtitleSchema>;

const EventHeaderSchema = z.object({
  message_id: z.optional(z.string()),
  task_id: z.optional(z.string()),
  namespace: z.optional(z.string()),
  name: z.string(),
  status: z.int(),
  status_message: z.optional(z.string()),
  status_text: z.optional(z.string()),
});

/**
 * Server text frames: MetaInfo (subtitles), SynthesisCompleted, TaskFailed; anything else is ignored, as the SDK does.
 * @example {"header":{"namespace":"Default","name":"TaskFailed","status":41020001,"message_id":"…","task_id":"…","status_text":"TTS:TtsClientError:[tts]Engine return error code: 418"}}
 */
export const ServerEventSchema = z.object({
  header: EventHeaderSchema,
  payload: z.optional(z.looseObject({ subtitles: z.optional(z.array(SubtitleSchema)) })),
});
export type ServerEvent = z.infer<typeof ServerEventSchema>;
