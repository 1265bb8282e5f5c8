/**
 * A guest's interface names, as udev gives them when an interface appears at
 * boot (test/render/guest-naming.test.ts runs `udevadm test` on the same
 * files). udev reads its rules files in byte order of their names:
 *
 * - `19-ifrename.rules`, which the ifrename package installs, names an
 *   interface /etc/iftab names, with `NAME:=`, which no later rule changes
 *   (the model takes ifrename as installed where /etc/iftab is there: the
 *   deploy checks it is, before it writes one);
 * - the rules of /etc/udev/rules.d: a later `NAME=` over an earlier one,
 *   `NAME:=` final;
 * - systemd's `80-net-setup-link.rules`, which names an interface no rule
 *   before it named, by the first `.link` file of /etc/systemd/network (by
 *   file name) whose `[Match]` takes its MAC. A file of that name in
 *   /etc/udev/rules.d (often a link to /dev/null) takes its place.
 *
 * A line that may name a vif's interface by what the model does not read
 * goes to `unreadable`: a rule with a key it does not read, or naming by
 * other than the MAC; an iftab selector other than `mac` and `arp`; a `.link`
 * file matching by other than `MACAddress=`, or with `NamePolicy=`.
 */
import { byteOrder } from "./files-by-path";
import type { FileSet } from "./hosts";
import type { Unreadable } from "./outcome";

/** An interface's name and the file and line that give it. */
export interface Named {
  readonly name: string;
  readonly where: string;
}

const RULES_DIR = "/etc/udev/rules.d/";
const LINK_DIR = "/etc/systemd/network/";
/** Where systemd's rule that applies the `.link` files is read, by its name (a file of /etc of that name takes its place). */
const NET_SETUP_LINK = `${RULES_DIR}80-net-setup-link.rules`;
/** Where ifrename's rule that applies /etc/iftab is read, by its name. */
const IFRENAME = `${RULES_DIR}19-ifrename.rules`;

/** MAC (lower case, as xl configs are read) to interface name. */
export function readNaming(files: FileSet, unreadable: Unreadable[] = []): Map<string, Named> {
  const out = new Map<string, Named>();
  const final = new Set<string>();
  // The rules files of /etc/udev/rules.d and the .link files, by name.
  const rules: string[] = [];
  const links: string[] = [];
  for (const p of Object.keys(files)) {
    if (p.startsWith(RULES_DIR) && p.endsWith(".rules") && p.indexOf("/", RULES_DIR.length) < 0) rules.push(p);
    else if (p.startsWith(LINK_DIR) && p.endsWith(".link") && p.indexOf("/", LINK_DIR.length) < 0) links.push(p);
  }
  rules.sort(byteOrder);
  // ifrename's and systemd's rules in their places among them, where /etc has no file of their name.
  const iftab = files["/etc/iftab"];
  let ifrename = iftab === undefined || rules.includes(IFRENAME);
  let linked = rules.includes(NET_SETUP_LINK);
  for (const path of rules) {
    if (!ifrename && path > IFRENAME) ifrename = readIftab(iftab, out, final, unreadable);
    if (!linked && path > NET_SETUP_LINK) linked = readLinks(files, links.sort(byteOrder), out, unreadable);
    readRules(path, files[path], out, final, unreadable);
  }
  if (!ifrename) readIftab(iftab, out, final, unreadable);
  if (!linked && links.length) readLinks(files, links.sort(byteOrder), out, unreadable);
  return out;
}

/**
 * A guest's interface names by MAC: what `ip -o link show`, captured from the
 * running guest, shows, where it was captured (it wins: the naming files
 * have done their part); else what its naming files give.
 */
export function guestNames(files: FileSet, links: string | undefined, unreadable: Unreadable[] = []): Map<string, Named> {
  return links !== undefined ? readLinkNames(links) : readNaming(files, unreadable);
}

/** One line of `ip -o link show`: the interface's name (without `@peer`) and, for Ethernet, its MAC. */
const LINK_LINE = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s.*?\slink\/ether\s+([0-9a-f:]{17})\s/;

/**
 * The names a running host gives its interfaces, by MAC (`ip -o link show`,
 * captured beside a copy): what runs now, in place of the naming files. An
 * interface whose MAC was changed since it appeared shows its new one: its
 * vif's is then found on none.
 */
export function readLinkNames(text: string): Map<string, Named> {
  const out = new Map<string, Named>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = LINK_LINE.exec(lines[i]);
    if (m) out.set(m[2], { name: m[1], where: `ip -o link show line ${i + 1}` });
  }
  return out;
}

/** The common iftab line: a name, its MAC, perhaps `arp 1` (Ethernet). */
const IFTAB_MAC = /^\s*(\S+)\s+mac\s+([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})(?:\s+arp\s+1)?\s*$/;

/** The names /etc/iftab gives (ifrename: `name selector value ...`, all selectors must match), each final; returns true. */
function readIftab(text: string, out: Map<string, Named>, final: Set<string>, unreadable: Unreadable[]): true {
  const fromIftab = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const simple = IFTAB_MAC.exec(lines[i]);
    let name: string;
    let mac: string;
    if (simple && !simple[1].startsWith("#")) {
      name = simple[1];
      mac = simple[2].toLowerCase();
    } else {
      const words = lines[i].trim().split(/\s+/);
      if (!words[0] || words[0].startsWith("#")) continue;
      let other: string | undefined;
      let found: string | undefined;
      for (let w = 1; w < words.length; w += 2) {
        if (words[w] === "mac" && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(words[w + 1] ?? "")) found = words[w + 1].toLowerCase();
        else if (!(words[w] === "arp" && words[w + 1] === "1")) other ??= `${words[w]} ${words[w + 1] ?? ""}`.trim();
      }
      const why = found === undefined ? "an iftab line that names an interface by other than its MAC is not read by the model" : `the iftab selector ${other} is not read by the model`;
      if (found === undefined || other !== undefined) {
        if (other !== undefined) unreadable.push({ file: "/etc/iftab", line: i + 1, text: lines[i], why });
        continue;
      }
      name = words[0];
      mac = found;
    }
    // ifrename takes the last line that matches (udev checks it); a rule before it with NAME:= keeps its name.
    if (final.has(mac) && !fromIftab.has(mac)) continue;
    out.set(mac, { name, where: `iftab line ${i + 1}` });
    final.add(mac);
    fromIftab.add(mac);
  }
  return true;
}

/** One `KEY{attr}OP"value"` of a udev rule. */
const RULE_KEY = /\s*([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)/y;

/**
 * Match keys the model reads, and whether an appearing vif interface (the
 * kernel names it eth<n>; Ethernet) meets each value: undefined where that
 * depends on what the model does not know (which eth<n>). Not `DRIVERS`: it
 * matches a parent device's driver, which the test's veth has none of.
 */
const VIF_MEETS: Record<string, (value: string) => boolean | undefined> = {
  SUBSYSTEM: (v) => v === "net",
  ACTION: (v) => v === "add",
  KERNEL: (v) => (v === "eth*" ? true : undefined),
  "ATTR{type}": (v) => v === "1",
  "ATTR{dev_id}": (v) => v === "0x0",
};

/** A rules file's lines, in order: each rule that names a MAC's interface. */
function readRules(path: string, text: string, out: Map<string, Named>, final: Set<string>, unreadable: Unreadable[]): void {
  const file = path.slice(path.lastIndexOf("/") + 1);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.trim();
    if (!line || line.startsWith("#") || (!line.includes("NAME") && !line.includes("GOTO"))) continue;
    const bad = (why: string) => unreadable.push({ file: path, line: i + 1, text: raw, why });
    let mac: string | undefined;
    let name: string | undefined;
    let isFinal = false;
    let meets = true;
    let unread: string | undefined;
    let jump: string | undefined;
    RULE_KEY.lastIndex = 0;
    let at = 0;
    for (let m = RULE_KEY.exec(line); m; m = RULE_KEY.exec(line)) {
      at = RULE_KEY.lastIndex;
      const [, key, op, value] = m;
      if (key === "NAME" && (op === "=" || op === ":=")) {
        if (/[%$]/.test(value)) unread ??= `NAME${op}"${value}" with a substitution`;
        name = value;
        isFinal = op === ":=";
      } else if (key === "ATTR{address}" && op === "==") mac = value;
      else if (op === "==" && VIF_MEETS[key] && VIF_MEETS[key](value) !== undefined) meets &&= VIF_MEETS[key](value)!;
      else if (key === "GOTO") jump = value;
      else if (op === "==" || op === "!=") unread ??= `${key}${op}"${value}"`;
      if (at >= line.length) break;
    }
    if (at < line.length) {
      bad("a udev rule the model cannot read");
      continue;
    }
    if (jump !== undefined) {
      bad(`GOTO="${jump}": which rules it skips is not read by the model`);
      continue;
    }
    if (name === undefined || !meets) continue;
    if (mac === undefined) bad("a udev rule that names an interface by other than its MAC is not read by the model");
    else if (unread !== undefined) bad(`${unread} is not read by the model`);
    // udev compares the text sysfs prints, in lower case: a MAC written otherwise matches nothing.
    else if (!final.has(mac)) {
      out.set(mac, { name, where: `${file} line ${i + 1}` });
      if (isFinal) final.add(mac);
    }
  }
}

/** The names `.link` files give, where no rule before named the interface: for each MAC, the first file by name whose `[Match]` takes it; returns true. */
function readLinks(files: FileSet, paths: readonly string[], out: Map<string, Named>, unreadable: Unreadable[]): true {
  const seen = new Set<string>();
  for (const path of paths) {
    let section = "";
    const macs: string[] = [];
    let name: string | undefined;
    let unread: string | undefined;
    for (const raw of files[path].split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
      if (line.startsWith("[")) {
        section = line;
        continue;
      }
      const eq = line.indexOf("=");
      const key = eq < 0 ? line : line.slice(0, eq).trim();
      const value = eq < 0 ? "" : line.slice(eq + 1).trim();
      if (section === "[Match]") {
        if (key === "MACAddress") {
          if (!value) macs.length = 0;
          for (const m of value.split(/\s+/)) if (m) macs.push(m.toLowerCase());
        } else unread ??= `[Match] ${key}=`;
      } else if (section === "[Link]") {
        if (key === "Name") name = value;
        else if (key === "NamePolicy") unread ??= "[Link] NamePolicy= (it decides before Name=)";
      }
    }
    if (name === undefined) continue;
    const file = path.slice(LINK_DIR.length);
    if (!macs.length || unread !== undefined) {
      unreadable.push({ file: path, line: 0, text: "", why: `${unread ?? "a .link file without MACAddress= (it matches every interface)"} is not read by the model` });
      continue;
    }
    for (const mac of macs) {
      if (seen.has(mac)) continue;
      seen.add(mac);
      if (!out.has(mac)) out.set(mac, { name, where: file });
    }
  }
  return true;
}
