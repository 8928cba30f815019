/**
 * Sub-schemas shared by the networking.istio.io kinds: string matches, destinations, header
 * operations, percentages, client TLS settings and durations with Istio's 1ms floor. The semantic
 * checks over them (hosts, labels, exportTo ...) live in rules.ts.
 */
import { bool, checked, list, nonEmpty, obj, oneOfStrings, opt, percent, port, str, stringMap, strings, Type, type Static } from "../../schema.js";

/**
 * A Go duration of at least 1ms. Istio's CRDs carry `duration(self) >= duration('1ms')` on most
 * durations, so `timeout: 0s` is rejected by the API server; fields where 0 is meaningful (a
 * cookie TTL, a TCP idle timeout) use the plain `duration()` instead.
 */
export const durationMin1ms = () => checked("duration", {
  pattern: "^(?!(?:0+(?:\\.0+)?(?:ns|us|µs|ms|s|m|h))+$)",
  "x-msg": 'must be a duration of at least 1ms, such as "10s", "1m30s" or "250ms"',
});

/**
 * Istio StringMatch. The API makes it a oneof (exactly one of exact, prefix, regex); that and the
 * non-empty rules are checked in rules.ts so the message can say which keys collide.
 */
export const StringMatchSchema = obj({
  exact: opt(str()),
  prefix: opt(str()),
  regex: opt(checked("re2")),
});
/** Typed form of {@link StringMatchSchema}. */
export type StringMatch = Static<typeof StringMatchSchema>;

/** A map of StringMatch keyed by header or query parameter name. */
export const stringMatchMap = () => Type.Record(Type.String(), StringMatchSchema);

/** Istio Percent: `{ value: 12.5 }`, a double from 0 to 100. */
export const PercentSchema = obj({ value: opt(percent()) });
/** Typed form of {@link PercentSchema}. */
export type Percent = Static<typeof PercentSchema>;

/** Istio PortSelector: `{ number: 9080 }`. */
export const PortSelectorSchema = obj({ number: port() });
/** Typed form of {@link PortSelectorSchema}. */
export type PortSelector = Static<typeof PortSelectorSchema>;

/** Istio Destination: a registry host, optionally a subset of it and a port on it. */
export const DestinationSchema = obj({
  host: nonEmpty(),
  subset: opt(str()),
  port: opt(PortSelectorSchema),
});
/** Typed form of {@link DestinationSchema}. */
export type Destination = Static<typeof DestinationSchema>;

/** Header edits applied to a request or a response. */
export const HeaderOperationsSchema = obj({
  set: opt(stringMap()),
  add: opt(stringMap()),
  remove: opt(strings()),
});
/** Typed form of {@link HeaderOperationsSchema}. */
export type HeaderOperations = Static<typeof HeaderOperationsSchema>;

/** Istio Headers: edits on the request (before forwarding) and on the response. */
export const HeadersSchema = obj({
  request: opt(HeaderOperationsSchema),
  response: opt(HeaderOperationsSchema),
});
/** Typed form of {@link HeadersSchema}. */
export type Headers = Static<typeof HeadersSchema>;

/** A route weight: relative, so any non-negative int32 (Istio sends weight/sum to each destination). */
export const weight = () => Type.Integer({ minimum: 0, maximum: 2147483647, "x-msg": "must be a whole number from 0 to 2147483647" });

/** Istio ClientTLSSettings: how a DestinationRule originates TLS to the upstream. */
export const ClientTLSSettingsSchema = obj({
  mode: opt(oneOfStrings("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL")),
  clientCertificate: opt(str()),
  privateKey: opt(str()),
  caCertificates: opt(str()),
  credentialName: opt(str()),
  subjectAltNames: opt(strings()),
  sni: opt(str()),
  insecureSkipVerify: opt(bool()),
  caCrl: opt(str()),
});
/** Typed form of {@link ClientTLSSettingsSchema}. */
export type ClientTLSSettings = Static<typeof ClientTLSSettingsSchema>;

/** The workload selector of a ServiceEntry (and Sidecar): `labels`, not `matchLabels`. */
export const LabelsSelectorSchema = obj({ labels: opt(stringMap()) });
/** Typed form of {@link LabelsSelectorSchema}. */
export type LabelsSelector = Static<typeof LabelsSelectorSchema>;

/** exportTo: namespaces that may see the resource ("." this one, "*" all, "~" none for ServiceEntry). */
export const exportTo = () => opt(list(str()));

/** The API group of every kind in this folder. */
export const NETWORKING_GROUP = "networking.istio.io";

/** Versions accepted for every kind in this folder, preferred first; older ones normalise to v1. */
export const NETWORKING_VERSIONS = ["v1", "v1beta1", "v1alpha3"] as const;
