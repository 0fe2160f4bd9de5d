/** `2026-11-30T14:20:05Z`: the time Alibaba Cloud's API signatures carry (POP RPC's `Timestamp`, ACS3's `x-acs-date`), to the second. */
export const acsTimestamp = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, "Z");
