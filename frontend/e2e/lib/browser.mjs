// Debian's Chromium (never a downloaded browser) with a fake microphone fed from a file. Autoplay is
// left at Chromium's default policy (no --autoplay-policy flag): sound must be unlocked by the app's
// own user gesture (the lobby), exactly as for a real user.
import { chromium } from "playwright-core";
import { guardConsole } from "./consoleGuard.mjs";
import { installMediaHooks } from "./mediaHooks.mjs";

export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
];

export const DESKTOP = { viewport: { width: 1280, height: 900 } };
/** A phone (iPhone 12-14 size) in portrait: touch input, 3x pixels. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };

/** Launch Chromium with the fake microphone playing `mic` (looped) and open one page with `device`. */
export async function openBrowser({ executable, mic, device, report }) {
  const args = [...CHROMIUM_FLAGS, `--use-file-for-fake-audio-capture=${mic}`];
  if (args.some((a) => a.startsWith("--autoplay-policy"))) throw new Error("the autoplay policy must stay Chromium's default");
  const browser = await chromium.launch({ executablePath: executable, args });
  const context = await browser.newContext({ ...device, locale: "ru-RU" });
  await context.addInitScript(installMediaHooks);
  const page = await context.newPage();
  guardConsole(page, report);
  return { browser, context, page };
}
