/**
 * React binding of ConversationClient: one client per persona, its events reduced into
 * ConversationState, the session's last page of messages loaded once `ready` names the session
 * (older pages on demand).
 */

import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { useApi } from "../api/context";
import { ConversationClient, type ConversationClientOptions } from "./ConversationClient";
import { conversationReducer, initialConversationState } from "./state";

/** Messages per history page. */
export const HISTORY_PAGE = 30;

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
  /** Continue this session instead (e.g. `#/talk?session=123`); null: a new one when `resume` is false. */
  sessionId?: number | null;
}

export function useConversation(options: UseConversationOptions) {
  const { personaId, avatarId, resume = true, sessionId: chosenSession, ...clientOptions } = options;
  const api = useApi();
  const [state, dispatch] = useReducer(conversationReducer, initialConversationState);
  const [client, setClient] = useState<ConversationClient | null>(null);
  // Options other than the persona are read when the client is made; changing them does not reconnect.
  const optionsRef = useRef(clientOptions);
  useEffect(() => {
    optionsRef.current = clientOptions;
  });

  useEffect(() => {
    const sessionId = chosenSession ?? (resume ? storedSessionId(personaId) : null);
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
        .listMessages(ready.session_id, { limit: HISTORY_PAGE })
        .then((page) => dispatch({ type: "history", sessionId: ready.session_id, items: page.items, nextBefore: page.next_before }))
        .catch(() => dispatch({ type: "history", sessionId: ready.session_id, items: [] }));
    });
    setClient(c);
    return () => {
      offAction();
      offReady();
      c.close();
      setClient(null);
    };
  }, [api, personaId, avatarId, resume, chosenSession]);

  // connect once the children (player, microphone) have subscribed: their effects run first
  useEffect(() => {
    client?.connect();
  }, [client]);

  const sendText = useCallback((text: string) => client?.sendText(text) ?? false, [client]);
  const stop = useCallback(() => client?.stop() ?? false, [client]);
  const dismissError = useCallback(() => dispatch({ type: "dismiss_error" }), []);
  const speechShown = useCallback(() => dispatch({ type: "speech_shown" }), []);

  const [loadingOlder, setLoadingOlder] = useState(false);
  const { sessionId, historyBefore } = state;
  const loadOlder = useCallback(async () => {
    if (sessionId == null || historyBefore == null) return;
    setLoadingOlder(true);
    try {
      const page = await api.listMessages(sessionId, { before: historyBefore, limit: HISTORY_PAGE });
      dispatch({ type: "history_older", sessionId, items: page.items, nextBefore: page.next_before });
    } catch {
      // the button stays: the user can try again
    } finally {
      setLoadingOlder(false);
    }
  }, [api, sessionId, historyBefore]);

  return { state, client, sendText, stop, dismissError, speechShown, loadOlder, loadingOlder };
}
