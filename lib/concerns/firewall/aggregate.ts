import type { ForwardAcceptModel } from "../../model";
import { mergePortRanges } from "../../validation/port";
import { compareAccepts } from "../../render/iptables";

/**
 * Folds every accept under one dom0 into its canonical ruleset: accepts with
 * the same interface, address, protocol, source and source ports become one,
 * their ports merged; the result is sorted, so rule order never depends on
 * the order constructs were written in.
 */
export function aggregateAccepts(accepts: readonly ForwardAcceptModel[]): ForwardAcceptModel[] {
  const groups = new Map<string, ForwardAcceptModel>();
  for (const a of accepts) {
    const sourcePorts = mergePortRanges(a.sourcePorts);
    const key = JSON.stringify([a.vifname, a.address, a.protocol, a.source, sourcePorts]);
    const prev = groups.get(key);
    groups.set(key, {
      ...a,
      sourcePorts,
      ports: mergePortRanges([...(prev?.ports ?? []), ...a.ports]),
    });
  }
  return [...groups.values()].sort(compareAccepts);
}
