/**
 * nftables files that include others (`include "/etc/nftables.d/*.nft"`), and
 * which nftables files load at boot: what the model reads, and what it leaves
 * unknown. test/render/real-tools.test.ts has the real nft load such files in
 * a namespace and compares the ruleset it lists with the model's reading.
 */
import { Firewalls, nftIncludes } from "../../lib/reachability/firewalls";
import type { Packet } from "../../lib/reachability/packet";
import { ipNum } from "../../lib/reachability/ip";

/** A table with one forward chain holding `rules`. */
function table(name: string, rules: string, policy = "accept", priority = 0): string {
  return `table inet ${name} {\n  chain c {\n    type filter hook forward priority ${priority}; policy ${policy};\n    ${rules}\n  }\n}\n`;
}

/** The forward verdict on a new TCP connection from 198.51.100.5 to 192.0.2.10:`port`. */
function forward(f: Firewalls, port: number): string {
  const p: Packet = { src: ipNum("198.51.100.5")!, dst: ipNum("192.0.2.10")!, protocol: "tcp", sport: 40000, dport: port, iif: "eth0", oif: "vif1.0", state: "NEW" };
  return f.outcome("forward", p);
}

const doubts = (f: Firewalls) => f.unreadable.map((u) => `${u.file}:${u.line} ${u.why}`);

describe("nftables files that include others", () => {
  it("reads each file an include names in place: an absolute path, a wildcard's files in byte order, a name relative to /etc", () => {
    const files = {
      "/etc/nftables.conf": ['#!/usr/sbin/nft -f', "flush ruleset", 'include "/etc/cdktf-xen/firewall.nft"', 'include "/etc/nftables.d/*.nft"', 'include "local.nft"', ""].join("\n"),
      "/etc/cdktf-xen/firewall.nft": table("cdktf_xen", "tcp dport 22 drop"),
      "/etc/nftables.d/b.nft": table("b", "tcp dport 80 drop", "accept", 10),
      "/etc/nftables.d/a.nft": table("a", "tcp dport 443 drop", "accept", 20),
      "/etc/nftables.d/notes.txt": "not included",
      "/etc/local.nft": table("local", "tcp dport 8080 drop", "accept", 30),
    };
    const f = new Firewalls(files);
    expect(doubts(f)).toEqual([]);
    expect(f.nft.map((n) => n.file)).toEqual(["/etc/nftables.conf", "/etc/cdktf-xen/firewall.nft", "/etc/nftables.d/a.nft", "/etc/nftables.d/b.nft", "/etc/local.nft"]);
    expect([22, 80, 443, 8080, 8443].map((port) => `${port} ${forward(f, port)}`)).toEqual(["22 drop", "80 drop", "443 drop", "8080 drop", "8443 pass"]);
    expect(nftIncludes(files)).toEqual({
      named: ["/etc/cdktf-xen/firewall.nft", "/etc/nftables.d/*.nft", "/etc/local.nft"],
      found: ["/etc/cdktf-xen/firewall.nft", "/etc/nftables.d/a.nft", "/etc/nftables.d/b.nft", "/etc/local.nft"],
    });
  });

  it("follows includes in included files, and names what they include", () => {
    const files = {
      "/etc/nftables.conf": 'include "/etc/nftables.d/outer.nft"\n',
      "/etc/nftables.d/outer.nft": 'include "/etc/nftables.d/inner.nft"\n',
      "/etc/nftables.d/inner.nft": table("inner", "tcp dport 22 drop"),
    };
    const f = new Firewalls(files);
    expect([doubts(f), forward(f, 22), forward(f, 80)]).toEqual([[], "drop", "pass"]);
    expect(nftIncludes(files).named).toEqual(["/etc/nftables.d/outer.nft", "/etc/nftables.d/inner.nft"]);
  });

  it("leaves the firewall unknown where nft fails, merges tables, or removes what was loaded before, or the files may lack what is included", () => {
    const cases: [string, Record<string, string>, string[]][] = [
      ["a file the files do not hold (nft then loads nothing of nftables.conf)", { "/etc/nftables.conf": 'include "/etc/nftables.d/gone.nft"\n' }, ["/etc/nftables.conf:1 includes /etc/nftables.d/gone.nft, which the files do not hold (nft fails to load /etc/nftables.conf without it)"]],
      ["a wildcard that matches none of the files", { "/etc/nftables.conf": 'include "/etc/nftables.d/*.nft"\n' }, ["/etc/nftables.conf:1 includes /etc/nftables.d/*.nft, which matches none of the files: nft includes nothing then, unless the files lack what it matches"]],
      ["the same table in two files (nft adds the second's rules to the first's chain)", { "/etc/nftables.conf": `${table("f", "tcp dport 22 accept")}include "/etc/more.nft"\n`, "/etc/more.nft": table("f", "tcp dport 22 drop") }, ["/etc/more.nft:1 table inet f is in /etc/nftables.conf too: nft adds to the table loaded before (or removes it), which the model does not read"]],
      ["an included file that flushes the ruleset after a table was loaded", { "/etc/nftables.conf": `${table("f", "tcp dport 22 drop")}include "/etc/more.nft"\n`, "/etc/more.nft": `flush ruleset\n${table("g", "")}` }, ["/etc/nftables.conf:7 /etc/more.nft flushes the ruleset, and with it what was loaded before: what remains is not read by the model"]],
      ["a file that flushes the ruleset after its own tables", { "/etc/nftables.conf": `${table("f", "tcp dport 22 drop")}flush ruleset\n` }, ["/etc/nftables.conf:7 flush ruleset after tables or includes removes them: not read by the model"]],
      ["includes nested deeper than nft allows", { "/etc/nftables.conf": 'include "/etc/loop.nft"\n', "/etc/loop.nft": 'include "/etc/loop.nft"\n' }, ["/etc/loop.nft:1 includes nested too deep: nft refuses more than 16 levels"]],
      ["an include whose name is not quoted (nft's syntax error)", { "/etc/nftables.conf": "include /etc/more.nft\n" }, ["/etc/nftables.conf:1 include is not read by the model"]],
    ];
    for (const [what, files, expected] of cases) expect({ what, doubts: doubts(new Firewalls(files)) }).toEqual({ what, doubts: expected });
    // Each of them leaves a packet the files would drop unknown.
    expect(forward(new Firewalls(cases[2][1]), 22)).toBe("unknown");
  });

  it("flushing the ruleset first, then including, is the usual nftables.conf: nothing is removed that it loads", () => {
    const files = { "/etc/nftables.conf": `flush ruleset\n${table("f", "tcp dport 22 drop")}include "/etc/more.nft"\n`, "/etc/more.nft": table("g", "tcp dport 80 drop") };
    const f = new Firewalls(files);
    expect([doubts(f), forward(f, 22), forward(f, 80), forward(f, 443)]).toEqual([[], "drop", "drop", "pass"]);
  });
});

describe("which nftables files load at boot", () => {
  const ours = { "/etc/cdktf-xen/firewall.nft": table("cdktf_xen", "tcp dport 22 drop", "accept") };

  it("without /etc/nftables.conf among the files (the files the library ships), the library's own .nft files, as the deploy loads them", () => {
    const f = new Firewalls(ours);
    expect([f.nft.map((n) => n.file), forward(f, 22)]).toEqual([["/etc/cdktf-xen/firewall.nft"], "drop"]);
  });

  it("with it (a copy of a host), nftables.conf and what it includes: the library's file loads at boot only when nftables.conf includes it (the deploy warns while it does not)", () => {
    const without = new Firewalls({ ...ours, "/etc/nftables.conf": "flush ruleset\n" });
    expect([without.nft.map((n) => n.file), forward(without, 22)]).toEqual([["/etc/nftables.conf"], "pass"]);
    const withIt = new Firewalls({ ...ours, "/etc/nftables.conf": 'flush ruleset\ninclude "/etc/cdktf-xen/firewall.nft"\n' });
    expect([withIt.nft.map((n) => n.file), forward(withIt, 22)]).toEqual([["/etc/nftables.conf", "/etc/cdktf-xen/firewall.nft"], "drop"]);
  });

  it("an nft file an up line loads is read with what it includes", () => {
    const files = { "/etc/fw.nft": 'include "/etc/fw.d/*.nft"\n', "/etc/fw.d/x.nft": table("x", "tcp dport 22 drop") };
    const f = new Firewalls(files, {}, [], [{ file: "/etc/network/interfaces", line: 4, text: "up nft -f /etc/fw.nft", does: { load: "nft", path: "/etc/fw.nft" } }]);
    expect([doubts(f), f.nft.map((n) => n.file), forward(f, 22)]).toEqual([[], ["/etc/fw.nft", "/etc/fw.d/x.nft"], "drop"]);
    expect(nftIncludes(files, ["/etc/fw.nft"]).named).toEqual(["/etc/fw.d/*.nft"]);
  });
});
