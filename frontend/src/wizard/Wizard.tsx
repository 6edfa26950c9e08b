/**
 * The setup wizard: photo -> voice -> character -> voice preparation -> test greeting. While hidden
 * (`active` false: another screen is shown) the step's body is unmounted, so no webcam, microphone
 * or video stays on; the inputs live in useWizard and come back with it.
 */
import { AnimatePresence, motion } from "framer-motion";
import { Button } from "../components/Button";
import { Card } from "../components/Card";
import { PersonaWarmupStatus } from "../components/PersonaWarmupStatus";
import { CharacterStep } from "./CharacterStep";
import { greetingOf } from "./personaForm";
import { PhotoStep } from "./PhotoStep";
import { PrepareStep } from "./PrepareStep";
import { STEPS } from "./state";
import { StepIndicator } from "./StepIndicator";
import { TestStep } from "./TestStep";
import { useWizard, type WizardModel } from "./useWizard";
import { VoiceStep } from "./VoiceStep";

/** Why «Далее» is disabled on the current step (null: it is not). */
export function nextHint(w: WizardModel): string | null {
  if (w.canNext) return null;
  switch (w.step) {
    case "photo":
      return w.photo.uploading ? "Дождитесь проверки фото" : "Сначала загрузите фото";
    case "voice":
      return w.voice.uploading ? "Дождитесь анализа записей" : "Нужно 30 секунд речи — или пропустите шаг";
    case "character":
      return w.character.saving ? "Сохраняем…" : null;
    case "prepare":
      return w.prepare.status === "error" ? "Подготовка не удалась: повторите её" : "Дождитесь окончания подготовки голоса";
    default:
      return null;
  }
}

export function Wizard({ onFinished, active = true }: { onFinished?: () => void; active?: boolean }) {
  const w = useWizard(onFinished);
  const index = STEPS.findIndex((s) => s.id === w.step);
  const title = STEPS[index].title;
  const hint = nextHint(w);
  const warmup = (w.step === "prepare" || w.step === "test") && w.character.personaId !== null;

  let body;
  switch (w.step) {
    case "photo":
      body = <PhotoStep state={w.photo} onPhoto={(f) => void w.uploadPhoto(f)} onRetry={w.retryPhoto} />;
      break;
    case "voice":
      body = (
        <VoiceStep
          state={w.voice}
          onFiles={(f) => void w.uploadVoice(f)}
          onRetry={w.retryVoice}
          onSkip={w.skipVoice}
          ttsVoice={w.ttsVoice}
          onTtsVoice={w.chooseTtsVoice}
        />
      );
      break;
    case "character":
      body = <CharacterStep state={w.character} onChange={w.changeField} />;
      break;
    case "prepare":
      body = (
        <PrepareStep
          state={w.prepare}
          onRetry={() => void w.startPrepare()}
          ttsVoice={w.ttsVoice}
          baseVoice={w.baseVoice}
          onUseBase={w.adoptBaseVoice}
          onRetrySave={w.retrySaveTtsVoice}
          voiceId={w.voiceId}
        />
      );
      break;
    case "test":
      body = <TestStep state={w.test} greeting={greetingOf(w.character.form)} onRetry={() => void w.startTest(true)} />;
      break;
  }

  return (
    <section data-testid="wizard" data-step={w.step} aria-labelledby="wizard-title" className="flex flex-col gap-4">
      <StepIndicator current={w.step} skipped={w.voice.skipped ? ["prepare"] : []} onSelect={w.goTo} />
      <Card className="overflow-hidden">
        <h1 id="wizard-title" className="mb-4 text-lg font-semibold text-white">
          Шаг {index + 1} из {STEPS.length}: {title}
        </h1>
        <AnimatePresence mode="wait" initial={false} custom={w.direction}>
          <motion.div
            key={w.step}
            custom={w.direction}
            initial={{ opacity: 0, x: 32 * w.direction }}
            animate={{ opacity: 1, x: 0 }}
            exit={{ opacity: 0, x: -32 * w.direction }}
            transition={{ duration: 0.18, ease: "easeOut" }}
          >
            {active && body}
          </motion.div>
        </AnimatePresence>
        {warmup && (
          <div className="mt-5">
            <PersonaWarmupStatus personaId={w.character.personaId} />
          </div>
        )}
      </Card>
      <nav className="flex flex-wrap items-center justify-between gap-x-3 gap-y-2" aria-label="Навигация мастера">
        <Button data-testid="wizard-back" variant="ghost" onClick={w.back} disabled={index === 0}>
          ← Назад
        </Button>
        {hint && (
          <span id="wizard-next-hint" data-testid="wizard-next-hint" className="order-last w-full text-right text-xs text-slate-300 sm:order-none sm:w-auto sm:flex-1">
            {hint}
          </span>
        )}
        {w.step === "test" ? (
          <Button data-testid="wizard-finish" variant="primary" onClick={() => void w.finish()} disabled={w.character.personaId === null}>
            Начать разговор →
          </Button>
        ) : (
          <Button
            data-testid="wizard-next"
            variant="primary"
            onClick={() => void w.next()}
            disabled={!w.canNext}
            busy={w.character.saving}
            aria-describedby={hint ? "wizard-next-hint" : undefined}
          >
            Далее →
          </Button>
        )}
      </nav>
    </section>
  );
}
