import { helmBinary } from "../../scripts/env/helm.js";
import { run, testKubeconfig, type CommandResult } from "./kubectl.js";

export { chartDir, helmBinary } from "../../scripts/env/helm.js";

/** Runs helm against the test cluster as its admin; never throws on a non-zero exit. */
export function helm(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return run(helmBinary(), args, { timeoutMs, env: { ...process.env, KUBECONFIG: testKubeconfig() } });
}

/**
 * `--set` values that turn every optional feature of the chart on (monitors, alerts, dashboards,
 * status token, origins, watched namespaces, scheduling, extra flags): chart.test.ts renders and
 * installs them, chart-validate.test.ts lints them and checks them with kubeconform.
 */
export function allFeatureValues(namespaces: { a: string; b: string; monitoring: string }): string[] {
  return [
    "metrics.serviceMonitor.enabled=true",
    "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
    "metrics.podMonitor.scrapeTimeout=10s",
    "prometheusRule.enabled=true",
    "grafanaDashboards.enabled=true",
    `grafanaDashboards.namespace=${namespaces.monitoring}`,
    "grafanaDashboards.folder=MySQL / Bloodraven",
    "statusApi.tokenSecret.name=bloodraven-status",
    "allowedOrigins={https://ops.example.com,https://status.example.com}",
    "maxWebsocketClients=20",
    "watchSecrets=true",
    `watchNamespaces={${namespaces.a},${namespaces.b}}`,
    "replicas=3",
    "logLevel=debug",
    "nodeSelector.kubernetes\\.io/os=linux",
    "tolerations[0].key=dedicated,tolerations[0].operator=Equal,tolerations[0].value=ops,tolerations[0].effect=NoSchedule",
    "extraArgs={--lease-duration=20s}",
  ];
}
