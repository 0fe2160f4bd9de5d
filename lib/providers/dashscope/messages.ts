/**
 * DashScope CosyVoice WebSocket messages (seed 001, facts §8), as zod schemas.
 */
import { COSYVOICE_LANGUAGES, COSYVOICE_SEED_MAX } from "../../voices/cosyvoice.js";
import * as z from "../../zod.js";

/** The longest instruction taken; DashScope documents no limit, so a generous one keeps a run-task frame small. */
export const COSYVOICE_INSTRUCTION_MAX = 500;

/**
 * run-task's parameters, with the seed's ranges.
 * @example {"text_type":"PlainText","voice":"longanyang","format":"mp3","sample_rate":22050,"volume":50,"rate":1,"pitch":1,"enable_ssml":true}
 */
export const CosyVoiceParametersSchema = z.object({
  text_type: z._default(z.literal("PlainText"), "PlainText"),
  voice: z.string().check(z.minLength(1)),
  format: z._default(z.enum(["pcm", "wav", "mp3", "opus"]), "mp3"),
  sample_rate: z._default(
    z.union([
      z.literal(8000),
      z.literal(16000),
      z.literal(22050),
      z.literal(24000),
      z.literal(44100),
      z.literal(48000),
    ]),
    22050,
  ),
  volume: z._default(z.int().check(z.gte(0), z.lte(100)), 50),
  rate: z._default(z.number().check(z.gte(0.5), z.lte(2)), 1),
  pitch: z._default(z.number().check(z.gte(0.5), z.lte(2)), 1),
  enable_ssml: z._default(z.boolean(), false),
  word_timestamp_enabled: z._default(z.boolean(), false),
  bit_rate: z.optional(z.int()),
  seed: z.optional(z.int().check(z.gte(0), z.lte(COSYVOICE_SEED_MAX))),
  // An array of which CosyVoice reads only the first element (the rest pass unread, as DashScope lets them).
  language_hints: z.optional(z.array(z.enum(COSYVOICE_LANGUAGES)).check(z.minLength(1))),
  instruction: z.optional(z.string().check(z.minLength(1), z.maxLength(COSYVOICE_INSTRUCTION_MAX))),
});
export type CosyVoiceParameters = z.infer<typeof CosyVoiceParametersSchema>;

const Header = <A extends string>(action: A) =>
  z.object({ action: z.literal(action), task_id: z.string().check(z.minLength(1)), streaming: z.literal("duplex") });

/** @example {"header":{"action":"run-task","task_id":"…","streaming":"duplex"},"payload":{"task_group":"audio","task":"tts","function":"SpeechSynthesizer","model":"cosyvoice-v3-flash","parameters":{…},"input":{}}} */
export const RunTaskSchema = z.object({
  header: Header("run-task"),
  payload: z.object({
    task_group: z.literal("audio"),
    task: z.literal("tts"),
    function: z.literal("SpeechSynthesizer"),
    model: z.string().check(z.minLength(1)),
    parameters: CosyVoiceParametersSchema,
    input: z.looseObject({}),
  }),
});

/**
 * Text to synthesize, or (the official SDK's `streaming_flush()`) `{"flush": true}` and no text: synthesize what is
 * buffered now.
 * @example {"header":{"action":"continue-task","task_id":"…","streaming":"duplex"},"payload":{"input":{"text":"床前明月光，"}}}
 */
export const ContinueTaskSchema = z.object({
  header: Header("continue-task"),
  payload: z.looseObject({
    input: z
      .looseObject({ text: z.optional(z.string()), flush: z.optional(z.boolean()) })
      .check(z.refine((i) => i.text !== undefined || i.flush === true, "needs text, or flush: true")),
  }),
});

/** @example {"header":{"action":"finish-task","task_id":"…","streaming":"duplex"},"payload":{"input":{}}} */
export const FinishTaskSchema = z.object({
  header: Header("finish-task"),
  payload: z.looseObject({ input: z.looseObject({}) }),
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

/** DashScope's transient errors; everything else (InvalidParameter, auth, quota) fails at once. */
export const COSYVOICE_RETRYABLE = /^(Throttling|InternalError|ServiceUnavailable|RequestTimeOut|ModelServingError)/;

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
    error_code: z.optional(z.string()),
    error_message: z.optional(z.string()),
    attributes: z.optional(z.record(z.string(), z.unknown())),
  }),
  payload: z.looseObject({
    output: z.optional(
      z.object({
        type: z.optional(z.string()),
        // A sentence may come without words (timestamps off, or a sentence-begin): the SDK accepts that too.
        sentence: z.optional(
          z.looseObject({ index: z.optional(z.number()), words: z._default(z.array(WordSchema), []) }),
        ),
        original_text: z.optional(z.string()),
      }),
    ),
    usage: z.optional(z.object({ characters: z.number() })),
  }),
});
export type CosyVoiceServerEvent = z.infer<typeof ServerEventSchema>;
