/**
 * Training of a recorded voice on the server («Обучить голос»): offered when `/api/health` says this
 * server can train, with a time estimate from the amount of speech; otherwise one sentence says why
 * and that the voice is matched instead. The job lives on the server: the panel asks for its state
 * when it appears, so leaving the page and coming back shows the progress where it is. While a job
 * runs its progress comes over the jobs socket (useJobEvents); the status is polled only while the
 * socket is not connected.
 */
import { describeError } from "../api/errors";
import { useHealth, useTrainingAction, useVoiceTraining } from "../api/queries";
import type { Job, TrainingProgress, VoiceTrainResult, VoiceTrainingStatus } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import { useJobEvents } from "../realtime/useJobEvents";

/** A duration the Russian way: «меньше минуты», «12 мин», «1,5 ч». */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return "меньше минуты";
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} мин`;
  return `${(seconds / 3600).toFixed(1).replace(".", ",")} ч`;
}

/** «1 эпоха», «3 эпохи», «10 эпох». */
export function epochsText(n: number): string {
  const tens = n % 100;
  const last = n % 10;
  if (tens >= 11 && tens <= 14) return `${n} эпох`;
  if (last === 1) return `${n} эпоха`;
  if (last >= 2 && last <= 4) return `${n} эпохи`;
  return `${n} эпох`;
}

/** The training line under the bar: epoch, step, loss and time left (when the server reports them). */
export function progressLine(details: TrainingProgress | null | undefined): string | null {
  if (!details || details.stage !== "training" || details.step == null) return null;
  const parts = [`эпоха ${details.epoch} из ${details.epochs}`, `шаг ${details.step}${details.steps ? ` из ${details.steps}` : ""}`];
  if (details.loss != null) parts.push(`потери ${details.loss.toFixed(3).replace(".", ",")}`);
  if (details.paused) parts.push("на паузе");
  else if (details.eta_s != null) parts.push(`осталось ≈ ${formatDuration(details.eta_s)}`);
  return parts.join(" · ");
}

function Running({ status, onCancel, cancelling }: { status: VoiceTrainingStatus; onCancel: () => void; cancelling: boolean }) {
  const job = status.job!;
  const line = progressLine(job.details);
  // paused while a conversation uses the GPU memory: the bar stays where it was, in a calmer colour
  const paused = job.details?.paused === true;
  return (
    <div data-testid="voice-train-running" data-paused={paused} className="flex flex-col gap-2">
      <div className="flex justify-between gap-2 text-sm">
        <span className="text-slate-200" aria-live="polite" data-testid="voice-train-message">
          {job.message}
        </span>
        <span className="font-mono text-slate-400">{Math.round(job.progress * 100)}%</span>
      </div>
      <ProgressBar value={job.progress} testId="voice-train-progress" label="Обучение голоса" tone={paused ? "indigo" : "amber"} />
      {line && (
        <span data-testid="voice-train-details" className="font-mono text-xs text-slate-400">
          {line}
        </span>
      )}
      <span className="text-xs text-slate-400">Страницу можно закрыть: обучение идёт на сервере, прогресс сохранится.</span>
      <Button data-testid="voice-train-cancel" variant="ghost" className="self-start px-3 py-1" onClick={onCancel} busy={cancelling}>
        Остановить обучение
      </Button>
    </div>
  );
}

const running = (job: Job<VoiceTrainResult> | null | undefined): job is Job<VoiceTrainResult> =>
  job?.status === "queued" || job?.status === "running";

/**
 * The voice's training status with its job as fresh as it gets: pushed over the jobs socket while
 * the job runs (no polling then), polled from the REST status while the socket is not connected.
 * When the socket says the job ended, the status is fetched once more (the voice may have changed).
 */
function useTrainingStatus(voiceId: string, canTrain: boolean) {
  const cached = useVoiceTraining(voiceId, false).data; // reads the cache the query below fills
  const polledJob = cached?.job;
  const pushed = useJobEvents<VoiceTrainResult>(running(polledJob) ? polledJob.id : null);
  const pushedJob = pushed.job?.id === polledJob?.id && (pushed.connected || !running(pushed.job)) ? pushed.job : null;
  const status = useVoiceTraining(voiceId, canTrain && !(pushed.connected && running(pushedJob)));
  const data: VoiceTrainingStatus | undefined = status.data && pushedJob ? { ...status.data, job: pushedJob } : status.data;
  return { status, data, live: pushedJob !== null && pushed.connected };
}

export function TrainingPanel({ voiceId }: { voiceId: string }) {
  const health = useHealth();
  const capability = health.data?.training;
  const { status, data, live } = useTrainingStatus(voiceId, !!capability?.can_train);
  const action = useTrainingAction(voiceId);
  if (!capability) return null; // a server that says nothing about training
  if (!capability.can_train) {
    const why = (capability.reason ?? "Обучение голоса на этом сервере недоступно").replace(/[.\s]+$/, "");
    return (
      <p data-testid="voice-train-unavailable" className="text-sm text-slate-400">
        {why}, поэтому голос подстраивается без обучения.
      </p>
    );
  }
  if (!data) {
    return status.isError ? <ErrorNotice message={`Не удалось узнать состояние обучения: ${describeError(status.error)}`} onRetry={() => void status.refetch()} /> : null;
  }
  const job = data.job;
  const active = job?.status === "queued" || job?.status === "running";
  const cancelled = job?.status === "error" && job.error?.code === "cancelled";
  const start = (
    <div className="flex flex-wrap items-center gap-3">
      <Button
        data-testid="voice-train-start"
        variant="secondary"
        onClick={() => action.mutate("start")}
        busy={action.isPending}
        disabled={!data.enough_audio}
      >
        {cancelled ? "Продолжить обучение" : job?.status === "done" ? "Обучить ещё раз" : "Обучить голос"}
      </Button>
      <span data-testid="voice-train-estimate" className="text-xs text-slate-400">
        {data.enough_audio
          ? `Займёт примерно ${formatDuration(data.estimate_s)} (${Math.round(data.audio_s)} с речи, ${epochsText(data.epochs)}).`
          : "Для обучения нужно не меньше 30 секунд речи."}
      </span>
    </div>
  );
  return (
    <section data-testid="voice-train" data-status={job?.status ?? "none"} data-live={live} className="flex flex-col gap-3 border-t border-slate-800 pt-3">
      <span className="text-sm font-medium text-slate-200">Обучение голоса на сервере</span>
      {!job && (
        <p className="text-xs text-slate-400">Модель дообучится на ваших записях: голос станет ближе к оригиналу. Его используют, только если проверка покажет, что он лучше.</p>
      )}
      {active && <Running status={data} onCancel={() => action.mutate("cancel")} cancelling={action.isPending} />}
      {job?.status === "done" && job.result && (
        // green only when the trained voice became the persona's; a kept voice is news, not a success
        <p data-testid="voice-train-result" data-used={job.result.used}
          className={job.result.used ? "text-sm text-emerald-200" : "text-sm text-slate-200"}>
          {job.result.message}
        </p>
      )}
      {cancelled && <p data-testid="voice-train-cancelled" className="text-sm text-slate-300">Обучение остановлено; его можно продолжить с сохранённой точки.</p>}
      {job?.status === "error" && !cancelled && <ErrorNotice testId="voice-train-error" message={job.error?.message ?? job.message} />}
      {action.isError && <ErrorNotice testId="voice-train-action-error" message={describeError(action.error)} />}
      {!active && start}
    </section>
  );
}
