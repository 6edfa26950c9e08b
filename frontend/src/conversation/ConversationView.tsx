/** The conversation screen's layout, rendered from ConversationState (the live parts come as slots). */

import type { ReactNode } from "react";
import { Button } from "../components/Button";
import { Card } from "../components/Card";
import { ErrorNotice } from "../components/ErrorNotice";
import { Notices } from "../components/Notices";
import { ProgressBar } from "../components/ProgressBar";
import type { ConversationState } from "../realtime/state";
import { ConnectionBadge, EmotionBadge, History, LiveTranscript, TextBox, TimingsPanel } from "./panels";

export interface ConversationViewProps {
  state: ConversationState;
  personaName: string;
  /** URL of the persona's photo crop. */
  photo?: string;
  video: ReactNode;
  mic: ReactNode;
  /** The avatar is speaking now (on screen). */
  speaking: boolean;
  onSendText: (text: string) => boolean;
  onStop: () => void;
  onDismissError: () => void;
}

export function ConversationView(props: ConversationViewProps) {
  const { state, personaName, photo, video, mic, speaking, onSendText, onStop, onDismissError } = props;
  const preparing = state.progress && state.progress.value < 1 ? state.progress : null;
  const busy = speaking || state.activeTurn !== null;
  return (
    <section data-testid="talk" className="mx-auto grid w-full max-w-6xl gap-4 p-4 lg:grid-cols-[minmax(0,1fr)_22rem]">
      <div className="flex min-w-0 flex-col gap-4">
        <div className="flex flex-wrap items-center gap-3">
          {photo ? (
            <img src={photo} alt="" className="h-10 w-10 rounded-full object-cover ring-1 ring-slate-700" />
          ) : (
            <span className="flex h-10 w-10 items-center justify-center rounded-full bg-slate-800 text-lg" aria-hidden>
              {personaName.slice(0, 1)}
            </span>
          )}
          <h2 data-testid="persona-name" className="text-lg font-semibold">
            {personaName}
          </h2>
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
        <div className="mx-auto w-full max-w-[min(100%,70vh)]">{video}</div>
        <LiveTranscript transcript={state.transcript} listening={state.listening} />
        <div className="flex flex-wrap items-center justify-between gap-3">
          {mic}
          <Button variant={busy ? "danger" : "secondary"} data-testid="stop-button" disabled={!state.live} onClick={onStop}>
            <svg aria-hidden viewBox="0 0 24 24" className="h-4 w-4" fill="currentColor">
              <rect x="6" y="6" width="12" height="12" rx="2" />
            </svg>
            Стоп
          </Button>
        </div>
        <TextBox onSend={onSendText} disabled={!state.live} />
      </div>
      <aside className="flex min-w-0 flex-col gap-4">
        <Card className="flex flex-col gap-3">
          <h3 className="text-sm font-semibold text-slate-300">История</h3>
          <History items={state.history} personaName={personaName} />
        </Card>
        <Card className="flex flex-col gap-3">
          <h3 className="text-sm font-semibold text-slate-300">Время ответа</h3>
          <TimingsPanel timings={state.timings} />
        </Card>
      </aside>
    </section>
  );
}
