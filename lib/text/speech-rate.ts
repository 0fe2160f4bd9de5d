/**
 * Seed 000's speech_rate scale: r = (1 - 1/m) / k, with k = 0.002 below 1x and 0.001 above, so [-500, 0, 500] maps to
 * [0.5x, 1x, 2x]. CosyVoice and OpenAI speak in multipliers; these convert between the two.
 */
import { InputError } from "../errors.js";

export function multiplierFromRate(rate: number): number {
  return rate <= 0 ? 1 / (1 - 0.002 * rate) : 1 / (1 - 0.001 * rate);
}

export function rateFromMultiplier(multiplier: number, field = "speed"): number {
  if (multiplier < 0.5 || multiplier > 2)
    throw new InputError(field, `must be from 0.5 to 2.0 (got ${multiplier})`, {
      limit: "0.5-2.0",
      actual: multiplier,
    });
  const rate = multiplier < 1 ? (1 - 1 / multiplier) / 0.002 : (1 - 1 / multiplier) / 0.001;
  return Math.max(-500, Math.min(500, Math.round(rate)));
}
