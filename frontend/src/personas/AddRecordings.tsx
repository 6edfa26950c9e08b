/**
 * Recordings added to the persona's voice (the wizard's file picker and recorder): a new voice when
 * the persona has none (then set as its voice), else new samples of its voice; the quality report,
 * then the voice preparation with its progress.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useApi } from "../api/context";
import { ApiError, describeError } from "../api/errors";
import { queryKeys, usePatchPersona } from "../api/queries";
import type { Persona, VoiceFileReport, VoiceReport } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import { VOICE_ACCEPT } from "../wizard/VoiceStep";
import { VoiceRecorder } from "../wizard/VoiceRecorder";
import { VoiceReportView } from "../wizard/VoiceReportView";

interface Work {
  label: string;
  progress: number | null;
  message: string;
}

export function AddRecordings({ persona }: { persona: Persona }) {
  const client = useApi();
  const queryClient = useQueryClient();
  const { mutateAsync: patch } = usePatchPersona();
  const [work, setWork] = useState<Work | null>(null);
  const [report, setReport] = useState<VoiceReport | null>(null);
  const [rejected, setRejected] = useState<VoiceFileReport[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [prepared, setPrepared] = useState(false);

  const upload = async (files: File[]) => {
    setError(null);
    setRejected([]);
    setPrepared(false);
    setWork({ label: "Загрузка записей", progress: 0, message: "Загружаем записи…" });
    const options = {
      onProgress: (p: { fraction: number | null }) => setWork((w) => w && { ...w, progress: p.fraction }),
      onJob: (job: { progress: number; message: string }) => setWork({ label: "Анализ записей", progress: job.progress, message: job.message || "Сервер анализирует записи…" }),
    };
    try {
      const result = persona.voice_id
        ? await client.addVoiceSamples(persona.voice_id, files, options)
        : await client.createVoice(`Голос ${persona.name}`, files, options);
      setReport(result.report);
      if (persona.voice_id !== result.voice.id) await patch({ id: persona.id, patch: { voice_id: result.voice.id } });
      void queryClient.invalidateQueries({ queryKey: queryKeys.voices });
    } catch (err) {
      setError(describeError(err));
      if (err instanceof ApiError && err.report) setRejected(err.report.files);
    } finally {
      setWork(null);
    }
  };

  const prepare = async () => {
    if (!persona.voice_id) return;
    setError(null);
    setWork({ label: "Подготовка голоса", progress: 0, message: "Запускаем подготовку голоса…" });
    try {
      await client.prepareVoiceAndWait(persona.voice_id, {
        onUpdate: (job) => setWork({ label: "Подготовка голоса", progress: job.progress, message: job.message || "Готовим голос…" }),
      });
      setPrepared(true);
      void queryClient.invalidateQueries({ queryKey: queryKeys.voices });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setWork(null);
    }
  };

  return (
    <div data-testid="add-recordings" className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-2">
        <label className="inline-flex cursor-pointer items-center rounded-lg bg-indigo-500 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-400 focus-within:outline-2 focus-within:outline-indigo-300">
          Выбрать файлы с голосом
          <input
            type="file"
            multiple
            accept={VOICE_ACCEPT}
            data-testid="edit-voice-input"
            className="sr-only"
            disabled={work !== null}
            onChange={(e) => {
              const files = Array.from(e.target.files ?? []);
              if (files.length) void upload(files);
              e.target.value = "";
            }}
          />
        </label>
        {report?.enough && persona.voice_id && (
          <Button data-testid="edit-voice-prepare" onClick={() => void prepare()} disabled={work !== null}>
            Подготовить голос
          </Button>
        )}
      </div>
      <VoiceRecorder onRecorded={(file) => void upload([file])} disabled={work !== null} />
      {work && (
        <div className="flex flex-col gap-2">
          <div className="flex justify-between gap-2 text-sm">
            <span className="text-slate-300" aria-live="polite">
              {work.message}
            </span>
            {work.progress !== null && <span className="font-mono text-slate-400">{Math.round(work.progress * 100)}%</span>}
          </div>
          <ProgressBar value={work.progress} label={work.label} />
        </div>
      )}
      {error && <ErrorNotice testId="edit-voice-error" message={error} />}
      {prepared && (
        <p role="status" className="text-sm text-emerald-300">
          Голос подготовлен.
        </p>
      )}
      <VoiceReportView report={report} rejected={rejected} />
    </div>
  );
}
