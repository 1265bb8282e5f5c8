/**
 * Readers of the smaller files: xl's defaults and a domain config's name
 * and vifs, and guest interface naming (iftab, udev rules, systemd .link
 * files).
 */
import { ipNum } from "./ip";
import type { Unreadable } from "./outcome";

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
}

/** Reads `vif.default.script` and `vif.default.gatewaydev` of an xl.conf. */
export function readXlDefaults(text: string): XlDefaults {
  const value = (key: string) => new RegExp(`^\\s*vif\\.default\\.${key}\\s*=\\s*["']([^"']*)["']`, "m").exec(text)?.[1];
  return { script: value("script"), gatewaydev: value("gatewaydev") };
}

/** Reads the `name` and `vif = [...]` of an xl config (xl.cfg(5)), with the vif defaults of xl.conf. */
export function readXlCfg(file: string, text: string, unreadable: Unreadable[], defaults: XlDefaults = {}): XlDomain {
  const name = /^\s*name\s*=\s*["']([^"']*)["']/m.exec(text)?.[1];
  const m = /^\s*vif\s*=\s*\[([\s\S]*?)\]/m.exec(text);
  if (!m) return { name, vifs: [] };
  const vifs: XlVif[] = [];
  const specRe = /'([^']*)'|"([^"]*)"/g;
  // Lines counted as the specs come, from the start of `vif = [`.
  let line = lineAt(text, m.index);
  let counted = 0;
  let s: RegExpExecArray | null;
  while ((s = specRe.exec(m[1]))) {
    const spec = s[1] ?? s[2];
    for (let i = m[1].indexOf("\n", counted); i >= 0 && i < s.index; i = m[1].indexOf("\n", i + 1)) line++;
    counted = s.index;
    const kv = new Map<string, string>();
    for (const part of spec.split(",")) {
      const eq = part.indexOf("=");
      if (eq > 0) kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    // Numbers only in the list (a list that also held undefined would have another shape where the model reads it).
    const ips: number[] = [];
    let unread = false;
    for (const a of (kv.get("ip") ?? "").split(/\s+/)) {
      if (!a) continue;
      const n = ipNum(a.includes("/") ? a.slice(0, a.indexOf("/")) : a);
      if (n === undefined) unread = true;
      else ips.push(n);
    }
    if (unread) unreadable.push({ file, line, text: spec, why: "ip= not read" });
    vifs.push({
      index: vifs.length,
      mac: kv.get("mac")?.toLowerCase(),
      ips,
      vifname: kv.get("vifname"),
      script: (kv.get("script") ?? defaults.script ?? "vif-bridge").split("/").pop()!,
      gatewaydev: kv.get("gatewaydev") ?? defaults.gatewaydev,
      line,
    });
  }
  return { name, vifs };
}

/** MAC to interface name, from whichever naming files the guest has. */
export function readNaming(files: Readonly<Record<string, string>>): Map<string, { name: string; where: string }> {
  const out = new Map<string, { name: string; where: string }>();
  const iftab = files["/etc/iftab"];
  if (iftab) {
    iftab.split("\n").forEach((raw, i) => {
      const m = /^\s*(\S+)\s+mac\s+([0-9a-fA-F:]{17})/.exec(raw);
      if (m) out.set(m[2].toLowerCase(), { name: m[1], where: `iftab line ${i + 1}` });
    });
  }
  for (const [path, text] of Object.entries(files)) {
    if (path.startsWith("/etc/udev/rules.d/") && path.endsWith(".rules")) {
      text.split("\n").forEach((raw, i) => {
        const mac = /ATTR\{address\}=="([0-9a-fA-F:]{17})"/.exec(raw)?.[1];
        const name = /NAME="([^"]+)"/.exec(raw)?.[1];
        if (mac && name) out.set(mac.toLowerCase(), { name, where: `${path.split("/").pop()} line ${i + 1}` });
      });
    } else if (path.startsWith("/etc/systemd/network/") && path.endsWith(".link")) {
      const mac = /^\s*MACAddress=\s*([0-9a-fA-F:]{17})/m.exec(text)?.[1];
      const name = /^\s*Name=\s*(\S+)/m.exec(text)?.[1];
      if (mac && name) out.set(mac.toLowerCase(), { name, where: path.split("/").pop()! });
    }
  }
  return out;
}

/** 1-based line of the character at `index`. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
