/**
 * The environment `npm start` renders s.yaml with: the user's own, as `s deploy` reads it, so a setting exported in
 * the shell (WEBHOOK_ALLOW_PRIVATE, STREAM_MAX_CHARS, LOG_LEVEL, …) reaches the local functions as it would reach the
 * deployed ones. The local cloud's endpoints, bucket, region and keys are set over it: a shell that points at a real
 * deployment must not send the local functions there. What was taken and what was not is said, never silently.
 */
export interface LocalEnvironment {
  readonly env: Record<string, string>;
  /** Variables s.yaml reads that came from the user's environment. */
  readonly taken: readonly string[];
  /** Variables the user set that the local cloud sets instead (its endpoints, bucket and keys). */
  readonly overridden: readonly string[];
}

export function localEnvironment(
  shell: Readonly<Record<string, string | undefined>>,
  cloud: Readonly<Record<string, string>>,
  /** The variables s.yaml reads (`${env('X')}`): nothing else of the shell is passed on. */
  names: readonly string[],
): LocalEnvironment {
  const env: Record<string, string> = {};
  const taken: string[] = [];
  const overridden: string[] = [];
  for (const name of names) {
    const value = shell[name];
    if (value === undefined || value === "") continue;
    if (name in cloud) {
      if (cloud[name] !== value) overridden.push(name);
      continue;
    }
    env[name] = value;
    taken.push(name);
  }
  return { env: { ...env, ...cloud }, taken, overridden };
}
