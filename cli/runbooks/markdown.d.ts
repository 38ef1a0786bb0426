// Runbooks are Markdown files imported as text: esbuild's `text` loader (scripts/build.mjs) for
// the bundle, and a small transform plugin in vitest.config.ts for the unit tests.
declare module "*.md" {
  const text: string;
  export default text;
}
