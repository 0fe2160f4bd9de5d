import { describe, expect, it } from "vitest";
import { errorKeyFor } from "../../lib/jobs/error-object.js";

describe("errorKeyFor", () => {
  it("puts the error object beside the audio, replacing only the file's own extension", () => {
    expect(errorKeyFor("output/a/b.mp3")).toBe("output/a/b.error.json");
    expect(errorKeyFor("output/v1.2/chapter")).toBe("output/v1.2/chapter.error.json");
    expect(errorKeyFor("output/a/b.c.wav")).toBe("output/a/b.c.error.json");
  });
});
