export function mp3Kbps(sampleRate: number): number;
export function encodeMp3(pcm: Int16Array, sampleRate: number): Buffer;
