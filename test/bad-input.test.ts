/**
 * The catalogue of refused input. Every entry is built in a real App whose
 * synth must fail with a message naming the construct path, the prop, the
 * value and what is allowed, and must write nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { Annotations, App, TerraformStack } from "cdktf";
import { ForwardRule, Port, RoutedDomU, RoutedDomUProps, WebVhost, WebVhostProps, XenHost, XenHostProps } from "../lib";
import { ENGINE_CONTEXT_KEY } from "../lib/deploy/engine";
import { tempDir } from "./support/tools";

type Build = (stack: TerraformStack) => void;

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPSTBO9Fk4TXc5iQGfBxMUgc0mIrCA+N6RhIFs5hJ7I7";
const dom0Props = (over: Partial<XenHostProps> = {}): XenHostProps => ({ ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, ...over });
const vif = (n: number, address = `192.0.2.${10 + n}/24`) => ({ mac: `00:16:3e:00:00:${(16 + n).toString(16)}`, address });
const guest = (over: Partial<RoutedDomUProps> = {}): RoutedDomUProps => ({ disks: [], vifs: [vif(0)], ...over });
const withGuest = (over: Partial<RoutedDomUProps>): Build => (s) => new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "g", guest(over)) && undefined;
const withDom0 = (over: Partial<XenHostProps>): Build => (s) => new XenHost(s, "dom0", dom0Props(over)) && undefined;
const withVhost = (over: Partial<WebVhostProps>, id = "w"): Build => (s) => {
  const g = new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "g", guest());
  new WebVhost(g, id, { address: "192.0.2.10", serverName: "w.example.org", documentRoot: "/srv/w", ...over });
};
const withRule = (to: (g: RoutedDomU) => RoutedDomU | WebVhost | string, over: { ports?: (number | Port)[]; from?: string[]; sourcePorts?: (number | Port)[] } = {}): Build => (s) => {
  const h = new XenHost(s, "dom0", dom0Props());
  const g = new RoutedDomU(h, "g", guest());
  new ForwardRule(h, "r", { to: to(g), ports: [80], ...over });
};

const CATALOGUE: [string, Build, RegExp][] = [
  // Addresses
  ["malformed IPv4 in a vif", withGuest({ vifs: [vif(0, "192.0.2.300/24")] }), /s\/dom0\/g: vifs\[0\]\.address "192\.0\.2\.300\/24" is invalid: expected an IPv4 address with a prefix length 0-32/],
  ["IPv4 with a leading zero (octal in some parsers)", withGuest({ vifs: [vif(0, "192.0.2.010/24")] }), /vifs\[0\]\.address "192\.0\.2\.010\/24" is invalid/],
  ["address without a prefix", withGuest({ vifs: [vif(0, "192.0.2.10")] }), /vifs\[0\]\.address "192\.0\.2\.10" is invalid: expected an IPv4 address with a prefix length/],
  ["prefix longer than 32", withGuest({ vifs: [vif(0, "192.0.2.10/33")] }), /vifs\[0\]\.address "192\.0\.2\.10\/33" is invalid/],
  ["a vif's further address without its prefix", withGuest({ vifs: [{ ...vif(0, "192.0.2.10/24"), additionalAddresses: ["192.0.2.11"] }] }), /vifs\[0\]\.additionalAddresses\[0\] "192\.0\.2\.11" is invalid: expected an IPv4 address with a prefix length/],
  ["a vif's further addresses as one string", withGuest({ vifs: [{ ...vif(0, "192.0.2.10/24"), additionalAddresses: "192.0.2.11/24" as never }] }), /vifs\[0\]\.additionalAddresses "192\.0\.2\.11\/24" is invalid: expected a list of addresses with their prefixes/],
  ["the same address on two vifs, once as a further one", withGuest({ vifs: [vif(0, "192.0.2.10/24"), { ...vif(1, "192.0.2.20/24"), additionalAddresses: ["192.0.2.10/24"] }] }), /vifs "192\.0\.2\.10" is invalid: each address belongs to one vif, once/],
  ["prefix 0 on an interface", withGuest({ vifs: [vif(0, "192.0.2.10/0")] }), /a prefix length of 0 cannot be an interface's subnet/],
  ["network address used as a host", withGuest({ vifs: [vif(0, "192.0.2.0/24")] }), /"192\.0\.2\.0\/24" is invalid: 192\.0\.2\.0 is the network address of 192\.0\.2\.0\/24; expected a host address inside it/],
  ["broadcast address used as a host", withGuest({ vifs: [vif(0, "192.0.2.255/24")] }), /192\.0\.2\.255 is the broadcast address of 192\.0\.2\.0\/24/],
  ["multicast address as a host", withGuest({ vifs: [vif(0, "224.0.0.5/24")] }), /multicast addresses cannot be assigned to a host/],
  ["loopback address as the uplink", withDom0({ uplink: { address: "127.0.0.2/8" } }), /s\/dom0: uplink\.address "127\.0\.0\.2\/8" is invalid: loopback addresses cannot be assigned/],
  ["network with host bits set (outside its own prefix)", withDom0({ firewall: { managementCidrs: ["203.0.113.5/24"] } }), /firewall\.managementCidrs\[0\] "203\.0\.113\.5\/24" is invalid: host bits are set; expected the network address, e\.g\. 203\.0\.113\.0\/24/],
  ["source network that is not a CIDR", withRule((g) => g, { from: ["any"] }), /s\/dom0\/r: from\[0\] "any" is invalid: expected an IPv4 address with a prefix length/],
  ["gateway that is not an address", withGuest({ gateway: "router" }), /gateway "router" is invalid: expected a dotted-quad IPv4 address/],
  // MACs
  ["malformed MAC", withGuest({ vifs: [{ mac: "de:ad:be:ef:00", address: "192.0.2.10/24" }] }), /vifs\[0\]\.mac "de:ad:be:ef:00" is invalid: expected a MAC address of six colon-separated hex octets/],
  ["MAC with dashes", withGuest({ vifs: [{ mac: "00-16-3e-00-00-01", address: "192.0.2.10/24" }] }), /vifs\[0\]\.mac "00-16-3e-00-00-01" is invalid/],
  ["multicast MAC", withGuest({ vifs: [{ mac: "01:00:5e:00:00:01", address: "192.0.2.10/24" }] }), /this is a multicast MAC \(lowest bit of the first octet set\)/],
  ["all-zero MAC", withGuest({ vifs: [{ mac: "00:00:00:00:00:00", address: "192.0.2.10/24" }] }), /the all-zero MAC is not a valid interface address/],
  // Uniqueness
  ["the same MAC twice in one guest", withGuest({ vifs: [vif(0), { ...vif(1), mac: vif(0).mac }] }), /vifs\[\]\.mac "00:16:3e:00:00:10" is invalid: each vif needs its own mac/],
  ["the same address twice in one guest", withGuest({ vifs: [vif(0), vif(1, "192.0.2.10/24")] }), /vifs "192\.0\.2\.10" is invalid: each address belongs to one vif, once; this one appears twice/],
  ["the same MAC on two dom0s", (s) => {
    new RoutedDomU(new XenHost(s, "a", dom0Props()), "g", guest());
    new RoutedDomU(new XenHost(s, "b", dom0Props({ uplink: { address: "198.51.100.1/24" } })), "h", guest({ vifs: [{ mac: vif(0).mac, address: "198.51.100.10/24" }] }));
  }, /s\/b\/h: vifs\[0\]\.mac "00:16:3e:00:00:10" is invalid: already used by s\/a\/g vifs\[0\]\.mac; it must be unique in the app/],
  ["the same address on two dom0s", (s) => {
    new RoutedDomU(new XenHost(s, "a", dom0Props()), "g", guest());
    new RoutedDomU(new XenHost(s, "b", dom0Props({ uplink: { address: "198.51.100.1/24" } })), "h", guest({ vifs: [{ mac: "00:16:3e:00:01:01", address: "192.0.2.10/24" }] }));
  }, /s\/b\/h: vifs\[0\]\.address "192\.0\.2\.10" is invalid: already used by s\/a\/g vifs\[0\]\.address/],
  ["a guest taking its dom0's uplink address", withGuest({ vifs: [vif(0, "192.0.2.1/24")] }), /s\/dom0\/g: vifs\[0\]\.address "192\.0\.2\.1" is invalid: already used by s\/dom0 uplink\.address/],
  ["two guests with the same name on one dom0", (s) => {
    const h = new XenHost(s, "dom0", dom0Props());
    new RoutedDomU(h, "g", guest());
    new RoutedDomU(h, "h", guest({ name: "g", vifs: [vif(1)] }));
  }, /s\/dom0\/h: name "g" is invalid: already used by s\/dom0\/g name; it must be unique on s\/dom0/],
  ["the same vifname on two guests of one dom0", (s) => {
    const h = new XenHost(s, "dom0", dom0Props());
    new RoutedDomU(h, "g", guest({ vifs: [{ ...vif(0), vifname: "web0" }] }));
    new RoutedDomU(h, "h", guest({ vifs: [{ ...vif(1), vifname: "web0" }] }));
  }, /s\/dom0\/h: vifs\[0\]\.vifname "web0" is invalid: already used by s\/dom0\/g vifs\[0\]\.vifname/],
  ["the same vifname twice in one guest", withGuest({ vifs: [{ ...vif(0), vifname: "x" }, { ...vif(1), vifname: "x" }] }), /vifs\[\]\.vifname "x" is invalid: each vif needs its own vifname/],
  // Ownership
  ["vhost address not owned by its guest", withVhost({ address: "192.0.2.99" }), /s\/dom0\/g\/w: address "192\.0\.2\.99" is invalid: not an address of guest g; expected one of 192\.0\.2\.10/],
  ["ForwardRule to a guest of another dom0", (s) => {
    const a = new XenHost(s, "a", dom0Props());
    const b = new XenHost(s, "b", dom0Props({ uplink: { address: "198.51.100.1/24" } }));
    new ForwardRule(a, "r", { to: new RoutedDomU(b, "g", guest({ vifs: [vif(0, "198.51.100.10/24")] })), ports: [80] });
  }, /s\/a\/r: to "s\/b\/g" is invalid: that guest runs on s\/b; a ForwardRule belongs to the dom0 of its guest/],
  ["ForwardRule to an address no guest has", withRule(() => "192.0.2.77"), /s\/dom0\/r: to "192\.0\.2\.77" is invalid: no guest of s\/dom0 has this address/],
  // Ports
  ["port 0", withRule((g) => g, { ports: [0] }), /s\/dom0\/r: ports\[0\]\.from 0 is invalid: expected a port number from 1 to 65535/],
  ["port above 65535", withRule((g) => g, { ports: [65536] }), /ports\[0\]\.from 65536 is invalid: expected a port number from 1 to 65535/],
  ["fractional port", withRule((g) => g, { ports: [80.5] }), /ports\[0\]\.from 80\.5 is invalid/],
  ["inverted port range", withRule((g) => g, { ports: [Port.tcpRange(90, 80)] }), /ports\[0\] "90-80" is invalid: the range is inverted; expected from <= to/],
  ["inverted source port range", withRule((g) => g, { sourcePorts: [Port.tcpRange(2000, 1024)] }), /sourcePorts\[0\] "2000-1024" is invalid: the range is inverted/],
  ["no ports for a guest", withRule((g) => g, { ports: [] }), /s\/dom0\/r: ports \[\] is invalid: expected at least one port/],
  ["vhost port 0", withVhost({ ports: [0] }), /s\/dom0\/g\/w: ports\[0\] 0 is invalid: expected a port number from 1 to 65535/],
  ["TLS on an HTTP port", withVhost({ ports: [443], tls: { port: 443, certificateFile: "/c.pem", certificateKeyFile: "/k.pem" } }), /tls\.port 443 is invalid: already an HTTP port of this vhost/],
  // Vifs
  ["empty vif list", withGuest({ vifs: [] }), /s\/dom0\/g: vifs \[\] is invalid: expected at least one vif/],
  ["more vifs than Xen allows", (s) => new RoutedDomU(new XenHost(s, "dom0", dom0Props({ uplink: { address: "10.9.0.1/16" } })), "g", guest({ vifs: Array.from({ length: 65 }, (_, i) => ({ mac: `00:16:3e:00:01:${i.toString(16).padStart(2, "0")}`, address: `10.9.1.${i + 1}/16` })) })) && undefined, /vifs "65 vifs" is invalid: Xen allows at most 64 vifs per domain/],
  ["vifname over 15 characters", withGuest({ vifs: [{ ...vif(0), vifname: "a-very-long-vifname" }] }), /vifs\[0\]\.vifname "a-very-long-vifname" is invalid: a vifname has at most 15 characters/],
  ["default vifname too long for an HVM guest", (s) => new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "longguestname", guest({ type: "hvm" })) && undefined, /vifname \(default\) "longguestname-0" is invalid: a vifname has at most 11 characters for a hvm guest/],
  ["vifname with a slash", withGuest({ vifs: [{ ...vif(0), vifname: "vif/0" }] }), /vifs\[0\]\.vifname "vif\/0" is invalid: expected an interface name/],
  // Names
  ["guest id with a path traversal", (s) => new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "../etc", guest()) && undefined, /: id "\.\.\/etc" is invalid: expected a construct id of 1-63 characters/],
  ["guest name in upper case", withGuest({ name: "Web" }), /s\/dom0\/g: name "Web" is invalid: expected a name of 1-32 characters matching \[a-z0-9\]\[a-z0-9-\]\*/],
  ["guest name too long", withGuest({ name: "a".repeat(33) }), /name "a{33}" is invalid: expected a name of 1-32 characters/],
  ["guest name with a newline", withGuest({ name: "web\nrm" }), /name "web\\nrm" is invalid/],
  ["host id too long", (s) => new XenHost(s, "d".repeat(64), dom0Props()) && undefined, /id "d{64}" is invalid: expected a construct id of 1-63 characters/],
  ["vhost name with a space", withVhost({ name: "my site" }), /s\/dom0\/g\/w: name "my site" is invalid: expected a name of 1-64 characters/],
  ["vhost name too long", withVhost({ name: "s".repeat(65) }), /name "s{65}" is invalid: expected a name of 1-64 characters/],
  ["two vhosts with the same site name on one guest", (s) => {
    const g = new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "g", guest());
    new WebVhost(g, "a", { name: "site", address: "192.0.2.10", serverName: "a.example.org", documentRoot: "/srv/a" });
    new WebVhost(g, "b", { name: "site", address: "192.0.2.10", serverName: "b.example.org", documentRoot: "/srv/b" });
  }, /s\/dom0\/g\/b: name "site" is invalid: s\/dom0\/g\/a already uses this site name on the same guest/],
  ["uplink device with a space", withDom0({ uplink: { device: "eth 0", address: "192.0.2.1/24" } }), /uplink\.device "eth 0" is invalid: expected an interface name/],
  ["SSH user with a semicolon", withDom0({ ssh: { host: "198.51.100.2", user: "root;id" } }), /ssh\.user "root;id" is invalid: expected a Unix user name/],
  ["SSH host with a command substitution", withDom0({ ssh: { host: "$(reboot)" } }), /ssh\.host "\$\(reboot\)" is invalid: expected an IPv4 address or DNS name/],
  // Paths and strings that reach files
  ["DocumentRoot not absolute", withVhost({ documentRoot: "var/www" }), /documentRoot "var\/www" is invalid: expected an absolute path/],
  ["DocumentRoot with ..", withVhost({ documentRoot: "/srv/../etc" }), /documentRoot "\/srv\/\.\.\/etc" is invalid: '\.' and '\.\.' are not allowed in paths/],
  ["DocumentRoot with a NUL", withVhost({ documentRoot: "/srv/w\u0000x" }), /documentRoot "\/srv\/w\\u0000x" is invalid: expected an absolute path/],
  ["DocumentRoot with a newline and a directive", withVhost({ documentRoot: "/srv/w\nInclude /etc/shadow" }), /documentRoot "\/srv\/w\\nInclude \/etc\/shadow" is invalid/],
  ["DocumentRoot with a command substitution", withVhost({ documentRoot: "/srv/$(reboot)" }), /documentRoot "\/srv\/\$\(reboot\)" is invalid/],
  ["DocumentRoot with a quote", withVhost({ documentRoot: '/srv/w"x' }), /documentRoot "\/srv\/w\\"x" is invalid/],
  ["certificate path with a control character", withVhost({ tls: { certificateFile: "/etc/ssl/c\u001b.pem", certificateKeyFile: "/k.pem" } }), /tls\.certificateFile "\/etc\/ssl\/c\\u001b\.pem" is invalid/],
  ["kernel path with ..", withGuest({ kernel: "/boot/../vmlinuz" }), /kernel "\/boot\/\.\.\/vmlinuz" is invalid: '\.' and '\.\.' are not allowed/],
  ["kernel command line with a quote", withGuest({ kernel: "/boot/vmlinuz", extra: "console=hvc0' ; reboot" }), /extra "console=hvc0' ; reboot" is invalid: expected kernel arguments/],
  ["root with a newline", withGuest({ kernel: "/boot/vmlinuz", root: "/dev/xvda1\nbootloader = \"x\"" }), /root "\/dev\/xvda1\\nbootloader = \\"x\\"" is invalid/],
  ["disk spec with a quote", withGuest({ disks: ["phy:/dev/x',xvda,w"] }), /disks\[0\] "phy:\/dev\/x',xvda,w" is invalid: expected an xl disk spec/],
  ["disk spec with ..", withGuest({ disks: ["phy:/dev/../x,xvda,w"] }), /disks\[0\] "phy:\/dev\/\.\.\/x,xvda,w" is invalid/],
  ["disk spec with a script xl would run as root", withGuest({ disks: ["phy:/dev/vg0/w,xvda,w,script=/tmp/pwn"] }), /disks\[0\] "phy:\/dev\/vg0\/w,xvda,w,script=\/tmp\/pwn" is invalid: script= is not allowed \(xl runs a disk script as root on the dom0\)/],
  ["disk spec handing the disk to another backend", withGuest({ disks: ["backend=evil,vdev=xvda,target=/dev/vg0/w"] }), /disks\[0\] "backend=evil,vdev=xvda,target=\/dev\/vg0\/w" is invalid: backend= is not allowed \(it hands the disk to another domain\)/],
  ["disk target outside /dev (a dom0 file handed to the guest)", withGuest({ disks: ["format=raw,vdev=xvda,access=rw,target=/etc/shadow"] }), /disks\[0\] "format=raw,vdev=xvda,access=rw,target=\/etc\/shadow" is invalid: target \/etc\/shadow is outside \/dev\/: a guest may be handed only block devices, or images under a directory of XenHost diskImageDirectories/],
  ["disk spec with an unknown access mode", withGuest({ disks: ["phy:/dev/vg0/w,xvda,x"] }), /disks\[0\] "phy:\/dev\/vg0\/w,xvda,x" is invalid: access "x": expected one of r, ro, w, rw/],
  ["disk image directory /", withDom0({ diskImageDirectories: ["/"] }), /s\/dom0: diskImageDirectories\[0\] "\/" is invalid: a directory of system files cannot hold guest images/],
  ["disk image directory /etc", withDom0({ diskImageDirectories: ["/etc/xen"] }), /diskImageDirectories\[0\] "\/etc\/xen" is invalid: a directory of system files cannot hold guest images/],
  ["bootloader path climbing out", withGuest({ bootloader: "../../../../tmp/pwn" }), /bootloader "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/pwn" is invalid: expected a bootloader name such as pygrub, or an absolute path/],
  ["bootloader .", withGuest({ bootloader: "." }), /bootloader "\." is invalid: expected a bootloader name such as pygrub/],
  ["bootloader ..", withGuest({ bootloader: ".." }), /bootloader "\.\." is invalid: expected a bootloader name such as pygrub/],
  ["bootloader a/../../b", withGuest({ bootloader: "a/../../b" }), /bootloader "a\/\.\.\/\.\.\/b" is invalid: expected a bootloader name such as pygrub/],
  ["a vhost named like Debian's stock site (it would overwrite it, and delete it on removal)", withVhost({}, "000-default"), /s\/dom0\/g\/000-default: name \(the construct id\) "000-default" is invalid: the name of a site Debian's apache2 package ships/],
  ["a vhost named default-ssl", withVhost({ name: "default-ssl" }), /name "default-ssl" is invalid: the name of a site Debian's apache2 package ships/],
  ["DocumentRoot /", withVhost({ documentRoot: "/" }), /documentRoot "\/" is invalid: a system directory would be published to the web/],
  ["DocumentRoot /etc", withVhost({ documentRoot: "/etc" }), /documentRoot "\/etc" is invalid: a system directory would be published to the web/],
  ["DocumentRoot under /etc", withVhost({ documentRoot: "/etc/apache2" }), /documentRoot "\/etc\/apache2" is invalid: a system directory would be published/],
  ["vifname of the dom0's uplink", withGuest({ vifs: [{ ...vif(0), vifname: "eth0" }] }), /vifs\[0\]\.vifname "eth0" is invalid: the dom0 has another use for this name \(its uplink\)/],
  ["vifname lo", withGuest({ vifs: [{ ...vif(0), vifname: "lo" }] }), /vifs\[0\]\.vifname "lo" is invalid: the dom0 has another use for this name \(loopback\)/],
  ["vifname in xl's own pattern", withGuest({ vifs: [{ ...vif(0), vifname: "vif1.0" }] }), /vifs\[0\]\.vifname "vif1\.0" is invalid: the dom0 has another use for this name \(xl's own name for an unnamed vif\)/],
  ["ssh.host ..", withDom0({ ssh: { host: ".." } }), /s\/dom0: ssh\.host "\.\." is invalid: expected an IPv4 address or DNS name of the dom0/],
  ["one dom0 described by two XenHosts (two stacks of one app)", (s) => {
    new XenHost(s, "dom0", dom0Props());
    new XenHost(new TerraformStack(s.node.scope as App, "other"), "dom0", dom0Props({ uplink: { address: "198.51.100.1/24" } }));
  }, /other\/dom0: ssh\.host and ssh\.port "198\.51\.100\.2:22" is invalid: already used by s\/dom0 ssh\.host and ssh\.port; it must be unique in the app: a dom0 belongs to one XenHost, as two would replace each other's firewall and remove each other's guests; to try alternatives for one dom0, build one of them per synth/],
  ["a host key whose comment holds a Terraform template sequence", withDom0({ ssh: { host: "198.51.100.2", hostKey: `${HOST_KEY} root@\${file("/etc/shadow")}` } }), /ssh\.hostKey "ssh-ed25519 .*" is invalid: the comment holds \$\{ or %\{, which Terraform reads as a template/],
  ["the lab context with a port that would write a rule", (s) => {
    s.node.setContext("cdktf-xen:lab", { hosts: { dom0: { host: "198.51.100.2", port: "22 -j ACCEPT\n-A INPUT -j ACCEPT" } }, privateKeyFile: "/tmp/k", managementCidr: "198.51.100.0/24", stateFile: "/tmp/s.tfstate" });
    new XenHost(s, "dom0", dom0Props());
  }, /s\/dom0: context "cdktf-xen:lab"\.hosts\.dom0\.port "22 -j ACCEPT\\n-A INPUT -j ACCEPT" is invalid/],
  ["the lab context with a management network that is not one", (s) => {
    s.node.setContext("cdktf-xen:lab", { hosts: {}, privateKeyFile: "/tmp/k", managementCidr: "0.0.0.0/0 -j ACCEPT", stateFile: "/tmp/s.tfstate" });
    new XenHost(s, "dom0", dom0Props());
  }, /context "cdktf-xen:lab"\.managementCidr "0\.0\.0\.0\/0 -j ACCEPT" is invalid/],
  ["guestShutdownSeconds 0", withDom0({ guestShutdownSeconds: 0 }), /s\/dom0: guestShutdownSeconds 0 is invalid/],
  ["bootloader absolute with ..", withGuest({ bootloader: "/usr/lib/../../tmp/pwn" }), /bootloader "\/usr\/lib\/\.\.\/\.\.\/tmp\/pwn" is invalid: '\.' and '\.\.' are not allowed in paths/],
  ["ramdisk without a kernel", withGuest({ ramdisk: "/boot/initrd.img" }), /ramdisk "\/boot\/initrd\.img" is invalid: only meaningful with `kernel`/],
  ["ServerName that is not a host name", withVhost({ serverName: "not a host" }), /serverName "not a host" is invalid: expected a host name such as www\.example\.org/],
  ["ServerName with a newline and a directive", withVhost({ serverName: "a.example.org\nInclude /etc/shadow" }), /serverName "a\.example\.org\\nInclude \/etc\/shadow" is invalid/],
  ["ServerAlias with a wildcard in the middle", withVhost({ serverAliases: ["a.*.example.org"] }), /serverAliases\[0\] "a\.\*\.example\.org" is invalid: expected a host name such as www\.example\.org \(or \*\.example\.org\)/],
  ["ServerName label over 63 characters", withVhost({ serverName: `${"a".repeat(64)}.example.org` }), /serverName "a{64}\.example\.org" is invalid/],
  // Ranges and choices
  ["memory below 32 MiB", withGuest({ memory: 16 }), /memory 16 is invalid: expected a whole number from 32 to 4194304 MiB/],
  ["memory not a whole number", withGuest({ memory: 512.5 }), /memory 512\.5 is invalid/],
  ["vcpus 0", withGuest({ vcpus: 0 }), /vcpus 0 is invalid: expected a whole number from 1 to 512/],
  ["unknown guest type", withGuest({ type: "kvm" as never }), /type "kvm" is invalid: expected one of pv, pvh, hvm/],
  ["unknown interface naming", withGuest({ interfaceNaming: "biosdevname" as never }), /interfaceNaming "biosdevname" is invalid: expected one of iftab, udev, systemd-link/],
  ["unknown guest network", withGuest({ guestNetwork: "NetworkManager" as never }), /guestNetwork "NetworkManager" is invalid: expected one of ifupdown, systemd-networkd, netplan/],
  ["iftab naming with systemd-networkd", withGuest({ guestNetwork: "systemd-networkd", interfaceNaming: "iftab" }), /interfaceNaming "iftab" is invalid: iftab is read by ifupdown's ifrename, which systemd-networkd does not run/],
  ["Apache version 2.0", withVhost({ apacheVersion: "2.0" as never }), /apacheVersion "2\.0" is invalid: expected "2\.4" or "2\.2"/],
  ["check path with a space and a quote", withVhost({ check: { path: "/a b'" } }), /check\.path "\/a b'" is invalid: expected a URL path starting with \/ of letters, digits and \. _ ~ % \/ \+ = & \? -/],
  ["check path without its leading slash", withVhost({ check: { path: "health" } }), /check\.path "health" is invalid/],
  ["check status 600", withVhost({ check: { status: 600 } }), /check\.status 600 is invalid: expected a whole number from 100 to 599/],
  ["check text of two lines", withVhost({ check: { contains: "a\nb" } }), /check\.contains "a\\nb" is invalid: expected one line of 1 to 256 characters/],
  ["check text empty", withVhost({ check: { contains: "" } }), /check\.contains "" is invalid: expected one line of 1 to 256 characters/],
  ["unknown firewall policy", withDom0({ firewall: { defaultForwardPolicy: "REJECT" as never } }), /firewall\.defaultForwardPolicy "REJECT" is invalid: expected "DROP" or "ACCEPT"/],
  ["ipset threshold below zero", withDom0({ firewall: { ipsetFrom: -1 } }), /firewall\.ipsetFrom -1 is invalid: expected a whole number from 0 to 1000000 addresses/],
  ["ipset threshold as text", withDom0({ firewall: { ipsetFrom: "64" as unknown as number } }), /firewall\.ipsetFrom "64" is invalid: expected a whole number from 0 to 1000000 addresses/],
  ["rollback delay of 0 seconds", withDom0({ firewall: { rollbackSeconds: 0 } }), /firewall\.rollbackSeconds 0 is invalid: expected a whole number from 2 to 3600 s/],
  ["empty management networks", withDom0({ firewall: { managementCidrs: [] } }), /firewall\.managementCidrs \[\] is invalid: expected at least one network allowed to reach sshd/],
  // SSH host keys (HOST_KEY is a real ed25519 public key)
  ["a host key without its type", withDom0({ ssh: { host: "198.51.100.2", hostKey: HOST_KEY.split(" ")[1] } }), /s\/dom0: ssh\.hostKey "AAAAC3Nz[^"]*" is invalid: expected a public host key as sshd keeps it in \/etc\/ssh\/ssh_host_\*_key\.pub/],
  ["a host key cut short in a copy and paste", withDom0({ ssh: { host: "198.51.100.2", hostKey: HOST_KEY.slice(0, -12) } }), /ssh\.hostKey "ssh-ed25519 AAAA[^"]*" is invalid: the key's data is cut short/],
  ["a host key whose data is of another type", withDom0({ ssh: { host: "198.51.100.2", hostKey: HOST_KEY.replace("ssh-ed25519", "ssh-rsa") } }), /ssh\.hostKey "ssh-rsa AAAA[^"]*" is invalid: the key's data is not a ssh-rsa key/],
  ["two host keys on two lines", withDom0({ ssh: { host: "198.51.100.2", hostKey: `${HOST_KEY}\n${HOST_KEY}` } }), /ssh\.hostKey "ssh-ed25519 [^"]*\\nssh-ed25519 [^"]*" is invalid: expected a public host key/],
  ["a guest's host key of an unknown type", withGuest({ ssh: { hostKey: HOST_KEY.replace("ssh-ed25519", "ssh-dss") } }), /s\/dom0\/g: ssh\.hostKey "ssh-dss AAAA[^"]*" is invalid: expected a public host key/],
  ["a literal private key", withDom0({ ssh: { host: "198.51.100.2", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=" } }), /ssh\.privateKey "\(a literal key, not shown\)" is invalid: pass a reference to a sensitive TerraformVariable/],
  ["a guest and a ForwardRule with the same id", (s) => { const d = new XenHost(s, "dom0", dom0Props()); new RoutedDomU(d, "web", guest({})); new ForwardRule(d, "web", { to: "192.0.2.10", ports: [80] }); }, /s\/dom0\/web: id \(the construct id\) "web" is invalid: s\/dom0 already has a child with this id \(a RoutedDomU\): give each construct under it an id of its own/],
  ["a guest named like one of its dom0's deploy steps", (s) => { new RoutedDomU(new XenHost(s, "dom0", dom0Props()), "firewall", guest({})); }, /s\/dom0\/firewall: id \(the construct id\) "firewall" is invalid: s\/dom0 already has a child with this id \(one of its own deploy steps\)/],
  ["a guest's literal private key", withGuest({ ssh: { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=" } }), /s\/dom0\/g: ssh\.privateKey "\(a literal key, not shown\)" is invalid: pass a reference to a sensitive TerraformVariable/],
  ["a key file relative to where Terraform happens to run", withDom0({ ssh: { host: "198.51.100.2", privateKeyFile: "id_ed25519" } }), /ssh\.privateKeyFile "id_ed25519" is invalid: expected the absolute path of a private key file on the machine that runs Terraform, or one under ~\//],
  ["a key file path with a Terraform template in it", withDom0({ ssh: { host: "198.51.100.2", privateKeyFile: "/keys/${var.x}" } }), /ssh\.privateKeyFile "\/keys\/\$\{var\.x\}" is invalid: expected the absolute path/],
  ["a key file under ~ that climbs out", withGuest({ ssh: { privateKeyFile: "~/../../etc/shadow" } }), /s\/dom0\/g: ssh\.privateKeyFile "~\/\.\.\/\.\.\/etc\/shadow" is invalid: expected the absolute path/],
];

describe("bad input: every entry fails synth with path, prop, value and what is allowed, and writes nothing", () => {
  const out = tempDir();
  afterAll(out.remove);
  let n = 0;

  it("the catalogue has at least 40 distinct entries", () => {
    expect(new Set(CATALOGUE.map(([name]) => name)).size).toBe(CATALOGUE.length);
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CATALOGUE)("%s", (_name, build, message) => {
    const dir = path.join(out.dir, String((n += 1)));
    const app = new App({ outdir: dir });
    const stack = new TerraformStack(app, "s");
    expect(() => {
      build(stack);
      app.synth();
    }).toThrow(message);
    const written = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => /\.json$|hosts/.test(String(f))) : [];
    expect(written).toEqual([]);
  });

  it("an unknown engine in the context is refused", () => {
    const app = new App({ outdir: path.join(out.dir, "engine"), context: { [ENGINE_CONTEXT_KEY]: "pulumi" } });
    expect(() => new XenHost(new TerraformStack(app, "s"), "dom0", dom0Props())).toThrow('s/dom0: context "cdktf-xen:engine" "pulumi" is invalid: expected one of null_resource, terraform_data');
  });
});

describe("legal but suspicious input gets a warning annotation, not an error", () => {
  const warnings = (c: { node: { metadata: { type: string; data: unknown }[] } }) =>
    c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));

  it("a MAC outside Xen's range that is not locally administered", () => {
    const s = new TerraformStack(new App({ outdir: tempDir().dir }), "s");
    const g = new RoutedDomU(new XenHost(s, "dom0", dom0Props({ firewall: { managementCidrs: ["198.51.100.0/24"] } })), "g", guest({ vifs: [{ mac: "00:11:22:33:44:55", address: "192.0.2.10/24" }] }));
    expect(warnings(g)).toEqual(["vifs[0].mac 00:11:22:33:44:55 is neither in Xen's range 00:16:3e nor locally administered: it may clash with real hardware"]);
  });

  it("64 or more guest addresses behind an iptables firewall that was told not to use ipsets", () => {
    const build = (firewall: { ipsetFrom?: number }) => {
      const s = new TerraformStack(new App({ outdir: tempDir().dir }), "s");
      const h = new XenHost(s, "dom0", dom0Props({ uplink: { address: "10.9.0.1/16" }, firewall: { managementCidrs: ["198.51.100.0/24"], ...firewall } }));
      const g = new RoutedDomU(h, "g", guest({ vifs: Array.from({ length: 64 }, (_, i) => ({ mac: `00:16:3e:00:02:${i.toString(16).padStart(2, "0")}`, address: `10.9.2.${i + 1}/16` })) }));
      new ForwardRule(h, "web", { to: g, ports: [80] });
      h.node.validate();
      return h;
    };
    expect(warnings(build({ ipsetFrom: 65 }))).toContain(
      'the firewall forwards to 64 addresses and firewall.ipsetFrom is 65: every new connection walks one rule per address; lower ipsetFrom or set firewall.backend to "nftables"',
    );
    expect(warnings(build({})).filter((w) => w.includes("walks"))).toEqual([]);
  });

  it("a dom0 whose host key is not pinned, except in the lab; a pinned key of any form is taken as written", () => {
    const stack = (context = {}) => new TerraformStack(new App({ outdir: tempDir().dir, context }), "s");
    const unpinned = new XenHost(stack(), "dom0", dom0Props({ firewall: { managementCidrs: ["198.51.100.0/24"] } }));
    expect(warnings(unpinned)).toEqual([
      "ssh.hostKey is not set: Terraform accepts any host key at the dom0's address, so an impostor there would be handed this dom0's deploy steps (and be the bastion to its guests) and could report them done; pin the dom0's public key",
    ]);
    const ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCbktEE7W+Yuvk2/y8QKXOfdBThyyFRKZo8T8GSMeegv/MujKr5kZgKGvQ5TKRaB93wDN1+/lUgtCxl4IzgqP08= root@web";
    for (const hostKey of [HOST_KEY, `${HOST_KEY} root@dom0`, ecdsa]) {
      expect(warnings(new XenHost(stack(), "dom0", dom0Props({ ssh: { host: "198.51.100.2", hostKey }, firewall: { managementCidrs: ["198.51.100.0/24"] } })))).toEqual([]);
    }
    const lab = { hosts: { dom0: { host: "198.51.100.2", port: 22 } }, privateKeyFile: "/run/lab/id_ed25519", managementCidr: "198.51.100.0/24", stateFile: "/run/lab/terraform.tfstate" };
    expect(warnings(new XenHost(stack({ "cdktf-xen:lab": lab }), "dom0", dom0Props({ firewall: { managementCidrs: ["198.51.100.0/24"] } })))).toEqual([]);
  });

  it("a guest's own host key through its dom0, which older Terraform releases check against the dom0", () => {
    const dom0 = new XenHost(new TerraformStack(new App({ outdir: tempDir().dir }), "s"), "dom0", dom0Props({ ssh: { host: "198.51.100.2", hostKey: HOST_KEY } }));
    const ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCbktEE7W+Yuvk2/y8QKXOfdBThyyFRKZo8T8GSMeegv/MujKr5kZgKGvQ5TKRaB93wDN1+/lUgtCxl4IzgqP08=";
    expect(warnings(new RoutedDomU(dom0, "g", guest({ ssh: { hostKey: ecdsa } })))).toEqual([
      "ssh.hostKey is pinned for a guest reached through its dom0: Terraform releases without the fix of hashicorp/terraform#38318 (March 2026) check the dom0 against this key instead of its own, so every step of this guest fails; pin it only with a Terraform that has the fix",
    ]);
    expect(warnings(new RoutedDomU(dom0, "h", guest({ vifs: [vif(1)], ssh: { hostKey: ecdsa, viaDom0: false } })))).toEqual([]);
    expect(warnings(new RoutedDomU(dom0, "i", guest({ vifs: [vif(2)] })))).toEqual([]);
  });

  it("in the lab a guest is reached through its dom0 at one of its own addresses, whatever ssh.host and ssh.viaDom0 say, so that no connection leaves the lab; a warning names what changed", () => {
    const lab = { hosts: { dom0: { host: "198.51.100.2", port: 22 } }, privateKeyFile: "/run/lab/id_ed25519", managementCidr: "198.51.100.0/24", stateFile: "/run/lab/terraform.tfstate" };
    const build = (context = {}) => {
      const dom0 = new XenHost(new TerraformStack(new App({ outdir: tempDir().dir, context }), "s"), "dom0", dom0Props({ ssh: { host: "203.0.113.9", hostKey: HOST_KEY } }));
      const direct = new RoutedDomU(dom0, "direct", guest({ vifs: [vif(1)], ssh: { viaDom0: false } }));
      const named = new RoutedDomU(dom0, "named", guest({ vifs: [vif(2)], ssh: { host: "web1.example.com", viaDom0: false } }));
      const second = new RoutedDomU(dom0, "second", guest({ vifs: [vif(3), vif(4)], ssh: { host: vif(4).address.split("/")[0] } }));
      const target = (g: RoutedDomU) => ({ host: g._connection().host, bastion: g._connection().bastion?.host, warnings: warnings(g) });
      return [direct, named, second].map(target);
    };
    const [a1, a2, , a4] = [1, 2, 3, 4].map((i) => vif(i).address.split("/")[0]);
    expect(build()).toEqual([
      { host: a1, bastion: undefined, warnings: [] },
      { host: "web1.example.com", bastion: undefined, warnings: [] },
      { host: a4, bastion: "203.0.113.9", warnings: [] },
    ]);
    expect(build({ "cdktf-xen:lab": lab })).toEqual([
      { host: a1, bastion: "198.51.100.2", warnings: [`in the lab this guest is reached through its dom0 at ${a1}, so that no connection leaves the lab: ssh.viaDom0 is false`] },
      { host: a2, bastion: "198.51.100.2", warnings: [`in the lab this guest is reached through its dom0 at ${a2}, so that no connection leaves the lab: ssh.host web1.example.com is none of its addresses, and ssh.viaDom0 is false`] },
      { host: a4, bastion: "198.51.100.2", warnings: [] },
    ]);
  });

  it("a /32 uplink, and sshd open to any address", () => {
    const s = new TerraformStack(new App({ outdir: tempDir().dir }), "s");
    const h = new XenHost(s, "dom0", dom0Props({ ssh: { host: "198.51.100.2", hostKey: HOST_KEY }, uplink: { address: "192.0.2.1/32" } }));
    // Open management access is known once the tree is complete (connections may still open sshd): told when the app is validated.
    h.node.validate();
    expect(warnings(h)).toEqual([
      "uplink.address 192.0.2.1/32: guests in routed mode usually share the uplink's subnet; check that this is intended",
      "firewall.managementCidrs is not set: the dom0's sshd is reachable from any address",
    ]);
    void Annotations;
  });
});
