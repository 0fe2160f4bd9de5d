/**
 * DashScope CosyVoice WebSocket messages (seed 001, facts §8), as zod schemas.
 */
import { z } from "zod";

/**
 * run-task's parameters, with the seed's ranges.
 * @example {"text_type":"PlainText","voice":"longanyang","format":"mp3","sample_rate":22050,"volume":50,"rate":1,"pitch":1,"enable_ssml":true}
 */
export const CosyVoiceParametersSchema = z.object({
  text_type: z.literal("PlainText").default("PlainText"),
  voice: z.string().min(1),
  format: z.enum(["pcm", "wav", "mp3", "opus"]).default("mp3"),
  sample_rate: z
    .union([z.literal(8000), z.literal(16000), z.literal(22050), z.literal(24000), z.literal(44100), z.literal(48000)])
    .default(22050),
  volume: z.number().int().min(0).max(100).default(50),
  rate: z.number().min(0.5).max(2).default(1),
  pitch: z.number().min(0.5).max(2).default(1),
  enable_ssml: z.boolean().default(false),
  word_timestamp_enabled: z.boolean().default(false),
  bit_rate: z.number().int().optional(),
});
export type CosyVoiceParameters = z.infer<typeof CosyVoiceParametersSchema>;

const Header = <A extends string>(action: A) =>
  z.object({ action: z.literal(action), task_id: z.string().min(1), streaming: z.literal("duplex") });

/** @example {"header":{"action":"run-task","task_id":"…","streaming":"duplex"},"payload":{"task_group":"audio","task":"tts","function":"SpeechSynthesizer","model":"cosyvoice-v3-flash","parameters":{…},"input":{}}} */
export const RunTaskSchema = z.object({
  header: Header("run-task"),
  payload: z.object({
    task_group: z.literal("audio"),
    task: z.literal("tts"),
    function: z.literal("SpeechSynthesizer"),
    model: z.string().min(1),
    parameters: CosyVoiceParametersSchema,
    input: z.object({}).passthrough(),
  }),
});

/**
 * Text to synthesize, or (the official SDK's `streaming_flush()`) `{"flush": true}` and no text: synthesize what is
 * buffered now.
 * @example {"header":{"action":"continue-task","task_id":"…","streaming":"duplex"},"payload":{"input":{"text":"床前明月光，"}}}
 */
export const ContinueTaskSchema = z.object({
  header: Header("continue-task"),
  payload: z
    .object({
      input: z
        .object({ text: z.string().optional(), flush: z.boolean().optional() })
        .passthrough()
        .refine((i) => i.text !== undefined || i.flush === true, "needs text, or flush: true"),
    })
    .passthrough(),
});

/** @example {"header":{"action":"finish-task","task_id":"…","streaming":"duplex"},"payload":{"input":{}}} */
export const FinishTaskSchema = z.object({
  header: Header("finish-task"),
  payload: z.object({ input: z.object({}).passthrough() }).passthrough(),
});

export const ClientCommandSchema = z.union([RunTaskSchema, ContinueTaskSchema, FinishTaskSchema]);

/** A client command of seed 001's duplex protocol: `{header: {action, task_id, streaming: "duplex"}, payload}`. */
export function clientCommand(action: "run-task" | "continue-task" | "finish-task", taskId: string, payload: unknown) {
  return { header: { action, task_id: taskId, streaming: "duplex" as const }, payload };
}

/** run-task for speech synthesis with `model` and `parameters` (seed 001's fixed task_group, task and function). */
export function runTask(taskId: string, model: string, parameters: Record<string, unknown>) {
  return clientCommand("run-task", taskId, {
    task_group: "audio",
    task: "tts",
    function: "SpeechSynthesizer",
    model,
    parameters,
    input: {},
  });
}

export const WordSchema = z.object({
  text: z.string(),
  begin_index: z.number(),
  end_index: z.number(),
  begin_time: z.number(),
  end_time: z.number(),
});

/**
 * Server events: task-started, result-generated (sentence-begin / sentence-synthesis / sentence-end), task-finished, task-failed.
 * @example {"header":{"task_id":"…","event":"task-failed","error_code":"InvalidParameter","error_message":"[tts:]Engine return error code: 418","attributes":{}},"payload":{}}
 */
export const ServerEventSchema = z.object({
  header: z.object({
    task_id: z.string(),
    // As tolerant as the official SDK, which passes events it does not know to on_event and goes on: strict on what
    // we send, lenient on what we receive.
    event: z.string(),
    error_code: z.string().optional(),
    error_message: z.string().optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  }),
  payload: z
    .object({
      output: z
        .object({
          type: z.string().optional(),
          // A sentence may come without words (timestamps off, or a sentence-begin): the SDK accepts that too.
          sentence: z
            .object({ index: z.number().optional(), words: z.array(WordSchema).default([]) })
            .passthrough()
            .optional(),
          original_text: z.string().optional(),
        })
        .optional(),
      usage: z.object({ characters: z.number() }).optional(),
    })
    .passthrough(),
});
export type CosyVoiceServerEvent = z.infer<typeof ServerEventSchema>;
