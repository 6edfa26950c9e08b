/**
 * Feeds a SourceBuffer strictly in order: `appendBuffer`/`remove` only while it is not updating,
 * the next operation after the previous one's `updateend`.
 */

import type { SourceBufferLike } from "./sourceBuffer";

export type QueueOp =
  | { op: "append"; data: Uint8Array; label?: string }
  | { op: "remove"; start: number; end: number }
  | { op: "offset"; value: number }
  | { op: "changeType"; mime: string };

export interface AppendQueueHooks {
  /** The buffer is full: return a range to remove first (the failed append is retried after it), or null to drop it. */
  onQuotaExceeded?: () => [number, number] | null;
  onError?: (message: string, error?: unknown) => void;
  /** Called after each operation completed (for trimming and playback decisions). */
  onUpdated?: (op: QueueOp) => void;
}

export class AppendQueue {
  private ops: QueueOp[] = [];
  private buffer: SourceBufferLike | null = null;
  private current: QueueOp | null = null;
  private readonly retried = new WeakSet<QueueOp>();
  private readonly onUpdateEnd = () => this.finished();
  private readonly onBufferError = () => this.hooks.onError?.("SourceBuffer error", this.current);

  constructor(private readonly hooks: AppendQueueHooks = {}) {}

  /** Operations queued before a buffer exists wait for it. */
  attach(buffer: SourceBufferLike): void {
    this.detach();
    this.buffer = buffer;
    buffer.addEventListener("updateend", this.onUpdateEnd);
    buffer.addEventListener("error", this.onBufferError);
    this.pump();
  }

  detach(): void {
    if (!this.buffer) return;
    this.buffer.removeEventListener("updateend", this.onUpdateEnd);
    this.buffer.removeEventListener("error", this.onBufferError);
    this.buffer = null;
    this.current = null;
  }

  get pending(): number {
    return this.ops.length + (this.current ? 1 : 0);
  }

  get busy(): boolean {
    return this.current !== null;
  }

  push(op: QueueOp): void {
    this.ops.push(op);
    this.pump();
  }

  /** Drop every queued (not yet started) operation. */
  clear(): void {
    this.ops = [];
  }

  private finished(): void {
    const done = this.current;
    this.current = null;
    if (done) this.hooks.onUpdated?.(done);
    this.pump();
  }

  private pump(): void {
    const buffer = this.buffer;
    while (buffer && !this.current && !buffer.updating && this.ops.length) {
      const op = this.ops.shift()!;
      try {
        switch (op.op) {
          case "offset":
            buffer.timestampOffset = op.value;
            this.hooks.onUpdated?.(op);
            continue;
          case "changeType":
            buffer.changeType?.(op.mime);
            this.hooks.onUpdated?.(op);
            continue;
          case "append":
            this.current = op;
            buffer.appendBuffer(op.data as Uint8Array<ArrayBuffer>);
            return;
          case "remove":
            if (op.end <= op.start) continue;
            this.current = op;
            buffer.remove(op.start, op.end);
            return;
        }
      } catch (error) {
        this.current = null;
        if (op.op === "append" && (error as { name?: string })?.name === "QuotaExceededError" && !this.retried.has(op)) {
          const range = this.hooks.onQuotaExceeded?.();
          if (range && range[1] > range[0]) {
            this.retried.add(op);
            this.ops.unshift({ op: "remove", start: range[0], end: range[1] }, op);
            continue;
          }
        }
        this.hooks.onError?.(`${op.op} failed`, error);
      }
    }
  }
}
