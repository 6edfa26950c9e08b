/** The live conversation with the selected persona (`#/talk`). */

import { useState } from "react";
import { useApi } from "../api/context";
import type { Persona } from "../api/types";
import { Card } from "../components/Card";
import { ErrorNotice } from "../components/ErrorNotice";
import type { MsePlayerState } from "../media/MsePlayer";
import { useConversation } from "../realtime/useConversation";
import { usePersona } from "../state/persona";
import { AvatarVideo } from "./AvatarVideo";
import { ConversationView } from "./ConversationView";
import { MicControls } from "./MicControls";

export interface ConversationScreenProps {
  persona: Persona | null;
}

/** One live session with `persona` (remount it with a key to switch personas). */
export function ConversationScreen({ persona }: ConversationScreenProps) {
  const api = useApi();
  const { state, client, sendText, stop, dismissError } = useConversation({
    personaId: persona?.id ?? null,
    avatarId: persona?.avatar_id ?? null,
  });
  const [showing, setShowing] = useState<MsePlayerState["showing"]>(null);
  const name = persona?.name ?? "Аватар";
  const photo = persona?.avatar_id ? api.avatarCropUrl(persona.avatar_id) : undefined;
  return (
    <ConversationView
      state={state}
      personaName={name}
      photo={photo}
      speaking={showing === "speech"}
      video={<AvatarVideo client={client} poster={photo} name={name} onShowing={setShowing} />}
      mic={<MicControls client={client} live={state.live} />}
      onSendText={sendText}
      onStop={stop}
      onDismissError={dismissError}
    />
  );
}

export default function Conversation() {
  const { persona, loading, error, refresh } = usePersona();
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
  return <ConversationScreen key={`${persona.id}:${persona.avatar_id ?? ""}`} persona={persona} />;
}
