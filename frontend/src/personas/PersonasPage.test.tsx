import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PERSONA_KEY } from "../state/persona";
import { message, messagesPage, sessionInfo, voiceInfo, voiceReport, warmup } from "../test/fixtures";
import { voiceJob, wav } from "../wizard/testing";
import { errorReply, sequence, startServer, type TestServer } from "../test/server";
import { personaServer, renderPersonas, type PersonaStore } from "./testing";

let server: TestServer;
let store: PersonaStore;
beforeEach(async () => {
  server = await startServer();
  store = personaServer(server);
});
afterEach(() => server.close());

async function editor(id = 1) {
  await waitFor(() => expect(screen.getByTestId("persona-editor")).toHaveAttribute("data-persona", String(id)));
  return screen.getByTestId("persona-editor");
}

describe("persona screen: character", () => {
  it("fills the wizard's form with the persona, checks it like the wizard and saves the character with PATCH", async () => {
    server.on("GET /api/personas/1/warmup", sequence({ json: warmup() }, { json: warmup({ status: "running", progress: 0.4 }) }, { json: warmup() }));
    const { user } = renderPersonas(server);
    await editor();
    const name = screen.getByLabelText("Имя");
    expect(name).toHaveValue("Аня");
    expect(screen.getByLabelText("Возраст")).toHaveValue("25");
    expect(screen.getByLabelText("Интересы")).toHaveValue("книги");
    // ready before any edit: nothing to report
    expect(screen.queryByTestId("persona-warmup")).not.toBeInTheDocument();

    await user.clear(name);
    await user.clear(screen.getByLabelText("Возраст"));
    await user.type(screen.getByLabelText("Возраст"), "200");
    await user.click(screen.getByTestId("edit-save"));
    expect(await screen.findByText("Введите имя.")).toBeInTheDocument();
    expect(screen.getByText("Возраст: целое число от 1 до 120.")).toBeInTheDocument();
    expect(screen.getByTestId("edit-error")).toHaveTextContent("Проверьте поля, отмеченные красным.");
    expect(name).toHaveFocus();
    expect(server.calls("PATCH /api/personas/1")).toHaveLength(0);

    await user.type(name, "Анна");
    await user.clear(screen.getByLabelText("Возраст"));
    await user.type(screen.getByLabelText("Возраст"), "26");
    await user.clear(screen.getByLabelText("Интересы"));
    await user.type(screen.getByLabelText("Интересы"), "кино; походы");
    await user.click(screen.getByTestId("edit-save"));
    expect(await screen.findByTestId("edit-saved")).toHaveTextContent("Сохранено");
    const [patch] = server.calls("PATCH /api/personas/1");
    expect(patch.json()).toEqual({
      name: "Анна", age: 26, gender: "female", temperament: "спокойная", interests: ["кино", "походы"],
      speech_style: "дружелюбно", greeting: "Привет! Я Аня.", notes: "",
    });
    // the persona list shows the new name, and the warm-up that the edit started runs to its end
    await waitFor(() => expect(screen.getByRole("button", { name: "Анна" })).toBeInTheDocument());
    const status = await screen.findByTestId("persona-warmup");
    await waitFor(() => expect(status).toHaveAttribute("data-status", "ready"));
    expect(status).toHaveTextContent("Персонаж готов отвечать сразу");
  });

  it("edits the persona picked in the list and selects it in the app", async () => {
    const { user } = renderPersonas(server);
    await editor(1);
    await user.click(screen.getByRole("button", { name: "Олег" }));
    await editor(2);
    expect(screen.getByLabelText("Имя")).toHaveValue("Олег");
    expect(screen.getByLabelText("Пол")).toHaveValue("male");
    expect(screen.getByRole("button", { name: "Олег" })).toHaveAttribute("aria-current", "true");
    expect(window.localStorage.getItem(PERSONA_KEY)).toBe("2");
  });
});

describe("persona screen: photo and voice", () => {
  it("uploads a new photo and sets it as the persona's avatar; a refused photo offers another one", async () => {
    server.on("POST /api/avatars", errorReply(422, "no_face", "На фото не найдено лицо."));
    const { user } = renderPersonas(server);
    await editor();
    expect(screen.getByTestId("edit-photo-default")).toBeInTheDocument();
    const input = screen.getByTestId("edit-photo-input");
    await user.upload(input, new File([new Uint8Array(100)], "a.jpg", { type: "image/jpeg" }));
    expect(await screen.findByTestId("edit-photo-error")).toHaveTextContent("На фото не найдено лицо.");
    expect(screen.getByRole("button", { name: "Выбрать другое фото" })).toBeInTheDocument();
    expect(server.calls("PATCH /api/personas/1")).toHaveLength(0);

    server.on("POST /api/avatars", { json: { avatar_id: "a9", warnings: [], face_px: 200, crop_url: "/api/avatars/a9/crop.png" } });
    await user.upload(input, new File([new Uint8Array(100)], "b.jpg", { type: "image/jpeg" }));
    await waitFor(() => expect(server.calls("PATCH /api/personas/1")).toHaveLength(1));
    expect(server.calls("PATCH /api/personas/1")[0].json()).toEqual({ avatar_id: "a9" });
    expect(await screen.findByTestId("edit-photo")).toHaveAttribute("src", `${server.url}/api/avatars/a9/crop.png`);
    expect(screen.queryByTestId("edit-photo-error")).not.toBeInTheDocument();
  });

  it("switches the recorded voice and the standard voice with PATCH", async () => {
    const { user } = renderPersonas(server);
    await editor();
    const recorded = screen.getByLabelText("Записанный голос");
    await waitFor(() => expect(within(recorded).getAllByRole("option")).toHaveLength(3));
    expect(recorded).toHaveValue("");
    await user.selectOptions(recorded, "v2");
    await waitFor(() => expect(server.calls("PATCH /api/personas/1")).toHaveLength(1));
    expect(server.calls("PATCH /api/personas/1")[0].json()).toEqual({ voice_id: "v2" });
    await waitFor(() => expect(recorded).toHaveValue("v2"));

    // the default voice of a woman is selected until one is picked
    expect(await screen.findByRole("radio", { name: /Анна/ })).toBeChecked();
    await user.click(screen.getByRole("radio", { name: /Елена/ }));
    await waitFor(() => expect(server.calls("PATCH /api/personas/1")).toHaveLength(2));
    expect(server.calls("PATCH /api/personas/1")[1].json()).toEqual({ tts_voice: "elena" });
    await waitFor(() => expect(screen.getByRole("radio", { name: /Елена/ })).toBeChecked());
    expect(screen.getByTestId("edit-voice-add")).toHaveTextContent("Добавить записи");
  });
});

describe("persona screen: recordings", () => {
  it("records a new voice for a persona without one, sets it as its voice and prepares it", async () => {
    voiceJob(server, "POST /api/voices", "e1", { result: { voice: voiceInfo({ id: "v9" }), report: voiceReport() } }, ["Анализ записи 1 из 1"]);
    server.on("POST /api/voices/v9/prepare", { status: 202, json: { job_id: "p1", status_url: "/api/jobs/p1" } });
    server.on("GET /api/jobs/p1", sequence(
      { json: { id: "p1", kind: "voice_prepare", status: "running", progress: 0.5, message: "Подстройка голоса" } },
      { json: { id: "p1", kind: "voice_prepare", status: "done", progress: 1, message: "Голос готов", result: {} } },
    ));
    const { user } = renderPersonas(server);
    await editor();
    const add = screen.getByTestId("edit-voice-add");
    expect(add).toHaveTextContent("Записать свой голос");
    await user.click(add);
    expect(add).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByTestId("reading-prompt")).toBeInTheDocument();
    await user.upload(screen.getByTestId("edit-voice-input"), [wav()]);
    expect(await screen.findByTestId("voice-enough")).toHaveAttribute("data-level", "enough");
    expect((await server.calls("POST /api/voices")[0].form()).get("name")).toBe("Голос Аня");
    await waitFor(() => expect(server.calls("PATCH /api/personas/1")).toHaveLength(1));
    expect(server.calls("PATCH /api/personas/1")[0].json()).toEqual({ voice_id: "v9" });

    await user.click(await screen.findByTestId("edit-voice-prepare"));
    expect(await screen.findByText("Голос подготовлен.", {}, { timeout: 3000 })).toBeInTheDocument();
    expect(server.calls("POST /api/voices/v9/prepare")).toHaveLength(1);
  });
});

describe("persona screen: memory and conversations", () => {
  it("lists what the persona learnt, forgets a fact, and says so when nothing is left", async () => {
    const { user } = renderPersonas(server);
    await editor();
    const facts = await screen.findAllByTestId("fact");
    expect(facts.map((f) => f.textContent)).toEqual(["city: КазаньЗабыть", "pet: кот БарсикЗабыть"]);
    await user.click(screen.getByRole("button", { name: "Забыть: city" }));
    await waitFor(() => expect(screen.getAllByTestId("fact")).toHaveLength(1));
    expect(server.calls("DELETE /api/personas/1/facts/city")).toHaveLength(1);
    await user.click(screen.getByRole("button", { name: "Забыть: pet" }));
    expect(await screen.findByTestId("facts-empty")).toHaveTextContent("Пока ничего.");
  });

  it("lists the conversations and continues one or starts a new one with this persona selected", async () => {
    server.on("GET /api/personas/2/sessions", {
      json: [sessionInfo({ id: 7, persona_id: 2, title: "Про походы", message_count: 12 }), sessionInfo({ id: 6, persona_id: 2, title: null, message_count: 0, last_message_at: null })],
    });
    const { user } = renderPersonas(server);
    await editor(1);
    expect(await screen.findByTestId("sessions-empty")).toHaveTextContent("Разговоров ещё не было.");
    await user.click(screen.getByRole("button", { name: "Олег" }));
    await editor(2);
    const rows = await screen.findAllByTestId("session");
    expect(rows[0]).toHaveTextContent("Про походы");
    expect(rows[0]).toHaveTextContent("12 сообщений");
    expect(rows[0]).toHaveTextContent("2025");
    expect(rows[1]).toHaveTextContent("Без сообщений");
    expect(rows[1]).toHaveTextContent("0 сообщений");

    window.localStorage.setItem(PERSONA_KEY, "1");
    await user.click(within(rows[0]).getByRole("button", { name: "Продолжить" }));
    expect(window.location.hash).toBe("#/talk?session=7");
    expect(window.localStorage.getItem(PERSONA_KEY)).toBe("2");

    await user.click(screen.getByTestId("session-new"));
    expect(window.location.hash).toBe("#/talk?new=1");
  });

  it("shows a conversation's history, older pages on request", async () => {
    server.on("GET /api/personas/1/sessions", { json: [sessionInfo({ id: 5, message_count: 4 })] });
    server.on("GET /api/sessions/5/messages", (req) =>
      req.query.get("before") === "3"
        ? { json: messagesPage([message(1, "Привет!"), message(2, "Привет! Я Аня.")]) }
        : { json: messagesPage([message(3, "Что почитать?"), message(4, "Попробуй Чехова.")], 3) },
    );
    const { user } = renderPersonas(server);
    await editor();
    const history = await screen.findByRole("button", { name: "История" });
    expect(history).toHaveAttribute("aria-expanded", "false");
    await user.click(history);
    expect(history).toHaveAttribute("aria-expanded", "true");
    await waitFor(() => expect(screen.getAllByTestId("history-message")).toHaveLength(2));
    expect(screen.getAllByTestId("history-message")[0]).toHaveTextContent("Вы");
    expect(screen.getAllByTestId("history-message")[1]).toHaveTextContent("Аня");
    expect(server.calls("GET /api/sessions/5/messages")[0].query.get("before")).toBeNull();

    await user.click(screen.getByRole("button", { name: "Показать раньше" }));
    await waitFor(() => expect(screen.getAllByTestId("history-message")).toHaveLength(4));
    expect(screen.getAllByTestId("history-message").map((m) => m.textContent?.split("·")[1].replace(/^.*?\d\d:\d\d/, ""))).toEqual([
      "Привет!", "Привет! Я Аня.", "Что почитать?", "Попробуй Чехова.",
    ]);
    expect(server.calls("GET /api/sessions/5/messages")[1].query.get("before")).toBe("3");
    expect(screen.queryByRole("button", { name: "Показать раньше" })).not.toBeInTheDocument();
  });
});

describe("persona screen: deletion", () => {
  it("asks in a modal dialog, cancels with Escape, deletes on confirmation and selects another persona", async () => {
    window.localStorage.setItem(PERSONA_KEY, "1");
    const { user } = renderPersonas(server);
    await editor(1);
    const remove = screen.getByTestId("persona-delete");
    await user.click(remove);
    const dialog = screen.getByRole("dialog", { name: "Удалить «Аня»?" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(within(dialog).getByRole("button", { name: "Отмена" })).toHaveFocus();
    // Tab stays inside
    await user.tab();
    expect(within(dialog).getByRole("button", { name: "Удалить" })).toHaveFocus();
    await user.tab();
    expect(within(dialog).getByRole("button", { name: "Отмена" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(remove).toHaveFocus();
    expect(server.calls("DELETE /api/personas/1")).toHaveLength(0);

    await user.click(remove);
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Удалить" }));
    await editor(2);
    expect(server.calls("DELETE /api/personas/1")).toHaveLength(1);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(window.localStorage.getItem(PERSONA_KEY)).toBe("2");
    expect(screen.queryByRole("button", { name: "Аня" })).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("heading", { name: "Персонажи" })).toHaveFocus());
    expect(store.personas.map((p) => p.id)).toEqual([2]);
  });

  it("leads to the wizard when the last persona is deleted, and shows a failed deletion in the dialog", async () => {
    store = personaServer(server, [store.personas[0]]);
    server.on("DELETE /api/personas/1", errorReply(503, "busy", "Сервер занят или ещё загружается."));
    window.location.hash = "#/personas";
    const { user } = renderPersonas(server);
    await editor(1);
    await user.click(screen.getByTestId("persona-delete"));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Удалить" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("Сервер занят");

    server.on("DELETE /api/personas/1", () => {
      store.personas = [];
      return { status: 204 };
    });
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Удалить" }));
    await waitFor(() => expect(window.location.hash).toBe("#/wizard"));
  });
});
