import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildModel } from "./build.js";
import { describeBinding } from "./binding.js";
import { namespace, pod, service, waypointGateway } from "./testing.js";
import type { LoadedResource } from "@waystation/api";

const ambient = { "istio.io/dataplane-mode": "ambient" };

interface Case {
  name: string;
  resources: LoadedResource[];
  /** "service <ns>/<name>" or "pod <ns>/<name>" */
  target: string;
  want: string;
}

const cases: Case[] = [
  {
    name: "namespace label binds the service",
    resources: [namespace("a", { ...ambient, "istio.io/use-waypoint": "waypoint" }), waypointGateway("a", "waypoint"), service("a", "reviews")],
    target: "service a/reviews",
    want: "uses waypoint a/waypoint (istio.io/use-waypoint=waypoint on Namespace a)",
  },
  {
    name: "the service's own label overrides the namespace's",
    resources: [namespace("a", { "istio.io/use-waypoint": "waypoint" }), waypointGateway("a", "waypoint"), waypointGateway("a", "special"),
      service("a", "reviews", { "istio.io/use-waypoint": "special" })],
    target: "service a/reviews",
    want: "uses waypoint a/special (istio.io/use-waypoint=special on Service a/reviews)",
  },
  {
    name: "none opts a service out of the namespace waypoint",
    resources: [namespace("a", { "istio.io/use-waypoint": "waypoint" }), waypointGateway("a", "waypoint"), service("a", "reviews", { "istio.io/use-waypoint": "none" })],
    target: "service a/reviews",
    want: "uses no waypoint: opted out with istio.io/use-waypoint=none on Service a/reviews",
  },
  {
    name: "no label anywhere",
    resources: [namespace("a", ambient), waypointGateway("a", "waypoint"), service("a", "reviews")],
    target: "service a/reviews",
    want: "uses no waypoint: neither Service a/reviews nor its namespace has the label istio.io/use-waypoint",
  },
  {
    name: "a waypoint that does not exist",
    resources: [namespace("a"), service("a", "reviews", { "istio.io/use-waypoint": "ghost" })],
    target: "service a/reviews",
    want: "uses no waypoint: istio.io/use-waypoint=ghost on Service a/reviews, but waypoint a/ghost does not exist (no Gateway of class istio-waypoint with that name)",
  },
  {
    name: "a workload-only waypoint asked for by a service is an error",
    resources: [namespace("a"), waypointGateway("a", "wl", { "istio.io/waypoint-for": "workload" }), service("a", "reviews", { "istio.io/use-waypoint": "wl" })],
    target: "service a/reviews",
    want: "uses no waypoint: istio.io/use-waypoint=wl on Service a/reviews, but waypoint a/wl takes workload traffic (istio.io/waypoint-for: workload), not service traffic",
  },
  {
    name: "waypoint-for workload binds pods",
    resources: [namespace("a", { ...ambient, "istio.io/use-waypoint": "wl" }), waypointGateway("a", "wl", { "istio.io/waypoint-for": "workload" }), pod("a", "p", "reviews", "10.0.0.1")],
    target: "pod a/p",
    want: "uses waypoint a/wl (istio.io/use-waypoint=wl on Namespace a)",
  },
  {
    name: "a service waypoint inherited from the namespace does not take pod traffic",
    resources: [namespace("a", { ...ambient, "istio.io/use-waypoint": "waypoint" }), waypointGateway("a", "waypoint"), pod("a", "p", "reviews", "10.0.0.1")],
    target: "pod a/p",
    want: "uses no waypoint: the namespace waypoint a/waypoint takes service traffic only",
  },
  {
    name: "waypoint-for all takes both",
    resources: [namespace("a", { "istio.io/use-waypoint": "w" }), waypointGateway("a", "w", { "istio.io/waypoint-for": "all" }), pod("a", "p", "reviews", "10.0.0.1")],
    target: "pod a/p",
    want: "uses waypoint a/w (istio.io/use-waypoint=w on Namespace a)",
  },
  {
    name: "cross-namespace waypoint refused by allowedRoutes Same (the default)",
    resources: [namespace("a"), namespace("egress"), waypointGateway("egress", "w"),
      service("a", "reviews", { "istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "egress" })],
    target: "service a/reviews",
    want: "uses no waypoint: istio.io/use-waypoint=w on Service a/reviews, but waypoint egress/w does not allow binding from namespace a (allowedRoutes.namespaces.from: Same)",
  },
  {
    name: "cross-namespace waypoint allowed by from: All",
    resources: [namespace("a"), namespace("egress"), waypointGateway("egress", "w", {}, { namespaces: { from: "All" } }),
      service("a", "reviews", { "istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "egress" })],
    target: "service a/reviews",
    want: "uses waypoint egress/w (istio.io/use-waypoint=w on Service a/reviews)",
  },
  {
    name: "cross-namespace waypoint allowed by a namespace selector",
    resources: [namespace("a", { team: "x" }), namespace("egress"), waypointGateway("egress", "w", {}, { namespaces: { from: "Selector", selector: { matchLabels: { team: "x" } } } }),
      namespace("b", { team: "y" }),
      service("a", "reviews", { "istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "egress" })],
    target: "service a/reviews",
    want: "uses waypoint egress/w (istio.io/use-waypoint=w on Service a/reviews)",
  },
  {
    name: "cross-namespace waypoint refused when the namespace selector does not match",
    resources: [namespace("b", { team: "y" }), namespace("egress"), waypointGateway("egress", "w", {}, { namespaces: { from: "Selector", selector: { matchLabels: { team: "x" } } } }),
      service("b", "reviews", { "istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "egress" })],
    target: "service b/reviews",
    want: "uses no waypoint: istio.io/use-waypoint=w on Service b/reviews, but waypoint egress/w does not allow binding from namespace b (allowedRoutes.namespaces.from: Selector)",
  },
  {
    name: "the namespace's use-waypoint-namespace applies to its services",
    resources: [namespace("a", { "istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "shared" }), namespace("shared"),
      waypointGateway("shared", "w", {}, { namespaces: { from: "All" } }), service("a", "reviews")],
    target: "service a/reviews",
    want: "uses waypoint shared/w (istio.io/use-waypoint=w on Namespace a)",
  },
  {
    name: "a waypoint's own service never uses a waypoint",
    resources: [namespace("a", { "istio.io/use-waypoint": "waypoint" }), waypointGateway("a", "waypoint"),
      service("a", "waypoint", { "gateway.networking.k8s.io/gateway-name": "waypoint" })],
    target: "service a/waypoint",
    want: "uses no waypoint: Service a/waypoint is part of a waypoint; waypoints never use a waypoint",
  },
  {
    name: "a waypoint's own pod never uses a waypoint",
    resources: [namespace("a", { "istio.io/use-waypoint": "w" }), waypointGateway("a", "w", { "istio.io/waypoint-for": "all" }),
      pod("a", "w-123", "w", "10.0.0.9", { "gateway.networking.k8s.io/gateway-name": "w" })],
    target: "pod a/w-123",
    want: "uses no waypoint: Pod a/w-123 is part of a waypoint; waypoints never use a waypoint",
  },
];

describe("waypoint binding", () => {
  for (const c of cases) {
    it(c.name, () => {
      const model = buildModel(c.resources);
      const [kind, ref] = c.target.split(" ") as [string, string];
      const [ns, name] = ref.split("/") as [string, string];
      const binding = kind === "service"
        ? model.services.find((s) => s.namespace === ns && s.name === name)?.waypoint
        : model.workloads.find((w) => w.namespace === ns && w.name === name)?.waypoint;
      assert.ok(binding, `${c.target} not in the model`);
      assert.equal(describeBinding(binding), c.want);
    });
  }
});
