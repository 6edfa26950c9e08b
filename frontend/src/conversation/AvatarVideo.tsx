/**
 * The avatar's live video: an MsePlayer fed by the conversation client's media events, with the
 * captions of what is being said, the «Думает…» label and a slot for the lobby over it.
 */

import { useEffect, useRef, useState, type ReactNode } from "react";
import { MsePlayer, type MsePlayerState } from "../media/MsePlayer";
import type { ConversationClient } from "../realtime/ConversationClient";
import { followCaptions, useCaptionsSetting } from "./captions";

export interface AvatarVideoProps {
  client: ConversationClient | null;
  /** Shown until the first frame (the persona's photo), so the screen is never black. */
  poster?: string;
  name: string;
  onShowing?: (showing: MsePlayerState["showing"]) => void;
  /** The player, for unlocking sound inside the lobby's click. */
  onPlayer?: (player: MsePlayer | null) => void;
  /** The reply is being thought of: a small label over the picture. */
  thinking?: boolean;
  /** Over the picture (the lobby). */
  overlay?: ReactNode;
}

export function AvatarVideo({ client, poster, name, onShowing, onPlayer, thinking = false, overlay }: AvatarVideoProps) {
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<MsePlayer | null>(null);
  const [state, setState] = useState<MsePlayerState>({ error: null, soundBlocked: false, showing: null, waiting: false });
  const [caption, setCaption] = useState<string | null>(null);
  const [captionsOn, toggleCaptions] = useCaptionsSetting();
  const callbacks = useRef({ onShowing, onPlayer });
  useEffect(() => {
    callbacks.current = { onShowing, onPlayer }; // the player reports to the latest callbacks without being rebuilt
  }, [onShowing, onPlayer]);

  useEffect(() => {
    const element = video.current;
    if (!client || !element) return;
    const p = new MsePlayer(element, {
      onState: (s) => {
        setState(s);
        callbacks.current.onShowing?.(s.showing);
      },
      onLog: (message) => console.debug(`[avatar-video] ${message}`),
    });
    player.current = p;
    callbacks.current.onPlayer?.(p);
    setState(p.snapshot);
    const off = [
      client.on("ready", (ready) => p.setMime(ready.mime)),
      client.on("media", (event) => p.push(event)),
      client.on("interrupted", (event) => p.interrupted(event.turn, event.media_time)),
      followCaptions(client, p, setCaption),
    ];
    return () => {
      off.forEach((f) => f());
      p.destroy();
      player.current = null;
      callbacks.current.onPlayer?.(null);
      setCaption(null);
    };
  }, [client]);

  const speaking = state.showing === "speech";
  return (
    <div className="relative overflow-hidden rounded-3xl bg-slate-900 shadow-2xl ring-1 ring-slate-800">
      {/* Captions are drawn over the picture from the reply's text (a live stream has no caption track). */}
      {/* eslint-disable-next-line jsx-a11y/media-has-caption -- see above */}
      <video
        ref={video}
        data-testid="avatar-video"
        data-showing={state.showing ?? "none"}
        data-sound={state.soundBlocked ? "blocked" : "on"}
        aria-label={`Видео: ${name}`}
        poster={poster}
        playsInline
        autoPlay
        className="block aspect-square w-full object-cover"
      />
      {thinking && !speaking && (
        <div
          data-testid="thinking"
          role="status"
          className="absolute left-3 top-3 inline-flex items-center gap-2 rounded-full bg-slate-950/80 px-3 py-1 text-sm text-slate-100 ring-1 ring-slate-700"
        >
          <span className="flex gap-1" aria-hidden>
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-indigo-300 [animation-delay:-0.3s]" />
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-indigo-300 [animation-delay:-0.15s]" />
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-indigo-300" />
          </span>
          Думает…
        </div>
      )}
      {!overlay && (
        <button
          type="button"
          data-testid="captions-toggle"
          aria-pressed={captionsOn}
          onClick={toggleCaptions}
          title={captionsOn ? "Скрыть субтитры" : "Показать субтитры"}
          className="absolute right-3 top-3 rounded-md bg-slate-950/70 px-2 py-1 text-xs font-semibold text-slate-200 ring-1 ring-slate-700 hover:bg-slate-900 aria-[pressed=false]:text-slate-400 aria-[pressed=false]:line-through"
        >
          СУБ
          <span className="sr-only">{captionsOn ? " — скрыть субтитры" : " — показать субтитры"}</span>
        </button>
      )}
      {captionsOn && caption && !state.error && !overlay && (
        <p
          data-testid="caption"
          aria-live="off"
          className="absolute inset-x-3 bottom-3 mx-auto w-fit max-w-[92%] rounded-lg bg-slate-950/75 px-3 py-1.5 text-center text-base leading-snug text-white sm:text-lg"
        >
          {caption}
        </p>
      )}
      {state.soundBlocked && !state.error && !overlay && (
        <button
          type="button"
          data-testid="sound-on"
          onClick={() => void player.current?.enableSound()}
          className="absolute left-1/2 top-1/2 -translate-x-1/2 -translate-y-1/2 rounded-full bg-indigo-500 px-5 py-2 text-sm font-medium text-white shadow-lg hover:bg-indigo-400"
        >
          Включить звук
        </button>
      )}
      {state.error && (
        <div role="alert" data-testid="player-error" className="absolute inset-x-4 bottom-4 rounded-xl bg-rose-950/90 px-4 py-3 text-sm text-rose-100 ring-1 ring-rose-800">
          {state.error}
        </div>
      )}
      {overlay}
    </div>
  );
}
