/** Small presentational pieces of the conversation screen. */

import { motion } from "framer-motion";
import { useState, type FormEvent, type KeyboardEvent } from "react";
import { Button } from "../components/Button";
import type { ConnectionState } from "../realtime/state";
import type { Timings } from "../realtime/protocol";
import { emotionView } from "./emotions";
import { formatSeconds, timingRows } from "./timings";

const CONNECTION_TEXT: Record<ConnectionState, { text: string; dot: string }> = {
  connecting: { text: "Подключение…", dot: "bg-amber-400 animate-pulse" },
  connected: { text: "На связи", dot: "bg-emerald-400" },
  reconnecting: { text: "Переподключение…", dot: "bg-amber-400 animate-pulse" },
  disconnected: { text: "Нет связи", dot: "bg-rose-500" },
};

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  const view = CONNECTION_TEXT[state];
  return (
    <span
      data-testid="connection-state"
      data-state={state}
      role="status"
      className="inline-flex shrink-0 items-center gap-2 rounded-full bg-slate-900 px-3 py-1 text-xs text-slate-300 ring-1 ring-slate-800"
    >
      <span className={`h-2 w-2 rounded-full ${view.dot}`} aria-hidden />
      {view.text}
    </span>
  );
}

export function EmotionBadge({ emotion }: { emotion: string | null }) {
  const view = emotionView(emotion);
  return (
    <span
      data-testid="emotion"
      data-emotion={emotion ?? "neutral"}
      title="Настроение аватара"
      className="inline-flex shrink-0 items-center gap-2 rounded-full bg-slate-900 px-3 py-1 text-sm text-slate-200 ring-1 ring-slate-800"
    >
      <motion.span key={emotion ?? "neutral"} initial={{ scale: 0.6 }} animate={{ scale: 1 }} aria-hidden className="text-lg leading-none">
        {view.emoji}
      </motion.span>
      <span className="sr-only sm:not-sr-only">{view.label}</span>
    </span>
  );
}

export function LiveTranscript({ transcript, listening }: { transcript: { text: string; final: boolean } | null; listening: boolean }) {
  const text = transcript?.text ?? "";
  return (
    <div
      data-testid="live-transcript"
      data-final={transcript?.final ? "true" : "false"}
      aria-live="polite"
      className="min-h-[2.75rem] rounded-xl bg-slate-900/70 px-4 py-2 text-slate-200 ring-1 ring-slate-800"
    >
      {text ? (
        <span className={transcript?.final ? "" : "italic text-slate-400"}>{text}</span>
      ) : (
        <span className="text-slate-400">{listening ? "Слушаю…" : "Скажите что-нибудь или напишите ниже"}</span>
      )}
    </div>
  );
}

export function TimingsPanel({ timings }: { timings: Timings | null }) {
  return (
    <dl data-testid="timings" aria-label="Время по этапам" className="grid grid-cols-[1fr_auto] gap-x-4 gap-y-1 text-sm">
      {timingRows(timings).map((row) => (
        <div key={row.key} className="contents" data-stage={row.key}>
          <dt className="text-slate-400">{row.label}</dt>
          <dd className="text-right font-mono tabular-nums text-slate-200" data-testid={`timing-${row.key}`}>
            {formatSeconds(row.seconds)}
          </dd>
        </div>
      ))}
      {timings && "cache_hit_s" in timings && <dd className="col-span-2 text-xs text-emerald-300">Речь взята из кэша</dd>}
    </dl>
  );
}

export function TextBox({ onSend, disabled }: { onSend: (text: string) => boolean; disabled: boolean }) {
  const [text, setText] = useState("");
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!text.trim() || disabled) return;
    if (onSend(text)) setText("");
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };
  return (
    <form onSubmit={submit} className="flex items-end gap-2">
      <textarea
        data-testid="text-input"
        aria-label="Сообщение"
        rows={1}
        maxLength={2000}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder="Напишите сообщение…"
        className="min-h-[2.75rem] flex-1 resize-none rounded-xl bg-slate-900 px-4 py-2.5 text-slate-100 ring-1 ring-slate-700 placeholder:text-slate-400 focus:outline-none focus:ring-indigo-400"
      />
      <Button type="submit" variant="primary" data-testid="text-send" disabled={disabled || !text.trim()}>
        Отправить
      </Button>
    </form>
  );
}
