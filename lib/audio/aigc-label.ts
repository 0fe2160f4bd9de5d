/**
 * The implicit label China's rules require in the metadata of AI-generated content (人工智能生成合成内容标识办法, in force
 * since 2025-09-01, and the standard GB 45438-2025): that the content is AI-generated, the service provider's name or
 * code, and a content number. Its fields are the standard's `AIGC` object, as TC260's practice guide writes it
 * (docs/sources.md); what synthesized it (provider, model, voice) travels beside it, for whoever checks the file.
 */
import { createHash } from "node:crypto";
import * as z from "../zod.js";

/** The service provider a label names unless the deployment says (AIGC_PROVIDER_NAME). */
export const DEFAULT_AIGC_PRODUCER = "fc-tts-pipeline";

/** A content number for audio made on request: its request's own address (the same request, the same number). */
export function contentAddress(request: string): string {
  return createHash("sha256").update(request).digest("hex").slice(0, 32);
}

/** GB 45438-2025's implicit metadata label. `Label: "1"`: the content is AI-generated. */
export const AigcLabelSchema = z.strictObject({
  Label: z.literal("1"),
  /** The service provider's name or filing code (AIGC_PROVIDER_NAME). */
  ContentProducer: z.string().check(z.minLength(1)),
  /** The content's number: unique per output (the job id, or a stream's content address). */
  ProduceID: z.string().check(z.minLength(1)),
  ReservedCode1: z.string(),
  /** Who offers the file for download, when not the producer. */
  ContentPropagator: z.string(),
  PropagateID: z.string(),
  ReservedCode2: z.string(),
});
export type AigcLabel = z.infer<typeof AigcLabelSchema>;

/** What synthesized the audio: carried beside the label, never inside the standard's fields. */
export const SynthesisSourceSchema = z.strictObject({
  provider: z.string(),
  model: z.optional(z.string()),
  voice: z.optional(z.string()),
});
export type SynthesisSource = z.infer<typeof SynthesisSourceSchema>;

/** The label and its source, as one output carries them. */
export interface OutputLabel {
  readonly aigc: AigcLabel;
  readonly synthesis: SynthesisSource;
}

export function outputLabel(opts: {
  readonly producer?: string;
  readonly contentId: string;
  readonly synthesis: SynthesisSource;
}): OutputLabel {
  return {
    aigc: {
      Label: "1",
      ContentProducer: opts.producer ?? DEFAULT_AIGC_PRODUCER,
      ProduceID: opts.contentId,
      ReservedCode1: "",
      ContentPropagator: "",
      PropagateID: "",
      ReservedCode2: "",
    },
    synthesis: opts.synthesis,
  };
}
