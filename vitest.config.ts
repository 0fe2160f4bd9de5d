import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Emulators and espeak-ng synthesis run on real sockets; give them room on a 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", "./test/reporters/summary-line.ts"],
    // `npm run test:unit -- --coverage`: how much of lib/ the unit tests alone run (generated data left out).
    coverage: {
      provider: "v8",
      include: ["lib/**/*.ts"],
      exclude: ["lib/voices/nls-voice-table.ts"],
      reporter: ["text-summary", "json-summary"],
      // The floor issue 27 set: a run that covers less of lib/ fails.
      thresholds: { lines: 80 },
    },
  },
});
