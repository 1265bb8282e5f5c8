/**
 * Readers of xl's files: xl.conf's vif defaults and a domain config's name
 * and vifs.
 */
import { ipNum } from "./ip";
import type { Unreadable } from "./outcome";
import { XlAtom, XlConfig, XlRejection } from "./xl-config";

/** Where xl's domain configs are: a `.cfg` file of /etc/xen itself. */
export const XL_DOMAIN_CONFIG = /^\/etc\/xen\/[^/]+\.cfg$/;

/** One vif of an xl domain config. */
export interface XlVif {
  readonly index: number;
  readonly mac?: string;
  readonly ips: readonly number[];
  /** The dom0 interface; undefined when xl picks `vif<domid>.<devid>`. */
  readonly vifname?: string;
  readonly script: string;
  readonly gatewaydev?: string;
  /** The first address of `ip=` that is not one (the vif's `ips` leave it out). */
  readonly badIp?: string;
  readonly line: number;
}

export interface XlDomain {
  readonly name?: string;
  readonly vifs: readonly XlVif[];
}

/** The vif defaults of /etc/xen/xl.conf (xl.conf(5)) that the model reads. */
export interface XlDefaults {
  /** `vif.default.script`; xl's own default is vif-bridge. */
  readonly script?: string;
  /** `vif.default.gatewaydev`. */
  readonly gatewaydev?: string;
  /** Why xl cannot read the file, when it cannot. */
  readonly rejected?: XlRejection;
}

/** Reads `vif.default.script` and `vif.default.gatewaydev` of an xl.conf. */
export function readXlDefaults(text: string): XlDefaults {
  const c = new XlConfig(text);
  return { script: c.string("vif.default.script"), gatewaydev: c.string("vif.default.gatewaydev"), rejected: c.rejected };
}

/**
 * Reads the `name` and `vif = [...]` of an xl config (xl.cfg(5)), with the
 * vif defaults of xl.conf. A file xl cannot read gives no vifs and an
 * unreadable line: xl starts no domain from it.
 */
export function readXlCfg(file: string, text: string, unreadable: Unreadable[], defaults: XlDefaults = {}): XlDomain {
  return xlDomain(file, new XlConfig(text), unreadable, defaults);
}

/** The `name` and vifs of a read xl config. */
export function xlDomain(file: string, cfg: XlConfig, unreadable: Unreadable[], defaults: XlDefaults = {}): XlDomain {
  if (cfg.rejected) {
    unreadable.push({ file, line: cfg.rejected.line, text: "", why: `xl cannot read the file (${cfg.rejected.why}): it starts no domain from it` });
    return { name: undefined, vifs: [] };
  }
  const vifs: XlVif[] = [];
  for (const item of cfg.list("vif") ?? []) {
    if (!item) {
      // xl reads the vifs up to the first item that is not a string.
      unreadable.push({ file, line: cfg.lineOf("vif")!, text: `vif ${vifs.length}`, why: "a list inside vif = [...]: xl reads no vif from it or after it" });
      break;
    }
    vifs.push(readVif(file, item, vifs.length, unreadable, defaults));
  }
  return { name: cfg.string("name"), vifs };
}

/** One vif spec (`key=value,...`, xl-network-configuration(5)). */
function readVif(file: string, item: XlAtom, index: number, unreadable: Unreadable[], defaults: XlDefaults): XlVif {
  const spec = item.text;
  const kv = new Map<string, string>();
  for (const part of spec.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  // Numbers only in the list (a list that also held undefined would have another shape where the model reads it).
  const ips: number[] = [];
  let badIp: string | undefined;
  for (const a of (kv.get("ip") ?? "").split(/\s+/)) {
    if (!a) continue;
    const n = ipNum(a.includes("/") ? a.slice(0, a.indexOf("/")) : a);
    if (n !== undefined) ips.push(n);
    else badIp ??= a;
  }
  if (badIp !== undefined) unreadable.push({ file, line: item.line, text: spec, why: "ip= not read" });
  return {
    index,
    mac: kv.get("mac")?.toLowerCase(),
    ips,
    vifname: kv.get("vifname"),
    script: (kv.get("script") ?? defaults.script ?? "vif-bridge").split("/").pop()!,
    gatewaydev: kv.get("gatewaydev") ?? defaults.gatewaydev,
    badIp,
    line: item.line,
  };
}
