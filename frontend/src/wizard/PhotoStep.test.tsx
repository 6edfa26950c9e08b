import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startServer, type TestServer } from "../test/server";
import { persona } from "../test/fixtures";
import { errorReply, jpeg, renderWizard } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  server.on("GET /api/personas", { json: [persona()] });
});
afterEach(() => server.close());

const avatarA7 = { json: { avatar_id: "a7", warnings: ["На фото несколько лиц: взято самое крупное."], face_px: 180, crop_url: "/api/avatars/a7/crop.png" } };

describe("photo step", () => {
  it("shows the server's Russian reason when the photo is refused and offers another photo, not the same one", async () => {
    server.on("POST /api/avatars", errorReply(422, "no_face", "На фото не найдено лицо. Загрузите фото, где лицо хорошо видно."));
    const { user } = renderWizard(server);
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    expect(screen.getByTestId("wizard-back")).toBeDisabled();

    await user.upload(screen.getByTestId("photo-input"), jpeg());
    const error = await screen.findByTestId("photo-error");
    expect(error).toHaveTextContent("На фото не найдено лицо.");
    expect(screen.queryByTestId("photo-preview")).not.toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Повторить" })).not.toBeInTheDocument();

    // «Выбрать другое фото» opens the file picker
    const input = screen.getByTestId<HTMLInputElement>("photo-input");
    const click = vi.spyOn(input, "click");
    await user.click(screen.getByRole("button", { name: "Выбрать другое фото" }));
    expect(click).toHaveBeenCalled();

    server.on("POST /api/avatars", avatarA7);
    await user.upload(input, new File([new Uint8Array(1000)], "other.jpg", { type: "image/jpeg" }));
    const preview = await screen.findByTestId("photo-preview");
    expect(preview).toHaveAttribute("src", `${server.url}/api/avatars/a7/crop.png`);
    expect(screen.queryByTestId("photo-error")).not.toBeInTheDocument();
    expect(screen.getByText(/несколько лиц/)).toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeEnabled();
    const sizes = await Promise.all(server.calls("POST /api/avatars").map(async (r) => ((await r.form()).get("photo") as File).size));
    expect(sizes).toEqual([2048, 1000]);
  });

  it("retries the same photo after a lost or busy server", async () => {
    server.on("POST /api/avatars", { status: 503, body: "busy" });
    const { user } = renderWizard(server);
    await user.upload(screen.getByTestId("photo-input"), jpeg());
    await waitFor(() => expect(screen.getByTestId("photo-error")).toHaveTextContent("Сервер занят или ещё загружается."));
    expect(screen.queryByRole("button", { name: "Выбрать другое фото" })).not.toBeInTheDocument();

    server.on("POST /api/avatars", avatarA7);
    await user.click(screen.getByRole("button", { name: "Повторить" }));
    await screen.findByTestId("photo-preview");
    const sizes = await Promise.all(server.calls("POST /api/avatars").map(async (r) => ((await r.form()).get("photo") as File).size));
    expect(sizes).toEqual([2048, 2048]);
  });

  it("says next to a disabled «Далее» why it is disabled", async () => {
    server.on("POST /api/avatars", { ...avatarA7, delayMs: 300 });
    const { user } = renderWizard(server);
    const next = screen.getByTestId("wizard-next");
    const hint = screen.getByTestId("wizard-next-hint");
    expect(hint).toHaveTextContent("Сначала загрузите фото");
    expect(hint).toBeVisible();
    expect(next).toHaveAccessibleDescription("Сначала загрузите фото");

    await user.upload(screen.getByTestId("photo-input"), jpeg());
    await waitFor(() => expect(screen.getByTestId("wizard-next-hint")).toHaveTextContent("Дождитесь проверки фото"));
    await screen.findByTestId("photo-preview");
    expect(screen.queryByTestId("wizard-next-hint")).not.toBeInTheDocument();
    expect(next).toBeEnabled();

    await user.click(next);
    await screen.findByTestId("voice-input");
    expect(screen.getByTestId("wizard-next-hint")).toHaveTextContent("Нужно 30 секунд речи — или пропустите шаг");
    // the voice can be added later on the persona screen
    expect(screen.getByRole("link", { name: "«Персонажи»" })).toHaveAttribute("href", "#/personas");
  });
});
