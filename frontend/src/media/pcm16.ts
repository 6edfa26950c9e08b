/**
 * Float PCM -> 16 kHz mono int16, for browsers whose MediaRecorder makes neither webm nor ogg
 * (Safari/iOS). The AudioWorklet (pcm16.worklet.ts) runs this on the audio thread and posts chunks.
 */

export const PCM16_RATE = 16000;

/** One float sample in -1..1 as int16 (clipped). */
export function toInt16(x: number): number {
  const v = Math.max(-1, Math.min(1, x));
  return v < 0 ? Math.round(v * 0x8000) : Math.round(v * 0x7fff);
}

/**
 * Downsamples a continuous float stream by averaging each output sample's window of input samples
 * (a box filter: cheap, and enough against aliasing for speech recognition), collecting the output
 * into int16 chunks of `chunkSamples`.
 */
export class Pcm16Downsampler {
  private readonly ratio: number;
  private readonly chunk: Int16Array;
  private filled = 0;
  private sum = 0;
  private count = 0;
  private consumed = 0;
  private nextEdge: number;

  constructor(
    readonly inputRate: number,
    readonly outputRate = PCM16_RATE,
    readonly chunkSamples = Math.round(outputRate / 10),
  ) {
    if (inputRate <= 0 || outputRate <= 0) throw new Error("sample rates must be positive");
    this.ratio = inputRate / outputRate;
    this.nextEdge = this.ratio;
    this.chunk = new Int16Array(chunkSamples);
  }

  /** Feed input samples; returns the chunks completed by them (each a fresh Int16Array). */
  push(input: ArrayLike<number>): Int16Array[] {
    const out: Int16Array[] = [];
    for (let i = 0; i < input.length; i++) {
      this.sum += input[i];
      this.count += 1;
      this.consumed += 1;
      while (this.consumed >= this.nextEdge) {
        this.emit(this.count ? this.sum / this.count : 0, out);
        this.sum = 0;
        this.count = 0;
        this.nextEdge += this.ratio;
      }
    }
    return out;
  }

  /** The partial chunk (and a partial window) at the end of a recording, or null when empty. */
  flush(): Int16Array | null {
    const out: Int16Array[] = [];
    if (this.count) this.emit(this.sum / this.count, out);
    this.sum = 0;
    this.count = 0;
    const rest = out[0] ?? (this.filled ? this.chunk.slice(0, this.filled) : null);
    this.filled = 0;
    return rest;
  }

  private emit(value: number, out: Int16Array[]): void {
    this.chunk[this.filled++] = toInt16(value);
    if (this.filled === this.chunkSamples) {
      out.push(this.chunk.slice());
      this.filled = 0;
    }
  }
}
