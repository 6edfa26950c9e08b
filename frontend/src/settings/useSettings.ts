/** Load and change the server settings; follows background reloads until they finish. */
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import { describeError } from "../api/errors";
import type { Health, UiSettings, UiSettingsUpdate } from "../api/types";

export const RELOAD_POLL_MS = 500;

export function useSettings() {
  const client = useApi();
  const [settings, setSettings] = useState<UiSettings | null>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const alive = useRef(true);

  const load = useCallback(async () => {
    setLoadError(null);
    const [s, h] = await Promise.allSettled([client.getSettings(), client.health()]);
    if (!alive.current) return;
    if (s.status === "fulfilled") setSettings(s.value);
    else setLoadError(describeError(s.reason));
    if (h.status === "fulfilled") setHealth(h.value);
  }, [client]);

  useEffect(() => {
    alive.current = true;
    void load();
    return () => {
      alive.current = false;
    };
  }, [load]);

  const reloading = settings ? Object.keys(settings.reloading ?? {}).length > 0 : false;

  // While stages reload in the background, poll until they are done, then refresh the notices.
  useEffect(() => {
    if (!reloading) return;
    const timer = setInterval(async () => {
      try {
        const next = await client.getSettings();
        if (!alive.current) return;
        setSettings(next);
        if (!Object.keys(next.reloading ?? {}).length) setHealth(await client.health());
      } catch {
        /* a missed poll is retried on the next tick */
      }
    }, RELOAD_POLL_MS);
    return () => clearInterval(timer);
  }, [reloading, client]);

  const save = useCallback(async (update: UiSettingsUpdate) => {
    setSaving(true);
    setSaveError(null);
    try {
      const next = await client.putSettings(update);
      if (alive.current) setSettings(next);
    } catch (err) {
      if (alive.current) setSaveError(describeError(err));
    } finally {
      if (alive.current) setSaving(false);
    }
  }, [client]);

  const notices = [...new Set([...(health?.notices ?? []), ...(settings?.notices ?? [])])];
  return { settings, health, notices, loadError, saveError, saving, reloading, load, save };
}
