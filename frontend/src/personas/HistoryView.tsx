/** One conversation's messages, newest page first loaded; «Показать раньше» loads the page before. */
import { describeError } from "../api/errors";
import { useHistory } from "../api/queries";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatDate } from "./format";

export function HistoryView({ sessionId, personaName, id }: { sessionId: number; personaName: string; id: string }) {
  const history = useHistory(sessionId);

  if (history.isPending) return <p id={id} className="text-sm text-slate-400">Загрузка…</p>;
  if (history.isError && !history.data) return <ErrorNotice message={describeError(history.error)} onRetry={() => void history.refetch()} />;
  // pages come newest first, each oldest first: older pages go on top
  const messages = [...history.data.pages].reverse().flatMap((page) => page.items);
  return (
    <div id={id} data-testid="history" className="flex flex-col gap-2">
      {history.hasNextPage && (
        <Button
          variant="ghost"
          className="self-center px-3 py-1"
          data-testid="history-more"
          busy={history.isFetchingNextPage}
          onClick={() => void history.fetchNextPage()}
        >
          Показать раньше
        </Button>
      )}
      {history.isFetchNextPageError && <ErrorNotice message={describeError(history.error)} />}
      {messages.length === 0 ? (
        <p className="text-sm text-slate-400">В этом разговоре пока нет сообщений.</p>
      ) : (
        <ol className="flex flex-col gap-2" aria-label="Сообщения">
          {messages.map((message) => {
            const mine = message.role === "user";
            return (
              <li
                key={message.id}
                data-testid="history-message"
                className={`max-w-[85%] rounded-xl px-3 py-2 text-sm ${mine ? "self-end bg-indigo-900/60 text-indigo-50" : "self-start bg-slate-800 text-slate-100"}`}
              >
                <span className="block text-xs text-slate-300">
                  {mine ? "Вы" : personaName} · {formatDate(message.created_at)}
                </span>
                <span className="whitespace-pre-wrap break-words">{message.text}</span>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
