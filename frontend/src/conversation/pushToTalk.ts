/**
 * Push-to-talk gestures: a short tap (< tapMs) toggles recording on and the next tap sends; a hold
 * talks while held and sends on release. Escape cancels. Pure: the caller passes the time.
 */

export const TAP_MS = 300;

/** idle; holding: pressed and recording; latched: tapped on; closing: pressed again to send. */
export type PttMode = "idle" | "holding" | "latched" | "closing";
export type PttAction = "start" | "stop" | "cancel" | null;

export class PushToTalk {
  mode: PttMode = "idle";
  private downAt = 0;

  constructor(private readonly tapMs = TAP_MS) {}

  down(now: number): PttAction {
    if (this.mode === "idle") {
      this.mode = "holding";
      this.downAt = now;
      return "start";
    }
    if (this.mode === "latched") this.mode = "closing";
    return null;
  }

  up(now: number): PttAction {
    if (this.mode === "holding") {
      if (now - this.downAt < this.tapMs) {
        this.mode = "latched";
        return null;
      }
      this.mode = "idle";
      return "stop";
    }
    if (this.mode === "closing") {
      this.mode = "idle";
      return "stop";
    }
    return null;
  }

  cancel(): PttAction {
    if (this.mode === "idle") return null;
    this.mode = "idle";
    return "cancel";
  }

  /** Forget the gesture (the recording failed or was stopped elsewhere). */
  reset(): void {
    this.mode = "idle";
  }
}

/** What the button says it will do. */
export function pttLabel(mode: PttMode): string {
  switch (mode) {
    case "idle":
      return "Нажмите или удерживайте, чтобы говорить";
    case "holding":
      return "Говорите… отпустите, чтобы отправить";
    case "latched":
    case "closing":
      return "Говорите… нажмите ещё раз, чтобы отправить";
  }
}

/** Space is hold-to-talk only away from controls that use it themselves (typing, buttons, links). */
export function spaceBelongsToTarget(target: EventTarget | null): boolean {
  const el = target as Element | null;
  if (!el || typeof el.closest !== "function") return false;
  if ((el as HTMLElement).isContentEditable) return true;
  return !!el.closest('input, textarea, select, button, a[href], summary, [role="button"], [role="switch"], [role="checkbox"], [role="link"], [role="textbox"]');
}
