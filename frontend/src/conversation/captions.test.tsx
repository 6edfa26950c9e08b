import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamTimeline } from "../media/timeline";
import type { ConversationClientEvents } from "../realtime/ConversationClient";
import { followCaptions, useCaptionsSetting } from "./captions";

/** A client whose events the test emits. */
function fakeClient() {
  const actions = new Set<ConversationClientEvents["action"]>();
  return {
    on<K extends keyof ConversationClientEvents>(event: K, listener: ConversationClientEvents[K]) {
      if (event !== "action") return () => undefined;
      const l = listener as ConversationClientEvents["action"];
      actions.add(l);
      return () => actions.delete(l);
    },
    reply(turn: number, index: number, text: string) {
      actions.forEach((l) => l({ type: "reply", data: { turn, index, text, emotion: "neutral" } }));
    },
  };
}

describe("captions", () => {
  afterEach(() => vi.useRealTimers());

  it("follow the player's time: a chunk's text shows when its speech plays, not when it arrives", () => {
    vi.useFakeTimers();
    const client = fakeClient();
    const timeline = new StreamTimeline();
    const player = { currentTime: 0, timeline };
    const shown: (string | null)[] = [];
    const stop = followCaptions(client, player, (t) => shown.push(t), 50);
    // idle 0..2 s, then the reply: its first chunk's text arrives while idle is still playing
    timeline.segments.push({ start: 0, end: 2, kind: "idle", turn: 0 });
    timeline.end = 2;
    client.reply(1, 0, "Здравствуй!");
    player.currentTime = 1;
    vi.advanceTimersByTime(100);
    expect(shown).toEqual([]); // the text is here, the speech is not playing: no caption yet
    for (let t = 2; t < 5; t += 0.5) timeline.segments.push({ start: t, end: t + 0.5, kind: "speech", turn: 1 });
    timeline.segments.push({ start: 5, end: 7, kind: "idle", turn: 0 });
    player.currentTime = 2.2;
    vi.advanceTimersByTime(100);
    expect(shown).toEqual(["Здравствуй!"]);
    player.currentTime = 5.5;
    vi.advanceTimersByTime(100);
    expect(shown).toEqual(["Здравствуй!", null]); // hidden in silence
    stop();
  });

  it("the on/off choice is remembered", () => {
    function Toggle() {
      const [on, toggle] = useCaptionsSetting();
      return (
        <button type="button" onClick={toggle}>
          {on ? "on" : "off"}
        </button>
      );
    }
    const { unmount } = render(<Toggle />);
    expect(screen.getByRole("button")).toHaveTextContent("on");
    act(() => screen.getByRole("button").click());
    expect(localStorage.getItem("avatar.captions")).toBe("off");
    unmount();
    render(<Toggle />);
    expect(screen.getByRole("button")).toHaveTextContent("off");
  });
});
