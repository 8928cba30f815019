/**
 * Small builders for Envoy messages that every translator needs: typed extension configs, Any,
 * durations, ADS config sources, SDS secret references. Messages are protobuf-es values, so field
 * names and types are checked by the compiler.
 */
import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, type Any, DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { ApiVersion, ConfigSourceSchema, type ConfigSource } from "@waystation/proto/envoy/config/core/v3/config_source_pb.js";
import { TypedExtensionConfigSchema, type TypedExtensionConfig } from "@waystation/proto/envoy/config/core/v3/extension_pb.js";
import { TypedExtensionConfigSchema as XdsTypedExtensionConfigSchema, type TypedExtensionConfig as XdsTypedExtensionConfig } from "@waystation/proto/xds/core/v3/extension_pb.js";
import { HttpFilterSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FilterSchema, type Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerFilterSchema, type ListenerFilter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { TransportSocketSchema, type TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { SdsSecretConfigSchema, type SdsSecretConfig } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

/** Packs a message built from `init` into an Any. */
export function any<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Any {
  return anyPack(schema, create(schema, init) as MessageShape<D>);
}

/** A named extension with its typed config, e.g. an HTTP filter or a listener filter. */
export function typed<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): TypedExtensionConfig {
  return create(TypedExtensionConfigSchema, { name, typedConfig: any(schema, init) });
}

/**
 * The same for the xDS unified matcher, whose inputs, custom matchers and actions are
 * xds.core.v3.TypedExtensionConfig (a different message from Envoy's).
 */
export function xdsTyped<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): XdsTypedExtensionConfig {
  return create(XdsTypedExtensionConfigSchema, { name, typedConfig: any(schema, init) });
}

/** An HTTP filter of an HCM: a name and its typed config. */
export function httpFilter<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): HttpFilter {
  return create(HttpFilterSchema, { name, configType: { case: "typedConfig", value: any(schema, init) } });
}

/** A network filter of a filter chain. */
export function networkFilter<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): Filter {
  return create(FilterSchema, { name, configType: { case: "typedConfig", value: any(schema, init) } });
}

/** A listener filter. */
export function listenerFilter<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): ListenerFilter {
  return create(ListenerFilterSchema, { name, configType: { case: "typedConfig", value: any(schema, init) } });
}

/** A transport socket with its typed config. */
export function transportSocket<D extends DescMessage>(name: string, schema: D, init: MessageInitShape<D>): TransportSocket {
  return create(TransportSocketSchema, { name, configType: { case: "typedConfig", value: any(schema, init) } });
}

/** A protobuf Duration from milliseconds. */
export function millis(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

export function seconds(s: number): Duration {
  return millis(s * 1000);
}

/** Config arrives over the same ADS stream (xDS v3). */
export function adsSource(): ConfigSource {
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ApiVersion.V3 });
}

/** A reference to a secret served over SDS on the ADS stream. */
export function sdsSecret(name: string): SdsSecretConfig {
  return create(SdsSecretConfigSchema, { name, sdsConfig: adsSource() });
}

/** Istio's SDS names: the proxy's own certificate and the trust bundle. */
export const secretNames = { workloadCert: "default", rootCa: "ROOTCA" } as const;
