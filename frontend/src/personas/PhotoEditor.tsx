/** The persona's photo: the current face crop, a new photo uploaded (POST /api/avatars) and set with PATCH. */
import { useRef, useState } from "react";
import { useApi } from "../api/context";
import { ApiError, describeError } from "../api/errors";
import { usePatchPersona } from "../api/queries";
import type { Persona } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { ProgressBar } from "../components/ProgressBar";

interface Upload {
  file: Blob;
  progress: number | null;
}

interface Failure {
  message: string;
  /** A network or server failure (the same photo may pass next time), not a refusal of the photo. */
  retryable: boolean;
  file: Blob;
}

export function PhotoEditor({ persona }: { persona: Persona }) {
  const client = useApi();
  const { mutateAsync: patch } = usePatchPersona();
  const input = useRef<HTMLInputElement>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [warnings, setWarnings] = useState<string[]>([]);

  const send = async (file: Blob) => {
    setFailure(null);
    setWarnings([]);
    setUpload({ file, progress: 0 });
    try {
      const avatar = await client.createAvatar(file, { onProgress: (p) => setUpload({ file, progress: p.fraction }) });
      await patch({ id: persona.id, patch: { avatar_id: avatar.avatar_id } });
      setWarnings(avatar.warnings);
    } catch (err) {
      setFailure({ message: describeError(err), retryable: !(err instanceof ApiError) || err.retryable, file });
    } finally {
      setUpload(null);
    }
  };

  const crop = persona.avatar_id ? client.avatarCropUrl(persona.avatar_id) : null;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-4">
        {crop ? (
          <img src={crop} alt={`Фото: ${persona.name}`} data-testid="edit-photo" className="h-32 w-32 rounded-xl object-cover ring-1 ring-slate-700" />
        ) : (
          <div data-testid="edit-photo-default" className="flex h-32 w-32 items-center justify-center rounded-xl bg-slate-950 p-3 text-center text-xs text-slate-400 ring-1 ring-slate-800">
            Стандартный аватар
          </div>
        )}
        <label className="inline-flex cursor-pointer items-center rounded-lg bg-indigo-500 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-400 focus-within:outline-2 focus-within:outline-indigo-300">
          Загрузить новое фото
          <input
            ref={input}
            type="file"
            accept="image/jpeg,image/png,image/webp,image/*"
            data-testid="edit-photo-input"
            className="sr-only"
            disabled={upload !== null}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void send(file);
              e.target.value = "";
            }}
          />
        </label>
      </div>
      {upload && (
        <div className="flex flex-col gap-2">
          <p className="text-sm text-slate-300">Проверяем фото…</p>
          <ProgressBar value={upload.progress !== null && upload.progress < 1 ? upload.progress : null} label="Загрузка фото" />
        </div>
      )}
      {failure && (
        <ErrorNotice
          testId="edit-photo-error"
          message={failure.message}
          onRetry={failure.retryable ? () => void send(failure.file) : () => input.current?.click()}
          retryLabel={failure.retryable ? "Повторить" : "Выбрать другое фото"}
        />
      )}
      {warnings.length > 0 && (
        <ul className="flex flex-col gap-1 text-sm text-amber-200" aria-label="Предупреждения">
          {warnings.map((w) => (
            <li key={w}>⚠ {w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
