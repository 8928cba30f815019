/**
 * DestinationRule `outlierDetection` -> Envoy outlier detection (passive health checking), as
 * Istio's `applyOutlierDetection` builds it:
 *
 * - success-rate ejection is switched off (enforcing_success_rate 0): Istio exposes only
 *   consecutive-error ejection;
 * - consecutive5xxErrors / consecutiveGatewayErrors set the count and enforce at 100% (0 turns
 *   that detector off). An unset consecutive5xxErrors leaves Envoy's default (5, enforced);
 *   gateway-error ejection stays off unless asked for;
 * - the deprecated consecutiveErrors, when nothing newer is set, counts gateway errors only
 *   (502/503/504), as Istio mapped it (istio/api#617);
 * - local-origin failures count separately only with splitExternalLocalOriginErrors;
 * - minHealthPercent becomes common_lb_config.healthy_panic_threshold, set even when 0: Envoy's
 *   default panic threshold (50%) makes little sense for services with a handful of pods, so
 *   Istio disables panic mode unless asked.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { OutlierDetectionSchema } from "@waystation/proto/envoy/config/cluster/v3/outlier_detection_pb.js";
import { millis } from "../envoy/build.js";
import { durationMs, type EffectivePolicy } from "./policy.js";

export interface OutlierPlan {
  outlierDetection: MessageInitShape<typeof OutlierDetectionSchema>;
  healthyPanicThreshold: number;
}

export function outlierDetectionPlan(policy: EffectivePolicy | undefined): OutlierPlan | undefined {
  const od = policy?.outlierDetection;
  if (!od) return undefined;
  const out: MessageInitShape<typeof OutlierDetectionSchema> = { enforcingSuccessRate: 0 };
  const enforce = (n: number) => (n > 0 ? 100 : 0);
  if (od.consecutive5xxErrors !== undefined) {
    out.consecutive5xx = od.consecutive5xxErrors;
    out.enforcingConsecutive5xx = enforce(od.consecutive5xxErrors);
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutiveGatewayFailure = od.consecutiveGatewayErrors;
    out.enforcingConsecutiveGatewayFailure = enforce(od.consecutiveGatewayErrors);
  }
  if (od.consecutiveErrors !== undefined && od.consecutiveErrors > 0 && od.consecutive5xxErrors === undefined && od.consecutiveGatewayErrors === undefined) {
    out.consecutiveGatewayFailure = od.consecutiveErrors;
    out.enforcingConsecutiveGatewayFailure = 100;
    out.enforcingConsecutive5xx = 0;
  }
  if (od.interval) out.interval = millis(durationMs(od.interval));
  if (od.baseEjectionTime) out.baseEjectionTime = millis(durationMs(od.baseEjectionTime));
  if (od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0) out.maxEjectionPercent = od.maxEjectionPercent;
  if (od.splitExternalLocalOriginErrors) {
    out.splitExternalLocalOriginErrors = true;
    if ((od.consecutiveLocalOriginFailures ?? 0) > 0) {
      out.consecutiveLocalOriginFailure = od.consecutiveLocalOriginFailures;
      out.enforcingConsecutiveLocalOriginFailure = 100;
    }
    out.enforcingLocalOriginSuccessRate = 0;
  }
  return { outlierDetection: out, healthyPanicThreshold: od.minHealthPercent ?? 0 };
}
