/**
 * The conversation's history: the last page of the session, older pages on «Показать раньше».
 * It scrolls inside its own panel (never the page, so a phone keeps the video on screen) and
 * follows new messages only while the user is at its bottom.
 */

import { AnimatePresence, motion } from "framer-motion";
import { useLayoutEffect, useRef } from "react";
import { Button } from "../components/Button";
import type { HistoryItem } from "../realtime/state";
import { emotionView } from "./emotions";

export interface HistoryProps {
  items: HistoryItem[];
  personaName: string;
  /** Older messages exist on the server. */
  hasOlder?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
}

export function History({ items, personaName, hasOlder = false, loadingOlder = false, onLoadOlder }: HistoryProps) {
  const list = useRef<HTMLOListElement>(null);
  const view = useRef({ atBottom: true, fromBottom: 0, first: "" });
  const last = items[items.length - 1];

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const first = items[0]?.key ?? "";
    const prepended = view.current.first !== "" && first !== view.current.first;
    if (prepended && !view.current.atBottom) el.scrollTop = el.scrollHeight - el.clientHeight - view.current.fromBottom;
    else if (view.current.atBottom) el.scrollTop = el.scrollHeight;
    view.current.first = first;
  }, [items, last?.text]);

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const fromBottom = el.scrollHeight - el.clientHeight - el.scrollTop;
    view.current.atBottom = fromBottom < 40;
    view.current.fromBottom = fromBottom;
  };

  return (
    <ol
      ref={list}
      onScroll={onScroll}
      data-testid="history"
      aria-label="История разговора"
      className="flex max-h-[50vh] min-h-40 flex-col gap-2 overflow-y-auto overscroll-contain pr-1 lg:max-h-[60vh]"
    >
      {hasOlder && (
        <li className="self-center">
          <Button variant="ghost" data-testid="history-older" busy={loadingOlder} onClick={onLoadOlder}>
            Показать раньше
          </Button>
        </li>
      )}
      {!items.length && <li className="py-6 text-center text-sm text-slate-400">Здесь появится ваш разговор.</li>}
      <AnimatePresence initial={false}>
        {items.map((item) => (
          <motion.li
            key={item.key}
            initial={{ opacity: 0, y: 8 }}
            animate={{ opacity: 1, y: 0 }}
            data-testid="history-item"
            data-role={item.role}
            data-pending={item.pending ? "true" : undefined}
            className={`max-w-[90%] rounded-2xl px-4 py-2 text-sm leading-relaxed ${
              item.role === "user" ? "self-end bg-indigo-600/80 text-white" : "self-start bg-slate-800 text-slate-100"
            }`}
          >
            <div className="mb-0.5 flex items-center gap-2 text-xs opacity-70">
              <span>{item.role === "user" ? "Вы" : personaName}</span>
              {item.role === "assistant" && item.emotion && <span aria-label={emotionView(item.emotion).label}>{emotionView(item.emotion).emoji}</span>}
              {item.interrupted && <span>· прервано</span>}
              {item.failed && <span className="text-rose-300">· ошибка</span>}
            </div>
            <span className="whitespace-pre-wrap">{item.text || (item.pending ? "…" : "")}</span>
          </motion.li>
        ))}
      </AnimatePresence>
    </ol>
  );
}
