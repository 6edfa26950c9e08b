/** Step 1: a face photo, uploaded or taken with the webcam; the server's crop or its refusal. */
import { useRef, useState } from "react";
import { useApi } from "../api/context";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";
import type { PhotoState } from "./state";
import { WebcamCapture } from "./WebcamCapture";

export interface PhotoStepProps {
  state: PhotoState;
  onPhoto: (photo: Blob) => void;
  onRetry: () => void;
}

export function PhotoStep({ state, onPhoto, onRetry }: PhotoStepProps) {
  const client = useApi();
  const input = useRef<HTMLInputElement>(null);
  const [camera, setCamera] = useState(false);
  const crop = state.avatar ? client.url(state.avatar.crop_url) : null;

  return (
    <div className="flex flex-col gap-5">
      <p className="text-sm text-slate-300">
        Загрузите фото лица анфас: хорошо освещённое, без очков и посторонних людей в кадре. Сервер найдёт лицо и покажет, как
        оно будет выглядеть.
      </p>
      <div className="flex flex-wrap gap-2">
        <label className="inline-flex cursor-pointer items-center rounded-lg bg-indigo-500 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-400 focus-within:outline-2 focus-within:outline-indigo-300">
          Выбрать фото
          <input
            ref={input}
            type="file"
            accept="image/jpeg,image/png,image/webp,image/*"
            data-testid="photo-input"
            className="sr-only"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) onPhoto(file);
              e.target.value = "";
            }}
          />
        </label>
        <Button data-testid="photo-webcam" onClick={() => setCamera((on) => !on)} aria-pressed={camera}>
          {camera ? "Убрать камеру" : "Снять с камеры"}
        </Button>
      </div>

      {camera && <WebcamCapture onCapture={onPhoto} onClose={() => setCamera(false)} />}

      {state.uploading && (
        <div className="flex flex-col gap-2">
          <p className="text-sm text-slate-300">Проверяем фото…</p>
          <ProgressBar value={state.progress !== null && state.progress < 1 ? state.progress : null} label="Загрузка фото" />
        </div>
      )}

      {state.error &&
        (state.retryable && state.file ? (
          <ErrorNotice testId="photo-error" message={state.error} onRetry={onRetry} />
        ) : (
          <ErrorNotice testId="photo-error" message={state.error} onRetry={() => input.current?.click()} retryLabel="Выбрать другое фото" />
        ))}

      <div className="flex flex-wrap items-start gap-4">
        {state.localUrl && !state.avatar && (
          <figure className="flex flex-col gap-1">
            <img src={state.localUrl} alt="Выбранное фото" className="h-40 w-40 rounded-xl object-cover opacity-70 ring-1 ring-slate-700" />
            <figcaption className="text-xs text-slate-400">Выбранное фото</figcaption>
          </figure>
        )}
        {crop && state.avatar && (
          <figure className="flex flex-col gap-1">
            <img src={crop} alt="Лицо, найденное на фото" data-testid="photo-preview" className="h-48 w-48 rounded-xl object-cover ring-2 ring-emerald-500/70" />
            <figcaption className="text-xs text-emerald-300">Лицо найдено ({state.avatar.face_px} пикс.)</figcaption>
          </figure>
        )}
      </div>

      {state.avatar && state.avatar.warnings.length > 0 && (
        <ul className="flex flex-col gap-1 text-sm text-amber-200" aria-label="Предупреждения">
          {state.avatar.warnings.map((w) => (
            <li key={w}>⚠ {w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
