/**
 * xl's config files as the model reads them (lib/reachability/xl-config.ts):
 * exact expectations, then every case read by Xen's own parser (libxlutil,
 * through lib/lab/xlcfg-parse.c) as well, which must see the same settings,
 * or reject the files the model rejects.
 */
import * as fs from "fs";
import * as path from "path";
import { readXlCfg, readXlDefaults } from "../../lib/reachability/host-files";
import type { Unreadable } from "../../lib/reachability/outcome";
import { XlConfig } from "../../lib/reachability/xl-config";
import { seedFiles, seedReachability } from "../support/seed";
import { describeWith, run, sh, tempDir } from "../support/tools";

/** Hand-written configs, as people write them: each is read by the model and by libxlutil. */
const CASES: Record<string, string> = {
  "a vif commented out inside the list, a name set twice, a vif added by +=":
    "name = \"first\"\n# name = \"commented\"\nvif = [ 'mac=00:16:3e:00:00:01,ip=192.0.2.10,script=vif-route',\n#       'mac=00:16:3e:00:00:02,ip=192.0.2.11,script=vif-route',\n      ]\nname = \"second\"\nvif += [ 'mac=00:16:3e:00:00:03,ip=192.0.2.12' ]\n",
  "newlines and comments anywhere in a list, a comma after the last item": "vif = [\n\n  'a' # first\n# between\n ,\n 'b' ,\n]\n",
  "statements ended by ;, an empty statement, no newline at the end": "; name = 'x'; memory = 512 ;; vcpus = 2",
  "no blanks around =": "vif=['a']\nname=\"n\"\n",
  "a # inside a string is not a comment": 'name = "a#b" # c\n',
  "escapes the model reads, in both quotes": "name = \"a\\\"b\\n\\t\\\\c\"\nkernel = 'it\\'s'\nramdisk = 'a\"b'\nroot = \"a'b\"\n",
  "non-ASCII in a string, a tab inside it": 'name = "café\tbar"\n',
  "numbers: hexadecimal, octal, a string holding one": "memory = 0x1f\nvcpus = 010\nmaxmem = 3\n",
  "a number from a string": 'memory = "512"\n',
  "a number from a string with blanks before it and a sign": 'memory = " 0x10"\nvcpus = "-2"\n',
  "a number from a string with blanks after it is none; a plus sign": 'memory = "16 "\nvcpus = "+3"\n',
  "not numbers to xl: 09 (octal), 12abc": "memory = 09\nvcpus = 12abc\n",
  "a number parameter given by +=": "memory = 512\nmemory += 1\nvcpus += 2\n",
  "set again by = after +=": "memory = 512\nmemory += 1\nmemory = 7\n",
  "strings joined by +=, a number's text among them": 'name = "a"\nname += 5\nkernel = 5\nkernel += "b"\nroot += "r"\n',
  "a single value where a list is wanted, a list where a single value is": "vif = 'single'\nname = [ \"x\" ]\nmemory = [ \"5\" ]\n",
  "a number in a list is its text": "vif = [ 12, 'b' ]\n",
  "a list inside the vif list": "vif = [ 'a', [ 'b' ], 'c' ]\n",
  "a list set again replaces it; += [] adds nothing": "vif = [ 'a' ]\nvif = [ 'b' ]\ndisk = [ 'd' ]\ndisk += []\n",
  "keys with dots and digits": 'a.b_c9 = "x"\nname = "y"\n',
  "an empty file": "",
  "comments and blank lines only": "  \n\n# only\n\t\n",
  "an empty string": 'name = ""\n',
  // Rejected by libxlutil, so xl starts nothing from the file.
  "an upper-case key": 'Name = "x"\n',
  "DOS line ends": 'name = "x"\r\nmemory = 5\r\n',
  "a comment with no newline after it": 'name = "x" # c',
  "a bare word as a value": "type = pv\n",
  "two values": 'name = "x" "y"\n',
  "two statements on a line without ;": 'name = "x" memory = 5\n',
  "an empty item in a list": "vif = [ 'a',, 'b' ]\n",
  "a list of only a comma": "vif = [ , ]\n",
  "a key starting with a digit": '9a = "x"\n',
  "a key starting with _": '_x = 1\nname = "n"\n',
  "a negative number": "memory = -5\n",
  "a value on the next line": 'name = \n"x"\n',
  "a string across lines": 'name = "a\nb"\n',
  "an unknown escape": 'name = "a\\qb"\n',
  "a single value added to a list": "vif = [ 'a' ]\nvif += 'b'\n",
  "an upper-case hex digit": "memory = 0x1F\n",
  "a control character": 'name = "x"\n\x01\n',
  "a form feed": 'name = "x"\f\n',
  "non-ASCII outside a string": 'name = "x"\n é = 1\n',
};

/** Escapes libxlutil reads by rules the model does not follow: the model reads the file as not known, whatever libxlutil does with it. */
const NOT_READ_BY_THE_MODEL: Record<string, { text: string; libxlutil: "read" | "rejected" }> = {
  "an octal escape (libxlutil reads it)": { text: 'name = "a\\101"\n', libxlutil: "read" },
  "a hexadecimal escape (libxlutil rejects this one)": { text: 'name = "a\\x41"\n', libxlutil: "rejected" },
};

const STRINGS = ["name", "type", "bootloader", "kernel", "ramdisk", "root", "extra", "on_poweroff", "on_reboot", "on_crash"];
const LONGS = ["memory", "vcpus"];

/** What the model reads of a config, in the shape lib/lab/xlcfg-parse.c prints libxlutil's reading. */
function asParsed(text: string): Record<string, unknown> | "rejected" {
  const c = new XlConfig(text);
  if (c.rejected) return "rejected";
  const out: Record<string, unknown> = {};
  for (const k of STRINGS) if (c.string(k) !== undefined) out[k] = c.string(k);
  for (const k of LONGS) if (c.long(k) !== undefined) out[k] = c.long(k);
  for (const k of ["disk", "vif"]) out[k] = (c.list(k) ?? []).map((i) => (i ? i.text : null));
  return out;
}

describe("xl configs as the model reads them", () => {
  it("the last assignment wins, += appends, a commented-out vif is no vif: with the line of each", () => {
    const unread: Unreadable[] = [];
    const d = readXlCfg("g.cfg", CASES["a vif commented out inside the list, a name set twice, a vif added by +="], unread);
    expect(unread).toEqual([]);
    expect({ name: d.name, vifs: d.vifs.map((v) => [v.index, v.mac, v.ips, v.line]) }).toEqual({
      name: "second",
      vifs: [
        [0, "00:16:3e:00:00:01", [0xc000020a], 3],
        [1, "00:16:3e:00:00:03", [0xc000020c], 7],
      ],
    });
  });

  it("settings: strings unescaped, numbers as strtol reads them, lists with the line of each item", () => {
    const c = new XlConfig(CASES["escapes the model reads, in both quotes"]);
    expect([c.string("name"), c.string("kernel"), c.string("ramdisk"), c.string("root")]).toEqual(['a"b\n\t\\c', "it's", 'a"b', "a'b"]);
    const n = new XlConfig(CASES["numbers: hexadecimal, octal, a string holding one"]);
    expect([n.long("memory"), n.long("vcpus"), n.long("maxmem"), n.string("maxmem")]).toEqual([31, 8, 3, "3"]);
    expect([new XlConfig("memory = 09\n").long("memory"), new XlConfig("memory = 512\nmemory += 1\n").long("memory"), new XlConfig('memory = "0x10"\n').long("memory")]).toEqual([undefined, undefined, 16]);
    expect(new XlConfig(CASES["newlines and comments anywhere in a list, a comma after the last item"]).list("vif")).toEqual([
      { text: "a", line: 3 },
      { text: "b", line: 6 },
    ]);
    expect(new XlConfig(CASES["a list inside the vif list"]).list("vif")).toEqual([{ text: "a", line: 1 }, undefined, { text: "c", line: 1 }]);
  });

  it("a file xl rejects: no settings, the line and why; the model gives no vif from it and says so", () => {
    expect(new XlConfig(CASES["DOS line ends"]).rejected).toEqual({ line: 1, why: "lexical error: a carriage return (the file has DOS line ends)" });
    expect(new XlConfig(CASES["a comment with no newline after it"]).rejected).toEqual({ line: 1, why: "lexical error: a comment with no newline after it" });
    expect(new XlConfig(CASES["a value on the next line"]).rejected).toEqual({ line: 1, why: "syntax error: a newline where xl wants a string, a number or [" });
    expect(new XlConfig(CASES["a single value added to a list"]).rejected).toEqual({ line: 2, why: "vif += adds a list to a single value or a single value to a list" });
    expect(new XlConfig(NOT_READ_BY_THE_MODEL["an octal escape (libxlutil reads it)"].text).rejected).toEqual({ line: 1, why: "the escape \\1 in a string is not read by the model" });
    const bad = "name = \"g\"\nvif = [ 'mac=00:16:3e:00:00:01,ip=192.0.2.10' ]\nmemory = 5x\nvcpus = 1 2\n";
    const unread: Unreadable[] = [];
    expect(readXlCfg("g.cfg", bad, unread).vifs).toEqual([]);
    expect(unread).toEqual([{ file: "g.cfg", line: 4, text: "", why: "xl cannot read the file (syntax error: 2 where xl wants the end of the line): it starts no domain from it" }]);
  });

  it("a list inside the vif list: xl reads the vifs before it, and the model says the rest is not read", () => {
    const unread: Unreadable[] = [];
    const d = readXlCfg("g.cfg", "vif = [ 'mac=00:16:3e:00:00:01,ip=192.0.2.10,script=vif-route',\n [ 'x' ], 'mac=00:16:3e:00:00:03,ip=192.0.2.12' ]\n", unread);
    expect(d.vifs.map((v) => v.mac)).toEqual(["00:16:3e:00:00:01"]);
    expect(unread).toEqual([{ file: "g.cfg", line: 1, text: "vif 1", why: "a list inside vif = [...]: xl reads no vif from it or after it" }]);
  });

  it("xl.conf's vif defaults: dotted keys, the last one set, a commented one not; a file xl rejects says so", () => {
    expect(readXlDefaults('# vif.default.script = "vif-nat"\nvif.default.script = "vif-bridge"\nvif.default.script = "/etc/xen/scripts/vif-route"\nvif.default.gatewaydev = "eth1"\n')).toEqual({ script: "/etc/xen/scripts/vif-route", gatewaydev: "eth1", rejected: undefined });
    expect(readXlDefaults('vif.default.script = "vif-route"\r\n').rejected).toEqual({ line: 1, why: "lexical error: a carriage return (the file has DOS line ends)" });
  });
});

describe("the model of a dom0 whose xl config people edited by hand", () => {
  const cfg = seedFiles().dom0["/etc/xen/webserv.cfg"];
  const OUTSIDE = "203.0.113.9";

  it("a vif commented out inside the list is not there: its address is routed by no vif, and the guest has no eth1 for ifup to bring up", () => {
    const edited = cfg.replace("    'mac=de:ad:be:ef:00:01", "#    'mac=de:ad:be:ef:00:01");
    expect(edited).not.toBe(cfg);
    const m = seedReachability({ dom0: { "/etc/xen/webserv.cfg": edited } });
    expect(m.unreadable).toEqual([{ file: "/etc/network/interfaces", line: 17, text: "iface eth1", why: "the host has no interface eth1: ifup fails for it" }]);
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.201", port: 80 }).summary).toMatch(/request dropped at dom0 \(route\).*no vif of the xl configs has ip=192\.168\.0\.201/);
    // ifup -a fails for eth1, which the guest no longer has: what it brings up is not known.
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 }).summary).toBe('tcp 203.0.113.9 -> 192.168.0.200:80: request unknown at webserv (deliver): 192.168.0.200 is the guest\'s own (on eth0); but the model cannot read /etc/network/interfaces line 17 "iface eth1": the host has no interface eth1: ifup fails for it');
  });

  it("a vif added by += is there; a name set again is the domain's name", () => {
    const edited = cfg.replace("    'mac=de:ad:be:ef:00:02,ip=192.168.0.202,script=vif-route,gatewaydev=eth0,vifname=webserv-2'\n]", "]\nvif += [ 'mac=de:ad:be:ef:00:02,ip=192.168.0.202,script=vif-route,gatewaydev=eth0,vifname=webserv-2' ]\nname = \"webserv\"").replace("'mac=de:ad:be:ef:00:01,ip=192.168.0.201,script=vif-route,gatewaydev=eth0,vifname=webserv-1',", "'mac=de:ad:be:ef:00:01,ip=192.168.0.201,script=vif-route,gatewaydev=eth0,vifname=webserv-1'").replace('name = "webserv"\n', 'name = "old"\n');
    expect(edited).toContain("vif += [");
    const m = seedReachability({ dom0: { "/etc/xen/webserv.cfg": edited } });
    expect(m.unreadable).toEqual([]);
    expect(m.guestAddresses()).toEqual({ webserv: ["192.168.0.200", "192.168.0.201", "192.168.0.202"] });
    expect(m.flow({ from: OUTSIDE, to: "192.168.0.202", port: 80 }).ok).toBe(true);
  });

  it("a config xl rejects (DOS line ends; the first carriage return outside a comment is on line 2): every address of it is unknown, saying why", () => {
    const m = seedReachability({ dom0: { "/etc/xen/webserv.cfg": cfg.replace(/\n/g, "\r\n") } });
    const f = m.flow({ from: OUTSIDE, to: "192.168.0.200", port: 80 });
    expect(f.forward).toBe("unknown");
    expect(f.summary).toContain('the model cannot read webserv.cfg line 2 "": xl cannot read the file (lexical error: a carriage return (the file has DOS line ends)): it starts no domain from it');
  });
});

describeWith(["gcc", "/usr/include/libxlutil.h"], "xl configs read by Xen's parser (libxlutil) and by the model alike", () => {
  const tmp = tempDir();
  const parser = path.join(tmp.dir, "xlcfg-parse");
  beforeAll(() => sh("gcc", ["-Wall", "-Werror", "-o", parser, path.join(__dirname, "../../lib/lab/xlcfg-parse.c"), "-lxlutil"]));
  afterAll(tmp.remove);

  function libxlutil(text: string): Record<string, unknown> | "rejected" {
    const file = path.join(tmp.dir, "guest.cfg");
    fs.writeFileSync(file, text);
    const r = run(parser, [file]);
    if (r.status === 1 && /rejected by libxlutil/.test(r.stderr)) return "rejected";
    if (r.status !== 0) throw new Error(`the parser failed (status ${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  for (const [title, text] of Object.entries(CASES)) {
    it(title, () => {
      expect(asParsed(text)).toEqual(libxlutil(text));
    });
  }

  it("the cases reach both verdicts, and settings of every kind", () => {
    const all = Object.values(CASES).map(libxlutil);
    expect(all.filter((r) => r === "rejected").length).toBeGreaterThan(15);
    const read = all.filter((r): r is Record<string, unknown> => r !== "rejected");
    expect(read.some((r) => typeof r.memory === "number") && read.some((r) => typeof r.name === "string") && read.some((r) => (r.vif as unknown[]).includes(null))).toBe(true);
  });

  it("the seed's rendered config, read the same", () => {
    expect(asParsed(seedFiles().dom0["/etc/xen/webserv.cfg"])).toEqual(libxlutil(seedFiles().dom0["/etc/xen/webserv.cfg"]));
  });

  for (const [title, { text, libxlutil: verdict }] of Object.entries(NOT_READ_BY_THE_MODEL)) {
    it(`${title}: the model reads the file as not known, never as other settings`, () => {
      expect(new XlConfig(text).rejected?.why).toMatch(/is not read by the model$/);
      expect(libxlutil(text) === "rejected" ? "rejected" : "read").toBe(verdict);
    });
  }
});
