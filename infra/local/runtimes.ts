/**
 * What each Function Compute runtime image has on it, so the local host starts a function only as FC would.
 *
 * FC's custom-runtime page lists the languages built into each image (docs/sources.md, "Custom runtimes"):
 * - `custom.debian12`: Python 3.11 (`/usr/bin/python3`) and 3.12 (`/opt/python3.12/bin`), and nothing else;
 * - `custom.debian11`: Python 3.12;
 * - `custom.debian10`: Node.js 20 (`/var/fc/lang/nodejs20/bin`, v20.10.0) and 18 (`/var/fc/lang/nodejs18/bin`),
 *   Python 3.10 and 2.7; the Node.js folders are not on the image's PATH;
 * - `custom` (Debian 9): Node.js 10.
 * A start command is looked up on the image's PATH (or the function's own `PATH` variable) unless it is absolute.
 * Locally every Node.js binary the image has maps to this machine's `node`; a command the image lacks is what FC
 * answers `FunctionNotStarted` for.
 */

export interface RuntimeImage {
  /** Executables the image has, by absolute path. */
  readonly executables: readonly string[];
}

const SYSTEM_PATH = ["/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"];
const SHELL = ["/bin/sh", "/bin/bash"];

export const RUNTIME_IMAGES: Readonly<Record<string, RuntimeImage>> = {
  "custom.debian12": {
    executables: [...SHELL, "/usr/bin/python3", "/usr/bin/python3.11", "/opt/python3.12/bin/python3"],
  },
  "custom.debian11": { executables: [...SHELL, "/usr/bin/python3", "/opt/python3.12/bin/python3"] },
  "custom.debian10": {
    executables: [
      ...SHELL,
      "/var/fc/lang/nodejs20/bin/node",
      "/var/fc/lang/nodejs18/bin/node",
      "/usr/bin/python3",
      "/var/fc/lang/python3.10/bin/python3",
      "/usr/bin/python2.7",
    ],
  },
  custom: { executables: [...SHELL, "/var/fc/lang/nodejs10/bin/node", "/usr/bin/python3"] },
};

/** A Node.js binary on an image: these paths start this machine's `node` locally. */
const NODE_BINARY = /\/nodejs\d+\/bin\/node$/;

export type StartResolution =
  | { readonly ok: true; readonly executable: string; readonly node: boolean }
  | { readonly ok: false; readonly code: "FunctionNotStarted"; readonly reason: string };

/**
 * Where a custom runtime's start command resolves on its image, given the function's environment (its `PATH`) and
 * the executables its declared layers add (a layer's `bin` is on PATH as `/opt/bin`).
 */
export function resolveStartCommand(input: {
  readonly runtime: string;
  readonly command?: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly layerExecutables?: readonly string[];
}): StartResolution {
  const image = RUNTIME_IMAGES[input.runtime];
  if (!image) return { ok: true, executable: "", node: true };
  // With no command FC runs /code/bootstrap: the code package's own script.
  const command = input.command?.[0] ?? "/code/bootstrap";
  const has = new Set([...image.executables, ...(input.layerExecutables ?? [])]);
  const path = (input.environment.PATH ?? "").split(":").filter(Boolean);
  const candidates = command.includes("/")
    ? [command]
    : [...(path.length ? path : []), ...SYSTEM_PATH, "/opt/bin"].map((dir) => `${dir}/${command}`);
  const found = candidates.find((c) => has.has(c) || c.startsWith("/code/"));
  if (!found)
    return {
      ok: false,
      code: "FunctionNotStarted",
      reason:
        `the start command "${command}" is not on the ${input.runtime} image` +
        (command.includes("/") ? "" : ` (PATH ${[...path, ...SYSTEM_PATH].join(":")})`) +
        `: that image has ${describeLanguages(image)}; use a runtime or a layer that provides it`,
    };
  return { ok: true, executable: found, node: NODE_BINARY.test(found) };
}

function describeLanguages(image: RuntimeImage): string {
  const langs = image.executables
    .filter((e) => !SHELL.includes(e))
    .map((e) => (NODE_BINARY.test(e) ? `Node.js (${e})` : e));
  return langs.join(", ");
}
