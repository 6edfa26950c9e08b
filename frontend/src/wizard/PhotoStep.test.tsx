import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../test/server";
import { persona } from "../test/fixtures";
import { errorReply, jpeg, renderWizard } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  server.on("GET /api/personas", { json: [persona()] });
});
afterEach(() => server.close());

describe("photo step", () => {
  it("shows the server's Russian reason when the photo is refused, then retries the same photo", async () => {
    server.on("POST /api/avatars", errorReply(422, "no_face", "На фото не найдено лицо. Загрузите фото, где лицо хорошо видно."));
    const { user } = renderWizard(server);
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    expect(screen.getByTestId("wizard-back")).toBeDisabled();

    await user.upload(screen.getByTestId("photo-input"), jpeg());
    const error = await screen.findByTestId("photo-error");
    expect(error).toHaveTextContent("На фото не найдено лицо.");
    expect(screen.queryByTestId("photo-preview")).not.toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeDisabled();

    server.on("POST /api/avatars", { json: { avatar_id: "a7", warnings: ["На фото несколько лиц: взято самое крупное."], face_px: 180, crop_url: "/api/avatars/a7/crop.png" } });
    await user.click(screen.getByRole("button", { name: "Повторить" }));
    const preview = await screen.findByTestId("photo-preview");
    expect(preview).toHaveAttribute("src", `${server.url}/api/avatars/a7/crop.png`);
    expect(screen.queryByTestId("photo-error")).not.toBeInTheDocument();
    expect(screen.getByText(/несколько лиц/)).toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeEnabled();

    // Both attempts sent the same photo.
    const sizes = await Promise.all(server.calls("POST /api/avatars").map(async (r) => ((await r.form()).get("photo") as File).size));
    expect(sizes).toEqual([2048, 2048]);
  });

  it("reports a lost server in Russian", async () => {
    server.on("POST /api/avatars", { status: 503, body: "busy" });
    const { user } = renderWizard(server);
    await user.upload(screen.getByTestId("photo-input"), jpeg());
    await waitFor(() => expect(screen.getByTestId("photo-error")).toHaveTextContent("Сервер занят или ещё загружается."));
  });
});
