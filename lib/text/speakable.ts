/**
 * The text an NLS request carries: SSML as given, plain text as given unless it holds markup characters, in which
 * case it is escaped inside <speak> so it is spoken and never interpreted. Empty speech is refused here.
 */
import { InputError } from "../errors.js";
import { spokenText } from "./count.js";
import { escapeXml } from "./xml.js";

export function speakable(input: { text?: string; ssml?: string }): { text: string; field: "text" | "ssml" } {
  const field = input.ssml !== undefined ? "ssml" : "text";
  const text = input.ssml ?? (/[<&>]/.test(input.text!) ? `<speak>${escapeXml(input.text!)}</speak>` : input.text!);
  if (spokenText(text).trim() === "") throw new InputError(field, "must contain text to speak", { code: "EmptyText" });
  return { text, field };
}
