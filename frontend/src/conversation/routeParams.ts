/**
 * The conversation's part of the `#/talk` hash, shared with the persona screen: `?session=123`
 * continues session 123 of the selected persona, `?new=1` starts a new conversation (with the
 * greeting). The screen reads them once and puts the hash back to `#/talk`.
 */

export type TalkRequest = { kind: "session"; sessionId: number } | { kind: "new" };

/** The request in a `#/talk?...` hash, or null when it carries none. */
export function parseTalkRequest(hash: string): TalkRequest | null {
  const match = /^#\/?talk\?(.*)$/.exec(hash);
  if (!match) return null;
  const query = new URLSearchParams(match[1]);
  const session = Number(query.get("session"));
  if (query.has("session") && Number.isInteger(session) && session > 0) return { kind: "session", sessionId: session };
  const fresh = query.get("new");
  if (fresh !== null && fresh !== "0" && fresh !== "false") return { kind: "new" };
  return null;
}

/** Put the hash back to `#/talk` without a navigation (no hashchange, no history entry). */
export function cleanTalkHash(): void {
  if (!/^#\/?talk\?/.test(window.location.hash)) return;
  const url = `${window.location.pathname}${window.location.search}#/talk`;
  window.history.replaceState(window.history.state, "", url);
}

/** Read the request in the current hash and clean the hash. */
export function takeTalkRequest(): TalkRequest | null {
  const request = parseTalkRequest(window.location.hash);
  cleanTalkHash();
  return request;
}
