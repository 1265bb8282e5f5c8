/** The Terraform JSON of the deploy: resources, triggers, connections, order, engines, secrets. */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformResource, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { ENGINE_CONTEXT_KEY, sha256 } from "../../lib/deploy/engine";
import * as stepModule from "../../lib/deploy/step";
import { buildScenario } from "../../lib/lab/scenarios";
import type { Topology } from "../../lib/private/topology";
import { stepResources } from "../support/step-resources";
import { describeWith, run, tempDir } from "../support/tools";

type Json = Record<string, any>;

/** A real ed25519 public key: host keys are checked at synth. */
const DOM0_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPSTBO9Fk4TXc5iQGfBxMUgc0mIrCA+N6RhIFs5hJ7I7";

function seedApp(engine?: string, change: { serverName?: string; extraPort?: boolean } = {}, app: App = Testing.app({ context: engine ? { [ENGINE_CONTEXT_KEY]: engine } : {} })) {
  const stack = new TerraformStack(app, "webserv");
  const key = new TerraformVariable(stack, "dom0_ssh_private_key", { type: "string", sensitive: true });
  const dom0 = new XenHost(stack, "dom0", {
    ssh: { host: "203.0.113.10", privateKey: key.value, hostKey: DOM0_HOST_KEY },
    uplink: { address: "192.168.0.1/24" },
    firewall: { managementCidrs: ["203.0.113.0/24"] },
  });
  const webserv = new RoutedDomU(dom0, "webserv", {
    disks: ["phy:/dev/vg0/webserv,xvda,w"],
    vifs: [0, 1, 2].map((i) => ({ mac: `de:ad:be:ef:00:0${i}`, address: `192.168.0.20${i}/24` })),
  });
  ["a", "b", "c"].forEach((s, i) => {
    new WebVhost(webserv, `site-${s}`, {
      address: `192.168.0.20${i}`,
      serverName: s === "b" && change.serverName ? change.serverName : `${s}.example.org`,
      documentRoot: `/var/www/site-${s}`,
    });
  });
  new ForwardRule(dom0, "web", { to: webserv, ports: change.extraPort ? [80, 443, 8080] : [80, 443] });
  return { app, stack };
}

function synth(engine?: string, change = {}): Json {
  return JSON.parse(Testing.synth(seedApp(engine, change).stack));
}

/** The step resources by `step` trigger, whatever the engine. */
function steps(json: Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const type of ["null_resource", "terraform_data"]) {
    for (const [name, r] of Object.entries<Json>(json.resource?.[type] ?? {})) {
      const t = r.triggers ?? r.triggers_replace;
      out[t.step] = { ...r, name: `${type}.${name}`, triggers: t };
    }
  }
  return out;
}

describe("deploy resources", () => {
  const json = synth();
  const s = steps(json);

  it("one resource per (host, concern), with the null provider by default", () => {
    expect(Object.keys(s).sort()).toEqual([
      "dom0/firewall",
      "dom0/guest-webserv",
      "dom0/guests",
      "dom0/sysctl",
      "dom0/verify",
      "webserv/apache",
      "webserv/network",
      "webserv/site-site-a",
      "webserv/site-site-b",
      "webserv/site-site-c",
      "webserv/sites",
    ]);
    expect(Object.keys(json.resource)).toEqual(["null_resource"]);
    expect(json.provider).toEqual({ null: [{}] });
  });

  it("every step names its owner, <stack>/<host>, which the host keeps and checks", () => {
    for (const r of Object.values(s)) {
      for (const p of r.provisioner) expect(p["remote-exec"].inline[0]).toContain(`owner='webserv/${r.triggers.step.split("/")[0]}'`);
    }
  });

  it("triggers are snake_case content hashes", () => {
    for (const r of Object.values(s)) {
      expect(Object.keys(r.triggers).sort()).toEqual(["script_sha256", "step"]);
      expect(r.triggers.script_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("the firewall's confirmation is the second provisioner of the firewall resource: a failed or late one taints the resource, so the next deploy loads and confirms again", () => {
    const p = s["dom0/firewall"].provisioner.map((x: Json) => x["remote-exec"].inline[0] as string);
    expect(p).toHaveLength(2);
    expect(p[0]).toContain("/usr/local/sbin/cdktf-xen-firewall try 30");
    expect(p[1]).toContain("step='dom0/firewall-confirm'");
    expect(p[1]).toContain("/usr/local/sbin/cdktf-xen-firewall confirm");
    expect(s["dom0/firewall"].triggers.script_sha256).toBe(sha256(p[0] + p[1]));
  });

  it("each provisioner is one remote-exec script that carries its files base64-encoded", () => {
    const p = s["webserv/site-site-b"].provisioner;
    expect(p).toHaveLength(1);
    expect(Object.keys(p[0])).toEqual(["remote-exec"]);
    const script: string = p[0]["remote-exec"].inline[0];
    expect(p[0]["remote-exec"].inline).toHaveLength(1);
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).not.toContain("b.example.org");
    const b64 = /stage \/etc\/apache2\/sites-available\/site-b\.conf 0644 '([A-Za-z0-9+/=]+)'/.exec(script)![1];
    expect(Buffer.from(b64, "base64").toString()).toContain("ServerName b.example.org\n");
  });

  it("a script never carries ${ or %{, which Terraform would read as template sequences: a snippet with one is refused at synth", () => {
    for (const r of Object.values(s)) expect(r.provisioner[0]["remote-exec"].inline[0]).not.toMatch(/[$%]\{/);
    const step = { host: "web", concern: "apache", files: [], validate: "", activate: 'echo "${APACHE_PID_FILE}"' };
    expect(() => stepModule.renderStepScript(step)).toThrow('step web/apache: its script contains "${", which Terraform would read as a template sequence');
    expect(() => stepModule.renderStepScript({ ...step, activate: "echo %{x}" })).toThrow('its script contains "%{"');
  });

  it("no step runs at destroy: every provisioner is a creation-time remote-exec (cdktf destroy changes no host)", () => {
    for (const r of Object.values(s)) {
      expect(r.provisioner.map((p: Json) => Object.keys(p))).toEqual(r.triggers.step === "dom0/firewall" ? [["remote-exec"], ["remote-exec"]] : [["remote-exec"]]);
      for (const p of r.provisioner) expect(Object.keys(p["remote-exec"])).toEqual(["inline"]);
    }
  });

  it("the dom0 is reached directly, with the key from a sensitive variable and a pinned host key", () => {
    expect(s["dom0/firewall"].connection).toEqual({
      type: "ssh",
      host: "203.0.113.10",
      user: "root",
      port: 22,
      private_key: "${var.dom0_ssh_private_key}",
      agent: "false",
      host_key: DOM0_HOST_KEY,
      script_path: "./.cdktf-xen-%RAND%.sh",
    });
    expect(s["dom0/guest-webserv"].connection.host).toBe("203.0.113.10");
  });

  it("a guest is reached at its first address through its dom0 as bastion", () => {
    expect(s["webserv/network"].connection).toEqual({
      type: "ssh",
      host: "192.168.0.200",
      user: "root",
      port: 22,
      private_key: "${var.dom0_ssh_private_key}",
      agent: "false",
      script_path: "./.cdktf-xen-%RAND%.sh",
      bastion_host: "203.0.113.10",
      bastion_user: "root",
      bastion_port: 22,
      bastion_private_key: "${var.dom0_ssh_private_key}",
      bastion_host_key: DOM0_HOST_KEY,
    });
  });

  it("in the lab, hosts, keys and the dom0's host key are the lab's; scripts go where they go on any host", () => {
    const labDom0Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL9Ya0qvq2vmJR5xZBH0fJHPVa2uAgqZ8BMgfQyKf3gU dom0/dom0";
    const lab = {
      hosts: { dom0: { host: "198.51.100.2", port: 22, hostKey: labDom0Key } },
      privateKeyFile: "/run/lab/id_ed25519",
      managementCidr: "198.51.100.0/24",
      stateFile: "/run/lab/terraform.tfstate",
    };
    const json = JSON.parse(Testing.synth(seedApp(undefined, {}, Testing.app({ context: { "cdktf-xen:lab": lab } })).stack));
    const labSteps = steps(json);
    expect(labSteps["dom0/firewall"].connection).toEqual({
      type: "ssh",
      host: "198.51.100.2",
      user: "root",
      port: 22,
      private_key: '${file("/run/lab/id_ed25519")}',
      agent: "false",
      host_key: labDom0Key,
      script_path: "./.cdktf-xen-%RAND%.sh",
    });
    expect(labSteps["webserv/network"].connection).toMatchObject({ host: "192.168.0.200", script_path: "./.cdktf-xen-%RAND%.sh", bastion_host: "198.51.100.2", bastion_host_key: labDom0Key });
    expect(labSteps["webserv/network"].connection.host_key).toBeUndefined();
  });

  it("topology.json gives the lab each host's sshd port, where it starts sshd: ssh.port, else 22; in the lab the dom0's connection keeps it", () => {
    const ports = (context: Record<string, unknown> = {}) => {
      const t = tempDir();
      try {
        const app = new App({ outdir: t.dir, context });
        buildScenario(app, "two-guests");
        app.synth();
        const dir = path.join(t.dir, "stacks", "lab");
        const topology: Topology = JSON.parse(fs.readFileSync(path.join(dir, "topology.json"), "utf8"));
        const d = topology.dom0s[0];
        const firewall = steps(JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8")))["dom0/firewall"].connection;
        return { dom0: d.sshPort, guests: d.guests.map((g) => [g.id, g.sshPort]), connection: firewall.port };
      } finally {
        t.remove();
      }
    };
    expect(ports()).toEqual({ dom0: 2222, guests: [["alpha", 22], ["beta", 2200]], connection: 2222 });
    const lab = { hosts: { dom0: { host: "198.51.100.2", port: 2222 } }, privateKeyFile: "/run/lab/id_ed25519", managementCidr: "198.51.100.0/24", stateFile: "/run/lab/terraform.tfstate" };
    expect(ports({ "cdktf-xen:lab": lab })).toEqual({ dom0: 2222, guests: [["alpha", 22], ["beta", 2200]], connection: 2222 });
  });

  it("depends_on only where order matters: the guests' inventory, then cfg, then network, then Apache and sites, then the sites' inventory; the check after deploy last", () => {
    const deps = (step: string) => (s[step].depends_on ?? []).map((d: string) => Object.values(s).find((r) => r.name === d)!.triggers.step).sort();
    expect(Object.fromEntries(Object.keys(s).map((k) => [k, deps(k)]))).toEqual({
      "dom0/sysctl": [],
      "dom0/firewall": [],
      "dom0/guest-webserv": ["dom0/guests"],
      "dom0/guests": [],
      "webserv/network": ["dom0/guest-webserv"],
      "webserv/apache": ["webserv/network"],
      "webserv/site-site-a": ["webserv/network"],
      "webserv/site-site-b": ["webserv/network"],
      "webserv/site-site-c": ["webserv/network"],
      "webserv/sites": ["webserv/apache", "webserv/network", "webserv/site-site-a", "webserv/site-site-b", "webserv/site-site-c"],
      "dom0/verify": ["dom0/firewall", "dom0/guests", "dom0/sysctl", "webserv/sites"],
    });
  });

  it("identical input gives identical JSON; one changed vhost changes one resource; one changed rule the firewall", () => {
    expect(synth()).toEqual(json);
    const changedTriggers = (other: Json) =>
      Object.keys(s).filter((k) => steps(other)[k].triggers.script_sha256 !== s[k].triggers.script_sha256).sort();
    // The check after deploy runs again after any change of a step it follows.
    expect(changedTriggers(synth(undefined, { serverName: "bee.example.org" }))).toEqual(["dom0/verify", "webserv/site-site-b"]);
    expect(changedTriggers(synth(undefined, { extraPort: true }))).toEqual(["dom0/firewall", "dom0/verify"]);
  });

  it("the check after deploy asks every vhost socket from the dom0, and the context key cdktf-xen:verify false leaves it out, with a warning", () => {
    const script: string = s["dom0/verify"].provisioner[0]["remote-exec"].inline[0];
    const list = /^VHOSTS='([^']*)'$/m.exec(script)![1].split("\n");
    expect(list).toEqual(["a", "b", "c"].map((x, i) => `site-${x} http 192.168.0.20${i} 80 ${x}.example.org / - -`));
    expect(script).toContain("\nverify_vhosts\n");
    const app = Testing.app({ context: { "cdktf-xen:verify": false } });
    const off = steps(JSON.parse(Testing.synth(seedApp(undefined, {}, app).stack)));
    expect(Object.keys(off)).not.toContain("dom0/verify");
    const dom0 = app.node.findAll().find((c) => c.node.id === "dom0")!;
    expect(dom0.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => m.data)).toContain("the context key cdktf-xen:verify is false: no deploy checks from the dom0 that its vhosts answer");
  });
});

describe("engines", () => {
  it("app.synth renders each step script once, and writes what Testing.synth returns", () => {
    const out = tempDir();
    try {
      const expected = synth();
      const app = new App({ outdir: out.dir, context: { "cdktf-xen:preview": false } });
      seedApp(undefined, {}, app);
      const render = jest.spyOn(stepModule, "renderStepScript");
      try {
        app.synth();
        // Once per step: one per resource, and the firewall's confirmation.
        expect(render).toHaveBeenCalledTimes(Object.keys(steps(expected)).length + 1);
      } finally {
        render.mockRestore();
      }
      // Testing.synth leaves out cdktf's "//" metadata.
      const written = JSON.parse(fs.readFileSync(path.join(out.dir, "stacks", "webserv", "cdk.tf.json"), "utf8"), (k, v) => (k === "//" ? undefined : v));
      expect(written.resource).toEqual(expected.resource);
    } finally {
      out.remove();
    }
  });

  it("terraform_data carries byte-identical provisioners, connections and triggers, and needs no provider", () => {
    const a = synth("null_resource");
    const b = synth("terraform_data");
    expect(Object.keys(b.resource)).toEqual(["terraform_data"]);
    expect(b.provider).toBeUndefined();
    const sa = steps(a);
    const sb = steps(b);
    expect(Object.keys(sb).sort()).toEqual(Object.keys(sa).sort());
    for (const k of Object.keys(sa)) {
      expect(JSON.stringify(sb[k].provisioner)).toBe(JSON.stringify(sa[k].provisioner));
      expect(sb[k].connection).toEqual(sa[k].connection);
      expect(sb[k].triggers).toEqual(sa[k].triggers);
      expect(sb[k].depends_on?.length).toBe(sa[k].depends_on?.length);
    }
  });

  it("a step resource writes what cdktf's own conversion writes, key for key and in the same order, with either engine", () => {
    for (const engine of ["null_resource", "terraform_data"]) {
      const { stack } = seedApp(engine);
      const resources = stepResources(stack);
      for (const r of resources) {
        const own = JSON.stringify(r.toTerraform());
        // cdktf's conversion, over the fields the resource's own call has just filled.
        const cdktfs = JSON.stringify(Object.getPrototypeOf(Object.getPrototypeOf(r)).toTerraform.call(r));
        expect(own).toBe(cdktfs);
      }
      // The guests' steps connect through a bastion, the dom0's with a private key: every kind of connection key is converted.
      expect(resources.filter((r) => JSON.stringify(r.toTerraform()).includes('"bastion_host":"203.0.113.10"')).length).toBeGreaterThan(3);
    }
  });

  it("a step resource given an override, a lifecycle, a move or an import is written by cdktf's conversion, which honours them", () => {
    const { stack } = seedApp();
    const [a, b, c, d] = stepResources(stack);
    a.addOverride("provisioner.0.remote-exec.on_failure", "continue");
    b.lifecycle = { preventDestroy: true };
    c.moveFromId("null_resource.old");
    d.importFrom("an-id");
    const json = JSON.parse(Testing.synth(stack));
    const res = (r: TerraformResource) => json.resource.null_resource[r.friendlyUniqueId];
    expect(res(a).provisioner[0]["remote-exec"].on_failure).toBe("continue");
    expect(res(b).lifecycle).toEqual({ prevent_destroy: true });
    expect(json.moved).toEqual([{ from: "null_resource.old", to: `null_resource.${c.friendlyUniqueId}` }]);
    expect(json.import).toEqual([{ id: "an-id", to: `null_resource.${d.friendlyUniqueId}` }]);
  });

  it("a host from another stack is a cross-stack reference, as in any resource: that stack's output, this one's remote state", () => {
    const out = tempDir();
    try {
      const app = new App({ outdir: out.dir, context: { "cdktf-xen:preview": false } });
      const net = new TerraformStack(app, "net");
      const address = new TerraformResource(net, "address", { terraformResourceType: "terraform_data" });
      const hosts = new TerraformStack(app, "hosts");
      new XenHost(hosts, "dom0", { ssh: { host: address.getStringAttribute("output") }, uplink: { address: "192.168.0.1/24" }, firewall: { managementCidrs: ["203.0.113.0/24"] } });
      app.synth();
      const written = (stack: string): Json => JSON.parse(fs.readFileSync(path.join(out.dir, "stacks", stack, "cdk.tf.json"), "utf8"));
      const output = Object.keys(written("net").output ?? {});
      expect(output).toHaveLength(1);
      expect(Object.keys(written("hosts").data.terraform_remote_state)).toEqual(["cross-stack-reference-input-net"]);
      const connections = Object.values<Json>(steps(written("hosts"))).map((r) => r.connection.host);
      expect(connections.length).toBeGreaterThan(2);
      for (const host of connections) expect(host).toBe(`\${data.terraform_remote_state.cross-stack-reference-input-net.outputs.${output[0]}}`);
    } finally {
      out.remove();
    }
  });

  it("an unknown engine in the context is refused, naming the key and the choices", () => {
    expect(() => seedApp("ansible")).toThrow('webserv/dom0: context "cdktf-xen:engine" "ansible" is invalid: expected one of null_resource, terraform_data');
  });
});

describe("secrets", () => {
  it("no key material in the synthesized output: keys only as references to sensitive variables", () => {
    const out = tempDir();
    try {
      const app = new App({ outdir: out.dir });
      const real = new TerraformStack(app, "webserv");
      const key = new TerraformVariable(real, "key", { type: "string", sensitive: true });
      const dom0 = new XenHost(real, "dom0", { ssh: { host: "203.0.113.10", privateKey: key.value }, uplink: { address: "192.168.0.1/24" } });
      new RoutedDomU(dom0, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.168.0.10/24" }] });
      app.synth();
      const text = fs.readFileSync(path.join(out.dir, "stacks", "webserv", "cdk.tf.json"), "utf8");
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN OPENSSH|ssh-rsa AAAA|AAAAB3NzaC1yc2E|b3BlbnNzaC1rZXktdjE/);
      const json = JSON.parse(text);
      expect(json.variable.key).toEqual({ type: "string", sensitive: true });
      const keys = [...text.matchAll(/"(bastion_)?private_key": "([^"]*)"/g)].map((m) => m[2]);
      expect(keys.length).toBeGreaterThan(0);
      expect(new Set(keys)).toEqual(new Set(["${var.key}"]));
    } finally {
      out.remove();
    }
  });

  it("a key file is read where Terraform runs, when a step connects: only its path is in cdk.tf.json, for the dom0 and as the guests' bastion key", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "203.0.113.10", privateKeyFile: "~/.ssh/id_ed25519" }, uplink: { address: "192.168.0.1/24" } });
    new RoutedDomU(dom0, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.168.0.10/24" }], ssh: { privateKeyFile: "/etc/deploy/guest-key" } });
    const conns = Object.entries<Json>(JSON.parse(Testing.synth(stack)).resource.null_resource).map(([id, r]) => [id.replace(/_[0-9A-F]{8}$/, ""), r.connection]);
    const keys = new Set(conns.map(([, c]) => `${c.agent} ${c.private_key} ${c.bastion_private_key}`));
    expect(keys).toEqual(
      new Set([
        'false ${file(pathexpand("~/.ssh/id_ed25519"))} undefined',
        'false ${file("/etc/deploy/guest-key")} ${file(pathexpand("~/.ssh/id_ed25519"))}',
      ]),
    );
  });

  it("a key and a key file together are refused", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const key = new TerraformVariable(stack, "key", { type: "string", sensitive: true });
    expect(() => new XenHost(stack, "dom0", { ssh: { host: "203.0.113.10", privateKey: key.value, privateKeyFile: "/k" }, uplink: { address: "192.168.0.1/24" } })).toThrow(
      's/dom0: ssh.privateKeyFile "/k" is invalid: set ssh.privateKey or ssh.privateKeyFile, not both',
    );
  });

  it("the stack's directory holds a plan file only its owner reads, git-ignored, before `cdktf diff` writes a plan into it", () => {
    const out = tempDir();
    try {
      const synth = () => {
        const app = new App({ outdir: out.dir });
        const stack = new TerraformStack(app, "webserv");
        new XenHost(stack, "dom0", { ssh: { host: "203.0.113.10" }, uplink: { address: "192.168.0.1/24" } });
        app.synth();
      };
      const dir = path.join(out.dir, "stacks", "webserv");
      synth();
      const plan = path.join(dir, "plan");
      expect({ mode: fs.statSync(plan).mode & 0o777, size: fs.statSync(plan).size }).toEqual({ mode: 0o600, size: 0 });
      expect(fs.readFileSync(path.join(dir, ".gitignore"), "utf8")).toBe("# Written by cdktf-xen: a plan file holds the values of sensitive variables.\n/plan\n");
      // A plan an earlier `cdktf diff` wrote with Terraform's mode (0644) is closed to others too.
      fs.writeFileSync(plan, "PK\u0003\u0004");
      fs.chmodSync(plan, 0o644);
      synth();
      expect(fs.statSync(plan).mode & 0o777).toBe(0o600);
      // A link there is replaced, never written through.
      fs.rmSync(plan);
      fs.symlinkSync(path.join(out.dir, "elsewhere"), plan);
      synth();
      expect({ file: fs.lstatSync(plan).isFile(), mode: fs.statSync(plan).mode & 0o777, elsewhere: fs.existsSync(path.join(out.dir, "elsewhere")) }).toEqual({ file: true, mode: 0o600, elsewhere: false });
    } finally {
      out.remove();
    }
  });

  it("without a key, the SSH agent is used", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    new XenHost(stack, "dom0", { ssh: { host: "203.0.113.10" }, uplink: { address: "192.168.0.1/24" } });
    const conn = Object.values<Json>(JSON.parse(Testing.synth(stack)).resource.null_resource)[0].connection;
    expect(conn.agent).toBe("true");
    expect(conn.private_key).toBeUndefined();
  });
});

describeWith(["terraform"], "the terraform_data output is valid Terraform", () => {
  it("terraform init and validate accept it (offline: no provider to download)", () => {
    const out = tempDir();
    try {
      const app = new App({ outdir: out.dir, context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } });
      const stack = new TerraformStack(app, "webserv");
      const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
      const g = new RoutedDomU(dom0, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:01", address: "192.0.2.10/24" }] });
      const site = new WebVhost(g, "site", { address: "192.0.2.10", serverName: "s.example.org", documentRoot: "/srv/s" });
      new ForwardRule(dom0, "web", { to: site });
      app.synth();
      const dir = path.join(out.dir, "stacks", "webserv");
      const env = { CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: path.join(out.dir, "terraformrc") };
      fs.writeFileSync(env.TF_CLI_CONFIG_FILE, "");
      const init = run("terraform", [`-chdir=${dir}`, "init", "-input=false", "-no-color"], { env });
      expect(init.stderr).toBe("");
      expect(init.status).toBe(0);
      const validate = run("terraform", [`-chdir=${dir}`, "validate", "-no-color"], { env });
      expect(validate.stdout).toContain("Success! The configuration is valid.");
    } finally {
      out.remove();
    }
  });
});

describeWith(["terraform", "unzip", "git"], "secrets after a real `cdktf diff`", () => {
  it("a key from a sensitive variable is only in the plan file, which only its owner reads and git ignores; a key file's key is in no file at all", () => {
    const project = tempDir();
    try {
      const keyFile = path.join(project.dir, "id_test");
      fs.writeFileSync(keyFile, "KEY-FROM-THE-FILE-3f9a\n", { mode: 0o600 });
      fs.writeFileSync(
        path.join(project.dir, "main.ts"),
        [
          'import { App, TerraformStack, TerraformVariable } from "cdktf";',
          `import { XenHost } from ${JSON.stringify(path.resolve(__dirname, "../../lib"))};`,
          "const app = new App();",
          'const byVar = new TerraformStack(app, "byvar");',
          'const key = new TerraformVariable(byVar, "key", { type: "string", sensitive: true });',
          'new XenHost(byVar, "dom0", { ssh: { host: "198.51.100.2", privateKey: key.value }, uplink: { address: "192.0.2.1/24" } });',
          'const byFile = new TerraformStack(app, "byfile");',
          `new XenHost(byFile, "dom0", { ssh: { host: "198.51.100.3", privateKeyFile: ${JSON.stringify(keyFile)} }, uplink: { address: "192.0.2.129/25" } });`,
          "app.synth();",
          "",
        ].join("\n"),
      );
      const app = `'${process.execPath}' -r '${require.resolve("ts-node/register/transpile-only")}' main.ts`;
      fs.writeFileSync(path.join(project.dir, "cdktf.json"), JSON.stringify({ language: "typescript", app, sendCrashReports: "false", context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } }));
      fs.writeFileSync(path.join(project.dir, "terraformrc"), "");
      // The project is a repository that publishes the hosts/ preview: cdktf.out is not ignored.
      expect(run("git", ["init", "-q", project.dir]).status).toBe(0);
      const env = {
        ...process.env,
        CHECKPOINT_DISABLE: "1",
        TF_IN_AUTOMATION: "1",
        TF_CLI_CONFIG_FILE: path.join(project.dir, "terraformrc"),
        TS_NODE_PROJECT: path.resolve(__dirname, "../../tsconfig.json"),
        NODE_PATH: path.resolve(__dirname, "../../node_modules"),
        TF_VAR_key: "KEY-FROM-THE-VARIABLE-7c21",
        CI: "1",
      };
      const cdktf = path.resolve(__dirname, "../../node_modules/.bin/cdktf");
      for (const stack of ["byvar", "byfile"]) {
        const diff = run(cdktf, ["diff", stack], { cwd: project.dir, env });
        expect({ stack, status: diff.status, tail: diff.status === 0 ? "" : (diff.stdout + diff.stderr).slice(-2000) }).toEqual({ stack, status: 0, tail: "" });
      }
      // Every file under cdktf.out, zip archives (a plan) read member by member.
      const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
      const out = path.join(project.dir, "cdktf.out");
      const holding = (secret: string) =>
        files(out)
          .filter((f) => {
            const raw = fs.readFileSync(f);
            const text = raw.subarray(0, 4).toString("latin1") === "PK\u0003\u0004" ? run("unzip", ["-p", f]).stdout : raw.toString("latin1");
            return text.includes(secret);
          })
          .map((f) => path.relative(out, f));
      expect(holding("KEY-FROM-THE-VARIABLE-7c21")).toEqual(["stacks/byvar/plan"]);
      expect(holding("KEY-FROM-THE-FILE-3f9a")).toEqual([]);
      expect(fs.statSync(path.join(out, "stacks", "byvar", "plan")).mode & 0o777).toBe(0o600);
      expect(run("git", ["-C", project.dir, "check-ignore", "cdktf.out/stacks/byvar/plan"]).stdout).toBe("cdktf.out/stacks/byvar/plan\n");
      expect(run("git", ["-C", project.dir, "check-ignore", "cdktf.out/stacks/byvar/hosts/dom0/etc/iptables/rules.v4"]).status).toBe(1);
    } finally {
      project.remove();
    }
  }, 180_000);
});
