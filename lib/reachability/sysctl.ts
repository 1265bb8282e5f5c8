/**
 * The kernel settings that decide a routed path: `net.ipv4.ip_forward` and,
 * per interface, rp_filter, arp_ignore, arp_announce and proxy_arp, with the
 * kernel's rules for `all` against the interface (max, or "or" for proxy_arp).
 * A value no file sets is taken from the baseline, if one is given (captured
 * from a live host), and is otherwise any value the kernel allows.
 */
import type { Unreadable } from "./outcome";

export type ConfKey = "rp_filter" | "arp_ignore" | "arp_announce" | "proxy_arp";

/** Values the kernel allows for each key; the model reasons over all of them when a value is open. */
const DOMAIN: Record<ConfKey | "ip_forward", readonly number[]> = {
  rp_filter: [0, 1, 2],
  arp_ignore: [0, 1, 2],
  arp_announce: [0, 1, 2],
  proxy_arp: [0, 1],
  ip_forward: [0, 1],
};

/**
 * Kernel settings that hold before any file is applied, as `sysctl -a` prints
 * them (`net.ipv4.conf.all.rp_filter`, `net.ipv4.ip_forward`; per-interface
 * keys are ignored, as interfaces are made anew). A key it leaves out may
 * have any value the kernel allows.
 */
export type SysctlBaseline = Readonly<Record<string, number>>;

/** What a kernel boots with before any sysctl file: the model's baseline unless told otherwise. */
export const KERNEL_DEFAULTS: SysctlBaseline = Object.fromEntries([
  ["net.ipv4.ip_forward", 0],
  ...["all", "default"].flatMap((i) => (["rp_filter", "arp_ignore", "arp_announce", "proxy_arp"] as const).map((k) => [`net.ipv4.conf.${i}.${k}`, 0])),
]);

interface Setting {
  readonly values: readonly number[];
  readonly source: string;
}

/** A key in sysctl.d's dot form or the slash form, as path segments. */
function segments(key: string): string[] {
  return key.includes("/") ? key.split("/").filter(Boolean) : key.split(".");
}

/** The values a setting may have, and where they come from. */
export interface Possible {
  readonly values: readonly number[];
  readonly why: string;
}

export class KernelSettings {
  private readonly files = new Map<string, Setting>();
  private readonly runtime = new Map<string, Setting>();
  /** Effective values already worked out; settings change only while the files are read. */
  private readonly cache = new Map<string, Map<ConfKey, Possible>>();
  readonly unreadable: Unreadable[] = [];

  constructor(private readonly baseline: SysctlBaseline = KERNEL_DEFAULTS) {}

  /** Reads one sysctl.d file (applied in the order files are read). */
  readFile(file: string, text: string): void {
    this.cache.clear();
    this.forward = undefined;
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) return;
      const m = /^-?\s*([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (!m) {
        this.unreadable.push({ file, line: i + 1, text: raw, why: "not a key = value line" });
        return;
      }
      const seg = segments(m[1]);
      const value = Number(m[2].trim());
      const relevant = (seg[0] === "net" && seg[1] === "ipv4" && (seg[2] === "ip_forward" || (seg[2] === "conf" && seg[4] in DOMAIN)));
      if (!relevant) return;
      if (!Number.isInteger(value)) {
        this.unreadable.push({ file, line: i + 1, text: raw, why: "the value is not a number" });
        return;
      }
      if (seg.some((s) => s.includes("*"))) {
        this.unreadable.push({ file, line: i + 1, text: raw, why: "glob keys are not read by the model" });
        return;
      }
      this.files.set(seg.join("/"), { values: [value], source: `${file} line ${i + 1}` });
    });
  }

  /** A value set at run time on one interface (vif-route, a vif hook); undefined when it is not known. */
  setInterface(iface: string, key: ConfKey, value: number | undefined, source: string): void {
    this.cache.clear();
    this.runtime.set(`net/ipv4/conf/${iface}/${key}`, { values: value === undefined ? DOMAIN[key] : [value], source });
  }

  private lookup(path: string, dotted: string, domain: readonly number[]): Possible {
    const set = this.runtime.get(path) ?? this.files.get(path);
    if (set) return { values: set.values, get why() { return `${set.values.join(" or ")} (${set.source})`; } };
    const baseline = this.baseline;
    if (dotted in baseline) return { values: [baseline[dotted]], get why() { return `${baseline[dotted]} (${baseline === KERNEL_DEFAULTS ? "kernel default: no file sets it" : "baseline"})`; } };
    return { values: domain, why: "not set by the files" };
  }

  /** `net.ipv4.ip_forward`. */
  ipForward(): Possible {
    return (this.forward ??= this.lookup("net/ipv4/ip_forward", "net.ipv4.ip_forward", DOMAIN.ip_forward));
  }
  private forward?: Possible;

  /**
   * The effective value of `key` on `iface`: the kernel takes the max of
   * `all` and the interface (or either, for proxy_arp). An interface value
   * no one sets is what `default` held when the interface was made: the
   * files' `default`, or the baseline's if it was made before they applied.
   */
  conf(iface: string, key: ConfKey): Possible {
    let perIface = this.cache.get(iface);
    if (!perIface) this.cache.set(iface, (perIface = new Map()));
    let hit = perIface.get(key);
    if (!hit) {
      hit = this.compute(iface, key);
      perIface.set(key, hit);
    }
    return hit;
  }

  private compute(iface: string, key: ConfKey): Possible {
    const domain = DOMAIN[key];
    const all = this.lookup(`net/ipv4/conf/all/${key}`, `net.ipv4.conf.all.${key}`, domain);
    const own = this.runtime.get(`net/ipv4/conf/${iface}/${key}`) ?? this.files.get(`net/ipv4/conf/${iface}/${key}`);
    let ifaceValues: readonly number[];
    let ifaceWhy: () => string;
    if (own) {
      ifaceValues = own.values;
      ifaceWhy = () => `${own.values.join(" or ")} (${own.source})`;
    } else {
      const fileDefault = this.files.get(`net/ipv4/conf/default/${key}`);
      const base = `net.ipv4.conf.default.${key}`;
      const baseValues = base in this.baseline ? [this.baseline[base]] : domain;
      ifaceValues = [...new Set([...(fileDefault ? fileDefault.values : []), ...baseValues])].sort();
      const only = ifaceValues.length === 1 ? ifaceValues[0] : undefined;
      ifaceWhy = () => (only !== undefined ? `${only} (default)` : "not set by the files");
    }
    const values = new Set<number>();
    for (const a of all.values) for (const v of ifaceValues) values.add(key === "proxy_arp" ? (a || v ? 1 : 0) : Math.max(a, v));
    const list = [...values].sort();
    return {
      values: list,
      get why() {
        return `${list.length === 1 ? list[0] : `one of ${list.join(", ")}`} (all ${all.why}; ${iface} ${ifaceWhy()})`;
      },
    };
  }
}
