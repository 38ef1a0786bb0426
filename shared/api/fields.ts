/** Field types both APIs use (the group and the backup resources): names, durations, quantities, and the resource envelope. */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { DURATION_PATTERN, MAX_DURATION_MS, formatDuration } from "../duration.js";
import { intOrString, string } from "./schema.js";

/** A group's most sites (LIMITS.maxSites): status lists of sites are bounded by it too. */
export const MAX_SITES = 16;

/** A size as MySQL Shell reads one: digits and an optional k, M or G (`64M`). */
export const MYSQLSH_SIZE = "^[1-9][0-9]*[kMG]?$";
export const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const SECRET_KEY = "^[-._a-zA-Z0-9]+$";
export const LABEL_VALUE = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
/** A label key or condition type: an optional DNS-subdomain prefix and `/`, then a name. */
export const QUALIFIED_NAME = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/** Kubernetes' quantity grammar without the sign: sizes and resources are never negative. */
export const QUANTITY = "^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

/** CEL string literal for a regular expression kept as a TypeScript string. */
export const celString = (text: string): string => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

export const siteName = () => string({ pattern: DNS_LABEL, minLength: 1, maxLength: 63 });

/** A server's host: a lower-case DNS name or an IP address. */
export const hostName = () =>
  string({ minLength: 1, maxLength: 253 }).rule(`isIP(self) || self.matches(${celString(DNS_SUBDOMAIN)})`, "`host` must be a lower-case DNS name or an IP address");

const MAX_DURATION = formatDuration(MAX_DURATION_MS);

// The same range parsePositiveDuration accepts, so the operator never meets a value it rejects.
// maxLength keeps the rule's estimated cost low. A non-zero digit is what makes a duration positive.
export const duration = () =>
  string({ pattern: DURATION_PATTERN, maxLength: 32 }).rule(
    `self.matches('[1-9]') && duration(self) <= duration('${MAX_DURATION}')`,
    `must be greater than zero and at most ${MAX_DURATION}, e.g. '500ms', '30s', '5m' or '1h30m'`,
  );

/** A container image pinned to a version tag or a digest. */
export const image = () =>
  string({ minLength: 1, maxLength: 512 }).rule(
    "self.contains('@') || (self.matches(':[^:/]+$') && !self.endsWith(':latest'))",
    "must name a version tag or a digest: without one, or with ':latest', a pod restart can silently switch versions",
  );

// maxLength bounds the cost of the CEL rules that parse a quantity.
export const quantity = () => intOrString({ pattern: QUANTITY, maxLength: 64 });

/** A custom resource as the API server serves it: `kind`, metadata, the spec and, once written, the status. */
export interface CustomResource<Kind extends string, Spec, Status> {
  apiVersion: string;
  kind: Kind;
  metadata: V1ObjectMeta;
  spec: Spec;
  status?: Status;
}
