{{/* Chart name, e.g. for app.kubernetes.io/name (the seeds' scrape config keeps pods labelled bloodraven). */}}
{{- define "bloodraven.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the release's objects: the release name, with the chart name appended unless it already holds it. */}}
{{- define "bloodraven.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bloodraven.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bloodraven.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bloodraven.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bloodraven.labels" -}}
helm.sh/chart: {{ include "bloodraven.chart" . }}
{{ include "bloodraven.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "bloodraven.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bloodraven.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
watchNamespaces as a JSON list without duplicates or blanks; a comma-separated string
(`--set watchNamespaces=a` or `--set watchNamespaces=a\,b`) is accepted too.
*/}}
{{- define "bloodraven.watchNamespaces" -}}
{{- $list := .Values.watchNamespaces | default list }}
{{- if kindIs "string" $list }}{{ $list = splitList "," $list }}{{ end }}
{{- $clean := list }}
{{- range $list }}{{ with trim (toString .) }}{{ $clean = append $clean . }}{{ end }}{{ end }}
{{- $clean | uniq | toJson }}
{{- end }}

{{- define "bloodraven.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "bloodraven.subjects" -}}
- kind: ServiceAccount
  name: {{ include "bloodraven.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* The full username the apiserver gives the operator's ServiceAccount. */}}
{{- define "bloodraven.serviceAccountUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "bloodraven.serviceAccountName" .) }}
{{- end }}

{{/*
The namespaced rules (MysqlFailoverGroups, Secrets, Events, DNSEndpoints): one list, used by the
ClusterRole when every namespace is watched and by the per-namespace Roles otherwise.
*/}}
{{- define "bloodraven.namespacedRules" -}}
# The informer lists and watches groups; annotations (anti-flap record, consumed requests) are
# merge-patched on the object itself. No create, update or delete.
- apiGroups: ["shipstream.io"]
  resources: ["mysqlfailovergroups"]
  verbs: ["get", "list", "watch", "patch"]
# Status is merge-patched through the status subresource.
- apiGroups: ["shipstream.io"]
  resources: ["mysqlfailovergroups/status"]
  verbs: ["patch"]
# The DNSEndpoint names its group as owner with blockOwnerDeletion; clusters running the
# OwnerReferencesPermissionEnforcement admission plugin (OpenShift) require this for that.
- apiGroups: ["shipstream.io"]
  resources: ["mysqlfailovergroups/finalizers"]
  verbs: ["update"]
# MysqlBackups: listed to find each group's, their status merge-patched as their Jobs run, their
# finalizer (shipstream.io/backup-artifact) added and removed by patch and the retry time
# annotated; created for a retry of a failed scheduled backup, deleted by the retention sweep.
# get: the schedules' trigger Role grants it, and a Role can only grant what its maker holds.
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackups"]
  verbs: ["get", "list", "create", "patch", "delete"]
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackups/status"]
  verbs: ["patch"]
# A backup's Job names its MysqlBackup as owner with blockOwnerDeletion (see the group's finalizers above).
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackups/finalizers"]
  verbs: ["update"]
# MysqlBackupVerifications: listed to find each group's, their status merge-patched; a
# verification's Job names it as owner with blockOwnerDeletion; a schedule's old ones deleted by
# its retention. get and create: the schedules' trigger Role grants them, and a Role can only
# grant what its maker holds.
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackupverifications"]
  verbs: ["get", "list", "create", "delete"]
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackupverifications/status"]
  verbs: ["patch"]
- apiGroups: ["shipstream.io"]
  resources: ["mysqlbackupverifications/finalizers"]
  verbs: ["update"]
# Backup and cleanup Jobs: made once per MysqlBackup (never updated: their owners take them
# along), read to learn how they ended, and a backup's deleted when its MysqlBackup is deleted
# while it copies; their pods' termination messages are read through the pod list.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create", "delete"]
# Backup schedules: one CronJob each, kept by server-side apply, listed by the group's label and
# deleted when its schedule is gone; the trigger's ServiceAccount, Role and RoleBinding beside them
# (the Role grants only get, list, create and delete on the namespace's MysqlBackups).
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create", "patch"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create", "patch"]
# MySQL credentials named by spec.credentials / spec.secretName, and the group's agent token: read
# one by name. create: the agent token Secret of a group with managed sites, and the operator's
# previous password at each rotation of it, each made once when absent, never updated. With
# watchSecrets, list and watch too: each named Secret is watched by name (a field selector),
# never a whole namespace's.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"{{ if .Values.watchSecrets }}, "list", "watch"{{ end }}]
# Events on groups; repeats bump count and lastTimestamp with a patch. get: a series another
# process (a previous leader, this one before a restart) started is read, then continued.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "get", "patch"]
# Managed sites (those with spec.sites[].storage): each site's StatefulSet and Service, the group's
# server options, writer and reader Services and PodDisruptionBudget, kept by server-side apply
# (patch; create when an object does not exist yet). StatefulSets are listed by the group's label:
# their claim template size is repeated on every apply (it cannot change). The session cache's
# servers (spec.dragonfly) are a StatefulSet and a Service each, listed by their label and deleted
# once the spec no longer runs them.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["create", "patch"]
# The managed sites' volumes (claims labelled with the group): listed for their size and age,
# merge-patched to a larger spec.sites[].storage.size, and deleted with the group before the
# finalizer comes off. Never created (the StatefulSet controller does that).
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["list", "patch", "delete"]
# The managed sites' pods: listed by the group's label for their phase, readiness and template
# revision, watched (the operator's pods only, by label) so that a role label lost or edited is
# seen the cycle it happens, the role label (shipstream.io/role) merge-patched, and restarted onto
# a new template by an update: evicted (the PodDisruptionBudget decides) with OrderedUpdate,
# deleted with Recreate. Never created (the StatefulSet controller does that).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods/eviction"]
  verbs: ["create"]
{{- if .Values.rbac.dnsEndpoints }}
# The group's DNSEndpoint: read, then server-side apply (patch; create when it does not exist yet).
# The operator's DNSEndpoints (by label) are listed and watched, so that an edit by hand is undone
# the cycle it is seen.
- apiGroups: ["externaldns.k8s.io"]
  resources: ["dnsendpoints"]
  verbs: ["get", "list", "watch", "create", "patch"]
{{- end }}
{{- end }}

{{/*
The `for:` of an alert: prometheusRule.for.<alert> when set, else the rule's own duration.
Called with (list $root "<alert>" "<default>").
*/}}
{{- define "bloodraven.alertFor" -}}
{{- $root := index . 0 -}}
{{- index $root.Values.prometheusRule.for (index . 1) | default (index . 2) -}}
{{- end -}}
