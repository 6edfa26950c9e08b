/**
 * REST state through TanStack Query: one cache per app (the QueryClient of AppProviders), query keys
 * in one place, and hooks for the server state the screens share. A change made through a mutation
 * updates or invalidates the queries it affects, so every screen sees it.
 */
import { QueryClient, useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import type { ApiClient } from "./client";
import { useApi } from "./context";
import { ApiError } from "./errors";
import type {
  MessagesPage,
  Persona,
  PersonaIn,
  PersonaPatch,
  PersonaWarmup,
  UiSettings,
  UiSettingsUpdate,
  VoiceInfo,
  VoiceTrainingStatus,
} from "./types";

export const queryKeys = {
  health: ["health"] as const,
  settings: ["settings"] as const,
  personas: ["personas"] as const,
  // under "personas": a change to the persona list refetches what hangs off a persona too
  warmup: (personaId: number) => ["personas", personaId, "warmup"] as const,
  facts: (personaId: number) => ["personas", personaId, "facts"] as const,
  sessions: (personaId: number) => ["personas", personaId, "sessions"] as const,
  messages: (sessionId: number) => ["sessions", sessionId, "messages"] as const,
  voices: ["voices"] as const,
  voice: (id: string) => ["voices", id] as const,
  training: (id: string) => ["voices", id, "training"] as const,
  ttsVoices: ["tts", "voices"] as const,
  microphones: ["microphones"] as const,
} satisfies Record<string, QueryKey | ((...args: never[]) => QueryKey)>;

/** How often the settings are polled while engines reload in the background. */
export const RELOAD_POLL_MS = 500;
/** How often a persona's warm-up is polled while it is queued or running. */
export const WARMUP_POLL_MS = 500;
/** Messages per page of a conversation's history. */
export const HISTORY_PAGE = 20;
/** How often a voice's training is polled while it is queued or running. */
export const TRAINING_POLL_MS = 1000;

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

/** A persona's prompt warm-up, polled while queued or running (none for `id` null). */
export function usePersonaWarmup(id: number | null) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.warmup(id ?? 0),
    queryFn: ({ signal }) => client.personaWarmup(id as number, signal),
    enabled: id !== null,
    staleTime: 0,
    refetchInterval: (query) => {
      const status = (query.state.data as PersonaWarmup | undefined)?.status;
      return status === "queued" || status === "running" ? WARMUP_POLL_MS : false;
    },
  });
}

/** What the persona learnt about the user. */
export function useFacts(personaId: number) {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.facts(personaId), queryFn: ({ signal }) => client.listFacts(personaId, signal), staleTime: 0 });
}

/** The persona's conversations, newest first. */
export function useSessions(personaId: number) {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.sessions(personaId), queryFn: ({ signal }) => client.listSessions(personaId, signal), staleTime: 0 });
}

/** The recorded voices (`GET /api/voices`). */
export function useVoices() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.voices, queryFn: ({ signal }) => client.listVoices(signal) });
}

function training(status: VoiceTrainingStatus | undefined): boolean {
  const job = status?.job?.status;
  return job === "queued" || job === "running";
}

/**
 * A voice's training on the server: whether it can be trained, the estimate, and its latest job. Polled
 * while the job is queued or running, so leaving the screen and coming back shows where it is; when
 * it ends the voices are refetched (a better trained model is their new version).
 */
export function useVoiceTraining(voiceId: string | null, enabled = true) {
  const client = useApi();
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: queryKeys.training(voiceId ?? ""),
    queryFn: async ({ signal }) => {
      const before = queryClient.getQueryData<VoiceTrainingStatus>(queryKeys.training(voiceId as string));
      const status = await client.trainingStatus(voiceId as string, signal);
      if (training(before) && !training(status)) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.voices, exact: true });
        void queryClient.invalidateQueries({ queryKey: queryKeys.voice(voiceId as string), exact: true });
      }
      return status;
    },
    enabled: enabled && voiceId !== null,
    staleTime: 0,
    refetchInterval: (query) => (training(query.state.data) ? TRAINING_POLL_MS : false),
  });
}

/** Start (`"start"`) or stop (`"cancel"`) a voice's training; the training status is refetched. */
export function useTrainingAction(voiceId: string) {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: "start" | "cancel"): Promise<unknown> =>
      action === "start" ? client.startTraining(voiceId) : client.cancelTraining(voiceId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.training(voiceId) }),
  });
}

/**
 * A conversation's history, newest page first: every next page holds the messages before the
 * previous one (`?before=<next_before>`); `hasNextPage` while older messages remain.
 */
export function useHistory(sessionId: number) {
  const client = useApi();
  return useInfiniteQuery({
    queryKey: queryKeys.messages(sessionId),
    queryFn: ({ pageParam, signal }): Promise<MessagesPage> => client.listMessages(sessionId, { before: pageParam, limit: HISTORY_PAGE }, signal),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next_before,
    staleTime: 0,
  });
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

/** Change some fields of a persona; the persona list (and what hangs off a persona) is refetched. */
export function usePatchPersona() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: PersonaPatch }): Promise<Persona> => client.patchPersona(id, patch),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.personas }),
  });
}

/** Delete a persona with its conversations and memory; resolves with the personas left. */
export function useDeletePersona() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (id: number): Promise<Persona[]> => {
      await client.deletePersona(id);
      queryClient.removeQueries({ queryKey: ["personas", id] });
      // the list as the server has it now; if that fails, the cached one without the deleted persona
      return queryClient
        .fetchQuery({ ...personasQuery(client), staleTime: 0 })
        .catch(() => (queryClient.getQueryData<Persona[]>(queryKeys.personas) ?? []).filter((p) => p.id !== id));
    },
  });
}

/** Make a persona forget one fact. */
export function useDeleteFact(personaId: number) {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (key: string) => client.deleteFact(personaId, key),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.facts(personaId) }),
  });
}
