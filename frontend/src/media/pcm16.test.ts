import { describe, expect, it } from "vitest";
import { Pcm16Downsampler, toInt16 } from "./pcm16";

function tone(rate: number, seconds: number, hz: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe("PCM16 conversion", () => {
  it("maps floats to int16 with clipping", () => {
    expect(toInt16(0)).toBe(0);
    expect(toInt16(1)).toBe(32767);
    expect(toInt16(-1)).toBe(-32768);
    expect(toInt16(2)).toBe(32767);
    expect(toInt16(-3)).toBe(-32768);
    expect(toInt16(0.5)).toBe(16384);
  });

  it("downsamples 48 kHz to 16 kHz in 100 ms chunks across 128-sample render quanta", () => {
    const ds = new Pcm16Downsampler(48000);
    const input = tone(48000, 1, 440);
    const chunks: Int16Array[] = [];
    for (let i = 0; i < input.length; i += 128) chunks.push(...ds.push(input.subarray(i, i + 128)));
    const rest = ds.flush();
    const total = chunks.reduce((n, c) => n + c.length, 0) + (rest?.length ?? 0);
    expect(chunks.every((c) => c.length === 1600)).toBe(true);
    expect(total).toBe(16000);
    // the tone survives: its peak is near 0.5 of full scale, and it crosses zero 880 times a second
    const all = Int16Array.from(chunks.flatMap((c) => [...c]));
    const peak = Math.max(...all) / 32767;
    expect(peak).toBeGreaterThan(0.45);
    expect(peak).toBeLessThan(0.51);
    let crossings = 0;
    for (let i = 1; i < all.length; i++) if (all[i - 1] < 0 !== all[i] < 0) crossings++;
    expect(Math.abs(crossings - 880 * (all.length / 16000))).toBeLessThan(10);
  });

  it("handles a non-integer ratio (44.1 kHz) without drifting", () => {
    const ds = new Pcm16Downsampler(44100, 16000, 1000);
    const out: Int16Array[] = [];
    for (let i = 0; i < 10; i++) out.push(...ds.push(new Float32Array(4410).fill(0.25)));
    const rest = ds.flush();
    const total = out.reduce((n, c) => n + c.length, 0) + (rest?.length ?? 0);
    expect(Math.abs(total - 16000)).toBeLessThanOrEqual(1);
    expect(out[0][500]).toBe(toInt16(0.25));
  });

  it("flush returns null when nothing is pending", () => {
    const ds = new Pcm16Downsampler(16000, 16000, 4);
    expect(ds.push([0.1, 0.2, 0.3, 0.4])).toHaveLength(1);
    expect(ds.flush()).toBeNull();
  });
});
