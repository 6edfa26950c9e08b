/** Step 5: the greeting rendered with the new face and voice, played back. */
import { useEffect, useMemo, useRef, useState } from "react";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import type { TestState } from "./state";

/** WebVTT captions of a clip that says `text` from start to end (one cue). */
export function captionsUrl(text: string): string {
  const cue = text.replace(/\s+/g, " ").replace(/-->/g, "→").trim();
  return `data:text/vtt;charset=utf-8,${encodeURIComponent(`WEBVTT\n\n00:00:00.000 --> 99:59:59.000\n${cue}\n`)}`;
}

export function TestStep({ state, greeting, onRetry }: { state: TestState; greeting: string; onRetry: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [blocked, setBlocked] = useState(false);
  const [playing, setPlaying] = useState(false);
  const captions = useMemo(() => captionsUrl(greeting), [greeting]);

  // Try to play with sound at once; browsers may refuse without a click, then a play button shows.
  useEffect(() => {
    const element = video.current;
    if (!element || !state.videoUrl) return;
    setBlocked(false);
    const attempt = element.play?.();
    if (attempt && typeof attempt.catch === "function") attempt.catch(() => setBlocked(true));
  }, [state.videoUrl]);

  const play = () => {
    const element = video.current;
    if (!element) return;
    element.muted = false;
    element.currentTime = 0;
    void element.play?.()?.catch(() => setBlocked(true));
    setBlocked(false);
  };

  return (
    <div className="flex flex-col gap-5">
      <p className="text-sm text-slate-300">
        Аватар произносит приветствие: «{greeting}»
      </p>
      {state.status === "running" && (
        <div className="flex flex-col gap-2">
          <span className="text-sm text-slate-200" aria-live="polite">
            {state.message}
          </span>
          <ProgressBar value={state.progress} label="Подготовка видео" testId="test-progress" />
        </div>
      )}
      {state.status === "error" && state.error && <ErrorNotice testId="test-error" message={state.error} onRetry={onRetry} />}
      {state.videoUrl && (
        <div className="relative w-full max-w-md self-center">
          <video
            ref={video}
            data-testid="test-video"
            src={state.videoUrl}
            controls
            playsInline
            preload="auto"
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
            className="aspect-square w-full rounded-2xl bg-black ring-1 ring-slate-700"
          >
            <track kind="captions" srcLang="ru" label="Русский" src={captions} />
          </video>
          {blocked && !playing && (
            <div className="absolute inset-0 flex items-center justify-center">
              <Button variant="primary" onClick={play} className="px-6 py-3 text-base shadow-lg">
                ▶ Воспроизвести
              </Button>
            </div>
          )}
        </div>
      )}
      {state.status === "done" && (
        <Button variant="ghost" onClick={onRetry} className="self-start">
          Сделать заново
        </Button>
      )}
    </div>
  );
}
