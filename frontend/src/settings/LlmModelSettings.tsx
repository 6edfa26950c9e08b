/**
 * The llama.cpp engine's model on the settings page: the embedded GGUF and every one added with
 * `avatar models add-llm` (GET /api/settings/llm-models). Picking one saves `options.llm` (`model`
 * and its `n_ctx`), and the server reloads the engine with that file and its own chat template.
 */
import { useQuery } from "@tanstack/react-query";
import { useApi } from "../api/context";
import { ApiError, describeError } from "../api/errors";
import type { LlmModelChoice, UiSettings, UiSettingsUpdate } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { inputClass } from "../components/Field";

export const LLM_MODELS_KEY = ["settings", "llm-models"] as const;

export function modelLabel(model: LlmModelChoice): string {
  return `${model.label_ru}, контекст ${model.n_ctx}${model.present ? "" : " — файла нет"}`;
}

export interface LlmModelSettingsProps {
  settings: UiSettings;
  disabled: boolean;
  save: (update: UiSettingsUpdate) => void;
}

export function LlmModelSettings({ settings, disabled, save }: LlmModelSettingsProps) {
  const client = useApi();
  const query = useQuery({ queryKey: LLM_MODELS_KEY, queryFn: ({ signal }) => client.llmModels(signal) });

  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404) return null; // a server without the list
    return <ErrorNotice testId="llm-models-error" message={`Не удалось загрузить список моделей: ${describeError(query.error)}`} onRetry={() => void query.refetch()} />;
  }
  const data = query.data;
  if (!data) return null;
  const chosen = settings.options?.llm?.model;
  const current = typeof chosen === "string" ? chosen : (data.current ?? "");
  const known = data.models.some((m) => m.model === current);

  return (
    <div data-testid="llm-model-settings" className="mt-1 flex flex-col gap-1.5 rounded-lg p-3 ring-1 ring-slate-800">
      <label htmlFor="llm-model" className="text-sm font-medium text-slate-200">
        Модель
      </label>
      <select
        id="llm-model"
        data-testid="llm-model"
        className={inputClass}
        value={current}
        disabled={disabled}
        aria-describedby="llm-model-hint"
        onChange={(e) => {
          const model = data.models.find((m) => m.model === e.target.value);
          if (model) save({ options: { llm: { model: model.model, n_ctx: model.n_ctx } } });
        }}
      >
        {!known && <option value={current}>{current || "—"}</option>}
        {data.models.map((model) => (
          <option key={model.model} value={model.model} disabled={!model.present}>
            {modelLabel(model)}
          </option>
        ))}
      </select>
      <p id="llm-model-hint" className="text-xs text-slate-400">
        Свою модель в формате GGUF (например, более сильную русскоязычную) добавьте командой{" "}
        <code className="text-slate-300">avatar models add-llm файл.gguf</code>: после проверки она появится в этом списке.
      </p>
    </div>
  );
}
