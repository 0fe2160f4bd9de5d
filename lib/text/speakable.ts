/**
 * The text an NLS request carries: SSML as given, plain text as given unless it holds markup characters, in which
 * case it is escaped inside <speak> so it is spoken and never interpreted. Empty speech is refused here.
 */
import { InputError } from "../errors.js";
import { spokenText } from "./count.js";
import { escapeXml } from "./xml.js";

/** C0 controls other than tab, line feed and carriage return, and DEL: never text anyone means to hear. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Half of a surrogate pair on its own: JSON's "\ud800" makes one, and UTF-8 encoding would silently speak it as U+FFFD. */
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Refuses characters no one means to hear: C0 controls (but tab and line breaks), DEL, and unpaired surrogates. */
export function assertSpeakableCharacters(raw: string, field: string): void {
  const control = CONTROL.exec(raw);
  if (control)
    throw new InputError(
      field,
      `contains the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at index ${control.index}`,
      { code: "ControlCharacter" },
    );
  const unpaired = UNPAIRED.exec(raw);
  if (unpaired)
    throw new InputError(
      field,
      `contains an unpaired UTF-16 surrogate U+${unpaired[0].charCodeAt(0).toString(16).toUpperCase()} at index ${unpaired.index}`,
      { code: "InvalidText" },
    );
}

export function speakable(input: { text?: string; ssml?: string }): { text: string; field: "text" | "ssml" } {
  const field = input.ssml !== undefined ? "ssml" : "text";
  const raw = input.ssml ?? input.text!;
  assertSpeakableCharacters(raw, field);
  const text = input.ssml ?? (/[<&>]/.test(input.text!) ? `<speak>${escapeXml(input.text!)}</speak>` : input.text!);
  if (spokenText(text).trim() === "") throw new InputError(field, "must contain text to speak", { code: "EmptyText" });
  return { text, field };
}
