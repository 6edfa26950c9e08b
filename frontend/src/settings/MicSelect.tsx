/** Microphone choice (client-side, remembered in localStorage, used by the conversation). */
import { useCallback, useEffect, useState } from "react";
import { describeError } from "../api/errors";
import { Button } from "../components/Button";
import { inputClass } from "../components/Field";
import { getMicId, listMicrophones, setMicId } from "./mic";

export function MicSelect() {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [chosen, setChosen] = useState(() => getMicId() ?? "");
  const [error, setError] = useState<string | null>(null);
  const supported = typeof navigator !== "undefined" && !!navigator.mediaDevices?.enumerateDevices;

  const refresh = useCallback(async () => {
    try {
      setDevices(await listMicrophones());
    } catch (err) {
      setError(describeError(err));
    }
  }, []);

  useEffect(() => {
    void refresh();
    const media = navigator.mediaDevices;
    media?.addEventListener?.("devicechange", refresh);
    return () => media?.removeEventListener?.("devicechange", refresh);
  }, [refresh]);

  // Device names stay hidden until the page has been allowed to use a microphone once.
  const unnamed = devices.length > 0 && devices.every((d) => !d.label);
  const allow = async () => {
    setError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      stream.getTracks().forEach((t) => t.stop());
      await refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const known = devices.some((d) => d.deviceId === chosen);
  return (
    <div className="flex flex-col gap-2">
      <label htmlFor="mic-select" className="text-sm font-medium text-slate-200">
        Микрофон
      </label>
      <select
        id="mic-select"
        data-testid="mic-select"
        className={inputClass}
        value={chosen}
        disabled={!supported}
        onChange={(e) => {
          setChosen(e.target.value);
          setMicId(e.target.value || null);
        }}
      >
        <option value="">По умолчанию (системный)</option>
        {devices
          .filter((d) => d.deviceId && d.deviceId !== "default")
          .map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `Микрофон ${i + 1}`}
            </option>
          ))}
        {chosen && !known && <option value={chosen}>Выбранный ранее (сейчас не подключён)</option>}
      </select>
      {!supported && <p className="text-xs text-amber-200">Браузер не даёт список микрофонов (нужен https или localhost).</p>}
      {unnamed && (
        <div className="flex flex-wrap items-center gap-2 text-xs text-slate-400">
          Названия микрофонов появятся после разрешения доступа.
          <Button variant="ghost" className="px-2 py-1 text-xs" onClick={allow}>
            Разрешить доступ
          </Button>
        </div>
      )}
      {error && <p className="text-xs text-rose-300" role="alert">{error}</p>}
    </div>
  );
}
