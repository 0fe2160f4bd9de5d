/**
 * OpenAI's streamed speech (`stream_format: "sse"`): the audio as server-sent events, each `data:` a JSON object —
 * `{"type":"speech.audio.delta","audio":"<base64>"}` per chunk, then `{"type":"speech.audio.done","usage":…}`. The
 * usage counts what was billed: the provider bills characters, not tokens, so `input_tokens` is the billed characters
 * and `output_tokens` 0. A failure after the first event is the last event (`error`, with its code and message), as a
 * stream that has begun can say nothing else.
 */

/** OpenAI's usage object, in the characters our providers bill. */
export interface SpeechUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
}

export async function* openAiSpeechEvents(
  audio: AsyncIterable<Uint8Array>,
  billedCharacters: number,
  describe: (error: unknown) => { code: string; message: string },
): AsyncGenerator<Uint8Array> {
  const event = (body: Record<string, unknown>): Buffer => Buffer.from(`data: ${JSON.stringify(body)}\n\n`);
  try {
    for await (const chunk of audio)
      if (chunk.length > 0) yield event({ type: "speech.audio.delta", audio: Buffer.from(chunk).toString("base64") });
    const usage: SpeechUsage = { input_tokens: billedCharacters, output_tokens: 0, total_tokens: billedCharacters };
    yield event({ type: "speech.audio.done", usage });
  } catch (error) {
    yield event({ type: "error", error: describe(error) });
  }
}
