/** The setup wizard: photo -> voice -> character -> voice preparation -> test greeting. */
import { AnimatePresence, motion } from "framer-motion";
import { Button } from "../components/Button";
import { Card } from "../components/Card";
import { CharacterStep } from "./CharacterStep";
import { greetingOf } from "./personaForm";
import { PhotoStep } from "./PhotoStep";
import { PrepareStep } from "./PrepareStep";
import { STEPS } from "./state";
import { StepIndicator } from "./StepIndicator";
import { TestStep } from "./TestStep";
import { useWizard } from "./useWizard";
import { VoiceStep } from "./VoiceStep";

const HINTS = {
  photo: "Загрузите фото, на котором сервер найдёт лицо.",
  voice: "Нужно хотя бы 30 секунд пригодной речи — или пропустите шаг.",
  character: "",
  prepare: "Дождитесь окончания подготовки голоса.",
  test: "",
} as const;

export function Wizard({ onFinished }: { onFinished?: () => void }) {
  const w = useWizard(onFinished);
  const index = STEPS.findIndex((s) => s.id === w.step);
  const title = STEPS[index].title;

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
            {body}
          </motion.div>
        </AnimatePresence>
      </Card>
      <nav className="flex items-center justify-between gap-3" aria-label="Навигация мастера">
        <Button data-testid="wizard-back" variant="ghost" onClick={w.back} disabled={index === 0}>
          ← Назад
        </Button>
        {!w.canNext && HINTS[w.step] && <span className="hidden text-xs text-slate-400 sm:block">{HINTS[w.step]}</span>}
        {w.step === "test" ? (
          <Button data-testid="wizard-finish" variant="primary" onClick={() => void w.finish()} disabled={w.character.personaId === null}>
            Начать разговор →
          </Button>
        ) : (
          <Button data-testid="wizard-next" variant="primary" onClick={() => void w.next()} disabled={!w.canNext} busy={w.character.saving}>
            Далее →
          </Button>
        )}
      </nav>
    </section>
  );
}
