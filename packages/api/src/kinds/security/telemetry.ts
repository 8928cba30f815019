/**
 * Istio Telemetry (telemetry.istio.io/v1, v1alpha1): tracing, metrics and access logging for the
 * workloads or services it attaches to. Providers are named here and defined in the mesh config
 * (extensionProviders); checking that a name exists is the model's job, not the schema's.
 */
import { parseDurationMs } from "../../checks.js";
import { error, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { bool, duration, list, nonEmpty, obj, oneOfStrings, opt, percent, str, Type, type Static } from "../../schema.js";
import { attachmentFields, checkAttachment } from "./common.js";

/** A reference to an extension provider of the mesh config. */
export const ProviderRefSchema = obj({ name: nonEmpty() });

/** Which side of a request the setting applies to; the default is CLIENT_AND_SERVER. */
export const WorkloadModeSelectorSchema = obj({ mode: opt(oneOfStrings("CLIENT_AND_SERVER", "CLIENT", "SERVER")) });

/** A custom span tag: exactly one of a literal, an environment variable or a request header. */
export const CustomTagSchema = obj({
  literal: opt(obj({ value: str() })),
  environment: opt(obj({ name: nonEmpty(), defaultValue: opt(str()) })),
  header: opt(obj({ name: nonEmpty(), defaultValue: opt(str()) })),
});

/** Tracing settings. */
export const TracingSchema = obj({
  match: opt(WorkloadModeSelectorSchema),
  providers: opt(list(ProviderRefSchema)),
  randomSamplingPercentage: opt(percent()),
  disableSpanReporting: opt(bool()),
  useRequestIdForTraceSampling: opt(bool()),
  customTags: opt(Type.Record(Type.String(), CustomTagSchema)),
});
/** {@link TracingSchema} as a type. */
export type Tracing = Static<typeof TracingSchema>;

/** Istio's standard metrics, as Telemetry names them. */
export const IstioMetricSchema = oneOfStrings("ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE",
  "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES");

/** Changes to one metric (or all): disable it, or add, change and remove its labels. */
export const MetricsOverrideSchema = obj({
  match: opt(obj({ metric: opt(IstioMetricSchema), customMetric: opt(nonEmpty()), mode: opt(oneOfStrings("CLIENT_AND_SERVER", "CLIENT", "SERVER")) })),
  disabled: opt(bool()),
  tagOverrides: opt(Type.Record(Type.String(), obj({ operation: opt(oneOfStrings("UPSERT", "REMOVE")), value: opt(str()) }))),
});
/** {@link MetricsOverrideSchema} as a type. */
export type MetricsOverride = Static<typeof MetricsOverrideSchema>;

/** Metrics settings. */
export const MetricsSchema = obj({
  providers: opt(list(ProviderRefSchema)),
  overrides: opt(list(MetricsOverrideSchema)),
  reportingInterval: opt(duration()),
});

/** Access logging settings; `filter.expression` is a CEL expression over request attributes. */
export const AccessLoggingSchema = obj({
  match: opt(WorkloadModeSelectorSchema),
  providers: opt(list(ProviderRefSchema)),
  disabled: opt(bool()),
  filter: opt(obj({ expression: nonEmpty() })),
});

/** Spec of Telemetry. */
export const TelemetrySpecSchema = obj({
  ...attachmentFields(),
  tracing: opt(list(TracingSchema)),
  metrics: opt(list(MetricsSchema)),
  accessLogging: opt(list(AccessLoggingSchema)),
});
/** {@link TelemetrySpecSchema} as a type. */
export type TelemetrySpec = Static<typeof TelemetrySpecSchema>;

/** The Telemetry kind. */
export const TelemetryKind = defineKind<TelemetrySpec>({
  group: "telemetry.istio.io", kind: "Telemetry", versions: ["v1", "v1alpha1"], namespaced: true,
  spec: TelemetrySpecSchema,
  check(t) {
    const spec = t.spec;
    const issues = checkAttachment(spec, t.metadata.namespace ?? "default", ["Gateway", "GatewayClass", "Service", "ServiceEntry"]);
    const tracing = spec.tracing ?? [];
    if (tracing.length > 1) issues.push(warning(["spec", "tracing", 1], "is ignored: Istio supports one tracing entry per Telemetry"));
    tracing.forEach((tr, i) => issues.push(...checkTracing(tr, ["spec", "tracing", i])));
    (spec.metrics ?? []).forEach((m, i) => {
      if (m.reportingInterval !== undefined && parseDurationMs(m.reportingInterval) === 0) {
        issues.push(error(["spec", "metrics", i, "reportingInterval"], "must be greater than 0"));
      }
      (m.overrides ?? []).forEach((o, j) => issues.push(...checkOverride(o, ["spec", "metrics", i, "overrides", j])));
    });
    return issues;
  },
});

function checkTracing(tr: Tracing, at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if ((tr.providers ?? []).length > 1) issues.push(warning([...at, "providers", 1], "is ignored: Istio sends spans to one tracing provider"));
  for (const [name, tag] of Object.entries(tr.customTags ?? {})) {
    const set = (["literal", "environment", "header"] as const).filter((k) => tag[k] !== undefined);
    if (name === "") issues.push({ ...error([...at, "customTags", name], "must have a non-empty tag name"), at: "key" });
    if (set.length !== 1) {
      issues.push(error([...at, "customTags", name], `must set exactly one of literal, environment or header${set.length > 1 ? ` (has ${set.join(" and ")})` : ""}`));
    }
  }
  return issues;
}

function checkOverride(o: MetricsOverride, at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (o.match?.metric !== undefined && o.match.customMetric !== undefined) {
    issues.push(error([...at, "match", "customMetric"], "cannot be combined with metric: name an Istio metric or a custom one, not both"));
  }
  for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
    const op = t.operation ?? "UPSERT";
    if (op === "UPSERT" && (t.value ?? "") === "") issues.push(error([...at, "tagOverrides", tag], "must set value (a CEL expression) to add or change a tag"));
    if (op === "REMOVE" && t.value !== undefined) issues.push(error([...at, "tagOverrides", tag, "value"], "must not be set when operation is REMOVE"));
  }
  return issues;
}
