// Bundles the CLI and the operator with esbuild into dist/.
//   dist/kubectl-bloodraven  one executable file (node shebang), CommonJS: copied alone it runs
//                            as CommonJS by default; inside dist/ a package.json says so, since
//                            the repository's package.json declares "type": "module"
//   dist/bloodraven.mjs      the operator
//   dist/kubectl_complete-bloodraven  what kubectl 1.26+ runs to complete `kubectl bloodraven ...`
//   dist/sea/kubectl-bloodraven.cjs  the same CLI as the main script of the standalone executables
//                            (Node.js single executable applications, scripts/release/plugin.mjs):
//                            CommonJS without a shebang
// Every bundle takes the npm punycode package in place of Node's deprecated built-in one (the
// Kubernetes client's URL library asks for it), whose warning Node 21 and later would print on
// every API call.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
// BLOODRAVEN_COMMIT names it where there is no .git (the Dockerfile's build stage passes its REVISION).
let commit = process.env.BLOODRAVEN_COMMIT || "unknown";
if (!process.env.BLOODRAVEN_COMMIT) {
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // Not a git checkout (a source tarball): keep "unknown".
  }
}

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  define: {
    __BLOODRAVEN_VERSION__: JSON.stringify(pkg.version),
    __BLOODRAVEN_COMMIT__: JSON.stringify(commit),
  },
  loader: { ".md": "text" },
  alias: { punycode: "punycode/" },
};

const started = Date.now();
mkdirSync("dist", { recursive: true });
writeFileSync("dist/package.json", `${JSON.stringify({ type: "commonjs" })}\n`);
await Promise.all([
  build({
    ...common,
    entryPoints: ["cli/main.ts"],
    outfile: "dist/kubectl-bloodraven",
    format: "cjs",
    banner: { js: "#!/usr/bin/env node" },
  }),
  build({
    ...common,
    entryPoints: ["cli/main.ts"],
    outfile: "dist/sea/kubectl-bloodraven.cjs",
    format: "cjs",
  }),
  build({
    ...common,
    entryPoints: ["operator/main.ts"],
    outfile: "dist/bloodraven.mjs",
    format: "esm",
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __bloodravenRequire } from 'node:module'; const require = __bloodravenRequire(import.meta.url);" },
  }),
]);
chmodSync("dist/kubectl-bloodraven", 0o755);
chmodSync("dist/bloodraven.mjs", 0o755);
// One source for the script: the plugin prints it.
writeFileSync("dist/kubectl_complete-bloodraven", execFileSync(process.execPath, ["dist/kubectl-bloodraven", "completion", "kubectl"]));
chmodSync("dist/kubectl_complete-bloodraven", 0o755);
console.log(`built dist/kubectl-bloodraven, dist/sea/kubectl-bloodraven.cjs and dist/bloodraven.mjs in ${Date.now() - started} ms`);
