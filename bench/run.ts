/** `npm run bench`: every benchmark, one table of measured value, reference and ratio. */
import { benchAudiobook, benchBookJob } from "./audiobook.js";
import { benchBatch } from "./batch.js";
import { benchBatchScale } from "./batch-scale.js";
import { benchBudget } from "./budget.js";
import { benchColdStart } from "./coldstart.js";
import { benchCoverage } from "./coverage.js";
import { benchLive } from "./live.js";
import { benchNlsShort } from "./nls-short.js";
import { benchSeams } from "./seams.js";
import { benchStore } from "./store.js";
import { benchStream, benchStreamRtt } from "./stream.js";
import { printTable } from "./table.js";
import { benchTextLinearity } from "./text-linearity.js";

printTable([
  ...(await benchNlsShort()),
  ...(await benchStreamRtt()),
  ...(await benchStream()),
  ...(await benchLive()),
  ...(await benchStore()),
  ...(await benchColdStart()),
  ...(await benchBatch()),
  ...(await benchBatchScale()),
  ...(await benchTextLinearity()),
  ...(await benchCoverage()),
  ...(await benchCoverage(100_000, 1_000, { dropSentence: 0.05, truncate: 0.05, pad: 0.05 }, false)),
  ...(await benchSeams()),
  ...(await benchBookJob()),
  ...(await benchAudiobook()),
  ...(await benchBudget()),
]);
