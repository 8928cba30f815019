/**
 * What `waystation demo` runs, read from the mesh model of its configuration directory (pure):
 * one ztunnel per node that has ambient pods, one echo app per (pod, target port) of a Service,
 * and the two requests of the scenario: the allowed client and the denied one, both to the
 * demo's service through the client's node ztunnel.
 */
import type { MeshModel, MeshWorkload } from "@waystation/model";

/** The scenario, by names in the configuration (examples/demo/mesh.yaml, policy.yaml). */
export const SCENARIO = {
  namespace: "demo",
  /** The Service the clients call. */
  service: "echo",
  /** `app` label of the client the policy lets through, and of the one it denies. */
  allowed: "sleep",
  denied: "notsleep",
} as const;

/** An ambient pod as the demo uses it. */
export interface DemoPod {
  readonly namespace: string;
  readonly name: string;
  readonly app: string;
  readonly ip: string;
  readonly node: string;
  readonly identity: string;
}

/** A sample app: listens on the pod's IP and the Service's target port. */
export interface DemoApp {
  readonly pod: DemoPod;
  readonly port: number;
  /** The Service host name and port clients use. */
  readonly service: string;
  readonly servicePort: number;
}

/** One request of the scenario. */
export interface DemoRequest {
  readonly from: DemoPod;
  readonly host: string;
  readonly port: number;
  readonly expect: "allowed" | "denied";
}

/** Everything the demo starts and does. */
export interface DemoPlan {
  /** Nodes sorted by name, each with its pods (by IP). */
  readonly nodes: { readonly name: string; readonly pods: readonly DemoPod[] }[];
  readonly apps: readonly DemoApp[];
  readonly requests: readonly DemoRequest[];
}

/** Builds the plan, or says what the configuration lacks. */
export function planDemo(model: MeshModel): { plan: DemoPlan } | { errors: string[] } {
  const pods = model.workloads.filter((w) => w.kind === "Pod" && w.tunnel === "HBONE" && w.ips.length > 0 && w.node !== "").map(toPod);
  const errors: string[] = [];
  const nonLoopback = pods.filter((p) => !p.ip.startsWith("127."));
  if (nonLoopback.length > 0) errors.push(`pods must have loopback addresses (127.x.y.z) to run on this host: ${nonLoopback.map((p) => `${p.namespace}/${p.name} ${p.ip}`).join(", ")}`);

  const apps: DemoApp[] = [];
  for (const svc of model.services.filter((s) => s.kind === "Service")) {
    for (const w of model.workloads.filter((x) => x.services.includes(svc.hostname))) {
      const pod = pods.find((p) => p.namespace === w.namespace && p.name === w.name);
      if (!pod) continue;
      for (const sp of svc.ports) {
        const port = typeof sp.targetPort === "number" ? sp.targetPort : w.namedPorts[sp.targetPort];
        if (port === undefined) errors.push(`Service ${svc.namespace}/${svc.name} port ${sp.port}: pod ${w.name} has no container port named ${String(sp.targetPort)}`);
        else if (!apps.some((a) => a.pod === pod && a.port === port)) apps.push({ pod, port, service: svc.hostname, servicePort: sp.port });
      }
    }
  }

  const byApp = (app: string) => pods.find((p) => p.namespace === SCENARIO.namespace && p.app === app);
  const target = apps.find((a) => a.pod.namespace === SCENARIO.namespace && a.service === `${SCENARIO.service}.${SCENARIO.namespace}.svc.cluster.local`);
  if (!target) errors.push(`no ambient pod behind Service ${SCENARIO.namespace}/${SCENARIO.service}`);
  const requests: DemoRequest[] = [];
  for (const [app, expect] of [[SCENARIO.allowed, "allowed"], [SCENARIO.denied, "denied"]] as const) {
    const from = byApp(app);
    if (!from) errors.push(`no ambient pod labelled app=${app} in namespace ${SCENARIO.namespace}`);
    else if (target) requests.push({ from, host: target.service, port: target.servicePort, expect });
  }
  if (errors.length > 0) return { errors };

  const nodes = [...new Set(pods.map((p) => p.node))].sort().map((name) => ({
    name, pods: pods.filter((p) => p.node === name).sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true })),
  }));
  return { plan: { nodes, apps, requests } };
}

function toPod(w: MeshWorkload): DemoPod {
  return { namespace: w.namespace, name: w.name, app: w.labels.app ?? w.name, ip: w.ips[0]!, node: w.node, identity: w.identity };
}
