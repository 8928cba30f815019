// @waystation/ztunnel: the Node ztunnel. State (local file or Delta xDS) -> pure decisions
// (buildOutbound, authorizeInbound) -> execution (HBONE client/server, SOCKS5, explicit and
// plaintext listeners) with Istio's TCP metrics and access log. See README.md.
export { startZtunnel, findWorkload } from "./ztunnel.js";
export type { Ztunnel, ZtunnelOptions, ZtunnelConfigSource } from "./ztunnel.js";
export { MeshState } from "./state.js";
export type { StateChange, StateListener } from "./state.js";
export {
  DEFAULT_TRUST_DOMAIN, EMPTY_MATCH, HBONE_PORT, parseIdentity, policyKey, serviceDefaults, serviceKey, silentLogger,
  workloadDefaults, workloadIdentity,
} from "./types.js";
export type { GatewayAddress, Logger, Match, Policy, PortMapping, Rule, Service, StringMatch, Workload } from "./types.js";
export { parseLocalConfig } from "./localConfig.js";
export type { ExplicitListener, LocalConfig, PlaintextListener } from "./localConfig.js";
export { addressFromProto, policyFromProto } from "./protoConvert.js";
export type { Decoded } from "./protoConvert.js";
export { buildOutbound, pickEndpoint, resolveGateway } from "./outbound.js";
export type { OutboundDestination, OutboundOptions, OutboundPlan, OutboundTarget } from "./outbound.js";
export { authorize, authorizeInbound, matches } from "./authz.js";
export type { AuthzDecision, InboundConnection } from "./authz.js";
export { XdsClient, ADDRESS_TYPE, AUTHORIZATION_TYPE, ztunnelNodeId } from "./xdsClient.js";
export type { XdsClientOptions, XdsClientStatus } from "./xdsClient.js";
export { CertManager, caCertificateSource, fileCertificateSource, fromPem } from "./certs.js";
export type { CertificateSource, CertManagerOptions, WorkloadCertificate } from "./certs.js";
export { DEFAULT_H2, HboneConnector, HboneError, openConnect } from "./hboneClient.js";
export type { H2Settings, HboneConnectorOptions } from "./hboneClient.js";
export { HboneServer } from "./hboneServer.js";
export { HbonePool, poolKeyString } from "./pool.js";
export type { Lease, PoolKey, PoolOptions } from "./pool.js";
export { ZtunnelMetrics, flowLabels } from "./metrics.js";
export type { FlowInfo, ResponseFlags } from "./metrics.js";
export { AccessLog, accessRecord, loggerSink } from "./accessLog.js";
export type { AccessLogSink, AccessRecord, FlowOutcome } from "./accessLog.js";
export { buildBaggage, buildForwarded, parseBaggage, parseForwarded } from "./hboneHeaders.js";
export { formatHostPort, parseHostPort, parseCidr, cidrContains } from "./ip.js";
export type { Cidr, HostPort } from "./ip.js";
