/**
 * "Can a message of this type contain something we care about?", answered once per type so that
 * the rule and reference walks skip subtrees that cannot matter (most of a Listener has no rules
 * and no references). A type matters if it matters directly or any message field's type matters;
 * recursive types (RBAC's Permission, xDS matchers) are settled by iterating to a fixpoint over
 * the types reachable from the one asked about. google.protobuf types are leaves: Struct and Value
 * have no rules, and Any is opaque here (walkers unpack it and ask again about the payload).
 */
import type { DescMessage } from "@bufbuild/protobuf";

/** Returns a memoised predicate: does `direct` hold for the type or anything it can contain? */
export function reachability(direct: (desc: DescMessage) => boolean): (desc: DescMessage) => boolean {
  const memo = new Map<string, boolean>();
  const children = (d: DescMessage): DescMessage[] =>
    d.typeName.startsWith("google.protobuf.") ? [] : d.fields.flatMap((f) => (f.message ? [f.message] : []));
  return (desc) => {
    const known = memo.get(desc.typeName);
    if (known !== undefined) return known;
    // Collect the not-yet-settled types reachable from desc.
    const pending = new Map<string, DescMessage>();
    const stack = [desc];
    while (stack.length > 0) {
      const d = stack.pop() as DescMessage;
      if (memo.has(d.typeName) || pending.has(d.typeName)) continue;
      pending.set(d.typeName, d);
      stack.push(...children(d));
    }
    const marked = new Set<string>();
    for (const [name, d] of pending) if (direct(d)) marked.add(name);
    for (let changed = true; changed;) {
      changed = false;
      for (const [name, d] of pending) {
        if (marked.has(name)) continue;
        if (children(d).some((c) => marked.has(c.typeName) || memo.get(c.typeName) === true)) {
          marked.add(name);
          changed = true;
        }
      }
    }
    for (const name of pending.keys()) memo.set(name, marked.has(name));
    return marked.has(desc.typeName);
  };
}
