/**
 * The per-stage numbers of a turn (StageTimer.as_dict() of the server: `<stage>_s` seconds spent in a
 * stage, `<milestone>_s` seconds from the end of the question to the milestone). The live session's
 * `timings` event (when the first speech segment leaves) carries `first_segment_s` and
 * `queued_before_first_segment_s`; the video render's stages (`talking_head_s`, `enhance_s`,
 * `encode_s`) appear where the server's timer measures them (renders), else «—».
 */

import type { Timings } from "../realtime/protocol";

export interface TimingRow {
  key: string;
  label: string;
  seconds: number | null;
}

/** `optional` rows are left out while the server does not report them. */
const ROWS: { key: string; label: string; keys: string[]; optional?: boolean }[] = [
  { key: "asr", label: "Распознавание речи", keys: ["asr_s"] },
  { key: "llm", label: "Первый токен LLM", keys: ["first_token_s"] },
  { key: "tts", label: "Синтез речи", keys: ["tts_s"] },
  { key: "first_chunk", label: "Первая фраза ответа", keys: ["first_chunk_s"] },
  { key: "video", label: "Рендер видео", keys: ["video_s", "talking_head_s", "enhance_s", "encode_s"], optional: true },
  { key: "first_segment", label: "Первый фрагмент видео", keys: ["first_segment_s"] },
  { key: "video_queue", label: "Видео в очереди перед ответом", keys: ["queued_before_first_segment_s"] },
  { key: "total", label: "Весь ответ", keys: ["total_s"] },
];

export function timingRows(timings: Timings | null): TimingRow[] {
  return ROWS.flatMap(({ key, label, keys, optional }) => {
    const values = keys.map((k) => timings?.[k]).filter((v): v is number => typeof v === "number");
    if (optional && !values.length) return [];
    return [{ key, label, seconds: values.length ? values.reduce((a, b) => a + b, 0) : null }];
  });
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} мс`;
  return `${seconds.toFixed(2).replace(".", ",")} с`;
}
