/**
 * The benches' helper processes (bench/stream-stack.ts, one role each), so what is measured and what it talks to do not
 * share an event loop, as in the cloud, where they are different machines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * One child of bench/stream-stack.ts; resolves with the JSON line it prints once ready. With CHILD_PROF=<dir> in the
 * environment, each child writes a CPU profile there when it is stopped.
 */
export async function startChild<T>(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; out: T }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.CHILD_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.CHILD_PROF] : []),
      "--import",
      "tsx",
      "bench/stream-stack.ts",
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench child ${args.join(" ")} exited with ${code}`)));
  });
  return { child, out: JSON.parse(line) as T };
}
