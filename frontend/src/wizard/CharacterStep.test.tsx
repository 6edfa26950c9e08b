import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../test/server";
import { errorReply, happyServer, passPhoto, passVoice, renderWizard } from "./testing";
import { splitInterests, validatePersona } from "./personaForm";
import { initialForm } from "./state";

let server: TestServer;
beforeEach(async () => {
  server = happyServer(await startServer());
  server.on("POST /api/voices/v1/prepare", { status: 202, json: { job_id: "p1", status_url: "/api/jobs/p1" } });
  server.on("GET /api/jobs/p1", { json: { id: "p1", status: "running", progress: 0.1, message: "Нарезка фраз" } });
});
afterEach(() => server.close());

describe("persona form validation", () => {
  it("checks the fields with Russian messages", () => {
    expect(validatePersona(initialForm)).toEqual({ name: "Введите имя.", age: "Укажите возраст." });
    expect(validatePersona({ ...initialForm, name: "Аня", age: "12.5" }).age).toBe("Возраст: целое число от 1 до 120.");
    expect(validatePersona({ ...initialForm, name: "Аня", age: "121" }).age).toBe("Возраст: целое число от 1 до 120.");
    expect(validatePersona({ ...initialForm, name: "x".repeat(61), age: "30" }).name).toBe("Имя не длиннее 60 символов.");
    expect(validatePersona({ ...initialForm, name: "Аня", age: "30", greeting: "а".repeat(301) }).greeting).toBe("Приветствие: не длиннее 300 символов.");
    expect(validatePersona({ ...initialForm, name: "Аня", age: "30", interests: "a,".repeat(21) }).interests).toBe("Не больше 20 интересов.");
    expect(validatePersona({ ...initialForm, name: "Аня", age: "30" })).toEqual({});
    expect(splitInterests("книги, кино;\n походы, ")).toEqual(["книги", "кино", "походы"]);
  });
});

describe("character step", () => {
  it("shows validation messages, then creates the persona with the photo and voice", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await passVoice(user);

    await user.click(screen.getByTestId("wizard-next"));
    expect(await screen.findByText("Введите имя.")).toBeInTheDocument();
    expect(screen.getByText("Укажите возраст.")).toBeInTheDocument();
    expect(screen.getByTestId("persona-name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("persona-name")).toHaveFocus();
    expect(server.calls("POST /api/personas")).toHaveLength(0);

    await user.type(screen.getByTestId("persona-name"), "Маша");
    expect(screen.queryByText("Введите имя.")).not.toBeInTheDocument();
    await user.type(screen.getByTestId("persona-age"), "300");
    await user.click(screen.getByTestId("wizard-next"));
    expect(await screen.findByText("Возраст: целое число от 1 до 120.")).toBeInTheDocument();

    await user.clear(screen.getByTestId("persona-age"));
    await user.type(screen.getByTestId("persona-age"), "30");
    await user.selectOptions(screen.getByTestId("persona-gender"), "female");
    await user.type(screen.getByTestId("persona-temperament"), "весёлая");
    await user.type(screen.getByTestId("persona-interests"), "книги, кино");
    await user.type(screen.getByTestId("persona-style"), "на «ты»");
    await user.type(screen.getByTestId("persona-greeting"), "Привет!");
    await user.type(screen.getByTestId("persona-notes"), "любит кошек");
    await user.click(screen.getByTestId("wizard-next"));

    await screen.findByTestId("voice-prepare-progress");
    expect(server.calls("POST /api/personas")[0].json()).toEqual({
      name: "Маша", age: 30, gender: "female", temperament: "весёлая", interests: ["книги", "кино"], speech_style: "на «ты»",
      greeting: "Привет!", notes: "любит кошек", language: "ru", avatar_id: "a1", voice_id: "v1", tts_voice: "anna",
    });

    // Back, change a field, forward again: the same persona is updated, nothing is typed twice.
    await user.click(screen.getByTestId("wizard-back"));
    expect(await screen.findByTestId("persona-name")).toHaveValue("Маша");
    await user.type(screen.getByTestId("persona-name"), "ня");
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("voice-prepare-progress");
    expect(server.calls("POST /api/personas")).toHaveLength(1);
    expect(server.calls("PUT /api/personas/5")[0].json()).toMatchObject({ name: "Машаня" });
  });

  it("keeps the inputs when the server refuses the persona", async () => {
    server.on("POST /api/personas", errorReply(422, "bad_persona", "Поле «Заметки» длиннее 2000 символов."));
    const { user } = renderWizard(server);
    await passPhoto(user);
    await passVoice(user);
    await user.type(screen.getByTestId("persona-name"), "Петя");
    await user.type(screen.getByTestId("persona-age"), "40");
    await user.click(screen.getByTestId("wizard-next"));
    expect(await screen.findByTestId("persona-error")).toHaveTextContent("Поле «Заметки» длиннее 2000 символов.");
    expect(screen.getByTestId("persona-name")).toHaveValue("Петя");
    await waitFor(() => expect(screen.getByTestId("wizard-next")).toBeEnabled());
  });
});
