/**
 * REST state through TanStack Query: one cache per app (the QueryClient of AppProviders), query keys
 * in one place, and hooks for the server state the screens share. A change made through a mutation
 * updates or invalidates the queries it affects, so every screen sees it.
 */
import { QueryClient, useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import type { ApiClient } from "./client";
import { useApi } from "./context";
import { ApiError } from "./errors";
import type { Persona, PersonaIn, UiSettings, UiSettingsUpdate, VoiceInfo } from "./types";

export const queryKeys = {
  health: ["health"] as const,
  settings: ["settings"] as const,
  personas: ["personas"] as const,
  voice: (id: string) => ["voices", id] as const,
  ttsVoices: ["tts", "voices"] as const,
  microphones: ["microphones"] as const,
} satisfies Record<string, QueryKey | ((...args: never[]) => QueryKey)>;

/** How often the settings are polled while engines reload in the background. */
export const RELOAD_POLL_MS = 500;

/**
 * The app's query cache. A failed request is tried again only when that can help (network, 5xx,
 * 429: `ApiError.retryable`); Russian error texts reach the screen without a long wait.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => error instanceof ApiError && error.retryable && error.code !== "aborted" && failures < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
      mutations: { retry: false },
    },
  });
}

// ---- queries -----------------------------------------------------------------------------------

export function useHealth() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.health, queryFn: ({ signal }) => client.health(signal) });
}

function reloading(settings: UiSettings | undefined): boolean {
  return Object.keys(settings?.reloading ?? {}).length > 0;
}

/** The settings page's view; polled while stages reload in the background. */
export function useUiSettings() {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.settings,
    queryFn: ({ signal }) => client.getSettings(signal),
    refetchInterval: (query) => (reloading(query.state.data) ? RELOAD_POLL_MS : false),
  });
}

export function personasQuery(client: ApiClient) {
  return { queryKey: queryKeys.personas, queryFn: ({ signal }: { signal: AbortSignal }) => client.listPersonas(signal) };
}

export function usePersonas() {
  const client = useApi();
  return useQuery(personasQuery(client));
}

/** A voice's current state (fetched fresh: preparation changes it on the server). */
export function voiceQuery(client: ApiClient, id: string) {
  return { queryKey: queryKeys.voice(id), queryFn: (): Promise<VoiceInfo> => client.getVoice(id), staleTime: 0 };
}

/** The TTS engine's standard voices (they change with the engine and its settings). */
export function useTtsVoices() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.ttsVoices, queryFn: ({ signal }) => client.ttsVoices(signal) });
}

// ---- mutations ---------------------------------------------------------------------------------

/**
 * PUT /api/settings; the answer (with the stages now reloading) replaces the cached settings, and the
 * standard voices are fetched again (another engine, or the non-commercial ones allowed).
 */
export function useSaveSettings() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (update: UiSettingsUpdate) => client.putSettings(update),
    onSuccess: (settings) => {
      queryClient.setQueryData(queryKeys.settings, settings);
      void queryClient.invalidateQueries({ queryKey: queryKeys.ttsVoices }); // not waited for
    },
  });
}

/** Create a persona (`id` null) or replace one; the persona list is refetched. */
export function useSavePersona() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number | null; body: PersonaIn }): Promise<Persona> =>
      id === null ? client.createPersona(body) : client.replacePersona(id, body),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.personas }), // not waited for
  });
}
