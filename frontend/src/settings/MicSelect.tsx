/** Microphone choice (client-side, remembered in localStorage, used by the conversation). */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { describeError } from "../api/errors";
import { queryKeys } from "../api/queries";
import { Button } from "../components/Button";
import { inputClass } from "../components/Field";
import { getMicId, listMicrophones, setMicId } from "./mic";

const NO_DEVICES: MediaDeviceInfo[] = [];

export function MicSelect() {
  const queryClient = useQueryClient();
  // the browser's device list, kept like server state: listed once, listed again when devices change
  const microphones = useQuery({ queryKey: queryKeys.microphones, queryFn: listMicrophones, retry: false, staleTime: Infinity });
  const devices = microphones.data ?? NO_DEVICES;
  const [chosen, setChosen] = useState(() => getMicId() ?? "");
  const [allowError, setAllowError] = useState<string | null>(null);
  const error = allowError ?? (microphones.error ? describeError(microphones.error) : null);
  const supported = typeof navigator !== "undefined" && !!navigator.mediaDevices?.enumerateDevices;

  useEffect(() => {
    const media = navigator.mediaDevices;
    const changed = () => void queryClient.invalidateQueries({ queryKey: queryKeys.microphones });
    media?.addEventListener?.("devicechange", changed);
    return () => media?.removeEventListener?.("devicechange", changed);
  }, [queryClient]);

  // Device names stay hidden until the page has been allowed to use a microphone once.
  const unnamed = devices.length > 0 && devices.every((d) => !d.label);
  const allow = async () => {
    setAllowError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      stream.getTracks().forEach((t) => t.stop());
      await queryClient.invalidateQueries({ queryKey: queryKeys.microphones }); // now with their names
    } catch (err) {
      setAllowError(describeError(err));
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
