/** NLS long-text synthesis on the wire (the project's seed 003): the request, its answers, its callback, and our input. */
import { textXorSsml } from "../../validation.js";
import * as z from "../../zod.js";

/**
 * The POST body, exactly as seed 003 shows it.
 * @example {"payload":{"tts_request":{"voice":"xiaoyun","sample_rate":16000,"format":"wav","text":"今天天气好晴朗","enable_subtitle":true},"enable_notify":false},"context":{"device_id":"my_device_id"},"header":{"appkey":"yourAppkey","token":"yourToken"}}
 */
export const LongTextRequestSchema = z.object({
  payload: z.object({
    tts_request: z.object({
      voice: z.string().check(z.minLength(1)),
      sample_rate: z.union([z.literal(8000), z.literal(16000)]),
      format: z.enum(["pcm", "wav", "mp3"]),
      text: z.string().check(z.minLength(1)),
      volume: z.optional(z.int().check(z.gte(0), z.lte(100))),
      speech_rate: z.optional(z.int().check(z.gte(-500), z.lte(500))),
      pitch_rate: z.optional(z.int().check(z.gte(-500), z.lte(500))),
      enable_subtitle: z.optional(z.boolean()),
    }),
    enable_notify: z.boolean(),
    notify_url: z.optional(z.string()),
  }),
  context: z.optional(z.record(z.string(), z.unknown())),
  header: z.object({ appkey: z.string().check(z.minLength(1)), token: z.string().check(z.minLength(1)) }),
});
export type LongTextRequest = z.infer<typeof LongTextRequestSchema>;

export const SentenceSchema = z.object({
  text: z.string(),
  begin_time: z.coerce.number(),
  end_time: z.coerce.number(),
});
export type Sentence = z.infer<typeof SentenceSchema>;

/**
 * POST and GET responses (seed 003); sentence times arrive as strings.
 * @example {"status":200,"error_code":20000000,"error_message":"SUCCESS","request_id":"c541…","data":{"sentences":[{"text":"…","begin_time":"0","end_time":"2239"}],"task_id":"f4e9…","audio_address":"http://…","notify_custom":""}}
 */
export const LongTextResponseSchema = z.object({
  status: z.number(),
  error_code: z.number(),
  error_message: z.string(),
  request_id: z.optional(z.string()),
  url: z.optional(z.string()),
  data: z.optional(
    z.object({
      task_id: z.string(),
      audio_address: z.optional(z.nullable(z.string())),
      notify_custom: z.optional(z.nullable(z.string())),
      sentences: z.optional(z.nullable(z.array(SentenceSchema))),
    }),
  ),
});
export type LongTextResponse = z.infer<typeof LongTextResponseSchema>;

/**
 * The notify_url callback body (seed 003). A hint that a task ended: the audio URL is always taken from a GET.
 * @example {"data":{"audio_address":"http://nls-cloud-cn-shanghai.oss-cn-shanghai.aliyuncs.com/…wav","task_id":"e3a0…"},"request_id":"edc6…","status":20000000,"error_code":20000000,"error_message":"SUCCESS"}
 */
export const LongTextCallbackSchema = z.object({
  data: z.looseObject({ task_id: z.string(), audio_address: z.optional(z.nullable(z.string())) }),
  request_id: z.optional(z.string()),
  status: z.number(),
  error_code: z.number(),
  error_message: z.string(),
});
export type LongTextCallback = z.infer<typeof LongTextCallbackSchema>;

export const LongTextInputSchema = z
  .object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    voice: z._default(z.string(), "xiaoyun"),
    format: z._default(z.enum(["pcm", "wav", "mp3"]), "mp3"),
    sampleRate: z._default(
      z.union([z.literal(8000), z.literal(16000)], {
        error: "must be 8000 or 16000 for long-text synthesis (seed 003)",
      }),
      16000,
    ),
    volume: z._default(z.int().check(z.gte(0), z.lte(100)), 50),
    speechRate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
    pitchRate: z._default(z.int().check(z.gte(-500), z.lte(500)), 0),
    enableSubtitle: z._default(z.boolean(), false),
  })
  .check(textXorSsml());
export type LongTextInput = z.input<typeof LongTextInputSchema>;
