/**
 * The lobby's steps: the click unlocks sound (the video element and the AudioContext, inside the
 * gesture), asks for the microphone, shows its level, then lets the client send `start`.
 */

import { useCallback, useEffect, useState, type RefObject } from "react";
import type { MsePlayer } from "../media/MsePlayer";
import type { MicSource } from "../media/micSource";
import type { LobbyPhase } from "./Lobby";
import { lobbyPassed, passLobby } from "./lobbyGate";
import { useMicLevel } from "./LevelMeter";

/** How long the lobby shows the level meter at least, so the user sees the microphone works. */
export const METER_MIN_MS = 1200;

function micProblemText(error: unknown): string {
  const name = (error as { name?: string })?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Доступ к микрофону запрещён. Чтобы говорить голосом, разрешите микрофон для этого сайта (значок замка слева от адреса) и нажмите кнопку микрофона. Пока можно писать сообщения.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "Микрофон не найден. Подключите его и нажмите кнопку микрофона. Пока можно писать сообщения.";
  }
  if (name === "unsupported") return "Этот браузер не умеет записывать звук. Можно писать сообщения.";
  return "Не удалось включить микрофон. Пока можно писать сообщения.";
}

export interface UseLobbyOptions {
  mic: MicSource;
  canRecord: boolean;
  player: RefObject<MsePlayer | null>;
  /** Sends `start` (called once the lobby is through; may be called again). */
  begin: (() => void) | null;
  /** The conversation is ready (`ready` arrived). */
  live: boolean;
}

export function useLobby({ mic, canRecord, player, begin, live }: UseLobbyOptions) {
  const [phase, setPhase] = useState<LobbyPhase | "done">(() => (lobbyPassed() ? "done" : "idle"));
  const [micOpen, setMicOpen] = useState(false);
  const [micProblem, setMicProblem] = useState<string | null>(null);
  const [meterSeen, setMeterSeen] = useState(false);
  const level = useMicLevel(mic, micOpen && phase !== "done");

  // `start` goes out once the lobby is through (at once for a later conversation of this page load)
  useEffect(() => {
    if ((phase === "done" || phase === "joining") && begin) begin();
  }, [phase, begin]);

  useEffect(() => {
    if (!micOpen) return;
    const timer = setTimeout(() => setMeterSeen(true), METER_MIN_MS);
    return () => clearTimeout(timer);
  }, [micOpen]);

  if (phase === "joining" && live && (meterSeen || !micOpen)) setPhase("done");

  const start = useCallback(() => {
    // inside the click: these two are what the browser's autoplay policy waits for
    player.current?.unlock();
    mic.unlock();
    setPhase("mic");
    const asked = canRecord
      ? mic.acquire().then(
          () => setMicOpen(true),
          (error: unknown) => setMicProblem(micProblemText(error)),
        )
      : Promise.resolve(setMicProblem(micProblemText({ name: "unsupported" })));
    void asked.then(() => {
      passLobby();
      setPhase("joining");
      mic.releaseLater();
    });
  }, [player, mic, canRecord]);

  return {
    /** The lobby's phase, null once it is gone. */
    phase: phase === "done" ? null : phase,
    level: micOpen ? level : null,
    micProblem,
    start,
  };
}
