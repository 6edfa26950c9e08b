/**
 * Microphone: push-to-talk (hold the button or Space) and hands-free (continuous; the server's VAD
 * cuts the questions, and speaking over the avatar interrupts it), with a level meter.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { BrowserMicrophone, RecordingControl, microphoneErrorMessage } from "../media/microphone";
import type { ConversationClient } from "../realtime/ConversationClient";

export interface MicControlsProps {
  client: ConversationClient | null;
  live: boolean;
}

function typingTarget(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

export function MicControls({ client, live }: MicControlsProps) {
  const [level, setLevel] = useState(0);
  const [talking, setTalking] = useState(false);
  const [handsFree, setHandsFree] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const control = useRef<RecordingControl | null>(null);

  useEffect(() => {
    if (!client) return;
    const mic = new BrowserMicrophone({ onChunk: (chunk) => client.sendAudio(chunk), onLevel: setLevel });
    const rc = new RecordingControl(mic, () => client.audioEnd(), (e) => {
      setError(microphoneErrorMessage(e));
      setTalking(false);
      setHandsFree(false);
    });
    control.current = rc;
    // a new server session (reconnect) needs a new webm stream from its first byte
    const offReady = client.on("ready", () => void rc.restart());
    return () => {
      offReady();
      void rc.release(false);
      mic.close();
      control.current = null;
    };
  }, [client]);

  const press = useCallback(() => {
    if (!control.current || handsFree) return;
    setError(null);
    setTalking(true);
    void control.current.press();
  }, [handsFree]);

  const release = useCallback(() => {
    if (!control.current || handsFree || !control.current.recording) return;
    setTalking(false);
    void control.current.release();
  }, [handsFree]);

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (e.code !== "Space" || e.repeat || typingTarget(e.target)) return;
      e.preventDefault();
      press();
    };
    const up = (e: KeyboardEvent) => {
      if (e.code !== "Space" || typingTarget(e.target)) return;
      e.preventDefault();
      release();
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
    };
  }, [press, release]);

  const toggleHandsFree = () => {
    const rc = control.current;
    if (!rc) return;
    setError(null);
    if (handsFree) {
      setHandsFree(false);
      setTalking(false);
      void rc.release();
    } else {
      setHandsFree(true);
      setTalking(true);
      void rc.press();
    }
  };

  return (
    <div className="flex flex-wrap items-center gap-3">
      <button
        type="button"
        data-testid="mic-ptt"
        aria-pressed={talking && !handsFree}
        disabled={!live || handsFree}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture?.(e.pointerId);
          press();
        }}
        onPointerUp={release}
        onPointerCancel={release}
        onLostPointerCapture={release}
        onContextMenu={(e) => e.preventDefault()}
        className={`flex h-14 select-none items-center gap-2 rounded-full px-6 text-sm font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-40 ${
          talking && !handsFree ? "bg-rose-500 text-white" : "bg-indigo-500 text-white hover:bg-indigo-400"
        }`}
        title="Удерживайте кнопку или пробел и говорите"
      >
        <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round">
          <rect x="9" y="3" width="6" height="11" rx="3" />
          <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
        </svg>
        {talking && !handsFree ? "Говорите…" : "Нажмите и говорите"}
      </button>
      <button
        type="button"
        role="switch"
        data-testid="mic-handsfree"
        aria-checked={handsFree}
        disabled={!live}
        onClick={toggleHandsFree}
        className={`h-10 rounded-full px-4 text-sm ring-1 transition-colors disabled:opacity-40 ${
          handsFree ? "bg-emerald-600 text-white ring-emerald-500" : "bg-slate-900 text-slate-300 ring-slate-700 hover:bg-slate-800"
        }`}
      >
        {handsFree ? "Свободный режим: вкл" : "Свободный режим"}
      </button>
      <div
        data-testid="mic-level"
        role="meter"
        aria-label="Уровень микрофона"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(level * 100)}
        className="h-2 w-24 overflow-hidden rounded-full bg-slate-800"
      >
        <div className="h-full rounded-full bg-emerald-400 transition-[width] duration-75" style={{ width: `${Math.round((talking ? level : 0) * 100)}%` }} />
      </div>
      {error && (
        <p role="alert" data-testid="mic-error" className="basis-full text-sm text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}
