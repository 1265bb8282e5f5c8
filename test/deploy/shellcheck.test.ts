/** Every shell source file of the library, every deploy step script, and every snippet it runs in its own sh, pass shellcheck. */
import * as fs from "fs";
import * as path from "path";
import { firewallConfirmStep } from "../../lib/concerns/firewall";
import { renderStepScript } from "../../lib/deploy/step";
import { labStack } from "../support/lab-fixture";
import { seedStack } from "../support/seed";
import { describeWith, run, tempDir } from "../support/tools";

describeWith(["shellcheck"], "step scripts pass shellcheck", () => {
  const tmp = tempDir();
  afterAll(tmp.remove);
  const seed = seedStack();
  const lab = labStack();
  const nft = labStack({ firewall: { backend: "nftables" } });
  const all = [
    ...nft.dom0._deploySteps(),
    ...seed.dom0._deploySteps(),
    firewallConfirmStep("dom0"),
    ...seed.webserv._deploySteps(),
    ...lab.web._deploySteps(),
  ];
  const cases = all.flatMap((s) => [
    { name: `${s.host}/${s.concern}`, text: renderStepScript(s) },
    ...s.files.filter((f) => f.path.endsWith("cdktf-xen-firewall")).map((f) => ({ name: `${s.host}/${s.concern} ${f.path} ${f.content.includes("nft") ? "nftables" : "iptables"}`, text: f.content })),
    { name: `${s.host}/${s.concern} validate`, text: `#!/bin/sh\n${s.validate || ":"}\n` },
    { name: `${s.host}/${s.concern} activate`, text: `#!/bin/sh\n${s.activate || ":"}\n` },
  ]);

  it.each(cases)("$name", ({ name, text }) => {
    const file = path.join(tmp.dir, name.replace(/[/ ]/g, "_") + ".sh");
    fs.writeFileSync(file, text);
    const r = run("shellcheck", ["--shell", "sh", file]);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});

describeWith(["shellcheck"], "the shell source files of the library and its tests pass shellcheck", () => {
  const root = path.resolve(__dirname, "../..");
  const sources = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".sh") ? [path.join(dir, e.name)] : []));
  const all = [...sources(path.join(root, "lib")), ...sources(path.join(root, "test"))];
  it("there are some, in both", () => {
    expect(all.filter((f) => f.startsWith(path.join(root, "lib/"))).length).toBeGreaterThan(0);
    expect(all.filter((f) => f.startsWith(path.join(root, "test/"))).length).toBeGreaterThan(0);
  });
  it.each(all.map((f) => ({ name: path.relative(root, f), file: f })))("$name", ({ file }) => {
    const r = run("shellcheck", ["--shell", "sh", file]);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
