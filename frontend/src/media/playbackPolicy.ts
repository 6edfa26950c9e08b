/**
 * When the live player should seek: over gaps, towards the live edge (never skipping speech), and
 * past already-sent speech after an interruption. Everything else is left to the media element:
 * when data runs out it waits on its last frame (no black, no reset).
 */

import type { Range } from "./sourceBuffer";

export interface PolicyOptions {
  /** Behind the buffered end by more than this (seconds): seek forward... */
  maxLag: number;
  /** ...to this far before the end. */
  targetLag: number;
  /** Behind by more than this: seek even across speech (e.g. after the tab was in the background). */
  hardMaxLag: number;
  /** After an interruption, remaining speech shorter than this is simply played out. */
  minSkip: number;
  /** Keep this much played media behind the playhead; trim the rest. */
  keepBehind: number;
  /** Trim only once this much more than `keepBehind` has accumulated (fewer `remove` calls). */
  trimSlack: number;
}

export const defaultPolicy: PolicyOptions = {
  maxLag: 1.0,
  targetLag: 0.3,
  hardMaxLag: 4.0,
  minSkip: 0.25,
  keepBehind: 10,
  trimSlack: 2,
};

export interface PlaybackView {
  currentTime: number;
  ranges: Range[];
  /** Buffer time the stream continues from after an interruption (null when none pending). */
  skipTo: number | null;
  speechBetween: (from: number, to: number) => boolean;
}

export interface PlaybackDecision {
  seek: number | null;
  /** The pending interruption skip is resolved (done or not needed). */
  skipDone: boolean;
  reason: "gap" | "live-edge" | "interrupted" | null;
}

const EPS = 0.05;

function rangeAt(ranges: Range[], time: number): Range | undefined {
  return ranges.find(([start, end]) => start - EPS <= time && time < end);
}

export function decidePlayback(view: PlaybackView, options: PolicyOptions = defaultPolicy): PlaybackDecision {
  const { currentTime: now, ranges } = view;
  const none: PlaybackDecision = { seek: null, skipDone: false, reason: null };
  if (!ranges.length) return none;
  const end = ranges[ranges.length - 1][1];

  if (view.skipTo !== null) {
    const target = view.skipTo;
    if (target - now < options.minSkip) return { ...decideRest(view, options, end), skipDone: true };
    const at = rangeAt(ranges, target);
    if (at && at[1] - target >= 0.1) return { seek: target, skipDone: true, reason: "interrupted" };
    // not buffered yet: the idle after the interruption is on its way
  }
  return decideRest(view, options, end);
}

function decideRest(view: PlaybackView, options: PolicyOptions, end: number): PlaybackDecision {
  const { currentTime: now, ranges } = view;
  const none: PlaybackDecision = { seek: null, skipDone: false, reason: null };
  if (!rangeAt(ranges, now)) {
    const next = ranges.find(([start]) => start > now);
    if (!next) return none; // ran out of data: wait on the last frame
    return { seek: next[0] + 0.01, skipDone: false, reason: "gap" };
  }
  const lag = end - now;
  if (lag > options.maxLag) {
    const target = end - options.targetLag;
    if (lag > options.hardMaxLag || !view.speechBetween(now, target)) {
      return { seek: target, skipDone: false, reason: "live-edge" };
    }
  }
  return none;
}

/** The range to remove so that only `keepBehind` seconds stay behind the playhead, or null. */
export function trimRange(ranges: Range[], currentTime: number, options: PolicyOptions = defaultPolicy): Range | null {
  if (!ranges.length) return null;
  const start = ranges[0][0];
  const cut = currentTime - options.keepBehind;
  if (cut - start < options.trimSlack) return null;
  return [0, cut];
}
