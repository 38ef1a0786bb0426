// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layers (docs/architecture.md): `shared/` is pure except `shared/kube/`, the one place of it
 * that talks to the API server, and no decision core imports that; the plugin (`cli/`) builds on
 * `shared/` only; the operator never imports the plugin. Static and dynamic imports alike.
 */
const IO_MODULES = ["node:net", "node:fs", "node:fs/promises", "node:http", "node:https", "node:child_process", "mysql2", "mysql2/promise", "ws", "@kubernetes/client-node"];

/** A rule set that refuses imports whose path matches one of `patterns` (minimatch), with `why`. */
function layer(files, ignores, patterns, why, { typesAllowed = false } = {}) {
  const regex = patterns.map((p) => p.replaceAll(".", "\\.").replaceAll("/", "\\/").replaceAll("**", ".*")).join("|");
  return {
    files,
    ignores,
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: patterns, message: why, allowTypeImports: typesAllowed }] }],
      "no-restricted-syntax": ["error", { selector: `ImportExpression[source.value=/^(${regex})$/]`, message: why }],
    },
  };
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
      eqeqeq: ["error", "always"],
    },
  },
  // Types of the Kubernetes object model (V1ObjectMeta) are data, not I/O: type imports pass.
  layer(["shared/**/*.ts"], ["shared/kube/**"], [...IO_MODULES, "**/kube/**", "**/operator/**", "**/cli/**"], "shared/ is pure outside shared/kube/: no I/O module, no Kubernetes client, nothing of operator/ or cli/", { typesAllowed: true }),
  layer(["shared/kube/**/*.ts"], [], ["**/operator/**", "**/cli/**"], "shared/kube/ serves both programs: it imports neither operator/ nor cli/"),
  layer(["cli/**/*.ts"], [], ["**/operator/**"], "the plugin imports only shared/ (the Kubernetes client is shared/kube/)"),
  layer(["operator/**/*.ts"], [], ["**/cli/**"], "the operator never imports the plugin"),
  // Later entries win for the same files: this one repeats the plugin rule for the agent.
  layer(["operator/agent/**/*.ts"], [], ["**/cli/**", "**/kube/**", "**/group/**", "**/failover/**", "**/planned/**", "**/routing/**", "@kubernetes/client-node"], "the agent runs beside a server without Kubernetes credentials: no Kubernetes client, none of the operator's group logic, never the plugin"),
);
