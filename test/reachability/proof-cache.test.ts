/**
 * Proofs remembered across synths (lib/private/proof-cache.ts): what a key
 * covers, and what a synth into the same directory proves again.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { ModelInput, Reachability } from "../../lib/reachability";
import { dom0ModelInput, obligations, PROVE_CONTEXT_KEY, proveDom0 } from "../../lib/private/prove";
import { codeVersion, codeVersionAt, KeyedQuestion, libraryCodeHash, PROOF_CACHE_FILE, ProofCache, proofKey } from "../../lib/private/proof-cache";
import { provenKeys } from "../support/proven-keys";
import { seedStack } from "../support/seed";

const LIB = path.join(__dirname, "..", "..", "lib");

describe("a proof's key", () => {
  const { dom0 } = seedStack();
  const input = dom0ModelInput(dom0);
  const questions = obligations(dom0);
  const key = proofKey("v1", input, questions);

  /** The input with one file's text replaced (of the dom0, or of guest `guest`). */
  function withFile(file: string, text: string, guest?: string): ModelInput {
    if (guest === undefined) return { ...input, dom0: { ...input.dom0, files: { ...input.dom0.files, [file]: text } } };
    return { ...input, guests: { ...input.guests, [guest]: { ...input.guests[guest], [file]: text } } };
  }

  it("is the same for the same code, files and questions", () => {
    expect(proofKey("v1", dom0ModelInput(dom0), obligations(dom0))).toBe(key);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes with the code, the dom0's id and uplink, and one byte of any file the model reads", () => {
    const rules = input.dom0.files["/etc/iptables/rules.v4"];
    const interfaces = input.guests.webserv["/etc/network/interfaces"];
    const changed: [string, string][] = [
      ["code", proofKey("v2", input, questions)],
      ["id", proofKey("v1", { ...input, dom0: { ...input.dom0, id: "dom1" } }, questions)],
      ["uplink device", proofKey("v1", { ...input, dom0: { ...input.dom0, uplink: { ...input.dom0.uplink, device: "eth1" } } }, questions)],
      ["uplink address", proofKey("v1", { ...input, dom0: { ...input.dom0, uplink: { ...input.dom0.uplink, address: "192.168.0.1/25" } } }, questions)],
      ["a dom0 file", proofKey("v1", withFile("/etc/iptables/rules.v4", rules.replace("ACCEPT", "ACCEPU")), questions)],
      ["a guest file", proofKey("v1", withFile("/etc/network/interfaces", `${interfaces} `, "webserv"), questions)],
      ["a file more", proofKey("v1", withFile("/etc/sysctl.d/99-more.conf", ""), questions)],
      ["a guest renamed", proofKey("v1", { ...input, guests: { other: input.guests.webserv } }, questions)],
    ];
    for (const [what, k] of changed) expect([what, k]).not.toEqual([what, key]);
    expect(new Set(changed.map(([, k]) => k)).size).toBe(changed.length);
  });

  it("tells a path's end from its text's start apart: each string is hashed after its length", () => {
    const one: ModelInput = { dom0: { id: "d", uplink: { device: "eth0", address: "192.0.2.1/24" }, files: { "/a": "bc" } }, guests: {} };
    const two: ModelInput = { dom0: { id: "d", uplink: { device: "eth0", address: "192.0.2.1/24" }, files: { "/ab": "c" } }, guests: {} };
    expect(proofKey("v", one, [])).not.toBe(proofKey("v", two, []));
    const guestEnd: ModelInput = { ...one, guests: { g: { "/x": "1" } } };
    const fileMore: ModelInput = { ...one, guests: { g: { "/x": "1", "/y": "" } } };
    expect(proofKey("v", guestEnd, [])).not.toBe(proofKey("v", fileMore, []));
  });

  it("changes with every part of every question, and with what must come of it", () => {
    const q = questions[0];
    const variants: KeyedQuestion[][] = [
      questions.slice(1),
      [{ ...q, expect: "closed" }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, protocol: "udp" } }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, from: "203.0.113.78" } }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, to: "192.168.0.202" } }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, port: 81 } }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, sourcePort: 5353 } }, ...questions.slice(1)],
      [{ ...q, question: { ...q.question, apache: !q.question.apache } }, ...questions.slice(1)],
    ];
    const keys = variants.map((v) => proofKey("v1", input, v));
    expect(keys).not.toContain(key);
    expect(new Set(keys).size).toBe(variants.length);
  });

  it("refuses an input it does not cover (what a host runs now, its baselines) rather than let it change the verdict unseen", () => {
    expect(() => proofKey("v1", { ...input, guestBaseline: { "net.ipv4.conf.all.rp_filter": 2 } }, questions)).toThrow(
      "proofKey: the model's input has guestBaseline, which the key does not cover",
    );
    expect(() => proofKey("v1", { ...input, dom0: { ...input.dom0, running: { iptablesSave: "" } } }, questions)).toThrow("the model's input has running");
  });
});

describe("the library's code, hashed", () => {
  let copy: string;
  beforeEach(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-test-code-"));
    fs.cpSync(LIB, copy, { recursive: true });
  });
  afterEach(() => fs.rmSync(copy, { recursive: true, force: true }));

  it("is what a synth keys proofs with, the same for a copy, and changes with one byte of any file of the library", () => {
    const hash = libraryCodeHash(LIB);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(codeVersion()).toBe(hash);
    expect(libraryCodeHash(copy)).toBe(hash);
    const renderer = path.join(copy, "concerns", "dom0-sysctl", "vif-hook.ts");
    fs.appendFileSync(renderer, " ");
    expect(libraryCodeHash(copy)).not.toBe(hash);
  });

  it("is undefined for a module that is not the library's own file (a bundle): nothing is remembered then", () => {
    expect(codeVersionAt(path.join(LIB, "private", "proof-cache.ts"))).toBe(libraryCodeHash(LIB));
    expect(codeVersionAt(path.join(copy, "private", "proof-cache.js"))).toBe(libraryCodeHash(copy));
    expect(codeVersionAt(path.join(copy, "bundle.js"))).toBeUndefined();
    expect(codeVersionAt(path.join(copy, "proof-cache.js"))).toBeUndefined();
  });

  it("leaves declarations and source maps out, and is undefined for a directory it cannot read", () => {
    const hash = libraryCodeHash(copy);
    fs.writeFileSync(path.join(copy, "reachability", "flow.d.ts"), "export {};\n");
    fs.writeFileSync(path.join(copy, "reachability", "flow.js.map"), "{}\n");
    expect(libraryCodeHash(copy)).toBe(hash);
    fs.writeFileSync(path.join(copy, "reachability", "flow.sh"), "#!/bin/sh\n");
    const withScript = libraryCodeHash(copy);
    expect(withScript).not.toBe(hash);
    // A file that is a link is read through it.
    const outside = path.join(copy, "..", `${path.basename(copy)}-flow.ts`);
    try {
      fs.renameSync(path.join(copy, "reachability", "flow.ts"), outside);
      fs.symlinkSync(outside, path.join(copy, "reachability", "flow.ts"));
      expect(libraryCodeHash(copy)).toBe(withScript);
      fs.appendFileSync(outside, " ");
      expect(libraryCodeHash(copy)).not.toBe(withScript);
    } finally {
      fs.rmSync(outside, { force: true });
    }
    expect(libraryCodeHash(path.join(copy, "missing"))).toBeUndefined();
  });
});

describe("a synth into the same directory", () => {
  let outdir: string;
  let proven: string[];
  beforeEach(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-test-proof-cache-"));
    proven = [];
    const fromFiles = Reachability.fromFiles.bind(Reachability);
    jest.spyOn(Reachability, "fromFiles").mockImplementation((input: ModelInput) => {
      proven.push(input.dom0.id);
      return fromFiles(input);
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  /** The seed's dom0, and a second one (unless `second` is false) on another network; each synth is a new App, as each `cdktf synth` is a new process. */
  function synth(o: { second?: boolean; serverName?: string; context?: Record<string, unknown>; broken?: boolean } = {}): void {
    const app = new App({ outdir, context: { "cdktf-xen:preview": false, ...o.context } });
    const s = seedStack(app);
    if (o.second !== false) {
      const other = new XenHost(s.stack, "other", { ssh: { host: "203.0.113.11" }, uplink: { device: "eth0", address: "198.51.100.1/24" }, firewall: { managementCidrs: ["203.0.113.0/24"] } });
      const guest = new RoutedDomU(other, "web2", { disks: [], vifs: [{ mac: "de:ad:be:ef:01:00", address: "198.51.100.200/24" }] });
      new WebVhost(guest, "site", { address: "198.51.100.200", serverName: o.serverName ?? "two.example.org", documentRoot: "/var/www/two" });
      // A vhost on a port no rule opens: the proof fails for this dom0.
      new ForwardRule(other, "web", { to: guest, ports: o.broken ? [443] : [80] });
    }
    app.synth();
  }

  const keys = (): string[] => provenKeys(path.join(outdir, "stacks", "webserv"));

  it("proves each dom0 once: the next synth builds no model, a changed dom0 is proven again, and the file keeps the dom0s of the last synth", () => {
    synth();
    expect(proven.sort()).toEqual(["dom0", "other"]);
    const first = keys();
    expect(first).toHaveLength(2);

    proven = [];
    synth();
    expect(proven).toEqual([]);
    expect(keys()).toEqual(first);

    proven = [];
    synth({ serverName: "changed.example.org" });
    expect(proven).toEqual(["other"]);
    const changed = keys();
    expect(changed).toHaveLength(2);
    expect(changed.filter((k) => first.includes(k))).toHaveLength(1);

    proven = [];
    synth({ second: false });
    expect(proven).toEqual([]);
    expect(keys()).toEqual(changed.filter((k) => first.includes(k)));
  });

  it("never remembers a proof that fails: the next synth fails again with the same errors", () => {
    synth({ second: false });
    const before = keys();
    const failure = () => {
      try {
        synth({ broken: true });
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    };
    const message = failure();
    expect(message).toContain("webserv/other/web2/site: vhost site on 198.51.100.200:80 (no ForwardRule opens it) must answer, and its reply come back");
    expect(failure()).toBe(message);
    expect(proven.filter((d) => d === "other")).toHaveLength(2);
    expect(keys()).toEqual(before);
  });

  it("a dom0's proof notes its key only when it passes, and one noted is not worked out again", () => {
    const failing = seedStack();
    new WebVhost(failing.webserv, "site-d", { address: "192.168.0.200", ports: [8080], serverName: "d.example.org", documentRoot: "/var/www/d" });
    const cache = ProofCache.read(outdir, "v1");
    expect(proveDom0(failing.dom0, () => {}, cache)).toHaveLength(1);
    expect(proveDom0(seedStack().dom0, () => {}, cache)).toEqual([]);
    cache.write(outdir);
    const noted = provenKeys(outdir);
    expect(noted).toEqual([proofKey("v1", dom0ModelInput(seedStack().dom0), obligations(seedStack().dom0))]);
    proven = [];
    const again = ProofCache.read(outdir, "v1");
    expect(proveDom0(seedStack().dom0, () => {}, again)).toEqual([]);
    expect(proveDom0(failing.dom0, () => {}, again)).toHaveLength(1);
    expect(proven).toEqual(["dom0"]);
  });

  it(`a synth with ${PROVE_CONTEXT_KEY} false leaves the file as it was, and a file it cannot read proves every dom0`, () => {
    synth();
    const before = keys();
    synth({ context: { [PROVE_CONTEXT_KEY]: false } });
    expect(keys()).toEqual(before);

    fs.writeFileSync(path.join(outdir, "stacks", "webserv", PROOF_CACHE_FILE), "{ not json");
    proven = [];
    synth();
    expect(proven.sort()).toEqual(["dom0", "other"]);
    expect(keys()).toEqual(before);
  });
});
