/** The emotion labels of ai_pipeline/emotion/base.py EMOTIONS, as an emoji and a Russian word. */

export interface EmotionView {
  emoji: string;
  label: string;
}

export const EMOTIONS: Record<string, EmotionView> = {
  neutral: { emoji: "😐", label: "спокойствие" },
  happy: { emoji: "😊", label: "радость" },
  sad: { emoji: "😢", label: "грусть" },
  surprised: { emoji: "😮", label: "удивление" },
  thinking: { emoji: "🤔", label: "задумчивость" },
  angry: { emoji: "😠", label: "раздражение" },
  scared: { emoji: "😨", label: "испуг" },
};

export function emotionView(label: string | null | undefined): EmotionView {
  if (!label) return EMOTIONS.neutral;
  return EMOTIONS[label] ?? { emoji: "🙂", label };
}
