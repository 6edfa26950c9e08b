/**
 * The parts of the Media Source Extensions API the player uses, as small interfaces, so the
 * append queue and the playback policy can run against any implementation of the same contract.
 */

export interface TimeRangesLike {
  readonly length: number;
  start(index: number): number;
  end(index: number): number;
}

/** The SourceBuffer contract: one operation at a time, `updating` until its `updateend` event. */
export interface SourceBufferLike {
  readonly updating: boolean;
  readonly buffered: TimeRangesLike;
  timestampOffset: number;
  appendBuffer(data: BufferSource): void;
  remove(start: number, end: number): void;
  changeType?(type: string): void;
  addEventListener(type: "updateend" | "error", listener: () => void): void;
  removeEventListener(type: "updateend" | "error", listener: () => void): void;
}

export type Range = [number, number];

export function rangesOf(buffered: TimeRangesLike): Range[] {
  const out: Range[] = [];
  for (let i = 0; i < buffered.length; i++) out.push([buffered.start(i), buffered.end(i)]);
  return out;
}
