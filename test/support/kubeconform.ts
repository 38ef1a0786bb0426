import { kubeconformBinary } from "../../scripts/env/kubeconform.js";
import { run } from "./kubectl.js";

export { kubeconformBinary } from "../../scripts/env/kubeconform.js";

/** One object as `kubeconform -output json -verbose` reports it. */
export interface KubeconformResource {
  kind: string;
  name: string;
  version: string;
  status: string;
  msg: string;
  validationErrors?: { path: string; msg: string }[];
}

export interface KubeconformResult {
  code: number;
  resources: KubeconformResource[];
  stderr: string;
}

/**
 * `kubeconform -strict` of a multi-document manifest against the schemas at `schemaLocation`
 * (test/support/openapi-schemas.ts); every object is reported, valid or not. Never throws on a
 * non-zero exit.
 */
export async function kubeconform(manifest: string, schemaLocation: string, extraArgs: string[] = []): Promise<KubeconformResult> {
  const args = ["-strict", "-output", "json", "-verbose", "-schema-location", schemaLocation, ...extraArgs, "-"];
  const r = await run(kubeconformBinary(), args, { input: manifest, timeoutMs: 60_000 });
  let resources: KubeconformResource[];
  try {
    resources = (JSON.parse(r.stdout) as { resources?: KubeconformResource[] }).resources ?? [];
  } catch {
    throw new Error(`kubeconform ${args.join(" ")} printed no JSON (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return { code: r.code, resources, stderr: r.stderr };
}
