/**
 * `__complete`: the completion protocol kubectl (1.26+) speaks with plugins. For
 * `kubectl bloodraven <words><TAB>` kubectl runs `kubectl_complete-bloodraven <words> <word being
 * completed>` (dist/ ships that script; it calls this) and reads Cobra's format: one candidate per
 * line as "value<TAB>description", then ":<directive>". The plan is pure (planCompletion); group,
 * site, namespace and context names are then looked up with the connection flags already on the
 * line, within 2 s, and a failed lookup completes nothing rather than printing an error.
 */
import type { Command } from "commander";
import { openContext } from "../kube-context.js";
import { normalizeArgs, parseGlobalFlags, type GlobalFlags } from "../kube-flags.js";
import { commandModels, type CommandModel } from "./completion.js";

/** Cobra's ShellCompDirective bits that this plugin uses. */
export const DIRECTIVE = { default: 0, noFileComp: 4 } as const;

export type Lookup = { kind: "groups" } | { kind: "sites"; group: string } | { kind: "namespaces" } | { kind: "contexts" };

export interface CompletionPlan {
  candidates: { value: string; description?: string }[];
  lookup?: Lookup;
  /** Candidates are kept only when they start with it. */
  prefix: string;
  directive: number;
  /** The connection flags on the line, which the lookup uses as a command would. */
  connection: GlobalFlags;
}

type ValueFlag = "kubeconfig" | "context" | "namespace" | "server" | "token" | "certificateAuthority" | "as" | "asUid";
const CONNECTION: Record<string, ValueFlag> = {
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "-n": "namespace",
  "--namespace": "namespace",
  "--server": "server",
  "--token": "token",
  "--certificate-authority": "certificateAuthority",
  "--as": "as",
  "--as-uid": "asUid",
};

function keepConnectionFlag(connection: GlobalFlags, flag: string, value: string): void {
  const key = CONNECTION[flag];
  if (key) connection[key] = value;
  if (flag === "--as-group") connection.asGroup = [...(connection.asGroup ?? []), value];
}

/** `words`: everything after the plugin name, the last one being the word under completion (maybe ""). */
export function planCompletion(models: readonly CommandModel[], words: readonly string[]): CompletionPlan {
  const byPath = new Map(models.map((m) => [m.path, m]));
  const prefix = words.at(-1) ?? "";
  let model = byPath.get("") as CommandModel;
  const positionals: string[] = [];
  const connection: GlobalFlags = {};
  let pendingFlag: string | undefined;
  const takesValue = (flag: string): boolean => model.flags.some((f) => f.takesValue && f.names.includes(flag));
  const typed = normalizeArgs(words.slice(0, -1));

  for (const word of typed.ok ? typed.value : words.slice(0, -1)) {
    if (pendingFlag !== undefined) {
      keepConnectionFlag(connection, pendingFlag, word);
      pendingFlag = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const [flag = word, value] = word.split(/=(.*)/s, 2);
      if (value !== undefined) keepConnectionFlag(connection, flag, value);
      else if (flag === "--insecure-skip-tls-verify") connection.insecureSkipTlsVerify = true;
      else if (takesValue(flag)) pendingFlag = flag;
      continue;
    }
    const sub = positionals.length === 0 ? byPath.get(model.path === "" ? word : `${model.path} ${word}`) : undefined;
    if (sub && model.subcommands.some((s) => s.name === word)) model = sub;
    else positionals.push(word);
  }

  const plan = (p: Partial<CompletionPlan>): CompletionPlan => ({ candidates: [], prefix, directive: DIRECTIVE.noFileComp, connection, ...p });
  if (pendingFlag !== undefined) {
    const flag = model.flags.find((f) => f.names.includes(pendingFlag ?? ""));
    if (flag?.choices) return plan({ candidates: flag.choices.map((value) => ({ value })) });
    if (pendingFlag === "--kubeconfig") return plan({ directive: DIRECTIVE.default });
    if (pendingFlag === "--context") return plan({ lookup: { kind: "contexts" } });
    if (pendingFlag === "-n" || pendingFlag === "--namespace") return plan({ lookup: { kind: "namespaces" } });
    return plan({});
  }
  if (prefix.startsWith("-")) {
    return plan({ candidates: model.flags.flatMap((f) => f.names.filter((n) => n.startsWith("--") || f.names.length === 1).map((value) => ({ value, description: f.description }))) });
  }
  const subcommands = positionals.length === 0 ? model.subcommands.map((s) => ({ value: s.name, description: s.description })) : [];
  const arg = model.args[positionals.length];
  if (arg?.kind === "words") return plan({ candidates: [...subcommands, ...arg.words.map((value) => ({ value }))] });
  if (arg?.kind === "group") return plan({ candidates: subcommands, lookup: { kind: "groups" } });
  if (arg?.kind === "site" && positionals[0] !== undefined) return plan({ candidates: subcommands, lookup: { kind: "sites", group: positionals[0] } });
  return plan({ candidates: subcommands });
}

/** Cobra's output: the candidates that match the prefix, then the directive. */
export function formatCompletion(plan: CompletionPlan, looked: readonly string[]): string {
  const all: CompletionPlan["candidates"] = [...plan.candidates, ...looked.map((value) => ({ value }))].filter((c) => c.value.startsWith(plan.prefix));
  const lines = all.map((c) => (c.description ? `${c.value}\t${c.description.replaceAll(/\s+/g, " ")}` : c.value));
  return `${[...lines, `:${plan.directive}`].join("\n")}\n`;
}

const LOOKUP_TIMEOUT_MS = 2_000;

/** Bad connection flags on the line complete nothing, like a failed lookup. */
async function lookUp(lookup: Lookup, connection: GlobalFlags): Promise<string[]> {
  const checked = parseGlobalFlags(connection);
  if (!checked.ok) return [];
  const ctx = await openContext({ ...checked.value, timeoutMs: LOOKUP_TIMEOUT_MS });
  switch (lookup.kind) {
    case "contexts":
      return ctx.config.getContexts().map((c) => c.name);
    case "groups":
      return (await ctx.kube.listFailoverGroups(ctx.namespace)).items.map((g) => g.metadata.name ?? "");
    case "sites":
      return (await ctx.kube.getFailoverGroup(ctx.namespace, lookup.group)).spec.sites.map((s) => s.name);
    case "namespaces":
      return (await ctx.kube.call("list namespaces", (options) => ctx.kube.core.listNamespace({}, options))).items.map((n) => n.metadata?.name ?? "");
  }
}

/** Runs the protocol for `words` and writes the answer; never fails (a shell waits on it). */
export async function complete(program: Command, words: readonly string[], write: (text: string) => void): Promise<void> {
  const plan = planCompletion(commandModels(program), words);
  const looked = plan.lookup ? await lookUp(plan.lookup, plan.connection).catch(() => []) : [];
  write(formatCompletion(plan, looked));
}
