import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UiSettings } from "../api/types";
import { uiSettings } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import { errorReply, startServer, type TestServer } from "../test/server";
import type { LlmModels } from "../api/types";
import { Settings } from "./Settings";

const EMBEDDED = "llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
const OWN = "/home/user/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf";

function llmModels(current: string | null = EMBEDDED): LlmModels {
  return {
    current,
    models: [
      { name: "embedded", label_ru: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (встроенная)", model: EMBEDDED, n_ctx: 4096, embedded: true, present: true },
      { name: "qwen7b", label_ru: "qwen7b (qwen2, 7.6B, Q4_K_M)", model: OWN, n_ctx: 8192, embedded: false, present: true },
      { name: "gone", label_ru: "gone (llama, 8B, Q4_K_M)", model: "/mnt/usb/gone.gguf", n_ctx: 4096, embedded: false, present: false },
    ],
  };
}

let server: TestServer;

beforeEach(async () => {
  server = await startServer();
  server.on("GET /api/health", { json: { status: "ok", engines: {}, available_engines: {}, notices: [], devices: { gpu: false } } });
});
afterEach(async () => {
  await server.close();
});

function renderSettings() {
  const user = userEvent.setup();
  render(
    <TestProviders client={server.client}>
      <Settings />
    </TestProviders>,
  );
  return user;
}

describe("llama.cpp model on the settings page", () => {
  it("lists the embedded and the added GGUF models and saves the chosen one with its context", async () => {
    let current: UiSettings = uiSettings({ options: { llm: { model: EMBEDDED, n_ctx: 4096 } } });
    server.on("GET /api/settings", () => ({ json: current }));
    server.on("GET /api/settings/llm-models", { json: llmModels() });
    server.on("PUT /api/settings", (req) => {
      const body = req.json<{ options: { llm: { model: string; n_ctx: number } } }>();
      current = { ...current, options: { ...current.options, llm: body.options.llm } as unknown as UiSettings["options"] };
      return { json: current };
    });
    const user = renderSettings();

    const select = await screen.findByTestId("llm-model");
    expect(select).toHaveValue(EMBEDDED);
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (встроенная), контекст 4096",
      "qwen7b (qwen2, 7.6B, Q4_K_M), контекст 8192",
      "gone (llama, 8B, Q4_K_M), контекст 4096 — файла нет",
    ]);
    expect(within(select).getByRole("option", { name: /gone/ })).toBeDisabled();
    expect(select).toHaveAccessibleDescription(/avatar models add-llm/);

    await user.selectOptions(select, OWN);
    expect(server.calls("PUT /api/settings")[0].json()).toEqual({ options: { llm: { model: OWN, n_ctx: 8192 } } });
    await waitFor(() => expect(select).toHaveValue(OWN));
  });

  it("is not shown for another LLM engine, nor by a server without the list", async () => {
    server.on("GET /api/settings", { json: uiSettings({ engines: { ...uiSettings().engines, llm: "ollama" } }) });
    server.on("GET /api/settings/llm-models", { json: llmModels() });
    renderSettings();
    expect(await screen.findByTestId("engine-llm")).toHaveValue("ollama");
    expect(screen.queryByTestId("llm-model-settings")).not.toBeInTheDocument();
    expect(server.calls("GET /api/settings/llm-models")).toHaveLength(0);
  });

  it("says so when the list cannot be loaded, and retries", async () => {
    server.on("GET /api/settings", { json: uiSettings() });
    server.on("GET /api/settings/llm-models", errorReply(500, "internal_error", "Сбой."));
    const user = renderSettings();
    const error = await screen.findByTestId("llm-models-error");
    expect(error).toHaveTextContent("Не удалось загрузить список моделей");
    server.on("GET /api/settings/llm-models", { json: llmModels() });
    await user.click(within(error).getByRole("button", { name: "Повторить" }));
    expect(await screen.findByTestId("llm-model")).toHaveValue(EMBEDDED); // the server's current model
  });
});
