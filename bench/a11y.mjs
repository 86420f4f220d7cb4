// axe-core (light and dark colour scheme) and Lighthouse on the pages of a
// running stadtfeed: bench/a11y.sh starts one and runs this.
//   node bench/a11y.mjs http://127.0.0.1:8089 /artikel/2022-asskomm-werdau/ …
import { createRequire } from "node:module";
import fs from "node:fs";

const require = createRequire(process.env.A11Y_MODULES + "/");
const puppeteer = require("puppeteer-core");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

const [base, ...paths] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  args: ["--no-sandbox", "--headless=new", "--remote-debugging-port=9333"],
});
let failed = 0;
for (const path of paths) {
  for (const scheme of ["light", "dark"]) {
    const page = await browser.newPage();
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
    await page.setViewport({ width: 390, height: 844 });
    await page.goto(base + path, { waitUntil: "load" });
    await page.evaluate(axeSource);
    const result = await page.evaluate(() =>
      axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] })
    );
    const violations = result.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.help}`);
    failed += violations.length;
    console.log(`axe ${scheme.padEnd(5)} ${path}: ${violations.length} violations, ${result.passes.length} rules passed` +
      (violations.length ? "\n  " + violations.join("\n  ") : ""));
    await page.close();
  }
}
const lighthouse = (await import(require.resolve("lighthouse"))).default;
for (const path of paths.slice(0, 3)) {
  const run = await lighthouse(base + path, {
    port: 9333,
    output: "json",
    logLevel: "error",
    onlyCategories: ["accessibility", "seo", "best-practices"],
    formFactor: "mobile",
  });
  const scores = Object.values(run.lhr.categories).map((c) => `${c.title} ${Math.round(c.score * 100)}`);
  const misses = Object.values(run.lhr.audits)
    .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== "informative" && a.scoreDisplayMode !== "manual")
    .map((a) => a.id);
  console.log(`lighthouse ${path}: ${scores.join(", ")}${misses.length ? " — not passed: " + misses.join(", ") : ""}`);
}
await browser.close();
process.exit(failed ? 1 : 0);
