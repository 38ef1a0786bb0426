/**
 * The operator image built by the Dockerfile's stages: the bundle its build stage made runs its
 * version command in a pod under the chart's restrictions (non-root, read-only root filesystem, no
 * capabilities) on the Node.js release the Dockerfile names, reporting the same version and commit
 * as this checkout's own build; and the image builder is reproducible.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { writeDockerArchive } from "../../scripts/images/docker-archive.js";
import { finalStage, parseDockerfile } from "../../scripts/images/dockerfile.js";
import { IMAGES } from "../../scripts/images/images.js";
import { busyboxBase } from "../../scripts/images/rootfs.js";
import { applyAll } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { finishedPod } from "../support/pods.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ns = `image-${randomBytes(3).toString("hex")}`;

describe("the operator image", () => {
  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("runs the version command of the bundle its build stage made, in a restricted pod on the Dockerfile's Node.js", async () => {
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "version", namespace: ns },
        spec: {
          restartPolicy: "Never",
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "bloodraven",
              image: IMAGES.operator,
              imagePullPolicy: "Never",
              args: ["version"],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    ]);
    const { phase, logs } = await finishedPod(ns, "version");
    expect(phase, logs).toBe("Succeeded");
    const { nodeVersion } = finalStage(parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8")));
    const onHost = execFileSync(process.execPath, [join(inject("distDir"), "bloodraven.mjs"), "version"], { encoding: "utf8" });
    expect(logs).toBe(onHost.replace(/node v[\d.]+/, `node v${nodeVersion}`));
  });

  it("is built reproducibly: the same rootfs, assembled twice, gives byte-identical archives", () => {
    const work = mkdtempSync(join(tmpdir(), "bloodraven-image-"));
    try {
      const digests = ["a", "b"].map((run) => {
        const rootfs = join(work, run, "rootfs");
        busyboxBase(rootfs);
        // A file touched at another time must not change the layer.
        if (run === "b") utimesSync(join(rootfs, "etc/passwd"), new Date("2001-02-03"), new Date("2001-02-03"));
        const out = join(work, `${run}.tar`);
        writeDockerArchive({ rootfs, ref: IMAGES.tools, config: { env: [], entrypoint: [], cmd: ["/bin/sh"], exposedPorts: [] }, out, workDir: join(work, run) });
        return createHash("sha256").update(readFileSync(out)).digest("hex");
      });
      expect(digests[0]).toBe(digests[1]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
