/** Record a voice sample in the browser (MediaRecorder), with a timer and a text to read aloud. */
import { useEffect, useRef, useState } from "react";
import { describeError } from "../api/errors";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { micConstraints } from "../settings/mic";
import { READING_PROMPTS } from "./readingPrompts";

const MAX_SECONDS = 300;
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

/** The best recording format this browser offers ("" lets the browser pick). */
export function pickMimeType(): string {
  if (typeof MediaRecorder === "undefined" || typeof MediaRecorder.isTypeSupported !== "function") return "";
  return MIME_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? "";
}

export function extensionFor(mime: string): string {
  if (mime.includes("ogg")) return "ogg";
  if (mime.includes("mp4")) return "m4a";
  return "webm";
}

export function formatClock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function VoiceRecorder({ onRecorded, disabled }: { onRecorded: (file: File) => void; disabled?: boolean }) {
  const [recording, setRecording] = useState(false);
  const [seconds, setSeconds] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [prompt, setPrompt] = useState(0);
  const recorder = useRef<MediaRecorder | null>(null);
  const count = useRef(0);

  useEffect(() => {
    if (!recording) return;
    const started = Date.now();
    const timer = setInterval(() => {
      const elapsed = (Date.now() - started) / 1000;
      setSeconds(elapsed);
      if (elapsed >= MAX_SECONDS) recorder.current?.stop();
    }, 250);
    return () => clearInterval(timer);
  }, [recording]);

  // Leaving the step (or hiding the wizard) stops the microphone and drops a recording under way.
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      const rec = recorder.current;
      recorder.current = null;
      if (!rec) return;
      rec.ondataavailable = null;
      rec.onstop = null;
      if (rec.state !== "inactive") rec.stop();
      rec.stream.getTracks().forEach((t) => t.stop());
    };
  }, []);

  const start = async () => {
    setError(null);
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
      setError("Этот браузер не умеет записывать звук (нужен https или localhost). Загрузите файл.");
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: micConstraints({ echoCancellation: false, noiseSuppression: false, autoGainControl: true }),
      });
      if (!mounted.current) {
        stream.getTracks().forEach((t) => t.stop()); // the step went away while the browser asked
        return;
      }
      const mimeType = pickMimeType();
      const rec = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
      const chunks: Blob[] = [];
      rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      rec.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        setRecording(false);
        recorder.current = null;
        const type = rec.mimeType || mimeType || "audio/webm";
        const blob = new Blob(chunks, { type });
        if (blob.size) {
          count.current += 1;
          onRecorded(new File([blob], `запись-${count.current}.${extensionFor(type)}`, { type }));
        }
      };
      rec.start(1000);
      recorder.current = rec;
      setSeconds(0);
      setRecording(true);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const stop = () => recorder.current?.stop();

  return (
    <div className="flex flex-col gap-3 rounded-xl bg-slate-950/60 p-4 ring-1 ring-slate-800">
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-sm font-medium text-slate-200">Прочитайте вслух, спокойно и с выражением:</h2>
        <Button variant="ghost" className="shrink-0 whitespace-nowrap px-2 py-1 text-xs" onClick={() => setPrompt((p) => (p + 1) % READING_PROMPTS.length)}>
          Другой текст
        </Button>
      </div>
      <p className="text-base leading-relaxed text-slate-100" data-testid="reading-prompt">
        {READING_PROMPTS[prompt]}
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <Button
          data-testid="voice-record"
          variant={recording ? "danger" : "primary"}
          aria-pressed={recording}
          disabled={disabled && !recording}
          onClick={recording ? stop : start}
        >
          {recording ? "Остановить запись" : "Записать с микрофона"}
        </Button>
        {recording && (
          <span className="flex items-center gap-2 font-mono text-sm text-rose-200" aria-live="polite">
            <span className="h-2.5 w-2.5 animate-pulse rounded-full bg-rose-500" aria-hidden />
            {formatClock(seconds)} / {formatClock(MAX_SECONDS)}
          </span>
        )}
      </div>
      {error && <ErrorNotice message={error} />}
    </div>
  );
}
