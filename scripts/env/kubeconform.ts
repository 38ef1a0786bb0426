import { join } from "node:path";
import { goToolDir } from "./cache.js";

/** The kubeconform binary scripts/kubeconform/build.sh builds ($BLOODRAVEN_KUBECONFORM_BIN, else the cache); missing is an error naming the fix. */
export function kubeconformBinary(): string {
  return join(goToolDir({ folder: "kubeconform", module: "github.com/yannh/kubeconform", name: "kubeconform", overrideVar: "BLOODRAVEN_KUBECONFORM_BIN", binaries: ["kubeconform"] }), "kubeconform");
}
