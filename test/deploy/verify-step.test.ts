/**
 * The check after deploy, run for real: its step script on a sandbox dom0,
 * curl asking servers on the sandbox's own addresses. Each way a socket can
 * fail is named as the deploy shows it: timeout, refused, wrong page.
 */
import { verifyStep } from "../../lib/concerns/verify";
import { renderStepScript } from "../../lib/deploy/step";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import type { VhostModel } from "../../lib/model";
import { describeWith, sandboxHost } from "../support/tools";

/** Answers every request on each address:port given, with the status and page given for it. */
const SERVER = `
import socketserver, sys, threading
from http.server import BaseHTTPRequestHandler
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, page = self.server.answer
        body = (page + " " + (self.headers.get("Host") or "") + " " + self.path + "\\n").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
servers = []
for spec in sys.argv[1:]:
    address, port, status, page = spec.split(",")
    s = socketserver.ThreadingTCPServer((address, int(port)), Handler)
    s.answer = (int(status), page)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    servers.append(s)
print("listening", flush=True)
threading.Event().wait()
`;

function vhost(name: string, address: string, ports: number[] = [80]): VhostModel {
  return { name, address, httpPorts: ports, serverName: `${name}.example.org`, serverAliases: [], documentRoot: `/var/www/${name}`, apacheVersion: "2.4" };
}

describeWith(["root", "nsenter", "unshare", "curl", "python3", "iptables"], "the check after deploy, for real", () => {
  let dom0: SandboxHost;
  beforeAll(() => {
    dom0 = sandboxHost("vf");
    const setup = dom0.sh(
      [
        "ip link set lo up",
        ...[10, 11, 12, 14].map((i) => `ip addr add 192.0.2.${i}/32 dev lo`),
        // 192.0.2.14 swallows every packet: the answer never comes, as from a black-holed guest.
        "iptables -A INPUT -d 192.0.2.14 -j DROP",
      ].join(" && "),
    );
    expect(setup.stderr).toBe("");
    dom0.writeFile("/root/server.py", SERVER);
    const started = dom0.sh("python3 /root/server.py 192.0.2.10,80,200,page-of-a 192.0.2.11,80,500,oops 192.0.2.12,80,200,page-of-someone-else 192.0.2.12,8080,200,page-of-c 192.0.2.14,80,200,never >/root/server.log 2>&1 & for i in $(seq 50); do grep -q listening /root/server.log && exit 0; sleep 0.1; done; cat /root/server.log; exit 1");
    expect(started.status).toBe(0);
  });
  afterAll(() => dom0?.destroy());

  it("a vhost that answers passes: its name as the Host header, the path asked, the text found", () => {
    const step = verifyStep("dom0", [{ vhost: vhost("a", "192.0.2.10"), expect: { path: "/health?x=1", status: 200, contains: "page-of-a a.example.org /health?x=1" } }], "digest", 1);
    const r = dom0.runScript(renderStepScript(step));
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
      status: 0,
      stderr: "",
      stdout: "ok   vhost a (a.example.org) on 192.0.2.10:80: HTTP 200\nevery vhost socket answers from the dom0 (1)\ncdktf-xen: dom0/verify: done\n",
    });
  });

  it("fails naming each socket that does not answer and why: timeout, refused, a server error, the wrong page", () => {
    const step = verifyStep(
      "dom0",
      [
        { vhost: vhost("a", "192.0.2.10"), expect: { path: "/" } },
        { vhost: vhost("b", "192.0.2.11"), expect: { path: "/" } },
        { vhost: vhost("c", "192.0.2.12", [80, 8080]), expect: { path: "/", contains: "page-of-c" } },
        { vhost: vhost("d", "192.0.2.13"), expect: { path: "/" } },
        { vhost: vhost("e", "192.0.2.14"), expect: { path: "/" } },
        { vhost: vhost("f", "192.0.2.10"), expect: { path: "/", status: 204 } },
      ],
      "digest",
      1,
    );
    const r = dom0.runScript(renderStepScript(step));
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n")).toEqual([
      "ok   vhost a (a.example.org) on 192.0.2.10:80: HTTP 200",
      "FAIL vhost b (b.example.org) on 192.0.2.11:80: wrong page: / answered HTTP 500",
      'FAIL vhost c (c.example.org) on 192.0.2.12:80: wrong page: / (HTTP 200) does not contain "page-of-c"',
      "ok   vhost c (c.example.org) on 192.0.2.12:8080: HTTP 200",
      expect.stringMatching(/^FAIL vhost d \(d\.example\.org\) on 192\.0\.2\.13:80: refused or unreachable: curl: \(7\) Failed to connect to d\.example\.org port 80 after \d+ ms: Couldn't connect to server$/),
      "FAIL vhost e (e.example.org) on 192.0.2.14:80: timeout: no answer within 1 s, asked twice (the reply does not come back: a guest's reply leaving by another vif, a firewall, or the guest down)",
      "FAIL vhost f (f.example.org) on 192.0.2.10:80: wrong page: / answered HTTP 200, expected 204",
      "",
    ]);
    expect(r.stderr).toBe("5 of 7 vhost sockets do not answer from the dom0\ncdktf-xen: dom0/verify: failed (it changes no file)\n");
  });

  it("no vhost: nothing to ask, and it passes", () => {
    const r = dom0.runScript(renderStepScript(verifyStep("dom0", [], "digest", 1)));
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: "no vhost to verify\ncdktf-xen: dom0/verify: done\n" });
  });
});
