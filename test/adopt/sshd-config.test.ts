/**
 * The ports sshd listens on, as import reads them from a copy's sshd_config:
 * each case with its exact reading, and the same configuration given to the
 * real sshd (`sshd -T`, which prints the sockets it would open), whose IPv4
 * sockets on the uplink address must be the ports read (and what it prints,
 * captured in a copy, must read the same), or which must refuse to start
 * where the reading has a doubt that says sshd does not start.
 */
import * as fs from "fs";
import * as path from "path";
import { sshdPorts, sshdPortsOfTest } from "../../lib/adopt/sshd-config";
import { describeWith, run, tempDir } from "../support/tools";

const UPLINK = "192.0.2.1";
/** Debian's sshd_config as installed, its Include pointing at `@D@` (the folder beside the file). */
const DEBIAN = [
  "# This is the sshd server system-wide configuration file.",
  "Include @D@/*.conf",
  "",
  "#Port 22",
  "#AddressFamily any",
  "#ListenAddress 0.0.0.0",
  "KbdInteractiveAuthentication no",
  "UsePAM yes",
  "X11Forwarding yes",
  "PrintMotd no",
  "AcceptEnv LANG LC_*",
  "Subsystem sftp /usr/lib/openssh/sftp-server",
  "",
].join("\n");

interface Case {
  readonly title: string;
  readonly config: string;
  /** Files of sshd_config.d, by name. */
  readonly included?: Readonly<Record<string, string>>;
  readonly ports: number[];
  /** The start of each doubt. */
  readonly doubts?: string[];
  /** sshd refuses the configuration (the doubts say so). */
  readonly refused?: boolean;
}

const CASES: readonly Case[] = [
  { title: "Debian's own: the default port", config: DEBIAN, ports: [22] },
  { title: "one Port", config: `${DEBIAN}Port 2222\n`, ports: [2222] },
  { title: "two Ports, in their order", config: "Port 2222\nPort 22\n", ports: [2222, 22] },
  { title: "keyword in any case, `=`, a comment after the value", config: "  PORT   2222  # moved\nport=2223\n", ports: [2222, 2223] },
  { title: "a port with leading zeros, and by service name", config: "Port 0222\nPort ssh\n", ports: [222, 22] },
  { title: "a ListenAddress with its own port takes no Port", config: "ListenAddress 0.0.0.0:2200\nPort 2222\n", ports: [2200] },
  { title: "a ListenAddress without a port takes every Port", config: "ListenAddress 0.0.0.0\nPort 2222\nPort 2223\n", ports: [2222, 2223] },
  { title: "IPv6 and the uplink address: only the uplink's IPv4 socket", config: "ListenAddress [::]:2201\nListenAddress 192.0.2.1\n", ports: [22] },
  { title: "another address's socket is not the uplink's", config: "ListenAddress 198.51.100.1:2200\nListenAddress 192.0.2.1:2201\n", ports: [2201] },
  { title: "an address and nothing on the uplink", config: "ListenAddress 198.51.100.1\n", ports: [] },
  { title: "AddressFamily inet6: no IPv4 socket", config: "AddressFamily inet6\nPort 2222\n", ports: [], doubts: ["AddressFamily inet6"] },
  {
    title: "Include in place, its files in byte order, .conf only",
    config: `${DEBIAN}Port 2222\n`,
    included: { "b.conf": "Port 4444\n", "a.conf": "Port 4443\n", "c.conf.disabled": "Port 5555\n" },
    ports: [4443, 4444, 2222],
  },
  { title: "Port in a Match block: sshd refuses it", config: "Port 2222\nMatch User backup\n  Port 3333\n", ports: [2222], doubts: ["Port 3333 (sshd_config line 3): sshd refuses it in a Match block"], refused: true },
  { title: "Port in an included file inside a Match block", config: `Match User backup\n  Include @D@/*.conf\n`, included: { "m.conf": "Port 3333\n" }, ports: [22], doubts: ["Port 3333 (m.conf line 1): sshd refuses it in a Match block"], refused: true },
  { title: "two ports on one Port line: sshd refuses it", config: "Port 22 2222\n", ports: [22], doubts: ["Port 22 2222 (sshd_config line 1): a port sshd does not read"], refused: true },
  { title: "a port sshd cannot read", config: "Port 0x10\n", ports: [22], doubts: ["Port 0x10 (sshd_config line 1): a port sshd does not read"], refused: true },
];

/** The case's files as a FileSet, sshd_config at `config` and its folder beside it. */
function filesOf(c: Case, config: string): Record<string, string> {
  const files: Record<string, string> = { [config]: c.config.replace(/@D@/g, `${config}.d`) };
  for (const [name, text] of Object.entries(c.included ?? {})) files[`${config}.d/${name}`] = text;
  return files;
}

describe("sshd's ports, read from sshd_config", () => {
  it.each(CASES.map((c) => [c.title, c] as const))("%s", (_, c) => {
    const read = sshdPorts(filesOf(c, "/etc/ssh/sshd_config"), UPLINK);
    expect(read.ports).toEqual(c.ports);
    expect(read.doubts.map((d, i) => d.slice(0, (c.doubts ?? [])[i]?.length ?? d.length))).toEqual(c.doubts ?? []);
  });

  it("says where each port is given, and that a copy without sshd_config is read as the default port", () => {
    const read = sshdPorts({ "/etc/ssh/sshd_config": "Port 2222\n", "/etc/ssh/sshd_config.d/x.conf": "Port 9\n" }, UPLINK);
    expect([...read.where]).toEqual([[2222, "sshd_config line 1"]]);
    expect(sshdPorts({}, UPLINK)).toEqual({ ports: [22], where: new Map(), doubts: ["the copy holds no /etc/ssh/sshd_config"] });
  });

  it("from what sshd -T prints: its IPv4 sockets on any address or the uplink's, each port once", () => {
    const printed = ["port 2222", "port 22", "addressfamily any", "listenaddress [::]:2222", "listenaddress 0.0.0.0:2222", "listenaddress 198.51.100.1:22", "listenaddress 192.0.2.1:2200 rdomain mgmt", "listenaddress 0.0.0.0:2222", ""].join("\n");
    expect(sshdPortsOfTest(printed, UPLINK)).toEqual({ ports: [2222, 2200], where: new Map([[2222, "sshd -T"], [2200, "sshd -T"]]), doubts: [] });
    expect(sshdPortsOfTest("port 22\n", UPLINK)).toEqual({ ports: [], where: new Map(), doubts: ["sshd -T shows no listenaddress line"] });
  });

  it("an Include the copy does not hold, a relative one, and a host name are doubts", () => {
    const read = sshdPorts({ "/etc/ssh/sshd_config": "Include /usr/local/etc/sshd.conf\nInclude sshd_config.d/*.conf\nListenAddress ssh.example.org\n", "/etc/ssh/sshd_config.d/p.conf": "Port 2222\n" }, UPLINK);
    expect(read.ports).toEqual([]);
    expect(read.doubts).toEqual([
      "Include /usr/local/etc/sshd.conf (sshd_config line 1): files the copy does not hold (import reads /etc/ssh/sshd_config and /etc/ssh/sshd_config.d)",
      "ListenAddress ssh.example.org (sshd_config line 3): a host name, resolved when sshd starts",
    ]);
    // The relative Include is read from /etc/ssh: its port is that of a ListenAddress without one.
    expect(sshdPorts({ "/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\n", "/etc/ssh/sshd_config.d/p.conf": "Port 2222\n" }, UPLINK).ports).toEqual([2222]);
  });
});

describeWith(["root", "/usr/sbin/sshd", "ssh-keygen"], "sshd's ports: the real sshd reads each configuration the same way", () => {
  const t = tempDir("cdktf-xen-sshd-");
  // sshd -T checks its privilege separation directory, which a host running sshd has.
  const madeRun = !fs.existsSync("/run/sshd");
  beforeAll(() => {
    if (madeRun) fs.mkdirSync("/run/sshd", { mode: 0o755 });
    const key = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(t.dir, "host_key")]);
    if (key.status !== 0) throw new Error(key.stderr);
  });
  afterAll(() => {
    if (madeRun) fs.rmSync("/run/sshd", { recursive: true, force: true });
    t.remove();
  });

  it.each(CASES.map((c, i) => [c.title, c, i] as const))("%s", (_, c, i) => {
    const config = path.join(t.dir, `c${i}`, "sshd_config");
    const files = filesOf(c, config);
    fs.mkdirSync(`${config}.d`, { recursive: true });
    for (const [p, text] of Object.entries(files)) fs.writeFileSync(p, text);
    const sshd = run("/usr/sbin/sshd", ["-T", "-f", config, "-h", path.join(t.dir, "host_key")]);
    const read = sshdPorts(files, UPLINK, config);
    if (c.refused) {
      expect(sshd.status).not.toBe(0);
      expect(read.doubts.some((d) => d.includes("sshd refuses") || d.includes("does not read"))).toBe(true);
      return;
    }
    expect(sshd.stderr).toBe("");
    expect(sshd.status).toBe(0);
    // IPv4 sockets on any address or the uplink's, each port once, in sshd's order.
    const sockets = sshd.stdout.split("\n").map((l) => /^listenaddress (0\.0\.0\.0|192\.0\.2\.1):(\d+)$/.exec(l)).filter((m) => m !== null);
    expect(read.ports).toEqual([...new Set(sockets.map((m) => Number(m[2])))]);
    // A copy with sshd -T captured reads the same ports from it.
    expect(sshdPortsOfTest(sshd.stdout, UPLINK).ports).toEqual(read.ports);
  });
});
