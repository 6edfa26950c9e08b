// Opening a screen through its header tab, then axe and a screenshot.
import { checkA11y } from "./axe.mjs";
import { settle } from "./conversation.mjs";
import { log } from "./report.mjs";

/**
 * Open `#/route` by its tab in the header and check it. `ready` (a locator) says the screen is shown;
 * without it the screen's own data-testid (the route name) is tried, then the tab's aria-current.
 * A missing tab is a failure.
 */
export async function openScreen(page, { route, ready, out, report, timeout }) {
  const tab = page.locator(`header a[href="#/${route}"]`).first();
  if (!(await tab.count())) {
    report.fail(route, `no header tab for #/${route}`);
    return false;
  }
  log(`screen #/${route}`);
  await tab.click();
  await page.waitForFunction((r) => window.location.hash.startsWith(`#/${r}`), route, { timeout });
  const own = ready ?? page.getByTestId(route);
  const shown = await own.first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (!shown) {
    log(`#/${route}: no [data-testid=${route}]; waiting for the tab to be current`);
    await page.locator(`header a[href="#/${route}"][aria-current="page"]`).first().waitFor({ timeout });
  }
  await settle(page);
  await checkA11y(page, route, report);
  await page.screenshot({ path: `${out}/${route}.png`, fullPage: true });
  return true;
}
