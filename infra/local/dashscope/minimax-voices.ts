/**
 * The MiniMax voices the local emulator knows: system voices from MiniMax's own "System Voice ID List"
 * (platform.minimaxi.com/docs/faq/system-voice-id, platform.minimax.io/docs/faq/system-voice-id), the first of each
 * table, which is as far as this project has confirmed them. Seed 004 names voice_id without listing any. MiniMax
 * refuses a voice it does not have; so does the emulator, and a cloned voice (or another system voice) is added with
 * LOCAL_MINIMAX_VOICES=id,id… for `npm start`, or the `minimax.voices` option of the local cloud.
 */
export const MINIMAX_SYSTEM_VOICES: readonly string[] = [
  // 中文 (普通话)
  "male-qn-qingse",
  "male-qn-jingying",
  "male-qn-badao",
  "male-qn-daxuesheng",
  "female-shaonv",
  "female-yujie",
  "female-chengshu",
  "female-tianmei",
  "male-qn-qingse-jingpin",
  "male-qn-jingying-jingpin",
  "male-qn-badao-jingpin",
  // English
  "English_expressive_narrator",
  "English_radiant_girl",
  "English_magnetic_voiced_man",
  "English_compelling_lady1",
  "English_Aussie_Bloke",
  "English_captivating_female1",
  "English_Upbeat_Woman",
  "English_Trustworth_Man",
  "English_CalmWoman",
];

/** Whether a voice sounds male: MiniMax's ids say so (`male-…`, `…_man`, `…_Bloke`). */
export function soundsMale(voiceId: string): boolean {
  return /^male-|_man$|_Man$|Bloke/i.test(voiceId) && !/female/i.test(voiceId);
}
