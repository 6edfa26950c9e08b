/** «Что я о тебе знаю»: the facts the persona learnt about the user, each one can be forgotten. */
import { describeError } from "../api/errors";
import { useDeleteFact, useFacts } from "../api/queries";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";

export function FactsList({ personaId }: { personaId: number }) {
  const facts = useFacts(personaId);
  const forget = useDeleteFact(personaId);

  if (facts.isPending) return <p className="text-sm text-slate-400">Загрузка…</p>;
  if (facts.isError) return <ErrorNotice message={describeError(facts.error)} onRetry={() => void facts.refetch()} />;
  return (
    <div className="flex flex-col gap-3">
      {facts.data.length === 0 ? (
        <p data-testid="facts-empty" className="text-sm text-slate-400">
          Пока ничего. Персонаж запоминает то, что вы рассказываете о себе в разговоре.
        </p>
      ) : (
        <ul data-testid="facts" className="flex flex-col gap-2">
          {facts.data.map((fact) => (
            <li key={fact.key} data-testid="fact" data-key={fact.key} className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-lg bg-slate-950/60 px-3 py-2 ring-1 ring-slate-800">
              <span className="min-w-0 flex-1 break-words text-sm text-slate-100">
                <span className="text-slate-400">{fact.key}:</span> {fact.value}
              </span>
              <Button
                variant="ghost"
                className="px-2 py-1 text-xs"
                aria-label={`Забыть: ${fact.key}`}
                disabled={forget.isPending && forget.variables === fact.key}
                onClick={() => forget.mutate(fact.key)}
              >
                Забыть
              </Button>
            </li>
          ))}
        </ul>
      )}
      {forget.error && <ErrorNotice testId="fact-delete-error" message={`Не удалось забыть: ${describeError(forget.error)}`} />}
    </div>
  );
}
