import { describe, expect, it } from "vitest";
import { formatSeconds, timingRows } from "./timings";

describe("timingRows", () => {
  it("shows the video stages the live timings event carries, in Russian", () => {
    const rows = timingRows({ asr_s: 0.3, first_token_s: 0.6, first_chunk_s: 0.9, tts_s: 0.4, first_segment_s: 1.8, queued_before_first_segment_s: 0.25, total_s: 1.9 });
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(by.first_segment).toMatchObject({ label: "Первый фрагмент видео", seconds: 1.8 });
    expect(by.video_queue).toMatchObject({ label: "Видео в очереди перед ответом", seconds: 0.25 });
    expect(by.first_chunk.seconds).toBe(0.9);
    expect(by.video).toBeUndefined(); // the live stream does not time its render per turn: no empty row
    expect(formatSeconds(by.asr.seconds)).toBe("300 мс");
    expect(formatSeconds(timingRows(null)[0].seconds)).toBe("—");
  });

  it("adds up the render stages when they are there", () => {
    const video = timingRows({ talking_head_s: 0.5, enhance_s: 0.25, encode_s: 0.25 }).find((r) => r.key === "video");
    expect(video).toMatchObject({ label: "Рендер видео", seconds: 1 });
  });
});
