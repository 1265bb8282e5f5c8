/**
 * Terraform's SSH on the connection blocks this library emits, with real
 * Terraform and real sshds in a sandbox host (a "dom0" on 127.0.0.1:22, a
 * "guest" on 127.0.0.2:2222, so that a connection's port and its bastion's are
 * each the one Terraform dials).
 *
 * Host keys: the pinned key lets a step run; any other key stops the deploy
 * before the step runs; with no key pinned Terraform takes whatever answers
 * (which is why synth warns about a dom0 without `ssh.hostKey`); and a guest's
 * own key through its dom0 behaves as the guest's synth warning says for the
 * Terraform release at hand.
 *
 * The script: Terraform uploads it, makes it world-writable (0777), runs it and
 * leaves it behind; in root's home and made root's own at its first line, no
 * other user can rewrite it while root runs it.
 */
import * as fs from "fs";
import * as path from "path";
import { App, Fn, LocalBackend, TerraformStack } from "cdktf";
import { deployStep, ENGINE_CONTEXT_KEY, StepConnection } from "../../lib/deploy/engine";
import { labHostKey, startSshd } from "../../lib/lab/hosts";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import { describeWith, run, sandboxHost, tempDir } from "../support/tools";

describeWith(["root", "terraform", "/usr/sbin/sshd", "ssh-keygen", "unshare", "nsenter", "setpriv"], "Terraform's SSH on our connection blocks: pinned host keys, and where the script lands", () => {
  let work: ReturnType<typeof tempDir>;
  let host: SandboxHost;
  const keys: Record<"dom0" | "guest" | "impostor", string> = { dom0: "", guest: "", impostor: "" };
  let dom0: Omit<StepConnection, "hostKey">;
  let guest: Omit<StepConnection, "hostKey">;

  beforeAll(() => {
    work = tempDir();
    host = sandboxHost("hk");
    const id = path.join(work.dir, "id_ed25519");
    expect(run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", id]).status).toBe(0);
    fs.copyFileSync(`${id}.pub`, path.join(work.dir, "authorized_keys"));
    for (const k of Object.keys(keys) as (keyof typeof keys)[]) keys[k] = fs.readFileSync(`${labHostKey(work.dir, "test", k)}.pub`, "utf8").trim();
    startSshd(host, work.dir, "127.0.0.1", 22, labHostKey(work.dir, "test", "dom0"));
    startSshd(host, work.dir, "127.0.0.2", 2222, labHostKey(work.dir, "test", "guest"));
    dom0 = { host: "127.0.0.1", user: "root", port: 22, privateKey: Fn.file(id) };
    guest = { ...dom0, host: "127.0.0.2", port: 2222 };
  });
  afterAll(() => {
    host?.destroy();
    work?.remove();
  });

  /**
   * Deploys one step that runs `activate` and touches /var/tmp/<tag> (and a second, `then`), with Terraform
   * run inside the sandbox (where the sshds listen). The same tag deploys again on the same state.
   */
  function deploy(tag: string, connection: StepConnection, activate = ":", then?: string) {
    const out = path.join(work.dir, tag);
    const app = new App({ outdir: out, context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } });
    const stack = new TerraformStack(app, "s");
    // A state of its own: by default it would be ./terraform.s.tfstate, in the project, shared by every run.
    new LocalBackend(stack, { path: path.join(work.dir, `${tag}.tfstate`) });
    const step = deployStep(stack, "probe", {
      step: () => ({ host: "probe", concern: tag, files: [], validate: ":", activate: `${activate}\ntouch /var/tmp/${tag}` }),
      ...(then ? { then: () => ({ host: "probe", concern: `${tag}-then`, files: [], validate: ":", activate: then }) } : {}),
      connection,
    });
    // Terraform retries a refused connection until it times out (5 minutes by default).
    step.addOverride("connection.timeout", "5s");
    app.synth();
    const dir = path.join(out, "stacks", "s");
    const env = { CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: path.join(work.dir, "terraformrc") };
    fs.writeFileSync(env.TF_CLI_CONFIG_FILE, "");
    const terraform = (...args: string[]) => host.exec(["terraform", `-chdir=${dir}`, ...args, "-input=false", "-no-color"], undefined, env);
    expect(terraform("init").stderr).toBe("");
    const apply = terraform("apply", "-auto-approve");
    const ran = host.readFile(`/var/tmp/${tag}`) !== undefined;
    return { ok: apply.status === 0 && ran, refused: apply.status !== 0 && !ran, output: apply.stdout + apply.stderr };
  }

  it("the dom0's own key: the step runs", () => {
    expect(deploy("pinned", { ...dom0, hostKey: keys.dom0 })).toMatchObject({ ok: true });
  });

  it("another key at the dom0's address: the deploy stops before the step runs", () => {
    const r = deploy("impostor", { ...dom0, hostKey: keys.impostor });
    expect(r.refused).toBe(true);
    expect(r.output).toContain("knownhosts: key mismatch");
  });

  it("no key pinned: Terraform runs the step on whatever answers", () => {
    expect(deploy("unpinned", dom0)).toMatchObject({ ok: true });
  });

  it("a guest through its dom0, the dom0's key pinned (the default): the step runs, on the guest's port; on another port it does not", () => {
    expect(deploy("viadom0", { ...guest, bastion: { ...dom0, hostKey: keys.dom0 } })).toMatchObject({ ok: true });
    // Nothing listens on the guest's address at 22: the port Terraform dials is the connection's.
    const elsewhere = deploy("viadom0port", { ...guest, port: 22, bastion: { ...dom0, hostKey: keys.dom0 } });
    expect(elsewhere.refused).toBe(true);
    expect(elsewhere.output).toContain("ssh: rejected: connect failed (Connection refused)");
  });

  it("a guest's own key through its dom0: Terraform checks the dom0 against it, unless the release has the fix (as the synth warning says)", () => {
    const both = deploy("guestpinned", { ...guest, hostKey: keys.guest, bastion: { ...dom0, hostKey: keys.dom0 } });
    if (both.ok) {
      // A release with the fix of hashicorp/terraform#38318 checks the bastion against its own key.
      const r = deploy("bastionimpostor", { ...guest, hostKey: keys.guest, bastion: { ...dom0, hostKey: keys.impostor } });
      expect(r.refused).toBe(true);
      expect(r.output).toMatch(/Error connecting to bastion: ssh: handshake failed:\s+knownhosts: key mismatch/);
    } else {
      // Without it the bastion is checked against host_key: the guest's key, so no step of the guest runs;
      expect(both.refused).toBe(true);
      expect(both.output).toMatch(/Error connecting to bastion: ssh: handshake failed:\s+knownhosts: key mismatch/);
      // and with no guest key the dom0's key is not checked on the way to the guest.
      expect(deploy("bastionunchecked", { ...guest, bastion: { ...dom0, hostKey: keys.impostor } })).toMatchObject({ ok: true });
    }
  });

  it("a step's second part runs over an SSH connection of its own; when it fails, the next deploy runs the whole step again", () => {
    const pinned = { ...dom0, hostKey: keys.dom0 };
    const first = 'echo "$SSH_CONNECTION" >> /var/tmp/then-first';
    const then = 'echo "$SSH_CONNECTION" >> /var/tmp/then-second\n[ -e /var/tmp/then-ok ] || { echo "cdktf-xen: not confirmed" >&2; exit 1; }';
    host.sh("rm -f /var/tmp/then-*");
    const failed = deploy("then", pinned, first, then);
    expect(failed.ok).toBe(false);
    expect(failed.output).toContain("cdktf-xen: not confirmed");
    const [a] = host.readFile("/var/tmp/then-first")!.trim().split("\n");
    const [b] = host.readFile("/var/tmp/then-second")!.trim().split("\n");
    // SSH_CONNECTION is "client-address client-port server-address server-port": another client port, another connection.
    expect(a.split(" ")[1]).not.toBe(b.split(" ")[1]);
    // The same code again: Terraform replaces the tainted resource, so the first part runs again too.
    host.sh("touch /var/tmp/then-ok");
    expect(deploy("then", pinned, first, then).ok).toBe(true);
    expect(host.readFile("/var/tmp/then-first")!.trim().split("\n")).toHaveLength(2);
    // The failed second part ran once (a part without files has nothing to put back, so it is not run again), then once more.
    expect(host.readFile("/var/tmp/then-second")!.trim().split("\n")).toHaveLength(2);
    // And once both parts are done, nothing runs again.
    const again = deploy("then", pinned, first, then);
    expect(again.output).toContain("No changes.");
    expect(host.readFile("/var/tmp/then-first")!.trim().split("\n")).toHaveLength(2);
  });

  /** Terraform's uploads in root's home: mode, size, and whether `nobody` could write to them. */
  const uploads = 'for f in /root/.cdktf-xen-*.sh; do if setpriv --reuid=65534 --regid=65534 --clear-groups test -w "$f"; then w=writable; else w=-; fi; echo "$(stat -c "%a %s" "$f") $w"; done';

  it("the script lands in root's home, and no other user can write it while it runs; only an empty root-only file stays", () => {
    host.sh("rm -f /root/.cdktf-xen-*.sh");
    expect(deploy("script", { ...dom0, hostKey: keys.dom0 }, `(${uploads}) > /var/tmp/uploads-while-running`)).toMatchObject({ ok: true });
    expect(host.readFile("/var/tmp/uploads-while-running")).toMatch(/^600 [1-9]\d* -\n$/);
    expect(host.sh(uploads).stdout).toBe("600 0 -\n");
  });

  it("each step removes what steps left over an hour ago, and nothing newer", () => {
    host.sh("rm -f /root/.cdktf-xen-*.sh; touch -d '2 hours ago' /root/.cdktf-xen-1.sh; touch -d '30 minutes ago' /root/.cdktf-xen-2.sh");
    expect(deploy("cleanup", { ...dom0, hostKey: keys.dom0 })).toMatchObject({ ok: true });
    const left = host.sh("ls -a /root | grep '^\\.cdktf-xen-'").stdout.trim().split("\n");
    expect(left).toHaveLength(2);
    expect(left).toContain(".cdktf-xen-2.sh");
    expect(left).not.toContain(".cdktf-xen-1.sh");
  });
});
