import type { Command } from "commander";
import { explainApiError, isNotFound, type KubeContext } from "./kube-context.js";

/** The chart's defaults: the release namespace of docs/install.md and the Lease name of values.yaml. */
const DEFAULT_OPERATOR_NAMESPACE = "bloodraven";
const DEFAULT_LEASE = "bloodraven-leader";
/** The operator's container in the chart's Deployment. */
export const OPERATOR_CONTAINER = "operator";

/** Where the operator runs: the flags of the commands that read from the operator's pod. */
export interface OperatorLocation {
  operatorNamespace: string;
  lease: string;
}

export function addOperatorLocationOptions(command: Command): Command {
  return command
    .option("--operator-namespace <namespace>", "the namespace the operator runs in", DEFAULT_OPERATOR_NAMESPACE)
    .option("--lease <name>", "the operator's leader Lease (the chart's leaderElection.leaseName)", DEFAULT_LEASE);
}

/**
 * The pod that holds the leader Lease, which does all the work, with what to do when there is
 * none.
 */
export async function leaderPod(ctx: KubeContext, { operatorNamespace: namespace, lease }: OperatorLocation): Promise<string> {
  const read = await ctx.kube
    .call(`get lease ${namespace}/${lease}`, (o) => ctx.kube.coordination.readNamespacedLease({ namespace, name: lease }, o))
    .catch((err: unknown) => {
      if (isNotFound(err, lease)) {
        throw new Error(`there is no Lease ${namespace}/${lease}: is the operator installed in namespace ${namespace}? Give its namespace with --operator-namespace and, when its values change leaderElection.leaseName, the Lease with --lease`);
      }
      throw explainApiError(err, { verb: "get", resource: "leases.coordination.k8s.io", namespace, name: lease }, ctx);
    });
  const holder = read.spec?.holderIdentity;
  if (!holder) throw new Error(`the Lease ${namespace}/${lease} has no holder: no operator leads, so none acts on any group (kubectl get pods -n ${namespace})`);
  return holder;
}
