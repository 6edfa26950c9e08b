/** The conversation screen's layout, rendered from ConversationState (the live parts come as slots). */

import { useEffect, useRef, type ReactNode, type RefObject } from "react";
import { Button } from "../components/Button";
import { Card } from "../components/Card";
import { ErrorNotice } from "../components/ErrorNotice";
import { Notices } from "../components/Notices";
import { ProgressBar } from "../components/ProgressBar";
import type { ConversationState } from "../realtime/state";
import { History } from "./History";
import { ConnectionBadge, EmotionBadge, LiveTranscript, TextBox, TimingsPanel } from "./panels";

export interface ConversationViewProps {
  state: ConversationState;
  personaName: string;
  /** URL of the persona's photo crop. */
  photo?: string;
  video: ReactNode;
  mic: ReactNode;
  /** The avatar is speaking now (on screen). */
  speaking: boolean;
  /** The lobby is over the video: the controls wait. */
  inLobby?: boolean;
  onSendText: (text: string) => boolean;
  onStop: () => void;
  onDismissError: () => void;
  onLoadOlder?: () => void;
  loadingOlder?: boolean;
}

/** Sets `--talk-top` on `target` to the height of the page's sticky header, so the video sticks below it. */
function useStickyTop(target: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const header = document.querySelector("header");
    const el = target.current;
    if (!header || !el) return;
    const update = () => el.style.setProperty("--talk-top", `${header.getBoundingClientRect().height}px`);
    update();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(update);
    observer.observe(header);
    return () => observer.disconnect();
  }, [target]);
}

export function ConversationView(props: ConversationViewProps) {
  const { state, personaName, photo, video, mic, speaking, inLobby = false, onSendText, onStop, onDismissError } = props;
  const preparing = state.progress && state.progress.value < 1 ? state.progress : null;
  const busy = speaking || state.activeTurn !== null;
  const section = useRef<HTMLElement>(null);
  useStickyTop(section);
  return (
    <section
      ref={section}
      data-testid="talk"
      className="mx-auto flex w-full max-w-6xl flex-col gap-3 sm:gap-4 lg:grid lg:grid-cols-[minmax(0,1fr)_22rem] lg:p-4"
    >
      {/* a phone: the column's parts are the section's own (flex) items, so the sticky video stays on screen down to the history */}
      <div className="contents lg:flex lg:min-w-0 lg:flex-col lg:gap-4">
        <div className="flex items-center gap-3">
          {photo ? (
            <img src={photo} alt="" className="h-10 w-10 rounded-full object-cover ring-1 ring-slate-700" />
          ) : (
            <span className="flex h-10 w-10 items-center justify-center rounded-full bg-slate-800 text-lg" aria-hidden>
              {personaName.slice(0, 1)}
            </span>
          )}
          <h1 data-testid="persona-name" className="min-w-0 truncate text-lg font-semibold">
            {personaName}
          </h1>
          <EmotionBadge emotion={state.emotion} />
          <span className="flex-1" />
          <ConnectionBadge state={state.connection} />
        </div>
        {preparing && <ProgressBar value={preparing.value} label={preparing.message || "Подготовка аватара"} testId="avatar-progress" />}
        {state.error && (
          <div className="flex items-start gap-2">
            <div className="flex-1">
              <ErrorNotice message={state.error.message} testId="conversation-error" />
            </div>
            <Button variant="ghost" onClick={onDismissError} aria-label="Скрыть ошибку">
              ✕
            </Button>
          </div>
        )}
        <Notices notices={state.warnings} testId="conversation-warnings" />
        {/* on a phone the picture stays on screen (below the sticky header) while the rest scrolls */}
        <div data-testid="video-stage" className="sticky top-[var(--talk-top,0px)] z-[5] -mx-3 bg-slate-950 px-3 pb-2 lg:static lg:mx-0 lg:bg-transparent lg:p-0">
          <div className="mx-auto w-full max-w-[min(100%,44vh)] lg:max-w-[min(100%,70vh)]">{video}</div>
        </div>
        {!inLobby && (
          <>
            <LiveTranscript transcript={state.transcript} listening={state.listening} />
            <div className="flex flex-wrap items-center gap-3">
              {mic}
              <Button variant={busy ? "danger" : "secondary"} data-testid="stop-button" disabled={!state.live} onClick={onStop} className="ml-auto">
                <svg aria-hidden viewBox="0 0 24 24" className="h-4 w-4" fill="currentColor">
                  <rect x="6" y="6" width="12" height="12" rx="2" />
                </svg>
                Стоп
              </Button>
            </div>
            <TextBox onSend={onSendText} disabled={!state.live} />
          </>
        )}
      </div>
      <aside className="flex min-w-0 flex-col gap-4">
        <Card className="flex flex-col gap-3">
          <h3 className="text-sm font-semibold text-slate-300">История</h3>
          <History
            items={state.history}
            personaName={personaName}
            hasOlder={state.historyBefore !== null}
            loadingOlder={props.loadingOlder}
            onLoadOlder={props.onLoadOlder}
          />
        </Card>
        <Card className="flex flex-col gap-3">
          <h3 className="text-sm font-semibold text-slate-300">Время ответа</h3>
          <TimingsPanel timings={state.timings} />
        </Card>
      </aside>
    </section>
  );
}
