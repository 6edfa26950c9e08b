// Accessibility: axe-core (the devDependency) run in the page on each screen. Every violation is
// printed (rule, impact, targets); "serious" and "critical" ones fail the run.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { log } from "./report.mjs";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const FAILING = new Set(["serious", "critical"]);

/** Run axe on the page as it is now, as screen `screen`. Returns the violations. */
export async function checkA11y(page, screen, report) {
  // evaluated, not added as a <script>: no Content-Security-Policy of the app can block it
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => {
        // colour pairs make a contrast finding actionable without rerunning
        const c = n.any?.find((check) => check.data?.contrastRatio)?.data;
        const colours = c ? ` ${c.fgColor} on ${c.bgColor} = ${c.contrastRatio}:1 < ${c.expectedContrastRatio}` : "";
        const text = n.html.replace(/\s+/g, " ").slice(0, 90);
        return `${n.target.join(" ")}${colours} «${text}»`;
      }),
    }));
  });
  if (!violations.length) log(`axe ${screen}: no violations`);
  for (const v of violations) {
    const targets = v.targets.slice(0, 4).join("; ") + (v.targets.length > 4 ? `; … (${v.targets.length} in all)` : "");
    log(`axe ${screen}: ${v.id} [${v.impact}] ${targets} (${v.help})`);
    if (FAILING.has(v.impact)) report.fail("axe", `${screen}: ${v.id} [${v.impact}] ${targets}: ${v.help}`);
  }
  return violations;
}
