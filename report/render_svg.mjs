// Static SVG copies of an experiment run's figures, for the README and for readers without a
// browser: for every figure listed in DIR/<experiment>/result.json, compiles its Vega-Lite spec
// (<figure>.vl.json) with vega-lite and renders it with vega's headless View (toSVG needs no
// canvas), writing DIR/<experiment>/<figure>.svg through a temporary file and a rename.
//
//   node render_svg.mjs ASSETS_DIR RUN_DIR
//
// ASSETS_DIR holds node_modules/{vega,vega-lite} (the build's report/ dir); the packages are
// loaded from there, so this script may live anywhere. Prints one line per SVG written; exits 1
// with one line on stderr if a spec cannot be rendered.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [assetsDir, runDir] = process.argv.slice(2);
if (!assetsDir || !runDir) {
  console.error('usage: node render_svg.mjs ASSETS_DIR RUN_DIR');
  process.exit(2);
}
const require = createRequire(path.resolve(assetsDir, 'node_modules') + path.sep);
const vega = require('vega');
const vegaLite = require('vega-lite');

function writeAtomically(file, text) {
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

async function render(specFile, svgFile) {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeAtomically(svgFile, svg);
}

let failed = false;
for (const entry of fs.readdirSync(runDir, { withFileTypes: true })) {
  if (!entry.isDirectory()) continue;
  const experimentDir = path.join(runDir, entry.name);
  const resultFile = path.join(experimentDir, 'result.json');
  if (!fs.existsSync(resultFile)) continue;
  const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  for (const figure of result.figures ?? []) {
    // File names come from the experiment; refuse anything that would leave its folder.
    const safe = (name) => typeof name === 'string' && path.basename(name) === name;
    if (!safe(figure.spec) || !safe(figure.svg)) {
      console.error(`render_svg: ${resultFile}: figure file names must be plain names`);
      failed = true;
      continue;
    }
    try {
      await render(path.join(experimentDir, figure.spec), path.join(experimentDir, figure.svg));
      console.log(path.join(experimentDir, figure.svg));
    } catch (error) {
      console.error(`render_svg: ${path.join(experimentDir, figure.spec)}: ${error.message}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
