// Test helpers for xDS: a port-0 ADS server, a raw recording ADS client, Envoy resource builders.
export { DeltaStream, RawAdsClient, RecordingStream, SotwStream, namesOf, startAds } from "./adsClient.js";
export type { AdsHarness } from "./adsClient.js";
export { eventually } from "./wait.js";
export { adsSource, apiListener, authorization, edsCluster, listener, loadAssignment, routeConfig, secret, workloadAddress } from "./envoy.js";
export type { WeightedCluster } from "./envoy.js";
