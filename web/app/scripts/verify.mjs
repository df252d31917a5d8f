// `make test` runs this: the generated code in src/gen must be what proto/ generates now, and
// web/ui/app.js must be what src/ bundles to now. Either being stale fails the run with the fix.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as esbuild from "esbuild";
import { options } from "./build.mjs";

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "opencourt-verify-"));
const problems = [];

function files(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))],
  );
}

// 1. Generated code: generate into a scratch directory with the same template and compare.
const template = fs.readFileSync(path.join(app, "buf.gen.yaml"), "utf8").replace(/out: src\/gen/, `out: ${path.join(tmp, "gen")}`);
fs.writeFileSync(path.join(tmp, "buf.gen.yaml"), template);
execFileSync(path.join(app, "node_modules/.bin/buf"), ["generate", "--template", path.join(tmp, "buf.gen.yaml")], { cwd: app, stdio: "inherit" });
const fresh = files(path.join(tmp, "gen")).sort();
const committed = files(path.join(app, "src/gen")).sort();
for (const f of new Set([...fresh, ...committed])) {
  const a = path.join(tmp, "gen", f);
  const b = path.join(app, "src/gen", f);
  if (!fs.existsSync(a)) problems.push(`src/gen/${f} is no longer generated from proto/`);
  else if (!fs.existsSync(b)) problems.push(`src/gen/${f} is missing`);
  else if (!fs.readFileSync(a).equals(fs.readFileSync(b))) problems.push(`src/gen/${f} differs from what proto/ generates`);
}

// 2. The bundle the server serves.
const built = await esbuild.build({ ...options, write: false, outfile: path.join(tmp, "app.js") });
const bundle = path.resolve(app, "../ui/app.js");
if (!fs.existsSync(bundle) || !Buffer.from(built.outputFiles[0].contents).equals(fs.readFileSync(bundle))) {
  problems.push("web/ui/app.js is not what src/ bundles to");
}
fs.rmSync(tmp, { recursive: true, force: true });

if (problems.length) {
  console.error("The page is stale:\n  " + problems.join("\n  "));
  console.error("Fix: cd web/app && npm run gen && npm run build (then npm run check), and commit the result.");
  process.exit(1);
}
console.log(`verify: src/gen (${committed.length} files) and web/ui/app.js are up to date`);
