/**
 * Listening to a standard TTS voice: its sample is fetched as a WAV, turned into an object URL and
 * played with an Audio element. One sample at a time: starting another, stopping, or the component
 * going away stops the one playing, aborts a fetch under way and revokes its URL.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import { describeError } from "../api/errors";

export interface PreviewState {
  /** The voice whose sample is being fetched ("" for the engine's own voice). */
  loading: string | null;
  /** The voice being heard. */
  playing: string | null;
  /** Why the last sample could not be heard (Russian). */
  error: string | null;
}

interface Playback {
  controller: AbortController;
  audio: HTMLAudioElement | null;
  url: string | null;
}

const IDLE: PreviewState = { loading: null, playing: null, error: null };

function previewError(err: unknown): string {
  if (err instanceof DOMException && err.name === "NotAllowedError") {
    return "Браузер не дал воспроизвести звук. Нажмите «Послушать» ещё раз.";
  }
  if (err instanceof DOMException && err.name === "NotSupportedError") {
    return "Браузер не смог воспроизвести пример голоса.";
  }
  return describeError(err);
}

/** Stop a playback and free what it holds (idempotent). */
function dispose(playback: Playback): void {
  playback.controller.abort();
  const { audio, url } = playback;
  if (audio) {
    audio.onended = null;
    audio.onerror = null;
    audio.pause();
  }
  if (url) URL.revokeObjectURL(url);
  playback.audio = null;
  playback.url = null;
}

export function usePreview() {
  const client = useApi();
  const [state, setState] = useState<PreviewState>(IDLE);
  const current = useRef<Playback | null>(null);

  const release = useCallback(() => {
    const playback = current.current;
    current.current = null;
    if (playback) dispose(playback);
  }, []);

  useEffect(() => release, [release]);

  const stop = useCallback(() => {
    release();
    setState(IDLE);
  }, [release]);

  /** Fetch and play the sample of `voice` (null: the engine's own voice), stopping any other. */
  const play = useCallback(async (voice: string | null, text: string | null = null) => {
    release();
    const key = voice ?? "";
    const playback: Playback = { controller: new AbortController(), audio: null, url: null };
    current.current = playback;
    setState({ loading: key, playing: null, error: null });
    const mine = () => current.current === playback;
    try {
      const blob = await client.ttsPreview({ voice, text }, playback.controller.signal);
      if (!mine()) return;
      playback.url = URL.createObjectURL(blob);
      const audio = new Audio(playback.url);
      playback.audio = audio;
      audio.onended = () => {
        if (!mine()) return;
        release();
        setState(IDLE);
      };
      audio.onerror = () => {
        if (!mine()) return;
        release();
        setState({ ...IDLE, error: "Браузер не смог воспроизвести пример голоса." });
      };
      await audio.play();
      if (mine()) setState({ loading: null, playing: key, error: null });
    } catch (err) {
      if (!mine()) return; // stopped, or replaced by another voice
      release();
      setState({ ...IDLE, error: previewError(err) });
    }
  }, [client, release]);

  /** The voice's button: stop it when it is the one loading or playing, else play it. */
  const toggle = useCallback((voice: string | null) => {
    const key = voice ?? "";
    if (state.loading === key || state.playing === key) stop();
    else void play(voice);
  }, [play, stop, state.loading, state.playing]);

  return { ...state, play, stop, toggle };
}

export type Preview = ReturnType<typeof usePreview>;
