/**
 * The wizard's state and actions. Every step keeps its own state here, so going back, a failed
 * request or a visit to another screen loses no input; requests still running when the wizard
 * goes away are aborted.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import { ApiError, describeError } from "../api/errors";
import { useSavePersona, useTtsVoices, voiceQuery } from "../api/queries";
import type { VoicePrepareResult } from "../api/types";
import { usePersona } from "../state/persona";
import { navigate } from "../state/route";
import { greetingOf, standardVoiceOf, toPersonaIn, validatePersona } from "./personaForm";
import {
  initialCharacter,
  initialPhoto,
  initialPrepare,
  initialTest,
  initialVoice,
  type CharacterState,
  type PersonaForm,
  type PhotoState,
  type PrepareState,
  type StepId,
  type TestState,
  type VoiceState,
} from "./state";

const ORDER: StepId[] = ["photo", "voice", "character", "prepare", "test"];
export const POLL_MS = 400;

function objectUrl(blob: Blob): string | null {
  return typeof URL.createObjectURL === "function" ? URL.createObjectURL(blob) : null;
}

function revoke(url: string | null): void {
  if (url?.startsWith("blob:") && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
}

function aborted(err: unknown): boolean {
  return err instanceof ApiError && err.code === "aborted";
}

export function useWizard(onFinished?: () => void) {
  const client = useApi();
  const queryClient = useQueryClient();
  const personas = usePersona();
  const { mutateAsync: savePersona } = useSavePersona(); // refetches the persona list
  const [step, setStep] = useState<StepId>("photo");
  const [direction, setDirection] = useState(1);
  const [photo, setPhoto] = useState<PhotoState>(initialPhoto);
  const [voice, setVoice] = useState<VoiceState>(initialVoice);
  const [character, setCharacter] = useState<CharacterState>(initialCharacter);
  const [prepare, setPrepare] = useState<PrepareState>(initialPrepare);
  const [test, setTest] = useState<TestState>(initialTest);

  // Latest state for async actions (they must not act on a stale closure).
  const latest = useRef({ photo, voice, character, prepare, test });
  latest.current = { photo, voice, character, prepare, test };
  const controllers = useRef(new Set<AbortController>());
  const testKey = useRef<string | null>(null);
  // The standard voice the persona was last saved with (undefined: not saved yet), and a save on its way.
  const savedTts = useRef<string | null | undefined>(undefined);
  const ttsSave = useRef<{ tts: string | null; done: Promise<boolean> } | null>(null);

  const controller = () => {
    const c = new AbortController();
    controllers.current.add(c);
    return c;
  };
  const release = (c: AbortController) => controllers.current.delete(c);

  useEffect(() => {
    const owned = controllers.current;
    return () => owned.forEach((c) => c.abort());
  }, []);

  const voiceId = !voice.skipped && voice.voice ? voice.voice.id : null;
  // The standard voice the preparation found closest to the samples (for the current samples only).
  const baseVoice =
    voiceId && prepare.status === "done" && prepare.preparedVersion === voice.voice?.current_version ? prepare.baseVoice : null;
  // The standard voice: the user's pick, else the prepared base voice, else the default for the
  // gender of the character step.
  const ttsVoices = useTtsVoices().data;
  const ttsVoice = standardVoiceOf(ttsVoices, voice.ttsVoice ?? baseVoice, character.form.gender);

  const goTo = useCallback((next: StepId) => {
    setDirection(ORDER.indexOf(next) >= ORDER.indexOf(step) ? 1 : -1);
    setStep(next);
  }, [step]);

  // ---- step 1: photo ---------------------------------------------------------------------------

  const uploadPhoto = useCallback(async (file: Blob) => {
    revoke(latest.current.photo.localUrl);
    setPhoto({ file, localUrl: objectUrl(file), avatar: null, uploading: true, progress: 0, error: null, retryable: false });
    testKey.current = null;
    const c = controller();
    try {
      const avatar = await client.createAvatar(file, { signal: c.signal, onProgress: (p) => setPhoto((s) => ({ ...s, progress: p.fraction })) });
      setPhoto((s) => (s.file === file ? { ...s, avatar, uploading: false, progress: 1 } : s));
    } catch (err) {
      // a refused photo (no face, too small...) would be refused again: only a failed upload is retried
      const retryable = !(err instanceof ApiError) || err.retryable;
      if (!aborted(err)) setPhoto((s) => (s.file === file ? { ...s, uploading: false, error: describeError(err), retryable } : s));
    } finally {
      release(c);
    }
  }, [client]);

  const retryPhoto = useCallback(() => {
    const file = latest.current.photo.file;
    if (file) void uploadPhoto(file);
  }, [uploadPhoto]);

  // ---- step 2: voice ---------------------------------------------------------------------------

  const uploadVoice = useCallback(async (files: File[]) => {
    setVoice((s) => ({ ...s, uploading: true, progress: 0, analysis: null, error: null, pending: files, rejected: [], skipped: false }));
    const existing = latest.current.voice.voice;
    const c = controller();
    const options = {
      signal: c.signal,
      intervalMs: POLL_MS,
      onProgress: (p: { fraction: number | null }) => setVoice((s) => ({ ...s, progress: p.fraction })),
      onJob: (job: { progress: number; message: string }) => setVoice((s) => ({ ...s, analysis: { progress: job.progress, message: job.message } })),
    };
    try {
      const name = `Голос ${new Date().toLocaleString("ru-RU")}`;
      const result = existing ? await client.addVoiceSamples(existing.id, files, options) : await client.createVoice(name, files, options);
      setVoice((s) => ({ ...s, voice: result.voice, report: result.report, pending: [], uploading: false, analysis: null }));
      testKey.current = null;
    } catch (err) {
      if (aborted(err)) return;
      // A refusal with a quality report is final: the same files would be refused again.
      const retryable = err instanceof ApiError ? err.retryable && !err.report : true;
      const rejected = err instanceof ApiError && err.report ? err.report.files : [];
      setVoice((s) => ({ ...s, uploading: false, analysis: null, error: describeError(err), rejected, pending: retryable ? files : [] }));
    } finally {
      release(c);
    }
  }, [client]);

  const chooseTtsVoice = useCallback((name: string) => setVoice((s) => ({ ...s, ttsVoice: name })), []);

  const retryVoice = useCallback(() => {
    const files = latest.current.voice.pending;
    if (files.length) void uploadVoice(files);
  }, [uploadVoice]);

  // ---- step 3: character -----------------------------------------------------------------------

  const changeField = useCallback((field: keyof PersonaForm, value: string) => {
    setCharacter((s) => {
      const { [field]: _dropped, ...errors } = s.errors;
      void _dropped;
      return { ...s, form: { ...s.form, [field]: value }, errors, error: null };
    });
  }, []);

  /** Validate and create (or update) the persona; false when something is wrong. */
  const saveCharacter = useCallback(async (): Promise<boolean> => {
    const { character: current, photo: currentPhoto } = latest.current;
    const errors = validatePersona(current.form);
    if (Object.keys(errors).length) {
      setCharacter((s) => ({ ...s, errors, error: "Проверьте поля, отмеченные красным." }));
      document.getElementById(`persona-${Object.keys(errors)[0]}`)?.focus();
      return false;
    }
    setCharacter((s) => ({ ...s, errors: {}, saving: true, error: null }));
    try {
      const body = toPersonaIn(current.form, currentPhoto.avatar?.avatar_id ?? null, voiceId, ttsVoice);
      const saved = await savePersona({ id: current.personaId, body });
      savedTts.current = body.tts_voice;
      setCharacter((s) => ({ ...s, personaId: saved.id, saving: false }));
      return true;
    } catch (err) {
      setCharacter((s) => ({ ...s, saving: false, error: describeError(err) }));
      return false;
    }
  }, [savePersona, voiceId, ttsVoice]);

  // ---- step 4: voice preparation ---------------------------------------------------------------

  const startPrepare = useCallback(async () => {
    const target = latest.current.voice.voice;
    if (!target || latest.current.voice.skipped) return;
    const { prepare: current } = latest.current;
    if (current.status === "running") return;
    if (current.status === "done" && current.preparedVersion === target.current_version) return;
    setPrepare({ ...initialPrepare, status: "running", message: "Запускаем подготовку голоса…" });
    const c = controller();
    try {
      const job = await client.prepareVoiceAndWait(target.id, {
        intervalMs: POLL_MS,
        signal: c.signal,
        onUpdate: (j) => setPrepare((s) => ({ ...s, progress: j.progress, message: j.message || s.message })),
      });
      const result = job.result as VoicePrepareResult | undefined;
      let similarity = result?.similarity ?? null;
      if (!similarity) similarity = (await queryClient.fetchQuery(voiceQuery(client, target.id)).catch(() => null))?.similarity ?? null;
      setPrepare({
        ...initialPrepare,
        status: "done",
        progress: 1,
        message: job.message || "Голос готов",
        similarity,
        baseVoice: result?.base_voice ?? null,
        standardVoices: result?.standard_voices ?? [],
        preparedVersion: target.current_version,
      });
      testKey.current = null;
    } catch (err) {
      if (!aborted(err)) setPrepare((s) => ({ ...s, status: "error", error: describeError(err) }));
    } finally {
      release(c);
    }
  }, [client, queryClient]);

  /**
   * Save the persona with the standard voice `tts` unless it already has it (the base voice adopted
   * after the preparation, or the one the user took instead); false when saving failed.
   */
  const persistTtsVoice = useCallback((tts: string | null): Promise<boolean> => {
    const { character: ch, photo: p } = latest.current;
    if (ch.personaId === null || savedTts.current === tts) return Promise.resolve(true);
    if (ttsSave.current?.tts === tts) return ttsSave.current.done;
    const body = toPersonaIn(ch.form, p.avatar?.avatar_id ?? null, voiceId, tts);
    const done: Promise<boolean> = savePersona({ id: ch.personaId, body })
      .then(
        () => {
          savedTts.current = tts;
          setPrepare((s) => (s.saveError ? { ...s, saveError: null } : s));
          return true;
        },
        (err: unknown) => {
          setPrepare((s) => ({ ...s, saveError: describeError(err) }));
          return false;
        },
      )
      .finally(() => {
        if (ttsSave.current?.done === done) ttsSave.current = null;
      });
    ttsSave.current = { tts, done };
    return done;
  }, [savePersona, voiceId]);

  // Once prepared, the persona follows the voice chosen on this step.
  useEffect(() => {
    if (step === "prepare" && prepare.status === "done") void persistTtsVoice(ttsVoice);
  }, [step, prepare.status, ttsVoice, persistTtsVoice]);

  /** Take the prepared base voice instead of the one the user picked. */
  const adoptBaseVoice = useCallback(() => {
    if (baseVoice) chooseTtsVoice(baseVoice);
  }, [baseVoice, chooseTtsVoice]);

  const retrySaveTtsVoice = useCallback(() => void persistTtsVoice(ttsVoice), [persistTtsVoice, ttsVoice]);

  // ---- step 5: test render ---------------------------------------------------------------------

  const startTest = useCallback(async (force = false) => {
    const { photo: p, character: ch, test: current } = latest.current;
    const greeting = greetingOf(ch.form);
    const key = `${p.avatar?.avatar_id}|${voiceId}|${ttsVoice}|${greeting}`;
    if (!force && testKey.current === key && current.status !== "error") return;
    testKey.current = key;
    revoke(current.videoUrl);
    setTest({ status: "running", progress: null, message: "Аватар готовит приветствие…", videoUrl: null, error: null });
    const c = controller();
    try {
      const request = { avatar_id: p.avatar?.avatar_id, voice_id: voiceId, tts_voice: ttsVoice, text: greeting };
      const outcome = await client.render(request, { signal: c.signal });
      let videoUrl: string | null;
      if (outcome.kind === "video") {
        videoUrl = objectUrl(outcome.blob);
      } else {
        const job = await client.pollJob(outcome.job.job_id, {
          intervalMs: POLL_MS,
          signal: c.signal,
          onUpdate: (j) => setTest((s) => ({ ...s, progress: j.progress, message: j.message || s.message })),
        });
        videoUrl = client.url(job.result_url ?? `/api/jobs/${job.id}/result`);
      }
      if (testKey.current === key) setTest({ status: "done", progress: 1, message: "Готово", videoUrl, error: null });
    } catch (err) {
      if (!aborted(err) && testKey.current === key) setTest((s) => ({ ...s, status: "error", error: describeError(err) }));
    } finally {
      release(c);
    }
  }, [client, voiceId, ttsVoice]);

  // ---- navigation ------------------------------------------------------------------------------

  const canNext =
    step === "photo" ? !!photo.avatar && !photo.uploading
    : step === "voice" ? !voice.uploading && (voice.skipped || !!voice.report?.enough)
    : step === "character" ? !character.saving
    : step === "prepare" ? prepare.status === "done"
    : false;

  const next = useCallback(async () => {
    if (step === "photo") goTo("voice");
    else if (step === "voice") goTo("character");
    else if (step === "character") {
      if (!(await saveCharacter())) return;
      if (voiceId) {
        goTo("prepare");
        void startPrepare();
      } else {
        goTo("test");
        void startTest();
      }
    } else if (step === "prepare") {
      if (!(await persistTtsVoice(ttsVoice))) return;
      goTo("test");
      void startTest();
    }
  }, [step, goTo, saveCharacter, startPrepare, startTest, voiceId, persistTtsVoice, ttsVoice]);

  const back = useCallback(() => {
    if (step === "voice") goTo("photo");
    else if (step === "character") goTo("voice");
    else if (step === "prepare") goTo("character");
    else if (step === "test") goTo(voiceId ? "prepare" : "character");
  }, [step, goTo, voiceId]);

  const skipVoice = useCallback(() => {
    setVoice((s) => ({ ...s, skipped: true, error: null }));
    setDirection(1);
    setStep("character");
  }, []);

  const reset = useCallback(() => {
    controllers.current.forEach((c) => c.abort());
    revoke(latest.current.photo.localUrl);
    revoke(latest.current.test.videoUrl);
    testKey.current = null;
    savedTts.current = undefined;
    ttsSave.current = null;
    setPhoto(initialPhoto);
    setVoice(initialVoice);
    setCharacter(initialCharacter);
    setPrepare(initialPrepare);
    setTest(initialTest);
    setDirection(-1);
    setStep("photo");
  }, []);

  const finish = useCallback(async () => {
    const id = latest.current.character.personaId;
    if (id !== null) {
      await personas.refresh();
      personas.select(id);
    }
    navigate("talk");
    reset();
    onFinished?.();
  }, [personas, reset, onFinished]);

  return {
    step, direction, goTo, next, back, canNext, finish,
    photo, uploadPhoto, retryPhoto,
    voice, uploadVoice, retryVoice, skipVoice, voiceId, ttsVoice, chooseTtsVoice,
    character, changeField,
    prepare, startPrepare, baseVoice, adoptBaseVoice, retrySaveTtsVoice,
    test, startTest,
  };
}

export type WizardModel = ReturnType<typeof useWizard>;
