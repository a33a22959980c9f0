// Bundle src/index.js into one minified IIFE for the Studio (no CDN, no node at install time).
//   npm ci && npm run build      -> ../../studio/static/studio/vendor/lac-editor.js
import * as esbuild from "esbuild";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, "../../studio/static/studio/vendor/lac-editor.js");
const pkg = JSON.parse(readFileSync(resolve(here, "package.json"), "utf8"));
const versions = Object.entries(pkg.dependencies).map(([n, v]) => `${n}@${v}`).join(", ");

const options = {
  entryPoints: [resolve(here, "src/index.js")],
  outfile,
  bundle: true,
  format: "iife",
  minify: true,
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  legalComments: "none",
  charset: "utf8",
  banner: {
    js: `/*! lac-editor ${pkg.version} — LAC policy editor for Trust Fabric Studio. Built from frontend/lac-editor (npm ci && npm run build); do not edit. Bundles (MIT): ${versions}, and their dependencies. */`,
  },
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context({ ...options, minify: false, sourcemap: "inline" });
  await ctx.watch();
} else {
  const result = await esbuild.build({ ...options, metafile: true });
  const bytes = Object.values(result.metafile.outputs)[0].bytes;
  console.log(`lac-editor: ${outfile} (${(bytes / 1024).toFixed(1)} KiB)`);
  writeLicenses(Object.keys(result.metafile.inputs));
}

// The MIT notices of every bundled package, beside the bundle.
function writeLicenses(inputs) {
  const pkgs = new Set();
  for (const file of inputs) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m) pkgs.add(m[1]);
  }
  const parts = [];
  for (const name of [...pkgs].sort()) {
    const dir = resolve(here, "node_modules", name);
    const meta = JSON.parse(readFileSync(resolve(dir, "package.json"), "utf8"));
    const lic = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    const text = lic ? readFileSync(resolve(dir, lic), "utf8").trim() : `License: ${meta.license}`;
    parts.push(`${name}@${meta.version} (${meta.license})\n\n${text}\n`);
  }
  const out = outfile.replace(/\.js$/, ".LICENSES.txt");
  writeFileSync(out, `Third-party code bundled in lac-editor.js\n\n${parts.join("\n" + "-".repeat(72) + "\n\n")}`);
  console.log(`lac-editor: ${out} (${pkgs.size} packages)`);
}
