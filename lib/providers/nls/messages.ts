/**
 * Wire messages of the NLS WebSocket TTS protocol (seed 000, facts §6), as zod schemas.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";

export const NlsFormatSchema = z.enum(["pcm", "wav", "mp3"]);

/**
 * StartSynthesis's payload, with the seed's ranges.
 * @example {"voice":"xiaoyun","format":"mp3","sample_rate":16000,"volume":50,"speech_rate":0,"pitch_rate":0,"enable_subtitle":false,"text":"你好"}
 */
export const StartSynthesisPayloadSchema = z.object({
  text: z.string().min(1),
  voice: z.string().default("xiaoyun"),
  format: NlsFormatSchema.default("pcm"),
  sample_rate: z.number().int().default(16000),
  volume: z.number().int().min(0).max(100).default(50),
  speech_rate: z.number().int().min(-500).max(500).default(0),
  pitch_rate: z.number().int().min(-500).max(500).default(0),
  enable_subtitle: z.boolean().default(false),
});
export type StartSynthesisPayload = z.infer<typeof StartSynthesisPayloadSchema>;

/**
 * The one text frame a client sends (exactly as the official SDK builds it).
 * @example {"header":{"message_id":"c1c0…","task_id":"e9aa…","namespace":"SpeechSynthesizer","name":"StartSynthesis","appkey":"APPKEY"},"payload":{…},"context":{"sdk":{…}}}
 */
export const StartSynthesisSchema = z.object({
  header: z.object({
    message_id: z.string().regex(/^[0-9a-f]{32}$/),
    task_id: z.string().regex(/^[0-9a-f]{32}$/),
    namespace: z.enum(["SpeechSynthesizer", "SpeechLongSynthesizer"]),
    name: z.literal("StartSynthesis"),
    appkey: z.string().min(1),
  }),
  payload: StartSynthesisPayloadSchema,
  context: z.record(z.string(), z.unknown()).optional(),
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
  message_id: z.string().optional(),
  task_id: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string(),
  status: z.number().int(),
  status_message: z.string().optional(),
  status_text: z.string().optional(),
});

/**
 * Server text frames: MetaInfo (subtitles), SynthesisCompleted, TaskFailed; anything else is ignored, as the SDK does.
 * @example {"header":{"namespace":"Default","name":"TaskFailed","status":41020001,"message_id":"…","task_id":"…","status_text":"TTS:TtsClientError:[tts]Engine return error code: 418"}}
 */
export const ServerEventSchema = z.object({
  header: EventHeaderSchema,
  payload: z
    .object({ subtitles: z.array(SubtitleSchema).optional() })
    .passthrough()
    .optional(),
});
export type ServerEvent = z.infer<typeof ServerEventSchema>;
