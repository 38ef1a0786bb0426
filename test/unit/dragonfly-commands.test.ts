import { describe, expect, it } from "vitest";
import type { CacheClient } from "../../operator/dragonfly/cache-client.js";
import { observeCache, promoteNow, replicate, takeOver } from "../../operator/dragonfly/cache-server.js";
import type { RespValue } from "../../operator/dragonfly/resp.js";
import { encodeCommand, parseValue, RespError } from "../../operator/dragonfly/resp.js";

/**
 * What the operator sends to a cache server, pinned: Dragonfly is not packaged here, so its own
 * commands (REPLTAKEOVER) are checked as sent, and the Redis ones the integration tier runs for
 * real are pinned too. A recording stand-in for the connection answers from a script.
 */
function recorder(host: string, port: number, answers: (args: readonly (string | number)[]) => RespValue) {
  const sent: { kind: "read" | "write"; args: (string | number)[]; timeoutMs?: number }[] = [];
  const client = {
    address: { host, port },
    read: (args: readonly (string | number)[], timeoutMs?: number) => {
      sent.push({ kind: "read", args: [...args], ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      return Promise.resolve(answers(args));
    },
    write: (args: readonly (string | number)[], timeoutMs?: number) => {
      sent.push({ kind: "write", args: [...args], ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      return Promise.resolve(answers(args));
    },
  } as unknown as CacheClient;
  return { client, sent };
}

describe("cache servers: the commands sent", () => {
  it("Dragonfly's takeover is REPLTAKEOVER <maxSyncWait in seconds> on the replica, given 5 s more to answer; nothing goes to the old master", async () => {
    const target = recorder("df-pdx", 6379, () => "OK");
    const from = recorder("df-iad", 6379, () => "OK");
    await takeOver(target.client, from.client, "dragonfly", 30_000);
    expect(target.sent).toEqual([{ kind: "write", args: ["REPLTAKEOVER", 30], timeoutMs: 35_000 }]);
    expect(from.sent).toEqual([]);
    const short = recorder("df-pdx", 6379, () => "OK");
    await takeOver(short.client, from.client, "dragonfly", 400);
    expect(short.sent[0]?.args).toEqual(["REPLTAKEOVER", 1]);
  });

  it("Redis' takeover waits for the replica online on the master, sends FAILOVER TO it as the master lists it, then sees the replica master", async () => {
    let promoted = false;
    const from = recorder("10.0.0.1", 6379, (args) => {
      if (args[0] === "FAILOVER") {
        promoted = true;
        return "OK";
      }
      return "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=10,lag=0\r\n";
    });
    const target = recorder("10.0.0.2", 6380, () => (promoted ? "role:master\r\n" : "role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\n"));
    await takeOver(target.client, from.client, "redis", 5_000);
    expect(from.sent.map((s) => s.args.slice(0, 5))).toEqual([
      ["INFO", "replication"],
      ["FAILOVER", "TO", "10.0.0.2", 6380, "TIMEOUT"],
    ]);
    expect(from.sent[1]?.kind).toBe("write");
    expect(target.sent.map((s) => s.args)).toEqual([["INFO", "replication"]]);
  });

  it("Redis' takeover refuses a replica the master does not list online, naming both", async () => {
    const from = recorder("10.0.0.1", 6379, () => "role:master\r\nconnected_slaves:0\r\n");
    const target = recorder("10.0.0.2", 6380, () => "role:slave\r\n");
    await expect(takeOver(target.client, from.client, "redis", 100)).rejects.toThrow("10.0.0.2:6380 is not an online replica of 10.0.0.1:6379");
    expect(from.sent.some((s) => s.args[0] === "FAILOVER")).toBe(false);
  });

  it("observing reads INFO server, INFO replication and DBSIZE; repointing and promoting are writes", async () => {
    const c = recorder("df-iad", 6379, (args) => (args[0] === "DBSIZE" ? 7 : args[1] === "server" ? "dragonfly_version:df-v1.34.2\r\n" : "role:master\r\nconnected_slaves:0\r\n"));
    expect(await observeCache(c.client)).toMatchObject({ flavor: "dragonfly", role: "master", keys: 7 });
    await replicate(c.client, { host: "df-pdx", port: 6380 });
    await promoteNow(c.client);
    expect(c.sent.map((s) => [s.kind, ...s.args])).toEqual([
      ["read", "INFO", "server"],
      ["read", "INFO", "replication"],
      ["read", "DBSIZE"],
      ["write", "REPLICAOF", "df-pdx", 6380],
      ["write", "REPLICAOF", "NO", "ONE"],
    ]);
  });
});

describe("RESP", () => {
  it("encodes commands as arrays of bulk strings, and parses every answer type, also across chunks", () => {
    expect(encodeCommand(["SET", "k", 5]).toString()).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n5\r\n");
    const answer = Buffer.from("*4\r\n+OK\r\n:42\r\n$-1\r\n$5\r\nhé\r\n\r\n");
    expect(parseValue(answer)).toEqual({ value: ["OK", 42, null, "hé\r\n"], end: answer.length });
    for (let cut = 1; cut < answer.length; cut++) expect(parseValue(answer.subarray(0, cut))).toBeUndefined();
    const err = parseValue(Buffer.from("-WRONGPASS invalid\r\n"))?.value;
    expect(err).toBeInstanceOf(RespError);
    expect((err as RespError).message).toBe("WRONGPASS invalid");
    expect(() => parseValue(Buffer.from("?\r\n"))).toThrow(/not a RESP answer/);
  });
});
