/** The entry point: which proxy is asking, and the translator for its role. */
import type { Condition, MeshModel } from "@waystation/model";
import { translateGrpc, type GrpcRouteBuilder } from "./grpc/index.js";
import { identifyProxy, type NodeInfo, type ProxyIdentity } from "./proxy.js";
import { emptyResources, type Translation } from "./resources.js";
import { translateWaypoint, waypointForPod, type WaypointTranslateOptions } from "./waypoint/index.js";

export interface TranslateOptions {
  waypoint?: Partial<WaypointTranslateOptions>;
  grpcRoutes?: GrpcRouteBuilder;
}

export type ProxyTranslation = Translation & { proxy?: ProxyIdentity; error?: string };

/**
 * Translates the model for one proxy. A proxy Waystation cannot place (unknown waypoint, role not
 * served yet) gets an empty configuration and an error that says why; it is never given another
 * proxy's configuration.
 */
export function translateFor(model: MeshModel, node: NodeInfo, options: TranslateOptions = {}): ProxyTranslation {
  const proxy = identifyProxy(node);
  if ("error" in proxy) return { resources: emptyResources(), conditions: [], error: proxy.error };
  switch (proxy.role) {
    case "waypoint": {
      const w = waypointForPod(model, proxy.namespace, proxy.podName);
      if (!w) {
        return { proxy, resources: emptyResources(), conditions: [],
          error: `no waypoint Gateway in namespace ${proxy.namespace} matches pod ${proxy.podName} (expected a Gateway named like the pod's prefix, of class istio-waypoint)` };
      }
      return { proxy, ...translateWaypoint(model, w, options.waypoint) };
    }
    case "grpc":
      return { proxy, ...translateGrpc(model, options.grpcRoutes) };
    default:
      return { proxy, resources: emptyResources(), conditions: [] as Condition[], error: `the ${proxy.role} role is not served yet` };
  }
}
