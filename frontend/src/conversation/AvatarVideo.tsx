/** The avatar's live video: an MsePlayer fed by the conversation client's media events. */

import { useEffect, useRef, useState } from "react";
import { MsePlayer, type MsePlayerState } from "../media/MsePlayer";
import type { ConversationClient } from "../realtime/ConversationClient";

export interface AvatarVideoProps {
  client: ConversationClient | null;
  /** Shown until the first frame (the persona's photo), so the screen is never black. */
  poster?: string;
  name: string;
  onShowing?: (showing: MsePlayerState["showing"]) => void;
}

export function AvatarVideo({ client, poster, name, onShowing }: AvatarVideoProps) {
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<MsePlayer | null>(null);
  const [state, setState] = useState<MsePlayerState>({ error: null, soundBlocked: false, showing: null, waiting: false });
  const showingRef = useRef(onShowing);
  useEffect(() => {
    showingRef.current = onShowing; // the player reports to the latest callback without being rebuilt
  }, [onShowing]);

  useEffect(() => {
    const element = video.current;
    if (!client || !element) return;
    const p = new MsePlayer(element, {
      onState: (s) => {
        setState(s);
        showingRef.current?.(s.showing);
      },
      onLog: (message) => console.debug(`[avatar-video] ${message}`),
    });
    player.current = p;
    setState(p.snapshot);
    const off = [
      client.on("ready", (ready) => p.setMime(ready.mime)),
      client.on("media", (event) => p.push(event)),
      client.on("interrupted", (event) => p.interrupted(event.turn, event.media_time)),
    ];
    return () => {
      off.forEach((f) => f());
      p.destroy();
      player.current = null;
    };
  }, [client]);

  return (
    <div className="relative overflow-hidden rounded-3xl bg-slate-900 shadow-2xl ring-1 ring-slate-800">
      {/* Captions: the reply's text appears live beside the video (the conversation panel), as it is spoken. */}
      {/* eslint-disable-next-line jsx-a11y/media-has-caption -- see above: a live stream has no caption file */}
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
      {state.soundBlocked && !state.error && (
        <button
          type="button"
          data-testid="sound-on"
          onClick={() => void player.current?.enableSound()}
          className="absolute bottom-4 left-1/2 -translate-x-1/2 rounded-full bg-indigo-500 px-5 py-2 text-sm font-medium text-white shadow-lg hover:bg-indigo-400"
        >
          Включить звук
        </button>
      )}
      {state.error && (
        <div role="alert" data-testid="player-error" className="absolute inset-x-4 bottom-4 rounded-xl bg-rose-950/90 px-4 py-3 text-sm text-rose-100 ring-1 ring-rose-800">
          {state.error}
        </div>
      )}
    </div>
  );
}
