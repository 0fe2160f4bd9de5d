/**
 * The MiniMax speech request as DashScope's document (the project's seed 004) states it: `input` (text, voice,
 * audio, pronunciation, blending, language, effects, output) and `model`, with each field's range and default.
 */
import { MINIMAX_MODELS } from "../../voices/minimax-models.js";
import * as z from "../../zod.js";

const LANGUAGES = [
  "Chinese",
  "Chinese,Yue",
  "English",
  "Arabic",
  "Russian",
  "Spanish",
  "French",
  "Portuguese",
  "German",
  "Turkish",
  "Dutch",
  "Ukrainian",
  "Vietnamese",
  "Indonesian",
  "Japanese",
  "Italian",
  "Korean",
  "Thai",
  "Polish",
  "Romanian",
  "Greek",
  "Czech",
  "Finnish",
  "Hindi",
  "Bulgarian",
  "Danish",
  "Hebrew",
  "Malay",
  "Persian",
  "Slovak",
  "Swedish",
  "Croatian",
  "Filipino",
  "Hungarian",
  "Norwegian",
  "Slovenian",
  "Catalan",
  "Nynorsk",
  "Tamil",
  "Afrikaans",
  "auto",
] as const;

/**
 * The request's `input`, with seed 004's ranges.
 * @example {"text":"今天是不是很开心呀(laughs)","voice_setting":{"voice_id":"male-qn-qingse","speed":1,"vol":1,"pitch":0,"emotion":"happy"},"audio_setting":{"sample_rate":32000,"bitrate":128000,"format":"mp3","channel":1}}
 */
export const MinimaxInputSchema = z
  .strictObject({
    text: z.string().check(z.minLength(1)),
    voice_setting: z.strictObject({
      voice_id: z._default(z.string(), ""),
      speed: z._default(z.number().check(z.gte(0.5), z.lte(2)), 1),
      vol: z._default(z.number().check(z.gt(0), z.lte(10)), 1),
      pitch: z._default(z.int().check(z.gte(-12), z.lte(12)), 0),
      emotion: z.optional(z.enum(["happy", "sad", "angry", "fearful", "disgusted", "surprised", "calm", "whisper"])),
      text_normalization: z.optional(z.boolean()),
      latex_read: z.optional(z.boolean()),
    }),
    audio_setting: z._default(
      z.strictObject({
        sample_rate: z._default(
          z.union(
            [8000, 16000, 22050, 24000, 32000, 44100].map((r) => z.literal(r)) as [
              z.ZodMiniLiteral<number>,
              z.ZodMiniLiteral<number>,
              ...z.ZodMiniLiteral<number>[],
            ],
          ),
          32000,
        ),
        bitrate: z._default(
          z.union(
            [32000, 64000, 128000, 256000].map((r) => z.literal(r)) as [
              z.ZodMiniLiteral<number>,
              z.ZodMiniLiteral<number>,
              ...z.ZodMiniLiteral<number>[],
            ],
          ),
          128000,
        ),
        format: z._default(z.enum(["mp3", "pcm", "flac", "wav"]), "mp3"),
        channel: z._default(z.union([z.literal(1), z.literal(2)]), 1),
        force_cbr: z.optional(z.boolean()),
      }),
      { sample_rate: 32000, bitrate: 128000, format: "mp3", channel: 1 },
    ),
    pronunciation_dict: z.optional(
      z.strictObject({
        tone: z.array(z.string().check(z.regex(/^[^/]+\/.+$/, "'word/pronunciation' (a '/' separates them)"))),
      }),
    ),
    timbre_weights: z.optional(
      z
        .array(
          z.strictObject({
            voice_id: z.string().check(z.minLength(1)),
            weight: z.int().check(z.gte(1), z.lte(100)),
          }),
        )
        .check(z.minLength(1), z.maxLength(4)),
    ),
    language_boost: z.optional(z.enum(LANGUAGES)),
    voice_modify: z.optional(
      z.strictObject({
        pitch: z.optional(z.int().check(z.gte(-100), z.lte(100))),
        intensity: z.optional(z.int().check(z.gte(-100), z.lte(100))),
        timbre: z.optional(z.int().check(z.gte(-100), z.lte(100))),
        sound_effects: z.optional(z.enum(["spacious_echo", "auditorium_echo", "lofi_telephone", "robotic"])),
      }),
    ),
    subtitle_enable: z.optional(z.boolean()),
    output_format: z.optional(z.enum(["url", "hex"])),
    aigc_watermark: z.optional(z.boolean()),
    stream_options: z.optional(z.strictObject({ exclude_aggregated_audio: z.boolean() })),
  })
  .check(
    z.superRefine((v, ctx) => {
      if (!v.voice_setting.voice_id && !v.timbre_weights)
        ctx.addIssue({
          code: "custom",
          path: ["voice_setting", "voice_id"],
          message: "give a voice_id, or blend voices with timbre_weights",
        });
    }),
  );
export type MinimaxInput = z.input<typeof MinimaxInputSchema>;

export const MinimaxRequestSchema = z.strictObject({ model: z.enum(MINIMAX_MODELS), input: MinimaxInputSchema }).check(
  z.superRefine((v, ctx) => {
    if (v.input.voice_setting.emotion === "whisper" && v.model.startsWith("MiniMax/speech-2.8")) {
      ctx.addIssue({
        code: "custom",
        path: ["input", "voice_setting", "emotion"],
        message: "whisper is not supported by speech-2.8-hd and speech-2.8-turbo (seed 004)",
      });
    }
  }),
);
export type MinimaxRequest = z.infer<typeof MinimaxRequestSchema>;
