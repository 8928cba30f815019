/**
 * DestinationRule `connectionPool` (and `retryBudget`) -> circuit breakers, connect timeout, TCP
 * keepalive and the HTTP connection settings, as Istio's `applyConnectionPool` sets them.
 *
 * Every inbound-vip cluster gets Istio's circuit breaker thresholds, DestinationRule or not:
 * everything at 2^32-1 with track_remaining. Envoy's own defaults (1024 connections / pending /
 * requests, 3 parallel retries) trip during rollouts before new endpoints arrive and answer 503
 * (Istio `getDefaultCircuitBreakerThresholds`). A DestinationRule lowers them where it sets a
 * positive value; 0 means "not set", as in Istio, because the API cannot tell them apart.
 *
 * Envoy semantics worth knowing: max_pending_requests only limits HTTP/1.1 pools and max_requests
 * only HTTP/2 ones, which is why Istio names them http1MaxPendingRequests / http2MaxRequests.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CircuitBreakersSchema } from "@waystation/proto/envoy/config/cluster/v3/circuit_breaker_pb.js";
import type { UpstreamConnectionOptionsSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { EffectivePolicy } from "./policy.js";
import { durationMs } from "./policy.js";

const unlimited = 4294967295;

/** The HTTP settings that end up in HttpProtocolOptions (see httpProtocolOptions.ts). */
export interface HttpConnectionSettings {
  idleTimeoutMs?: number;
  maxRequestsPerConnection?: number;
  maxConnectionDurationMs?: number;
  maxConcurrentStreams?: number;
  /** Speak to the upstream in the protocol the client used (useClientProtocol). */
  useClientProtocol: boolean;
  /** h2UpgradePolicy as written; DEFAULT follows the mesh default, which is DO_NOT_UPGRADE. */
  h2UpgradePolicy?: "DEFAULT" | "DO_NOT_UPGRADE" | "UPGRADE";
}

export interface ConnectionPoolPlan {
  connectTimeoutMs: number;
  circuitBreakers: MessageInitShape<typeof CircuitBreakersSchema>;
  upstreamConnectionOptions?: MessageInitShape<typeof UpstreamConnectionOptionsSchema>;
  http: HttpConnectionSettings;
}

export function connectionPoolPlan(policy: EffectivePolicy | undefined, defaultConnectTimeoutMs: number): ConnectionPoolPlan {
  const tcp = policy?.connectionPool?.tcp;
  const http = policy?.connectionPool?.http;
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  const budget = policy?.retryBudget;
  const threshold = {
    maxConnections: positive(tcp?.maxConnections) ?? unlimited,
    maxPendingRequests: positive(http?.http1MaxPendingRequests) ?? unlimited,
    maxRequests: positive(http?.http2MaxRequests) ?? unlimited,
    maxRetries: positive(http?.maxRetries) ?? unlimited,
    // A retry budget replaces max_retries in Envoy: retries may be budgetPercent of active requests.
    ...(budget ? {
      retryBudget: {
        ...(budget.percent !== undefined ? { budgetPercent: { value: budget.percent } } : {}),
        ...(budget.minRetryConcurrency !== undefined ? { minRetryConcurrency: budget.minRetryConcurrency } : {}),
      },
    } : {}),
    trackRemaining: true,
  };
  // HTTP idleTimeout wins; TCP idleTimeout is the fallback (Istio applies it to the HTTP pool too).
  const idle = http?.idleTimeout ?? tcp?.idleTimeout;
  const keepalive = tcp?.tcpKeepalive;
  return {
    connectTimeoutMs: tcp?.connectTimeout ? durationMs(tcp.connectTimeout) : defaultConnectTimeoutMs,
    circuitBreakers: { thresholds: [threshold] },
    // Any tcpKeepalive turns SO_KEEPALIVE on; the values it gives override the OS defaults (whole seconds).
    ...(keepalive ? {
      upstreamConnectionOptions: {
        tcpKeepalive: {
          ...(keepalive.probes ? { keepaliveProbes: keepalive.probes } : {}),
          ...(keepalive.time ? { keepaliveTime: Math.floor(durationMs(keepalive.time) / 1000) } : {}),
          ...(keepalive.interval ? { keepaliveInterval: Math.floor(durationMs(keepalive.interval) / 1000) } : {}),
        },
      },
    } : {}),
    http: {
      ...(idle !== undefined ? { idleTimeoutMs: durationMs(idle) } : {}),
      ...(positive(http?.maxRequestsPerConnection) ? { maxRequestsPerConnection: http!.maxRequestsPerConnection! } : {}),
      ...(tcp?.maxConnectionDuration ? { maxConnectionDurationMs: durationMs(tcp.maxConnectionDuration) } : {}),
      ...(positive(http?.maxConcurrentStreams) ? { maxConcurrentStreams: http!.maxConcurrentStreams! } : {}),
      useClientProtocol: http?.useClientProtocol === true,
      ...(http?.h2UpgradePolicy ? { h2UpgradePolicy: http.h2UpgradePolicy } : {}),
    },
  };
}
