// Bundles the page (src/main.ts and everything it imports, generated code included) into
// web/ui/app.js, which the server builds into its binary. `--out FILE` writes elsewhere (verify.mjs).
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const app = path.resolve(here, "..");
const outIndex = process.argv.indexOf("--out");
const outfile = outIndex > 0 ? process.argv[outIndex + 1] : path.resolve(app, "../ui/app.js");

export const options = {
  entryPoints: [path.join(app, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await esbuild.build({ ...options, outfile });
  console.log(`built ${path.relative(process.cwd(), outfile)}`);
}
