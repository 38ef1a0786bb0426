/**
 * The group's DNS record: an external-dns `DNSEndpoint` that points `spec.dns.hostname` at the
 * active site's `lbIP`. external-dns turns it into the real A/AAAA record.
 *
 * The object is written by server-side apply under the field manager `bloodraven` (with force, so
 * the operator takes the record back from anyone who edited it by hand) and is owned by the
 * MysqlFailoverGroup, so the garbage collector removes it with the group.
 *
 * `publish` reads the live object first: `changed` is true only when the record now points
 * somewhere else, which is what `bloodraven_dns_flips_total` counts, and a record that already
 * matches is not written again (reconciliation calls this every poll).
 */
import { isIP } from "node:net";
import { ApiException, PatchStrategy, setHeaderOptions, type ConfigurationOptions, type V1ObjectMeta, type V1OwnerReference } from "@kubernetes/client-node";
import type { MysqlFailoverGroup, SiteSpec } from "../../shared/api/index.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, LABELS } from "../../shared/names.js";
import { ApiError, FIELD_MANAGER, apiStatus, type Kube } from "../../shared/kube/client.js";

export const DNS_ENDPOINT = {
  group: "externaldns.k8s.io",
  version: "v1alpha1",
  plural: "dnsendpoints",
  kind: "DNSEndpoint",
} as const;
export const DNS_ENDPOINT_API_VERSION = `${DNS_ENDPOINT.group}/${DNS_ENDPOINT.version}`;
/** Name of external-dns's CRD, as `kubectl get crd` shows it. */
export const DNS_ENDPOINT_CRD = `${DNS_ENDPOINT.plural}.${DNS_ENDPOINT.group}`;

const RESOURCE = { group: DNS_ENDPOINT.group, version: DNS_ENDPOINT.version, plural: DNS_ENDPOINT.plural } as const;

/** One record of a DNSEndpoint, as this operator writes it. */
export interface DnsRecord {
  dnsName: string;
  recordType: "A" | "AAAA";
  recordTTL: number;
  targets: string[];
}

/** The parts of external-dns's DNSEndpoint this module reads. */
export interface DnsEndpointObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: {
    endpoints?: {
      dnsName?: string;
      recordType?: string;
      recordTTL?: number;
      targets?: string[];
      [field: string]: unknown;
    }[];
  };
  status?: { observedGeneration?: number };
}

export interface PublishResult {
  /** True when the record was missing or pointed elsewhere (name, type or targets); a TTL change alone is not a flip. */
  changed: boolean;
  /** True when the object was written; false when the live object already matched. */
  written: boolean;
  /** Name of the DNSEndpoint object. */
  name: string;
  /** The record now published. */
  record: DnsRecord;
  /** Targets before this call; empty when there was no record. */
  previousTargets: string[];
}

/** The DNSEndpoint object of a group. Upstream bloodraven used the same name, so its objects are adopted. */
export function dnsEndpointName(group: string): string {
  return `bloodraven-${group}`;
}

/** Thrown when external-dns's CRD is not installed: nothing can be published until it is. */
export class DnsEndpointCrdMissingError extends Error {
  override readonly name = "DnsEndpointCrdMissingError";
  readonly crd = DNS_ENDPOINT_CRD;

  constructor(what: string, options?: { cause?: unknown }) {
    super(
      `${what}: the CustomResourceDefinition ${DNS_ENDPOINT_CRD} (${DNS_ENDPOINT_API_VERSION} ${DNS_ENDPOINT.kind}, from external-dns) is not installed; install it, or remove spec.dns from the group`,
      options,
    );
  }
}

/**
 * The record that sends `spec.dns.hostname` to `site`. Throws when the group has no `spec.dns`
 * or the site has no usable `lbIP` (the CRD's rules prevent both for admitted objects).
 */
export function dnsRecordFor(group: MysqlFailoverGroup, site: string | SiteSpec): DnsRecord {
  const where = `${group.metadata.namespace ?? ""}/${group.metadata.name ?? ""}`;
  const dns = group.spec.dns;
  if (!dns) throw new Error(`group ${where} has no spec.dns: there is no record to publish`);
  const spec = typeof site === "string" ? group.spec.sites.find((s) => s.name === site) : site;
  if (!spec) throw new Error(`group ${where} has no site "${String(site)}"`);
  const ip = spec.lbIP;
  if (!ip) throw new Error(`site "${spec.name}" of group ${where} has no lbIP: the record cannot point at it`);
  const family = isIP(ip);
  if (family === 0) throw new Error(`site "${spec.name}" of group ${where} has an invalid lbIP "${ip}"`);
  return {
    dnsName: dns.hostname,
    recordType: family === 6 ? "AAAA" : "A",
    // The schema defaults ttl; the fallback covers objects read without defaulting (e.g. in unit tests).
    recordTTL: dns.ttl ?? 60,
    targets: [ip],
  };
}

/** Whether two records send clients to the same place (TTL ignored). */
export function sameDestination(a: Pick<DnsRecord, "dnsName" | "recordType" | "targets">, b: Pick<DnsRecord, "dnsName" | "recordType" | "targets">): boolean {
  return a.dnsName === b.dnsName && a.recordType === b.recordType && sameTargets(a.targets, b.targets);
}

export interface DnsPublisherOptions {
  /** Deadline of each API request, in ms; the Kube's own deadline when omitted. */
  timeoutMs?: number;
}

export class DnsPublisher {
  constructor(
    private readonly kube: Kube,
    private readonly opts: DnsPublisherOptions = {},
  ) {}

  /**
   * Points the group's record at `site`. Two requests at most (read, apply), each under the
   * deadline. Rejects with DnsEndpointCrdMissingError when external-dns's CRD is absent and with
   * an ApiError for any other API failure.
   */
  async publish(group: MysqlFailoverGroup, site: string | SiteSpec): Promise<PublishResult> {
    const record = dnsRecordFor(group, site);
    const namespace = group.metadata.namespace;
    const groupName = group.metadata.name;
    const uid = group.metadata.uid;
    if (!namespace || !groupName || !uid) throw new Error("publish needs a group read from the API server (namespace, name and uid)");
    const name = dnsEndpointName(groupName);

    const live = await this.read(namespace, name);
    const liveRecord = live ? recordOf(live) : undefined;
    const previousTargets = liveRecord?.targets ?? [];
    const changed = !liveRecord || !sameDestination(liveRecord, record);
    const desired = desiredObject(group, name, record, uid);
    if (live && upToDate(live, desired)) return { changed, written: false, name, record, previousTargets };

    const what = `apply ${DNS_ENDPOINT.plural} ${namespace}/${name}`;
    try {
      await this.kube.call(
        what,
        (options) =>
          this.kube.customObjects.patchNamespacedCustomObject(
            { ...RESOURCE, namespace, name, body: desired, fieldManager: FIELD_MANAGER, force: true },
            serverSideApply(options),
          ),
        this.opts.timeoutMs,
      );
    } catch (err) {
      if (isMissingResource(err)) throw new DnsEndpointCrdMissingError(what, { cause: err });
      throw err;
    }
    return { changed, written: true, name, record, previousTargets };
  }

  /** The record the group's DNSEndpoint holds now; undefined when there is no object or no record. */
  async current(namespace: string, group: string): Promise<DnsRecord | undefined> {
    const live = await this.read(namespace, dnsEndpointName(group));
    return live ? recordOf(live) : undefined;
  }

  /** The live object, undefined when it does not exist. */
  private async read(namespace: string, name: string): Promise<DnsEndpointObject | undefined> {
    const what = `get ${DNS_ENDPOINT.plural} ${namespace}/${name}`;
    try {
      return await this.kube.call<DnsEndpointObject>(
        what,
        (options) => this.kube.customObjects.getNamespacedCustomObject({ ...RESOURCE, namespace, name }, options),
        this.opts.timeoutMs,
      );
    } catch (err) {
      if (isMissingResource(err)) throw new DnsEndpointCrdMissingError(what, { cause: err });
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  }
}

/** True when `live` already is what publishing `site` would write: nothing to do. */
export function dnsEndpointUpToDate(live: DnsEndpointObject, group: MysqlFailoverGroup, site: string | SiteSpec): boolean {
  const name = live.metadata.name ?? "";
  return upToDate(live, desiredObject(group, name, dnsRecordFor(group, site), group.metadata.uid ?? ""));
}

type DesiredObject = Omit<DnsEndpointObject, "spec"> & { spec: { endpoints: DnsRecord[] } };

function desiredObject(group: MysqlFailoverGroup, name: string, record: DnsRecord, uid: string): DesiredObject {
  const groupName = group.metadata.name ?? "";
  const owner: V1OwnerReference = {
    apiVersion: group.apiVersion ?? API_GROUP_VERSION,
    kind: group.kind ?? FAILOVER_GROUP.kind,
    name: groupName,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: DNS_ENDPOINT_API_VERSION,
    kind: DNS_ENDPOINT.kind,
    metadata: {
      name,
      namespace: group.metadata.namespace,
      labels: { [LABELS.failoverGroup]: groupName, [LABELS.managedBy]: "bloodraven" },
      ownerReferences: [owner],
    },
    spec: { endpoints: [record] },
  };
}

/** The first endpoint of a DNSEndpoint; this operator writes exactly one. */
function recordOf(obj: DnsEndpointObject): DnsRecord | undefined {
  const first = obj.spec?.endpoints?.[0];
  if (!first?.dnsName) return undefined;
  return {
    dnsName: first.dnsName,
    recordType: first.recordType === "AAAA" ? "AAAA" : "A",
    recordTTL: first.recordTTL ?? 0,
    targets: first.targets ?? [],
  };
}

/** True when applying `desired` would change nothing: same endpoint list, our labels, our owner. */
function upToDate(live: DnsEndpointObject, desired: DesiredObject): boolean {
  const endpoints = live.spec?.endpoints ?? [];
  if (endpoints.length !== 1) return false;
  const [endpoint] = endpoints;
  const [want] = desired.spec.endpoints;
  if (!endpoint || !want) return false;
  // Any field beyond ours (providerSpecific, setIdentifier...) would be dropped by the apply.
  const extra = Object.keys(endpoint).filter((k) => !["dnsName", "recordType", "recordTTL", "targets"].includes(k));
  if (extra.length > 0) return false;
  if (endpoint.dnsName !== want.dnsName || endpoint.recordType !== want.recordType || endpoint.recordTTL !== want.recordTTL) return false;
  if (!sameTargets(endpoint.targets ?? [], want.targets)) return false;
  const labels = live.metadata.labels ?? {};
  if (Object.entries(desired.metadata.labels ?? {}).some(([k, v]) => labels[k] !== v)) return false;
  const [owner] = desired.metadata.ownerReferences ?? [];
  return (live.metadata.ownerReferences ?? []).some(
    (r) => r.uid === owner?.uid && r.controller === true && r.blockOwnerDeletion === true && r.kind === owner.kind && r.apiVersion === owner.apiVersion,
  );
}

function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((t, i) => t === sorted[i]);
}

/** Server-side apply: client-node serialises the body as JSON, which is valid YAML. */
function serverSideApply(options: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply, options);
}

/**
 * A 404 for the resource type itself rather than for one object. The apiserver answers an
 * unknown resource with a Status that names no object ("the server could not find the requested
 * resource"), or with a plain-text "404 page not found" for an unknown group; a missing object's
 * Status names it in `details.name`.
 */
function isMissingResource(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.status !== 404) return false;
  const cause = err.cause;
  if (!(cause instanceof ApiException)) return false;
  const body: unknown = typeof cause.body === "string" ? safeParse(cause.body) : cause.body;
  if (typeof body !== "object" || body === null) return true;
  const status = body as { kind?: unknown; details?: { name?: unknown; kind?: unknown } };
  if (status.kind !== "Status") return true;
  return !status.details?.name;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
