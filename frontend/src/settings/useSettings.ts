/** The server settings and health for the settings page; follows background reloads until they finish. */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef } from "react";
import { describeError } from "../api/errors";
import { queryKeys, useHealth, useSaveSettings, useUiSettings } from "../api/queries";
import type { UiSettingsUpdate } from "../api/types";

export { RELOAD_POLL_MS } from "../api/queries";

export function useSettings() {
  const queryClient = useQueryClient();
  const settingsQuery = useUiSettings(); // polled while stages reload
  const health = useHealth().data ?? null;
  const saving = useSaveSettings();
  const settings = settingsQuery.data ?? null;
  const reloading = Object.keys(settings?.reloading ?? {}).length > 0;

  // A reload that just finished may have fallen back to a lighter engine: the notices are in health,
  // and the voices are those of the engine now running.
  const wasReloading = useRef(reloading);
  useEffect(() => {
    if (wasReloading.current && !reloading) {
      void queryClient.invalidateQueries({ queryKey: queryKeys.health });
      void queryClient.invalidateQueries({ queryKey: queryKeys.ttsVoices }); // the new engine's voices
    }
    wasReloading.current = reloading;
  }, [reloading, queryClient]);

  const { mutate } = saving;
  const save = useCallback((update: UiSettingsUpdate) => mutate(update), [mutate]);
  const { refetch } = settingsQuery;
  const load = useCallback(() => void refetch(), [refetch]);

  const loadError = settingsQuery.error && !settings ? describeError(settingsQuery.error) : null;
  const saveError = saving.error ? describeError(saving.error) : null;
  const notices = [...new Set([...(health?.notices ?? []), ...(settings?.notices ?? [])])];
  return { settings, health, notices, loadError, saveError, saving: saving.isPending, reloading, load, save };
}
