import { describe, expect, it } from "vitest";
import { PushToTalk, pttLabel, spaceBelongsToTarget } from "./pushToTalk";

describe("PushToTalk", () => {
  it("a tap toggles recording on and the next tap sends", () => {
    const ptt = new PushToTalk(300);
    expect(ptt.down(0)).toBe("start");
    expect(ptt.up(120)).toBeNull();
    expect(ptt.mode).toBe("latched");
    expect(pttLabel(ptt.mode)).toBe("Говорите… нажмите ещё раз, чтобы отправить");
    expect(ptt.down(2000)).toBeNull();
    expect(ptt.up(2100)).toBe("stop");
    expect(ptt.mode).toBe("idle");
    expect(pttLabel(ptt.mode)).toBe("Нажмите или удерживайте, чтобы говорить");
  });

  it("a hold talks while held and sends on release", () => {
    const ptt = new PushToTalk(300);
    expect(ptt.down(0)).toBe("start");
    expect(ptt.mode).toBe("holding");
    expect(ptt.up(1500)).toBe("stop");
  });

  it("Escape cancels in any recording mode", () => {
    const ptt = new PushToTalk(300);
    expect(ptt.cancel()).toBeNull();
    ptt.down(0);
    ptt.up(10);
    expect(ptt.cancel()).toBe("cancel");
    expect(ptt.up(20)).toBeNull();
  });

  it("leaves Space to focused buttons, fields and links", () => {
    const button = document.createElement("button");
    const input = document.createElement("input");
    const link = document.createElement("a");
    link.href = "#/x";
    const div = document.createElement("div");
    const inner = document.createElement("span");
    button.append(inner);
    expect(spaceBelongsToTarget(button)).toBe(true);
    expect(spaceBelongsToTarget(inner)).toBe(true);
    expect(spaceBelongsToTarget(input)).toBe(true);
    expect(spaceBelongsToTarget(link)).toBe(true);
    expect(spaceBelongsToTarget(div)).toBe(false);
    expect(spaceBelongsToTarget(document.body)).toBe(false);
  });
});
