/** The live conversation with the selected persona (`#/talk`, `#/talk?session=…`, `#/talk?new=1`). */

import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import type { Persona } from "../api/types";
import { Card } from "../components/Card";
import { ErrorNotice } from "../components/ErrorNotice";
import { announcedFormat, chooseCaptureFormat } from "../media/captureFormat";
import { MicSource } from "../media/micSource";
import type { MsePlayer, MsePlayerState } from "../media/MsePlayer";
import { storedSessionId, useConversation } from "../realtime/useConversation";
import { usePersona } from "../state/persona";
import { AvatarVideo } from "./AvatarVideo";
import { ConversationView } from "./ConversationView";
import { Lobby } from "./Lobby";
import { MicControls } from "./MicControls";
import { cleanTalkHash, parseTalkRequest, type TalkRequest } from "./routeParams";
import { useLobby } from "./useLobby";

export interface ConversationScreenProps {
  persona: Persona | null;
  /** From the hash: continue this session, or start a new one. */
  request?: TalkRequest | null;
}

/** One live session with `persona` (remount it with a key to switch personas). */
export function ConversationScreen({ persona, request = null }: ConversationScreenProps) {
  const api = useApi();
  const [capture] = useState(() => chooseCaptureFormat());
  const [mic] = useState(() => new MicSource());
  useEffect(() => () => mic.close(), [mic]);
  const [sessionId] = useState(() =>
    request?.kind === "session" ? request.sessionId : request?.kind === "new" ? null : storedSessionId(persona?.id),
  );
  const audio = announcedFormat(capture);
  const { state, client, sendText, stop, dismissError, speechShown, loadOlder, loadingOlder } = useConversation({
    personaId: persona?.id ?? null,
    avatarId: persona?.avatar_id ?? null,
    sessionId,
    resume: false,
    holdStart: true,
    audioFormat: audio.audio_format,
    sampleRate: audio.sample_rate,
  });
  const player = useRef<MsePlayer | null>(null);
  const onPlayer = useCallback((p: MsePlayer | null) => {
    player.current = p;
  }, []);
  const begin = useCallback(() => client?.begin(), [client]);
  const lobby = useLobby({ mic, canRecord: capture !== null, player, begin: client ? begin : null, live: state.live });

  const [showing, setShowing] = useState<MsePlayerState["showing"]>(null);
  const onShowing = useCallback(
    (s: MsePlayerState["showing"]) => {
      setShowing(s);
      if (s === "speech") speechShown();
    },
    [speechShown],
  );
  const name = persona?.name ?? "Аватар";
  const photo = persona?.avatar_id ? api.avatarCropUrl(persona.avatar_id) : undefined;
  const overlay = lobby.phase ? (
    <Lobby
      personaName={name}
      photo={photo}
      phase={lobby.phase}
      returning={sessionId !== null}
      level={lobby.level}
      micProblem={lobby.micProblem}
      onStart={lobby.start}
    />
  ) : undefined;
  return (
    <ConversationView
      state={state}
      personaName={name}
      photo={photo}
      speaking={showing === "speech"}
      inLobby={lobby.phase !== null}
      video={
        <AvatarVideo
          client={client}
          poster={photo}
          name={name}
          onShowing={onShowing}
          onPlayer={onPlayer}
          thinking={state.thinking}
          overlay={overlay}
        />
      }
      mic={<MicControls client={client} live={state.live} mic={mic} capture={capture} notice={lobby.micProblem} />}
      onSendText={sendText}
      onStop={stop}
      onDismissError={dismissError}
      onLoadOlder={loadOlder}
      loadingOlder={loadingOlder}
    />
  );
}

/** `#/talk?…` requests, read when they appear and the hash cleaned back to `#/talk`. */
function useTalkRequest(): TalkRequest | null {
  const [request, setRequest] = useState(() => parseTalkRequest(window.location.hash));
  useEffect(() => {
    cleanTalkHash();
    const onHash = () => {
      const next = parseTalkRequest(window.location.hash);
      if (!next) return;
      cleanTalkHash();
      setRequest(next);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return request;
}

export default function Conversation() {
  const { persona, loading, error, refresh } = usePersona();
  const request = useTalkRequest();
  // a request belongs to the persona selected when it came; another persona starts as usual
  const [bound, setBound] = useState<{ request: TalkRequest; personaId: number | null } | null>(null);
  if (request && bound?.request !== request && persona) setBound({ request, personaId: persona.id });
  const applies = bound && persona && bound.personaId === persona.id ? bound.request : null;
  if (error) {
    return (
      <section data-testid="talk" className="mx-auto max-w-xl p-6">
        <ErrorNotice message={error} onRetry={() => void refresh()} />
      </section>
    );
  }
  if (loading && !persona) {
    return (
      <section data-testid="talk" className="p-6 text-slate-400">
        Загрузка…
      </section>
    );
  }
  if (!persona) {
    return (
      <section data-testid="talk" className="mx-auto max-w-xl p-6">
        <Card>
          <p className="mb-2 text-slate-200">Пока нет ни одного собеседника.</p>
          <a href="#/wizard" className="text-indigo-300 underline">
            Создайте аватара в мастере
          </a>
        </Card>
      </section>
    );
  }
  return (
    <ConversationScreen
      key={`${persona.id}:${persona.avatar_id ?? ""}:${applies ? keyOf(applies) : ""}`}
      persona={persona}
      request={applies}
    />
  );
}

/** Each request object remounts the screen once (the same `?new=1` twice starts two conversations). */
const requestKeys = new WeakMap<TalkRequest, number>();
let nextRequestKey = 1;
function keyOf(request: TalkRequest): number {
  let key = requestKeys.get(request);
  if (key === undefined) {
    key = nextRequestKey++;
    requestKeys.set(request, key);
  }
  return key;
}
