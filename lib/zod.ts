/**
 * The schema library every function uses: zod's functional build (`zod/mini`), whose schemas are built by functions
 * rather than methods, so a bundle keeps only the schema kinds it uses. Measured on the speech function's cold start:
 * zod's classic build was about half of the bundle (185 of 372 KiB) and about 45 ms of each cold start.
 *
 * zod/mini configures no message locale by default ("Invalid input" for everything); ours are English, the locale our
 * error messages and tests are written against.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
