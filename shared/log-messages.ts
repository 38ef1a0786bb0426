/**
 * The stable `msg` vocabulary of the operator's JSON logs. Log pipelines filter on these
 * strings (docs/log-schema.md), so each one changes only as a breaking change.
 */
export const LOG_MESSAGES = {
  operatorStarting: "operator starting",
  operatorStopping: "operator stopping",
  operatorStopped: "operator stopped",
  leaderElected: "became leader",
  leaderLost: "lost leadership",
  leaseError: "lease renewal failed",
  leaseReleased: "lease released",
  leaderCallbackFailed: "leader election callback failed",
  informerError: "informer error, restarting",
  informerSynced: "informer synced",
  informerHandlerFailed: "informer handler failed",
  managerStarted: "topology manager started",
  managerReconfigured: "topology manager reconfigured",
  managerStopped: "topology manager stopped",
  pollFailed: "site poll failed",
  siteStateChanged: "site state changed",
  verdictChanged: "topology verdict changed",
  statusPatchFailed: "status patch failed",
  eventFailed: "event write failed",
  credentialsMissing: "credentials unavailable",
  httpListening: "http server listening",
  websocketRejected: "websocket client rejected",
  websocketDropped: "websocket client dropped",
  httpHandlerFailed: "http handler failed",
} as const;
export type LogMessage = (typeof LOG_MESSAGES)[keyof typeof LOG_MESSAGES];
