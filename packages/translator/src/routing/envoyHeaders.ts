/** Header mutations and percentages in their Envoy forms, shared by routes, weighted clusters and filters. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { HeaderValueOption_HeaderAppendAction, type HeaderValueOptionSchema } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { FractionalPercent_DenominatorType, type FractionalPercentSchema } from "@waystation/proto/envoy/type/v3/percent_pb.js";
import type { HeaderMutationIR } from "./ir.js";

type HeaderValueOptionInit = MessageInitShape<typeof HeaderValueOptionSchema>;

/** The Envoy fields of one header mutation, and the names Envoy would refuse. */
export interface HeaderEdits {
  toAdd: HeaderValueOptionInit[];
  toRemove: string[];
  /** Pseudo-headers and Host: Envoy rejects the whole route configuration if they are modified. */
  refused: string[];
}

/** Envoy's isModifiableHeader: ":"-prefixed pseudo-headers and Host may not be added, set or removed. */
export function modifiable(name: string): boolean {
  return !name.startsWith(":") && name.toLowerCase() !== "host";
}

/** set -> OVERWRITE_IF_EXISTS_OR_ADD, add -> APPEND_IF_EXISTS_OR_ADD, remove -> *_headers_to_remove. */
export function headerEdits(m: HeaderMutationIR | undefined): HeaderEdits {
  const out: HeaderEdits = { toAdd: [], toRemove: [], refused: [] };
  if (!m) return out;
  const keep = (name: string) => {
    if (modifiable(name)) return true;
    out.refused.push(name);
    return false;
  };
  for (const h of m.set) {
    if (keep(h.name)) out.toAdd.push({ header: { key: h.name, value: h.value }, appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD });
  }
  for (const h of m.add) {
    if (keep(h.name)) out.toAdd.push({ header: { key: h.name, value: h.value }, appendAction: HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD });
  }
  for (const name of m.remove) if (keep(name)) out.toRemove.push(name);
  return out;
}

/** The request and response fields of a route or weighted cluster, present only when non-empty. */
export function headerFields(request: HeaderMutationIR | undefined, response: HeaderMutationIR | undefined): {
  fields: Partial<Record<"requestHeadersToAdd" | "responseHeadersToAdd", HeaderValueOptionInit[]> & Record<"requestHeadersToRemove" | "responseHeadersToRemove", string[]>>;
  refused: string[];
} {
  const req = headerEdits(request);
  const res = headerEdits(response);
  return {
    fields: {
      ...(req.toAdd.length > 0 ? { requestHeadersToAdd: req.toAdd } : {}),
      ...(req.toRemove.length > 0 ? { requestHeadersToRemove: req.toRemove } : {}),
      ...(res.toAdd.length > 0 ? { responseHeadersToAdd: res.toAdd } : {}),
      ...(res.toRemove.length > 0 ? { responseHeadersToRemove: res.toRemove } : {}),
    },
    refused: [...req.refused, ...res.refused],
  };
}

/** Whether a mutation changes anything. */
export function hasEdits(m: HeaderMutationIR | undefined): boolean {
  return m !== undefined && m.set.length + m.add.length + m.remove.length > 0;
}

/**
 * A percentage as an Envoy FractionalPercent: whole percents over HUNDRED, anything finer over
 * MILLION (as Istio encodes VirtualService percentages).
 */
export function fractionalPercent(percent: number): MessageInitShape<typeof FractionalPercentSchema> {
  const p = Math.min(100, Math.max(0, percent));
  if (Number.isInteger(p)) return { numerator: p, denominator: FractionalPercent_DenominatorType.HUNDRED };
  return { numerator: Math.round(p * 10_000), denominator: FractionalPercent_DenominatorType.MILLION };
}
