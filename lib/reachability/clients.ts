/**
 * Client addresses that stand for where traffic comes from, for questions
 * asked of the model: outside a dom0 (on its uplink's subnet, and behind its
 * router), or inside one source network. Addresses of the dom0 and its guests
 * (`taken`) are never used.
 */
import { Cidr, inCidr, ipNum } from "./ip";

/**
 * Documentation addresses (RFC 5737) that stand for a client behind the
 * uplink's router, in order of preference: the proof at synth and the lab take
 * the first that is neither on the uplink's subnet nor a host's. None is in the
 * lab's management network.
 */
export const FAR_CLIENTS: readonly string[] = ["203.0.113.77", "192.0.2.177", "203.0.113.177"];

/** One client on the uplink's subnet (from its top down) and one behind its router, where there are free addresses. */
export function outsideClients(uplink: Cidr, taken: ReadonlySet<number>): { near?: number; far?: number } {
  const size = 2 ** (32 - uplink.prefix);
  let near: number | undefined;
  for (let i = 0, n = uplink.net + size - 2; size > 2 && i < size - 2; i++, n--) {
    if (!taken.has(n)) {
      near = n;
      break;
    }
  }
  const far = FAR_CLIENTS.map((a) => ipNum(a)!).find((n) => !inCidr(uplink, n) && !taken.has(n));
  return { near, far };
}

/** The first address of `source` (its first host address, below a /31) that is free, among its first 256. */
export function clientIn(source: Cidr, taken: ReadonlySet<number>): number | undefined {
  const count = Math.min(2 ** (32 - source.prefix), 256);
  for (let i = 0, n = source.prefix >= 31 ? source.net : source.net + 1; i < count; i++, n++) if (!taken.has(n)) return n;
  return undefined;
}
