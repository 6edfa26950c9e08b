/**
 * A studio-quality recording (a greeting, a message) of the persona: POST /api/render with
 * quality=studio (the full SadTalker pipeline, always a job), the job's progress per stage, then the video.
 */
import { useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import { describeError } from "../api/errors";
import type { Job, JobCreated, Persona } from "../api/types";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import { captionsUrl } from "../wizard/TestStep";

const GREETING = "Привет! Рада тебя видеть.";

export function StudioRender({ persona }: { persona: Persona }) {
  const client = useApi();
  const [text, setText] = useState(GREETING);
  const [job, setJob] = useState<Pick<Job, "progress" | "message"> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [video, setVideo] = useState<string | null>(null);
  const [said, setSaid] = useState("");  // the text of the video shown (its captions)
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => () => { if (video) URL.revokeObjectURL(video); }, [video]);
  // video: the result's object URL ("" where the browser makes none), null before a result

  const start = async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setVideo(null);
    setJob({ progress: 0, message: "Отправка" });
    const form = new FormData();
    form.append("text", text);
    form.append("quality", "studio");
    if (persona.avatar_id) form.append("avatar_id", persona.avatar_id);
    if (persona.voice_id) form.append("voice_id", persona.voice_id);
    if (persona.tts_voice) form.append("tts_voice", persona.tts_voice);
    try {
      const { body } = await client.upload<JobCreated>("/api/render", form, { signal: controller.signal });
      const created = body as JobCreated;
      const done = await client.pollJob(created.job_id, { signal: controller.signal, intervalMs: 1000, onUpdate: setJob });
      const url = done.result_url ?? `/api/jobs/${encodeURIComponent(created.job_id)}/result`;
      const blob = await client.fetchBlob(url, controller.signal);
      setSaid(text);
      setVideo(typeof URL.createObjectURL === "function" ? URL.createObjectURL(blob) : "");
    } catch (err) {
      if (!controller.signal.aborted) setError(describeError(err));
    } finally {
      setJob(null);
    }
  };

  return (
    <div className="flex flex-col gap-3" data-testid="studio-render">
      <p className="text-sm text-slate-400">
        Видео в студийном качестве (SadTalker): голова и мимика по речи. Делается несколько минут, не в реальном времени.
      </p>
      <label className="flex flex-col gap-1 text-sm text-slate-300">
        Текст
        <textarea
          value={text}
          onChange={(e) => setText(e.target.value)}
          rows={2}
          maxLength={2000}
          className="rounded-lg bg-slate-950 px-3 py-2 text-slate-100 ring-1 ring-slate-700"
        />
      </label>
      <div>
        <Button variant="primary" onClick={start} busy={job !== null} disabled={job !== null || !text.trim()}>
          Записать видео
        </Button>
      </div>
      {job && (
        <div className="flex flex-col gap-1">
          <ProgressBar value={job.progress} label="Студийная запись" testId="studio-progress" />
          <span className="text-xs text-slate-400" data-testid="studio-message">{job.message}</span>
        </div>
      )}
      {error && <ErrorNotice message={error} testId="studio-error" onRetry={start} />}
      {video !== null && (
        <video src={video || undefined} controls data-testid="studio-video" className="w-full max-w-sm rounded-xl">
          <track kind="captions" srcLang="ru" label="Русский" src={captionsUrl(said)} default />
        </video>
      )}
    </div>
  );
}
