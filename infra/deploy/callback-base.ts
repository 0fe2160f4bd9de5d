/**
 * The callback function's public base URL, when the environment gives it without asking FC: CALLBACK_BASE_URL as set,
 * or the custom domain on HTTPS (s.domain.yaml routes /callbacks/ to callback). Otherwise `npm run deploy` reads the
 * callback trigger's URL after its first `s deploy`.
 */
export function knownCallbackBase(env: Record<string, string | undefined>): string | undefined {
  if (env.CALLBACK_BASE_URL) return env.CALLBACK_BASE_URL;
  if (env.TTS_DOMAIN && /HTTPS/i.test(env.TTS_DOMAIN_PROTOCOL ?? "")) return `https://${env.TTS_DOMAIN}`;
  return undefined;
}
