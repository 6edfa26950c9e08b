/**
 * React binding of ConversationClient: one client per persona, its events reduced into
 * ConversationState, the session's past messages loaded once `ready` names the session.
 */

import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { useApi } from "../api/context";
import { ConversationClient, type ConversationClientOptions } from "./ConversationClient";
import { conversationReducer, initialConversationState } from "./state";

const SESSION_KEY = (personaId: number | null | undefined) => `avatar.session.${personaId ?? "default"}`;

export function storedSessionId(personaId: number | null | undefined): number | null {
  try {
    const value = Number(localStorage.getItem(SESSION_KEY(personaId)));
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

function storeSessionId(personaId: number | null | undefined, sessionId: number): void {
  try {
    localStorage.setItem(SESSION_KEY(personaId), String(sessionId));
  } catch {
    // private mode: the next visit starts a new session
  }
}

export interface UseConversationOptions extends Omit<ConversationClientOptions, "personaId" | "avatarId" | "sessionId"> {
  personaId: number | null;
  avatarId?: string | null;
  /** Continue the persona's last session (remembered in localStorage); default true. */
  resume?: boolean;
}

export function useConversation(options: UseConversationOptions) {
  const { personaId, avatarId, resume = true, ...clientOptions } = options;
  const api = useApi();
  const [state, dispatch] = useReducer(conversationReducer, initialConversationState);
  const [client, setClient] = useState<ConversationClient | null>(null);
  // Options other than the persona are read when the client is made; changing them does not reconnect.
  const optionsRef = useRef(clientOptions);
  useEffect(() => {
    optionsRef.current = clientOptions;
  });

  useEffect(() => {
    const sessionId = resume ? storedSessionId(personaId) : null;
    const c = new ConversationClient({
      url: api.baseUrl,
      ...optionsRef.current,
      personaId,
      avatarId,
      sessionId,
      // a new conversation starts with the persona's greeting
      greet: optionsRef.current.greet ?? sessionId === null,
    });
    let loadedFor: number | null = null;
    const offAction = c.on("action", dispatch);
    const offReady = c.on("ready", (ready) => {
      storeSessionId(personaId, ready.session_id);
      if (loadedFor === ready.session_id) return;
      loadedFor = ready.session_id;
      api
        .listMessages(ready.session_id, { limit: 50 })
        .then((page) => dispatch({ type: "history", sessionId: ready.session_id, items: page.items }))
        .catch(() => dispatch({ type: "history", sessionId: ready.session_id, items: [] }));
    });
    setClient(c);
    return () => {
      offAction();
      offReady();
      c.close();
      setClient(null);
    };
  }, [api, personaId, avatarId, resume]);

  // connect once the children (player, microphone) have subscribed: their effects run first
  useEffect(() => {
    client?.connect();
  }, [client]);

  const sendText = useCallback((text: string) => client?.sendText(text) ?? false, [client]);
  const stop = useCallback(() => client?.stop() ?? false, [client]);
  const dismissError = useCallback(() => dispatch({ type: "dismiss_error" }), []);

  return { state, client, sendText, stop, dismissError };
}
