import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What an image runs, in the OCI image config's terms. */
export interface ImageConfig {
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir?: string;
  user?: string;
  exposedPorts: string[];
}

// GNU tar's reproducible mode: sorted names, one timestamp, numeric root ownership and no
// atime/ctime records, so the same rootfs always gives the same layer digest.
const REPRODUCIBLE_TAR = [
  "--sort=name",
  "--mtime=@0",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--format=posix",
  "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
];

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Writes a single-layer image as a docker-archive tarball (what `ctr images import` and
 * `docker load` read) without any registry or daemon: the layer is a reproducible tar of
 * rootfs, the config names its digest, and the tarball itself is reproducible too.
 */
export function writeDockerArchive(opts: { rootfs: string; ref: string; config: ImageConfig; out: string; workDir: string }): void {
  const archive = join(opts.workDir, "archive");
  rmSync(archive, { recursive: true, force: true });
  mkdirSync(archive, { recursive: true });
  const layerTmp = join(archive, "layer.tmp");
  execFileSync("tar", [...REPRODUCIBLE_TAR, "-cf", layerTmp, "-C", opts.rootfs, "."]);
  const layerDigest = sha256File(layerTmp);
  const layerName = `${layerDigest}.tar`;
  renameSync(layerTmp, join(archive, layerName));

  const { config } = opts;
  const imageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: {
      Env: config.env,
      Entrypoint: config.entrypoint,
      Cmd: config.cmd.length > 0 ? config.cmd : undefined,
      WorkingDir: config.workingDir,
      User: config.user,
      ExposedPorts: config.exposedPorts.length > 0 ? Object.fromEntries(config.exposedPorts.map((p) => [p, {}])) : undefined,
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "bloodraven scripts/images" }],
  };
  const configText = JSON.stringify(imageConfig);
  const configName = `${createHash("sha256").update(configText).digest("hex")}.json`;
  writeFileSync(join(archive, configName), configText);
  writeFileSync(join(archive, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [opts.ref], Layers: [layerName] }]));

  const tmp = `${opts.out}.tmp`;
  execFileSync("tar", [...REPRODUCIBLE_TAR, "-cf", tmp, "-C", archive, "."]);
  renameSync(tmp, opts.out);
  rmSync(archive, { recursive: true, force: true });
}
