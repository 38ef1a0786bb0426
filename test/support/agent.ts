import { writeFileSync } from "node:fs";
import { inject } from "vitest";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { waitFor } from "../../scripts/env/ports.js";
import { spawnAgent, type AgentOptions } from "./agent-spawn.js";
import { JsonLogChild } from "./operator.js";

/** The built agent (`dist/bloodraven.mjs agent`) beside one test server, as a real child process. */
export class AgentProcess extends JsonLogChild {
  private constructor(
    child: ConstructorParameters<typeof JsonLogChild>[0],
    private readonly env: EnvDir,
    /** Base URL of its API. */
    readonly url: string,
  ) {
    super(child);
  }

  static async start(opts: AgentOptions): Promise<AgentProcess> {
    const env = new EnvDir("agent");
    const { child, url } = spawnAgent(`${inject("distDir")}/bloodraven.mjs`, opts);
    writeFileSync(env.join("agent.pid"), String(child.pid));
    const agent = new AgentProcess(child, env, url);
    await waitFor(`agent ${opts.site} /healthz`, async () => (await fetch(`${agent.url}/healthz`)).ok, 15_000, 100).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nagent output:\n${agent.dump()}`);
    });
    return agent;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; ms: number }> {
    const result = await this.signal(signal);
    this.env.remove();
    return result;
  }
}

/** The agents of a test by site, each found or the test stopped naming the one missing. */
export class AgentSet extends Map<string, AgentProcess> {
  of(site: string): AgentProcess {
    const a = this.get(site);
    if (!a) throw new Error(`no agent for ${site}`);
    return a;
  }
}
