/**
 * The host-file preview beside cdk.tf.json: written by a worker thread while
 * cdktf synthesizes, left alone when a synth renders it unchanged, updated in
 * place otherwise (only what changed is touched), never written through a
 * link, untouched by a failed synth.
 */
import * as fs from "fs";
import * as path from "path";
import { App, Aspects, IAspect, TerraformStack } from "cdktf";
import { IConstruct } from "constructs";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../lib";
import { PreviewWriter } from "../lib/private/preview";
import { seedStack } from "./support/seed";
import { describeWith, listFiles, run, tempDir } from "./support/tools";

const out = tempDir();
afterAll(out.remove);

/** Synthesizes the seed into `dir` (as `cdktf synth` does into an existing cdktf.out), with `extra` added to the stack. */
function synth(dir: string, extra: (s: ReturnType<typeof seedStack>) => void = () => undefined): string {
  const app = new App({ outdir: dir });
  extra(seedStack(app));
  app.synth();
  return path.join(dir, "stacks", "webserv");
}

/** Inode and mtime of every file of the preview: what a rewrite changes. */
function identities(hosts: string): Record<string, string> {
  return Object.fromEntries(listFiles(hosts).map((f) => [f, ((s) => `${s.ino}@${s.mtimeMs}`)(fs.statSync(path.join(hosts, f)))]));
}

const interfaces = "webserv/etc/network/interfaces";

describe("the host preview", () => {
  it("a second synth of the same code leaves every file as it was; after a change, only the changed file is new, in the same directory", () => {
    const stack = synth(path.join(out.dir, "again"));
    const hosts = path.join(stack, "hosts");
    const first = identities(hosts);
    const directory = fs.statSync(hosts).ino;
    expect(Object.keys(first)).toContain(interfaces);

    synth(path.join(out.dir, "again"));
    expect(identities(hosts)).toEqual(first);
    expect(fs.readdirSync(stack)).not.toContain(".hosts.partial");

    // A file edited by hand, or its mode changed, is put back: written anew; every other file is the one that was there.
    const others = (ids: Record<string, string>) => Object.fromEntries(Object.entries(ids).filter(([f]) => f !== interfaces));
    fs.appendFileSync(path.join(hosts, interfaces), "# edited\n");
    const edited = identities(hosts);
    synth(path.join(out.dir, "again"));
    expect(fs.readFileSync(path.join(hosts, interfaces), "utf8")).not.toContain("# edited");
    expect(identities(hosts)[interfaces]).not.toBe(edited[interfaces]);
    expect(others(identities(hosts))).toEqual(others(first));
    expect(fs.statSync(path.join(hosts, "dom0", "etc", "xen", "webserv.cfg")).nlink).toBe(1);
    expect(fs.statSync(hosts).ino).toBe(directory);
    expect(fs.readdirSync(stack)).not.toContain(".hosts.partial");
    fs.chmodSync(path.join(hosts, interfaces), 0o600);
    synth(path.join(out.dir, "again"));
    expect(fs.statSync(path.join(hosts, interfaces)).mode & 0o777).toBe(0o644);
    expect(others(identities(hosts))).toEqual(others(first));

    // A guest added: its files appear; removed again: they go, as does a file nobody wrote.
    synth(path.join(out.dir, "again"), ({ dom0 }) => {
      const g = new RoutedDomU(dom0, "extra", { disks: [], vifs: [{ mac: "00:16:3e:00:00:99", address: "192.168.0.240/24" }] });
      new WebVhost(g, "x", { address: "192.168.0.240", serverName: "x.example.org", documentRoot: "/srv/x" });
      new ForwardRule(dom0, "to-extra", { to: g, ports: [80] });
    });
    expect(listFiles(path.join(hosts, "extra"))).toContain("etc/network/interfaces");
    fs.writeFileSync(path.join(hosts, "dom0", "stray"), "not ours\n");
    synth(path.join(out.dir, "again"));
    expect(fs.readdirSync(hosts).sort()).toEqual(["dom0", "webserv"]);
    expect(fs.existsSync(path.join(hosts, "dom0", "stray"))).toBe(false);
    expect(Object.keys(identities(hosts))).toEqual(Object.keys(first));
  });

  it("a link put in the old preview is replaced, never written through", () => {
    const stack = synth(path.join(out.dir, "link"));
    const etc = path.join(stack, "hosts", "webserv", "etc");
    const outside = path.join(out.dir, "outside");
    const linkTo = (edit: (dir: string) => void) => {
      fs.rmSync(outside, { recursive: true, force: true });
      fs.cpSync(etc, outside, { recursive: true });
      edit(outside);
      fs.rmSync(etc, { recursive: true });
      fs.symlinkSync(outside, etc);
      return listFiles(outside).map((f) => [f, fs.readFileSync(path.join(outside, f), "utf8")]);
    };
    // Through the link, every file has the bytes this synth renders: still not the preview's own.
    let there = linkTo(() => undefined);
    synth(path.join(out.dir, "link"));
    expect(fs.lstatSync(etc).isDirectory()).toBe(true);
    expect(listFiles(outside).map((f) => [f, fs.readFileSync(path.join(outside, f), "utf8")])).toEqual(there);
    // One file differs there: the new file is written in the preview, not through the link.
    there = linkTo((dir) => fs.writeFileSync(path.join(dir, "network", "interfaces"), "outside\n"));
    synth(path.join(out.dir, "link"));
    expect(fs.lstatSync(etc).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(etc, "network", "interfaces"), "utf8")).toContain("iface eth0 inet static");
    expect(listFiles(outside).map((f) => [f, fs.readFileSync(path.join(outside, f), "utf8")])).toEqual(there);
    // Nor are the files behind the link taken into the preview: each one is a file of its own.
    for (const f of listFiles(outside)) expect(fs.statSync(path.join(etc, f)).ino).not.toBe(fs.statSync(path.join(outside, f)).ino);
  });

  it("an Aspect that adds a construct at synth is in the preview and in cdk.tf.json (nothing is rendered before aspects run)", () => {
    const dir = path.join(out.dir, "aspect");
    const app = new App({ outdir: dir });
    const { stack, dom0, webserv } = seedStack(app);
    const opens8080: IAspect = {
      visit: (c: IConstruct) => {
        if (c instanceof XenHost && !c.node.tryFindChild("alt")) new ForwardRule(c, "alt", { to: webserv, ports: [8080] });
      },
    };
    Aspects.of(stack).add(opens8080);
    app.synth();
    const rules = fs.readFileSync(path.join(dir, "stacks", "webserv", "hosts", "dom0", "etc", "iptables", "rules.v4"), "utf8");
    expect(rules).toMatch(/--dports 80,443,8080 -j ACCEPT/);
    expect(rules).toBe(dom0._hostFiles().find((f) => f.path === "/etc/iptables/rules.v4")!.content);
    expect(fs.readFileSync(path.join(dir, "stacks", "webserv", "cdk.tf.json"), "utf8")).toContain(Buffer.from(rules).toString("base64"));
  });

  it("in an app of two stacks, each stack's preview is written when it is synthesized", () => {
    const dir = path.join(out.dir, "two");
    const app = new App({ outdir: dir });
    seedStack(app);
    new TerraformStack(app, "empty");
    app.synth();
    expect(listFiles(path.join(dir, "stacks", "webserv", "hosts"))).toContain(interfaces);
    expect(fs.readdirSync(path.join(dir, "stacks", "webserv"))).not.toContain(".hosts.partial");
  });

  it("after a synth that another stack's failure ended, files are rendered afresh, not from that synth", () => {
    const app = new App({ outdir: path.join(out.dir, "ended") });
    const broken = new TerraformStack(app, "broken");
    broken.node.addValidation({ validate: () => ["broken on purpose"] });
    const { dom0, webserv } = seedStack(app);
    expect(() => app.synth()).toThrow(/broken on purpose/);
    const rules = () => dom0._hostFiles().find((f) => f.path === "/etc/iptables/rules.v4")!.content;
    expect(rules()).not.toMatch(/8080/);
    new ForwardRule(dom0, "alt", { to: webserv, ports: [8080] });
    expect(rules()).toMatch(/--dports 80,443,8080 -j ACCEPT/);
  });

  it("a failed synth leaves the old preview as it was, and no partial one", () => {
    const stack = synth(path.join(out.dir, "failed"));
    const hosts = path.join(stack, "hosts");
    const before = identities(hosts);
    expect(() =>
      synth(path.join(out.dir, "failed"), ({ dom0 }) => {
        new RoutedDomU(dom0, "clash", { disks: [], vifs: [{ mac: "00:16:3e:00:00:99", address: "192.168.0.201/24" }] });
      }),
    ).toThrow(/already used by webserv\/dom0\/webserv vifs\[1\]\.address/);
    expect(identities(hosts)).toEqual(before);
    expect(fs.readdirSync(stack).sort()).toEqual([".gitignore", "cdk.tf.json", "hosts", "plan", "proof-cache.json", "topology.json"]);
  });

  it("a file where a directory was, and a directory where a file was, replace them; directories left empty go", () => {
    const dir = path.join(out.dir, "swap");
    fs.mkdirSync(dir);
    const write = (files: Record<string, string>) => {
      const writer = new PreviewWriter(dir);
      for (const host of new Set(Object.keys(files).map((f) => f.split("/")[0]))) {
        writer.add(
          host,
          Object.entries(files)
            .filter(([f]) => f.startsWith(`${host}/`))
            .map(([f, content]) => ({ path: f.slice(host.length), content, mode: "0644" })),
        );
      }
      writer.finish();
      const hosts = path.join(dir, "hosts");
      return Object.fromEntries(listFiles(hosts).map((f) => [f, fs.readFileSync(path.join(hosts, f), "utf8")]));
    };
    write({ "h/etc/a": "a\n", "h/etc/d/x": "x\n", "h/etc/keep": "k\n", "g/etc/only": "g\n" });
    const keep = fs.statSync(path.join(dir, "hosts", "h", "etc", "keep")).ino;
    // An empty directory someone made where a file now goes.
    fs.mkdirSync(path.join(dir, "hosts", "h", "etc", "e"));
    expect(write({ "h/etc/a/y": "y\n", "h/etc/d": "d\n", "h/etc/e": "e\n", "h/etc/keep": "k\n" })).toEqual({ "h/etc/a/y": "y\n", "h/etc/d": "d\n", "h/etc/e": "e\n", "h/etc/keep": "k\n" });
    expect(fs.readdirSync(path.join(dir, "hosts"))).toEqual(["h"]);
    expect(fs.statSync(path.join(dir, "hosts", "h", "etc", "keep")).ino).toBe(keep);
    expect(fs.readdirSync(dir)).toEqual(["hosts"]);
  });

  it("a preview that cannot be written fails the synth, naming where and why", () => {
    const file = path.join(out.dir, "not-a-directory");
    fs.writeFileSync(file, "");
    const writer = new PreviewWriter(file);
    writer.add("h", [{ path: "/etc/x", content: "x\n", mode: "0644" }]);
    expect(() => writer.finish()).toThrow(`cdktf-xen: writing the host preview in ${file}/hosts failed: ${file}/.hosts.partial: ENOTDIR: not a directory`);
  });
});

// Root may rename into any directory but an immutable one: the failure part way needs chattr +i (CAP_LINUX_IMMUTABLE).
describeWith(["root", "chattr"], "the host preview, failing part way", () => {
  it("a preview that fails part way through its update fails the synth, saying so; the next synth completes it", () => {
    const dir = path.join(out.dir, "part-way");
    fs.mkdirSync(dir);
    const hosts = path.join(dir, "hosts");
    const write = (files: Record<string, string>) => {
      const writer = new PreviewWriter(dir);
      writer.add("h", Object.entries(files).map(([f, content]) => ({ path: f, content, mode: "0644" })));
      writer.finish();
    };
    const read = () => Object.fromEntries(listFiles(hosts).map((f) => [f, fs.readFileSync(path.join(hosts, f), "utf8")]));
    write({ "/etc/a": "a1\n", "/etc/b/x": "x1\n" });
    // An immutable directory: root too is refused the rename of the new x into it (EPERM), after a's went through.
    const locked = path.join(hosts, "h", "etc", "b");
    const chattr = (flag: string) => run("chattr", [flag, locked]);
    const lockedOk = chattr("+i");
    try {
      if (lockedOk.status !== 0) throw new Error(`chattr +i ${locked} failed (the test needs a file system with immutable files, such as ext4): ${lockedOk.stderr}`);
      expect(() => write({ "/etc/a": "a2\n", "/etc/b/x": "x2\n" })).toThrow(
        `cdktf-xen: writing the host preview in ${hosts} failed: ${hosts}, left updated in part (the next synth completes it): EPERM: operation not permitted, rename '${dir}/.hosts.partial/h/etc/b/x' -> '${hosts}/h/etc/b/x'`,
      );
      expect(read()).toEqual({ "h/etc/a": "a2\n", "h/etc/b/x": "x1\n" });
    } finally {
      chattr("-i");
    }
    write({ "/etc/a": "a2\n", "/etc/b/x": "x2\n" });
    expect(read()).toEqual({ "h/etc/a": "a2\n", "h/etc/b/x": "x2\n" });
    expect(fs.readdirSync(dir)).toEqual(["hosts"]);
  });
});
