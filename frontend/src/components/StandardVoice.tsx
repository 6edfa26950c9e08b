/** Pieces shared by the wizard's voice picker and the settings page: gender, licence badge, «Послушать». */
import type { Gender, StandardVoice } from "../api/types";
import type { Preview } from "../media/usePreview";
import { Button } from "./Button";

export const GENDER_LABELS: Record<Gender, string> = { female: "женский", male: "мужской" };

export const NONCOMMERCIAL = "только для некоммерческого использования";

/** The option text of a voice in a select: name, gender and, for a non-commercial one, its licence. */
export function voiceOptionLabel(voice: StandardVoice): string {
  const gender = GENDER_LABELS[voice.gender] ?? voice.gender;
  return voice.commercial ? `${voice.label} (${gender})` : `${voice.label} (${gender}) — ${NONCOMMERCIAL}, ${voice.licence}`;
}

/** The warning that a voice's licence allows non-commercial use only. */
export function NoncommercialBadge({ licence }: { licence: string }) {
  return (
    <span
      data-testid="voice-noncommercial"
      title={`Лицензия ${licence}: нельзя использовать в коммерческих целях`}
      className="rounded-md bg-amber-950/70 px-2 py-0.5 text-xs text-amber-200 ring-1 ring-amber-700"
    >
      {NONCOMMERCIAL} ({licence})
    </span>
  );
}

/** Play (or stop) the sample of `voice` through the page's one preview player. */
export function PreviewButton({ voice, label, preview, disabled }: { voice: string; label: string; preview: Preview; disabled?: boolean }) {
  const playing = preview.playing === voice;
  return (
    <Button
      variant="secondary"
      className="px-3 py-1"
      data-testid={`voice-preview-${voice}`}
      data-state={playing ? "playing" : preview.loading === voice ? "loading" : "idle"}
      title={`${playing ? "Остановить" : "Послушать"}: ${label}`}
      busy={preview.loading === voice}
      disabled={disabled}
      onClick={() => preview.toggle(voice)}
    >
      {playing ? "Остановить" : "Послушать"}
    </Button>
  );
}
