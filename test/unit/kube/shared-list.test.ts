import { describe, expect, it } from "vitest";
import { SharedList } from "../../../operator/kube/shared-list.js";

/** A LIST whose answers the test releases by hand, counting the requests per namespace. */
function lister() {
  const asked: string[] = [];
  const pending: { resolve: (v: string[]) => void; reject: (e: Error) => void }[] = [];
  const list = (namespace: string): Promise<string[]> => {
    asked.push(namespace);
    return new Promise((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { asked, pending, list };
}

describe("SharedList", () => {
  it("one LIST in flight answers every caller of the namespace; another namespace has its own", async () => {
    const { asked, pending, list } = lister();
    const shared = new SharedList(list, 1_000, () => 0);
    const answers = [shared.get("shop"), shared.get("shop"), shared.get("billing")];
    expect(asked).toEqual(["shop", "billing"]);
    pending[0]?.resolve(["b1"]);
    pending[1]?.resolve(["b2"]);
    expect(await Promise.all(answers)).toEqual([["b1"], ["b1"], ["b2"]]);
  });

  it("an answer serves for maxAgeMs from its request, then the next caller lists again", async () => {
    const { asked, pending, list } = lister();
    let now = 0;
    const shared = new SharedList(list, 1_000, () => now);
    const first = shared.get("shop");
    pending[0]?.resolve(["b1"]);
    await first;
    now = 999;
    expect(await shared.get("shop")).toEqual(["b1"]);
    expect(asked).toHaveLength(1);
    now = 1_000;
    const second = shared.get("shop");
    expect(asked).toHaveLength(2);
    pending[1]?.resolve(["b1", "b2"]);
    expect(await second).toEqual(["b1", "b2"]);
  });

  it("a failed LIST fails its callers and is not kept: the next caller lists again", async () => {
    const { asked, pending, list } = lister();
    const shared = new SharedList(list, 60_000, () => 0);
    const a = shared.get("shop");
    const b = shared.get("shop");
    pending[0]?.reject(new Error("storage is (re)initializing"));
    await expect(a).rejects.toThrow("storage is (re)initializing");
    await expect(b).rejects.toThrow("storage is (re)initializing");
    const c = shared.get("shop");
    expect(asked).toEqual(["shop", "shop"]);
    pending[1]?.resolve([]);
    expect(await c).toEqual([]);
  });
});
