// Opens a gradscope report in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and checks what a reader would see: every figure drawn as a chart, no network
// request but the file itself, no console error. Saves a screenshot of the whole page.
//
//   node report_in_browser.mjs ASSETS_DIR REPORT_HTML RUN_DIR SCREENSHOT_PNG
//
// ASSETS_DIR holds node_modules/playwright-core (the build's report/ folder); RUN_DIR is the
// folder the report was made from: its result.json files say how many figures there are.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [assetsDir, reportFile, runDir, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node report_in_browser.mjs ASSETS_DIR REPORT_HTML RUN_DIR SCREENSHOT_PNG');
  process.exit(2);
}
const require = createRequire(path.resolve(assetsDir, 'node_modules') + path.sep);
const { chromium } = require('playwright-core');

let expectedFigures = 0;
for (const entry of fs.readdirSync(runDir, { withFileTypes: true })) {
  const resultFile = path.join(runDir, entry.name, 'result.json');
  if (entry.isDirectory() && fs.existsSync(resultFile)) {
    expectedFigures += JSON.parse(fs.readFileSync(resultFile, 'utf8')).figures.length;
  }
}

const userDataDir = fs.mkdtempSync(path.join(path.dirname(path.resolve(screenshot)), 'chromium-'));
const failures = [];
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // Chromium's own background traffic is refused by this machine's closed network: keep it off.
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1100, height: 900 },
});
try {
  const page = await context.newPage();
  const url = pathToFileURL(path.resolve(reportFile)).href;
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') failures.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => failures.push(`page error: ${error.message}`));

  await page.goto(url, { waitUntil: 'load' });
  // vega-embed draws asynchronously: wait for as many SVG charts as figures (or time out).
  const selector = '.vega-embed svg.marks';
  await page
    .waitForFunction(
      ([sel, n]) => document.querySelectorAll(sel).length >= n,
      [selector, expectedFigures],
      { timeout: 30000 },
    )
    .catch(() => {});
  const charts = await page.locator(selector).count();
  // A drawn line chart has path marks; an empty SVG would pass the count alone.
  const lines = await page.locator('.vega-embed svg.marks path').count();
  await page.screenshot({ path: screenshot, fullPage: true });

  if (expectedFigures === 0) failures.push(`${runDir}: no figures in any result.json`);
  if (charts !== expectedFigures) {
    failures.push(`${charts} charts rendered, ${expectedFigures} figures in ${runDir}`);
  }
  if (lines < expectedFigures) failures.push(`only ${lines} path marks in ${charts} charts`);
  const others = requests.filter((r) => r !== url);
  if (others.length > 0) failures.push(`network requests besides the file: ${others.join(', ')}`);
  console.log(
    `report_in_browser: ${charts}/${expectedFigures} charts, ${requests.length} request(s), ` +
      `screenshot ${screenshot}`,
  );
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
for (const failure of failures) console.error(`report_in_browser: FAIL: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
