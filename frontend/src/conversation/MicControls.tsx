/**
 * Microphone: push-to-talk (tap to toggle, or hold the button or Space; Escape cancels) and
 * hands-free (continuous; the server's VAD cuts the questions, and speaking over the avatar
 * interrupts it), with a level meter while recording. The microphone is released a few seconds
 * after a recording and opened again on the next press.
 */

import { useCallback, useEffect, useRef, useState, type MouseEvent, type PointerEvent } from "react";
import type { CaptureFormat } from "../media/captureFormat";
import { createCapture } from "../media/captures";
import type { MicSource } from "../media/micSource";
import { MIN_RECORDING_MS, RecordingControl, microphoneErrorMessage, type Recorder } from "../media/microphone";
import type { ConversationClient } from "../realtime/ConversationClient";
import { LevelMeter, useMicLevel } from "./LevelMeter";
import { PushToTalk, pttLabel, spaceBelongsToTarget, type PttAction, type PttMode } from "./pushToTalk";

export type MicClient = Pick<ConversationClient, "sendAudio" | "audioEnd" | "on">;

export interface MicControlsProps {
  client: MicClient | null;
  live: boolean;
  mic: MicSource;
  /** How this browser records (null: it cannot). */
  capture: CaptureFormat | null;
  /** A standing notice about the microphone (e.g. refused in the lobby). */
  notice?: string | null;
  tapMs?: number;
  /** Tests pass a recorder that needs no browser audio. */
  createRecorder?: (capture: CaptureFormat, mic: MicSource, onChunk: (data: ArrayBuffer) => void) => Recorder;
}

const UNSUPPORTED = { name: "unsupported" };

export function MicControls({ client, live, mic, capture, notice = null, tapMs, createRecorder = createCapture }: MicControlsProps) {
  const [mode, setMode] = useState<PttMode>("idle");
  const [handsFree, setHandsFree] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const control = useRef<RecordingControl | null>(null);
  const [ptt] = useState(() => new PushToTalk(tapMs));
  const handsFreeRef = useRef(false);
  const recording = mode !== "idle" || handsFree;
  const level = useMicLevel(mic, recording);

  useEffect(() => {
    if (!client) return;
    let rc: RecordingControl | null = null;
    const recorder = capture ? createRecorder(capture, mic, (chunk) => rc?.chunk(chunk)) : null;
    rc = new RecordingControl(recorder ?? { start: () => Promise.reject(UNSUPPORTED), stop: () => Promise.resolve() }, {
      send: (chunk) => client.sendAudio(chunk),
      end: () => client.audioEnd(),
      minMs: MIN_RECORDING_MS,
      onError: (e) => {
        setError(microphoneErrorMessage(e));
        ptt.reset();
        setMode("idle");
        setHandsFree(false);
        handsFreeRef.current = false;
      },
    });
    control.current = rc;
    const r = rc;
    // a new server session (reconnect) needs a new stream from its first byte
    const offReady = client.on("ready", () => void r.restart());
    // the connection was lost: a push-to-talk recording is over (hands-free goes on in the new session)
    const offLost = client.on("lost", () => {
      if (handsFreeRef.current || ptt.mode === "idle") return;
      ptt.reset();
      setMode("idle");
      void r.release(false).then(() => mic.releaseLater());
    });
    return () => {
      offReady();
      offLost();
      void r.release(false);
      control.current = null;
    };
  }, [client, mic, capture, createRecorder, ptt]);

  const idleLater = useCallback(() => {
    if (!handsFreeRef.current) mic.releaseLater();
  }, [mic]);

  const apply = useCallback(
    (action: PttAction) => {
      const rc = control.current;
      setMode(ptt.mode);
      if (!rc || !action) return;
      if (action === "start") {
        setError(null);
        void rc.press();
      } else if (action === "stop") {
        void rc.release().then(idleLater);
      } else {
        void rc.cancel().then(idleLater);
      }
    },
    [idleLater, ptt],
  );

  const down = useCallback(() => {
    if (!live || handsFreeRef.current) return;
    apply(ptt.down(performance.now()));
  }, [apply, live, ptt]);
  const up = useCallback(() => apply(ptt.up(performance.now())), [apply, ptt]);
  const cancel = useCallback(() => apply(ptt.cancel()), [apply, ptt]);

  useEffect(() => {
    let spaceDown = false;
    const keydown = (e: KeyboardEvent) => {
      if (e.key === "Escape" && ptt.mode !== "idle") {
        e.preventDefault();
        cancel();
        return;
      }
      if (e.code !== "Space" || spaceBelongsToTarget(e.target)) return;
      e.preventDefault(); // no page scroll
      if (e.repeat || spaceDown) return;
      spaceDown = true;
      down();
    };
    const keyup = (e: KeyboardEvent) => {
      if (e.code !== "Space" || !spaceDown) return;
      spaceDown = false;
      e.preventDefault();
      up();
    };
    // the window lost focus while Space was held: its keyup will never come
    const blur = () => {
      if (!spaceDown) return;
      spaceDown = false;
      up();
    };
    window.addEventListener("keydown", keydown);
    window.addEventListener("keyup", keyup);
    window.addEventListener("blur", blur);
    return () => {
      window.removeEventListener("keydown", keydown);
      window.removeEventListener("keyup", keyup);
      window.removeEventListener("blur", blur);
    };
  }, [down, up, cancel, ptt]);

  const onPointerDown = (e: PointerEvent<HTMLButtonElement>) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture?.(e.pointerId); // a finger that drifts off the button keeps talking
    down();
  };
  const onClick = (e: MouseEvent<HTMLButtonElement>) => {
    if (e.detail === 0) {
      // Enter/Space on the focused button: a tap
      down();
      up();
    }
  };

  const toggleHandsFree = () => {
    const rc = control.current;
    if (!rc) return;
    setError(null);
    ptt.reset();
    setMode("idle");
    handsFreeRef.current = !handsFree;
    setHandsFree(!handsFree);
    if (handsFree) void rc.release().then(() => mic.releaseLater());
    else void rc.press();
  };

  const talking = mode !== "idle";
  const shown = error ?? notice;
  return (
    // its parts join the parent's row (beside the stop button), so a phone needs fewer lines
    <div className="contents">
      <button
        type="button"
        data-testid="mic-ptt"
        data-mode={mode}
        aria-pressed={talking}
        disabled={!live || handsFree}
        onPointerDown={onPointerDown}
        onPointerUp={up}
        onPointerCancel={up}
        onClick={onClick}
        onContextMenu={(e) => e.preventDefault()}
        style={{ touchAction: "none" }}
        className={`flex min-h-14 w-full select-none items-center justify-center gap-2 rounded-full px-4 py-2 text-left sm:w-auto sm:justify-start text-sm font-medium transition-colors [-webkit-touch-callout:none] disabled:cursor-not-allowed disabled:opacity-40 ${
          talking ? "bg-rose-500 text-white" : "bg-indigo-500 text-white hover:bg-indigo-400"
        }`}
        title="Коротко нажмите, чтобы начать и закончить, или удерживайте кнопку либо пробел. Esc — отменить."
      >
        <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5 shrink-0" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round">
          <rect x="9" y="3" width="6" height="11" rx="3" />
          <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
        </svg>
        <span className="leading-snug sm:max-w-[12.5rem]">{pttLabel(mode)}</span>
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
      {recording && <LevelMeter level={level} />}
      {shown && (
        <p role="alert" data-testid="mic-error" className="order-last basis-full text-sm text-rose-300">
          {shown}
        </p>
      )}
    </div>
  );
}
