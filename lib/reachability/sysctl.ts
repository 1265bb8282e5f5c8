/**
 * The kernel settings that decide a routed path: `net.ipv4.ip_forward` and,
 * per interface, rp_filter, arp_ignore, arp_announce, arp_filter and
 * proxy_arp, with the kernel's rules for `all` against the interface (max,
 * or "or" for arp_filter and proxy_arp).
 * A value no file sets is taken from the baseline, if one is given (captured
 * from a live host), and is otherwise any value the kernel allows.
 */
import { rememberLast } from "./memo";
import type { Unreadable } from "./outcome";

/** The per-interface keys the model keeps. */
export const CONF_KEYS = ["rp_filter", "arp_ignore", "arp_announce", "arp_filter", "proxy_arp"] as const;

export type ConfKey = (typeof CONF_KEYS)[number];

/** Values the kernel allows for each key; the model reasons over all of them when a value is open. */
const DOMAIN: Record<ConfKey | "ip_forward", readonly number[]> = {
  rp_filter: [0, 1, 2],
  arp_ignore: [0, 1, 2],
  arp_announce: [0, 1, 2],
  arp_filter: [0, 1],
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
  ...["all", "default"].flatMap((i) => CONF_KEYS.map((k) => [`net.ipv4.conf.${i}.${k}`, 0])),
]);

/**
 * What `sysctl -a` printed, as the model reads it: the `net.ipv4` keys with
 * whole-number values (`net.ipv4.ip_forward`, `net.ipv4.conf.<interface>.<key>`
 * for `all`, `default` and each interface there is).
 */
export function readSysctlDump(text: string): SysctlBaseline {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(net\.ipv4\.[^\s=]+)\s*=\s*(-?\d+)\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

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

/** A setting the model keeps: `ip_forward` (which `conf.all.forwarding` is too), or a per-interface key. */
type Key = ConfKey | "ip_forward";

/** The settings of one sysctl file the model reads, in order; the lines it cannot read; the keys those may set. */
interface SysctlFile {
  readonly settings: readonly { readonly seg: readonly string[]; readonly setting: Setting }[];
  readonly unreadable: readonly Unreadable[];
  /** Keys a line the model cannot read may set (a glob, a value that is not a number): any value, then. */
  readonly opens: readonly { readonly key: Key; readonly source: string; readonly line: number }[];
}

/**
 * The key a line sets, as the model keeps it: `ip_forward` for
 * `net.ipv4.ip_forward` and `net.ipv4.conf.all.forwarding` (one setting in
 * the kernel); the ConfKey of a per-interface key; `forwarding` of one
 * interface (or of `default`), which the model does not keep.
 */
function keyOf(seg: readonly string[]): Key | "forwarding" | undefined {
  if (seg[0] !== "net" || seg[1] !== "ipv4") return undefined;
  if (seg[2] === "ip_forward" && seg.length === 3) return "ip_forward";
  if (seg[2] !== "conf" || seg.length !== 5) return undefined;
  if (seg[4] === "forwarding") return seg[3] === "all" ? "ip_forward" : "forwarding";
  return seg[4] in DOMAIN && seg[4] !== "ip_forward" ? (seg[4] as ConfKey) : undefined;
}

const readSysctl = rememberLast((file: string, text: string): SysctlFile => {
  const settings: { seg: string[]; setting: Setting }[] = [];
  const unreadable: Unreadable[] = [];
  const opens: { key: Key; source: string; line: number }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const m = /^-?\s*([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      unreadable.push({ file, line: i + 1, text: raw, why: "not a key = value line" });
      return;
    }
    const seg = segments(m[1]);
    const value = Number(m[2].trim());
    const key = keyOf(seg);
    if (key === undefined) return;
    const source = `${file} line ${i + 1}`;
    // What such a line may set has any value then; one interface's forwarding puts ip_forward in doubt, which the model reads in its place.
    const cannot = (why: string): void => {
      unreadable.push({ file, line: i + 1, text: raw, why });
      opens.push({ key: key === "forwarding" ? "ip_forward" : key, source, line: i + 1 });
    };
    if (!Number.isInteger(value)) cannot("the value is not a number");
    else if (seg.some((s) => /[*?[]/.test(s))) cannot("glob keys are not read by the model");
    else if (key === "forwarding") cannot(`forwarding of one interface (${seg[3]}) is not read by the model: the kernel forwards what an interface receives by that interface's own setting, which net.ipv4.ip_forward sets on every interface`);
    else settings.push({ seg: key === "ip_forward" ? ["net", "ipv4", "ip_forward"] : seg, setting: { values: [value], source } });
  });
  return { settings, unreadable, opens };
});

export class KernelSettings {
  /** `net.ipv4.ip_forward` as the files set it. */
  private forwardFile?: Setting;
  /** `net.ipv4.ip_forward` as a running host's `sysctl -a` shows it (which wins). */
  private readonly forwardNow?: Setting;
  /**
   * Per-interface settings (`all` and `default` among them): from the files, set at run time, and as
   * a running host's `sysctl -a` shows them (which win: the files and hooks have done their part).
   */
  private readonly ownFiles = new Map<string, Map<string, Setting>>();
  private readonly ownRuntime = new Map<string, Map<string, Setting>>();
  private readonly ownNow = new Map<string, Map<string, Setting>>();
  /** Effective values already worked out; settings change only while the files are read. */
  private readonly cache = new Map<string, Map<ConfKey, Possible>>();
  private readonly wide = new Map<ConfKey, { readonly all: Possible; readonly defaults: readonly number[] }>();
  /** Keys a line the model cannot read may set, with that line: any value. */
  private readonly opened = new Map<Key, string>();
  readonly unreadable: Unreadable[] = [];

  /**
   * `baseline`: what holds before the files apply. `now`: what a running host's `sysctl -a` shows
   * ({@link readSysctlDump}): it wins over the files and over what is set at run time, for every key
   * it holds; an interface it does not list (one made later, as a vif is) takes its `default`.
   */
  constructor(
    private readonly baseline: SysctlBaseline = KERNEL_DEFAULTS,
    now?: SysctlBaseline,
  ) {
    if (!now) return;
    for (const [dotted, value] of Object.entries(now)) {
      const seg = dotted.split(".");
      const setting = { values: ONE_VALUE[value] ?? [value], source: "sysctl -a" };
      const key = keyOf(seg);
      if (key === "ip_forward") this.forwardNow = setting;
      // sysctl prints a dot in an interface's name as a slash (vif5.0 as vif5/0).
      else if (key !== undefined && key !== "forwarding") perInterface(this.ownNow, seg[3].replace(/\//g, ".")).set(key, setting);
    }
  }

  /** Whether `sysctl -a` of the running host gives `key` for `all` and `default`: then no file line matters for it. */
  private captured(key: Key): boolean {
    if (key === "ip_forward") return this.forwardNow !== undefined;
    return this.ownNow.get("all")?.has(key) === true && this.ownNow.get("default")?.has(key) === true;
  }

  /** Reads one sysctl.d file (applied in the order files are read). */
  readFile(file: string, text: string): void {
    this.cache.clear();
    this.wide.clear();
    this.forward = undefined;
    const read = readSysctl(file, text);
    for (const u of read.unreadable) {
      // A line the model cannot read does not matter where what runs now was captured.
      const key = read.opens.find((o) => o.line === u.line)?.key;
      if (key === undefined ? !this.capturedAll() : !this.captured(key)) this.unreadable.push(u);
    }
    for (const { seg, setting } of read.settings) {
      if (seg[2] === "ip_forward") this.forwardFile = setting;
      else perInterface(this.ownFiles, seg[3]).set(seg[4], setting);
    }
    for (const { key, source } of read.opens) if (!this.opened.has(key) && !this.captured(key)) this.opened.set(key, source);
  }

  /** Whether `sysctl -a` gives every key the model reads, for `all` and `default`. */
  private capturedAll(): boolean {
    return this.captured("ip_forward") && CONF_KEYS.every((k) => this.captured(k));
  }

  /** A value set at run time on one interface (vif-route, a vif hook); undefined when it is not known. */
  setInterface(iface: string, key: ConfKey, value: number | undefined, source: string): void {
    this.cache.clear();
    this.wide.clear();
    perInterface(this.ownRuntime, iface).set(key, { values: value === undefined ? DOMAIN[key] : [value], source });
  }

  /** What is set for `key` on `iface` itself: as `sysctl -a` shows it now, else at run time, else by the files. */
  private own(iface: string, key: ConfKey): Setting | undefined {
    return nowOr(this.ownNow.get(iface)?.get(key), this.ownRuntime.get(iface)?.get(key) ?? this.ownFiles.get(iface)?.get(key));
  }

  private lookup(set: Setting | undefined, dotted: string, domain: readonly number[]): Possible {
    if (set) return { values: set.values, get why() { return `${set.values.join(" or ")} (${set.source})`; } };
    const baseline = this.baseline;
    if (dotted in baseline) return { values: [baseline[dotted]], get why() { return `${baseline[dotted]} (${baseline === KERNEL_DEFAULTS ? "kernel default: no file sets it" : "baseline"})`; } };
    return { values: domain, why: "not set by the files" };
  }

  /**
   * What holds for every interface: `all`, and what `default` gives an
   * interface no one sets (the files' `default`, or the baseline's if the
   * interface was made before they applied).
   */
  private keyWide(key: ConfKey): { readonly all: Possible; readonly defaults: readonly number[] } {
    let hit = this.wide.get(key);
    if (!hit) {
      const domain = DOMAIN[key];
      const nowDefault = this.ownNow.get("default")?.get(key);
      const fileDefault = this.ownFiles.get("default")?.get(key);
      const base = `net.ipv4.conf.default.${key}`;
      const baseValues = base in this.baseline ? [this.baseline[base]] : domain;
      hit = {
        all: this.lookup(this.own("all", key), `net.ipv4.conf.all.${key}`, domain),
        // An interface made from now on takes `default` as it is now.
        defaults: nowDefault ? nowDefault.values : [...new Set([...(fileDefault ? fileDefault.values : []), ...baseValues])].sort((a, b) => a - b),
      };
      this.wide.set(key, hit);
    }
    return hit;
  }

  /** `net.ipv4.ip_forward`. */
  ipForward(): Possible {
    return (this.forward ??= this.openedBy("ip_forward") ?? this.lookup(nowOr(this.forwardNow, this.forwardFile), "net.ipv4.ip_forward", DOMAIN.ip_forward));
  }
  private forward?: Possible;

  /** Any value of `key`, when a line the model cannot read may set it. */
  private openedBy(key: Key): Possible | undefined {
    const source = this.opened.get(key);
    return source === undefined ? undefined : { values: DOMAIN[key], why: `any value: ${source} may set it, and the model cannot read that line` };
  }

  /**
   * The effective value of `key` on `iface`: the kernel takes the max of
   * `all` and the interface (or either, for arp_filter and proxy_arp). An interface value
   * no one sets is what `default` held when the interface was made: the
   * files' `default`, or the baseline's if it was made before they applied.
   */
  conf(iface: string, key: ConfKey): Possible {
    let perIface = this.cache.get(iface);
    if (!perIface) this.cache.set(iface, (perIface = new Map()));
    let hit = perIface.get(key);
    if (!hit) {
      hit = this.openedBy(key) ?? this.compute(iface, key);
      perIface.set(key, hit);
    }
    return hit;
  }

  private compute(iface: string, key: ConfKey): Possible {
    const { all, defaults } = this.keyWide(key);
    const own = this.own(iface, key);
    const ifaceValues = own ? own.values : defaults;
    // One value each (what a host's files and the kernel's defaults give): one value, from a shared list.
    if (all.values.length === 1 && ifaceValues.length === 1) {
      const a = all.values[0];
      const v = ifaceValues[0];
      const x = ORED[key] ? (a || v ? 1 : 0) : Math.max(a, v);
      return new Effective(ONE_VALUE[x] ?? [x], iface, all, own, defaults);
    }
    const values: number[] = [];
    for (const a of all.values) {
      for (const v of ifaceValues) {
        const x = ORED[key] ? (a || v ? 1 : 0) : Math.max(a, v);
        if (!values.includes(x)) values.push(x);
      }
    }
    return new Effective(values.sort((a, b) => a - b), iface, all, own, defaults);
  }
}

/** The keys the kernel reads as on when `all` or the interface is (IN_DEV_ORCONF); the others take the max of the two. */
const ORED: Readonly<Record<ConfKey, boolean>> = { rp_filter: false, arp_ignore: false, arp_announce: false, arp_filter: true, proxy_arp: true };

/**
 * The lists of one value, shared by every setting that has it (readonly by type, not frozen: a frozen array
 * has another shape, and code reading both kinds would be compiled again).
 */
const ONE_VALUE: readonly (readonly number[])[] = [[0], [1], [2]];

/**
 * What `sysctl -a` shows (`now`) where it was captured, else what the files or a hook set: named by the
 * file or hook that sets the same value, by what may have set it (a hook the model does not read), else
 * as set at run time, with what the files would set.
 */
function nowOr(now: Setting | undefined, set: Setting | undefined): Setting | undefined {
  if (!now || !set) return now ?? set;
  if (set.values.length === 1 && set.values[0] === now.values[0]) return set;
  if (set.values.includes(now.values[0])) return { values: now.values, source: `sysctl -a; ${set.source} may have set it` };
  return { values: now.values, source: `sysctl -a, set at run time: ${set.source} sets ${set.values.join(" or ")}` };
}

function perInterface(map: Map<string, Map<string, Setting>>, iface: string): Map<string, Setting> {
  let m = map.get(iface);
  if (!m) map.set(iface, (m = new Map()));
  return m;
}

/** The effective value of a key on one interface; why, in words, when someone reads it. */
class Effective implements Possible {
  constructor(
    readonly values: readonly number[],
    private readonly iface: string,
    private readonly all: Possible,
    private readonly own: Setting | undefined,
    private readonly defaults: readonly number[],
  ) {}

  get why(): string {
    const { values, own, defaults } = this;
    const ifaceWhy = own ? `${own.values.join(" or ")} (${own.source})` : defaults.length === 1 ? `${defaults[0]} (default)` : "not set by the files";
    return `${values.length === 1 ? values[0] : `one of ${values.join(", ")}`} (all ${this.all.why}; ${this.iface} ${ifaceWhy})`;
  }
}
