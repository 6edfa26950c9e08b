/** The persona's conversations: date, title, size; continue one, read its history, or start a new one. */
import { useState } from "react";
import { describeError } from "../api/errors";
import { useSessions } from "../api/queries";
import type { Persona } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { usePersona } from "../state/persona";
import { navigate } from "../state/route";
import { formatDate, messagesCount } from "./format";
import { HistoryView } from "./HistoryView";

export function SessionsList({ persona }: { persona: Persona }) {
  const sessions = useSessions(persona.id);
  const { select } = usePersona();
  const [open, setOpen] = useState<number | null>(null);

  const talk = (params: Record<string, string | number>) => {
    select(persona.id);
    navigate("talk", params);
  };

  return (
    <div className="flex flex-col gap-3">
      <Button variant="primary" data-testid="session-new" className="self-start" onClick={() => talk({ new: 1 })}>
        Новый разговор
      </Button>
      {sessions.isPending && <p className="text-sm text-slate-400">Загрузка…</p>}
      {sessions.isError && <ErrorNotice message={describeError(sessions.error)} onRetry={() => void sessions.refetch()} />}
      {sessions.data?.length === 0 && (
        <p data-testid="sessions-empty" className="text-sm text-slate-400">
          Разговоров ещё не было.
        </p>
      )}
      {!!sessions.data?.length && (
        <ul data-testid="sessions" className="flex flex-col gap-2">
          {sessions.data.map((session) => {
            const titleId = `session-${session.id}-title`;
            const historyId = `session-${session.id}-history`;
            const shown = open === session.id;
            return (
              <li key={session.id} data-testid="session" data-session={session.id} className="flex flex-col gap-2 rounded-lg bg-slate-950/60 px-3 py-2 ring-1 ring-slate-800">
                <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
                  <div className="flex min-w-[12rem] flex-1 flex-col">
                    <span id={titleId} className="break-words text-sm text-slate-100">
                      {session.title ?? "Без сообщений"}
                    </span>
                    <span className="text-xs text-slate-400">
                      {formatDate(session.last_message_at ?? session.started_at)} · {messagesCount(session.message_count)}
                    </span>
                  </div>
                  <div className="flex gap-2">
                    <Button
                      variant="ghost"
                      className="px-3 py-1"
                      aria-expanded={shown}
                      aria-controls={shown ? historyId : undefined}
                      aria-describedby={titleId}
                      data-testid="session-history"
                      onClick={() => setOpen(shown ? null : session.id)}
                    >
                      {shown ? "Скрыть" : "История"}
                    </Button>
                    <Button className="px-3 py-1" aria-describedby={titleId} data-testid="session-continue" onClick={() => talk({ session: session.id })}>
                      Продолжить
                    </Button>
                  </div>
                </div>
                {shown && <HistoryView sessionId={session.id} personaName={persona.name} id={historyId} />}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
