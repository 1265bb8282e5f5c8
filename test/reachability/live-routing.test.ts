/**
 * The routing of a running host, read from what iproute2 prints (captured
 * in the lab from a guest with the hand-made network, and the same with
 * policy routing), in place of its interfaces file. The lab
 * (test/lab/lab.test.ts) runs the doctor on real captures and compares it
 * with the check after deploy.
 */
import { readLiveRouting } from "../../lib/reachability/live-routing";
import { ipNum } from "../../lib/reachability/ip";

const ADDR = [
  "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
  "2: eth0    inet 192.0.2.200/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever",
  "3: eth1@if7    inet 192.0.2.201/24 brd 192.0.2.255 scope global eth1\\       valid_lft forever preferred_lft forever",
].join("\n");
const ROUTE = [
  "default via 192.0.2.1 dev eth0 onlink ",
  "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.200 ",
  "192.0.2.0/24 dev eth1 proto kernel scope link src 192.0.2.201 ",
  "local 192.0.2.200 dev eth0 table local proto kernel scope host src 192.0.2.200 ",
  "broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.200 ",
].join("\n");
const RULE = ["0:\tfrom all lookup local", "32766:\tfrom all lookup main", "32767:\tfrom all lookup default"].join("\n");

describe("the routing of a running host, as iproute2 prints it", () => {
  it("the hand-made guest: a reply from the second address leaves by eth0, the first route to the shared subnet", () => {
    const { routing, unreadable } = readLiveRouting({ addr: ADDR, route: ROUTE, rule: RULE }, {});
    expect(unreadable).toEqual([]);
    expect(routing.addresses.map((a) => `${a.dev} ${a.prefix}`)).toEqual(["eth0 24", "eth1 24"]);
    expect(routing.localDev(ipNum("192.0.2.201")!)).toBe("eth1");
    const out = routing.lookup(ipNum("203.0.113.77")!, ipNum("192.0.2.201")!)!;
    expect([out.route.dev, out.how]).toEqual(["eth0", "main table: default via 192.0.2.1 dev eth0 (ip-route line 1)"]);
    const near = routing.lookup(ipNum("192.0.2.50")!, ipNum("192.0.2.201")!)!;
    expect(near.how).toBe("main table, the first of 2 routes to 192.0.2.0/24: 192.0.2.0/24 dev eth0 src 192.0.2.200 (ip-route line 2)");
    // A rule of the host's at a kernel priority is the host's.
    const moved = readLiveRouting({ addr: ADDR, route: ROUTE, rule: "0:\tfrom all lookup local\n32766:\tfrom 192.0.2.0/24 lookup main" }, {}).routing;
    expect(moved.lookup(ipNum("203.0.113.77")!, ipNum("192.0.2.201")!)!.how).toBe('rule 32766 ("from 192.0.2.0/24 lookup main", ip-rule line 2), main table: default via 192.0.2.1 dev eth0 (ip-route line 1)');
  });

  it("with policy routing: the rule for the second address and its table, by name from the host's rt_tables", () => {
    const route = `${ROUTE}\ndefault via 192.0.2.1 dev eth1 table xen-eth1 onlink \n192.0.2.0/24 dev eth1 table xen-eth1 scope link src 192.0.2.201 `;
    const rule = `0:\tfrom all lookup local\n1001:\tfrom 192.0.2.201 lookup xen-eth1\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default`;
    const { routing, unreadable } = readLiveRouting({ addr: ADDR, route, rule }, { "xen-eth1": 101 });
    expect(unreadable).toEqual([]);
    const out = routing.lookup(ipNum("203.0.113.77")!, ipNum("192.0.2.201")!)!;
    expect(out.how).toBe('rule 1001 ("from 192.0.2.201 lookup xen-eth1", ip-rule line 2), table 101: default via 192.0.2.1 dev eth1 (ip-route line 6)');
  });

  it("what the model does not read is named, line by line: multipath, unreachable, marks, a table with no name, a keyword without its value", () => {
    const route = `${ROUTE}\nunreachable 198.51.100.0/24 \ndefault table 7 \n\tnexthop via 192.0.2.1 dev eth0 weight 1\n203.0.113.0/24 via 192.0.2.1 dev eth0 table other\n198.51.100.0/24 dev eth0 via`;
    const rule = `${RULE}\n100:\tfrom all fwmark 0x1 lookup 100\n101:\tfrom`;
    const { unreadable } = readLiveRouting({ addr: ADDR, route, rule }, {});
    expect(unreadable.map((u) => `${u.file} line ${u.line}: ${u.why}`)).toEqual([
      "ip-route line 6: a unreachable route is not read by the model",
      "ip-route line 7: a multipath route is not read by the model",
      "ip-route line 9: table other has no number in the rt_tables files",
      "ip-route line 10: via without a value is not read by the model",
      "ip-rule line 4: fwmark is not read by the model",
      "ip-rule line 5: from without a value is not read by the model",
    ]);
  });
});
