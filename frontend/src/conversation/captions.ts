/** Captions under the avatar: the reply chunk being spoken now, and whether the user wants them. */

import { useCallback, useState } from "react";
import { CaptionTrack } from "../media/captionTrack";
import type { MsePlayer } from "../media/MsePlayer";
import type { ConversationClient } from "../realtime/ConversationClient";

const CAPTIONS_KEY = "avatar.captions";

/**
 * Follow `player`'s playback and call `onText` with the caption whenever it changes (null in
 * silence). Returns the function that stops following.
 */
export function followCaptions(
  client: Pick<ConversationClient, "on">,
  player: Pick<MsePlayer, "currentTime" | "timeline">,
  onText: (text: string | null) => void,
  everyMs = 120,
): () => void {
  const track = new CaptionTrack();
  let shown: string | null = null;
  const offReady = client.on("ready", () => track.reset());
  const offAction = client.on("action", (action) => {
    if (action.type === "reply") track.reply(action.data.turn, action.data.index, action.data.text, player.timeline.end);
  });
  const timer = setInterval(() => {
    const text = track.textAt(player.currentTime, player.timeline.segments);
    if (text !== shown) {
      shown = text;
      onText(text);
    }
  }, everyMs);
  return () => {
    offReady();
    offAction();
    clearInterval(timer);
  };
}

function readCaptionsOn(): boolean {
  try {
    return localStorage.getItem(CAPTIONS_KEY) !== "off";
  } catch {
    return true;
  }
}

/** Captions on/off, remembered in localStorage (on by default). */
export function useCaptionsSetting(): [boolean, () => void] {
  const [on, setOn] = useState(readCaptionsOn);
  const toggle = useCallback(() => {
    setOn((value) => {
      try {
        localStorage.setItem(CAPTIONS_KEY, value ? "off" : "on");
      } catch {
        // private mode: the choice lasts until the page closes
      }
      return !value;
    });
  }, []);
  return [on, toggle];
}
