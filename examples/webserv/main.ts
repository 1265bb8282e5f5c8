/**
 * The seed scenario: dom0 routes 192.168.0.200-202 to guest `webserv`, which
 * serves one site per address; the dom0 forwards TCP 80 and 443 to them.
 * `npm run synth` writes cdktf.out/stacks/webserv/ (cdk.tf.json and hosts/).
 */
import { App, TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { Peer, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";

export interface WebservProps {
  /** Source policy routing in the guest (the cure); turn it off to see the black hole. @default true */
  readonly policyRouting?: boolean;
}

export class WebservStack extends TerraformStack {
  readonly dom0: XenHost;
  readonly webserv: RoutedDomU;
  readonly sites: WebVhost[] = [];

  constructor(scope: Construct, id: string, props: WebservProps = {}) {
    super(scope, id);
    const key = new TerraformVariable(this, "dom0_ssh_private_key", {
      type: "string",
      sensitive: true,
      description: "Private key (PEM) of root on the dom0; guests are reached through the dom0 with it too",
    });
    const hostKey = new TerraformVariable(this, "dom0_ssh_host_key", {
      type: "string",
      description: "The dom0's public host key, as in its /etc/ssh/ssh_host_ed25519_key.pub: Terraform connects to nothing else",
    });
    const dom0 = (this.dom0 = new XenHost(this, "dom0", {
      ssh: { host: "203.0.113.10", privateKey: key.value, hostKey: hostKey.value },
      uplink: { device: "eth0", address: "192.168.0.1/24" },
      firewall: { defaultForwardPolicy: "DROP" },
    }));
    // sshd, from the management network only.
    dom0.connections.allowFrom(Peer.ipv4("203.0.113.0/24"), Port.tcp(22));
    const webserv = (this.webserv = new RoutedDomU(dom0, "webserv", {
      memory: 512,
      vcpus: 1,
      disks: ["phy:/dev/vg0/webserv-disk,xvda,w", "phy:/dev/vg0/webserv-swap,xvdb,w"],
      vifs: [
        { mac: "de:ad:be:ef:00:00", address: "192.168.0.200/24" },
        { mac: "de:ad:be:ef:00:01", address: "192.168.0.201/24" },
        { mac: "de:ad:be:ef:00:02", address: "192.168.0.202/24" },
      ],
      policyRouting: props.policyRouting,
    }));
    const tls = {
      certificateFile: "/etc/ssl/certs/ssl-cert-snakeoil.pem",
      certificateKeyFile: "/etc/ssl/private/ssl-cert-snakeoil.key",
    };
    const sites = [
      ["site-a", "192.168.0.200", "a.example.org"],
      ["site-b", "192.168.0.201", "b.example.org"],
      ["site-c", "192.168.0.202", "c.example.org"],
    ];
    for (const [id, address, serverName] of sites) {
      const site = new WebVhost(webserv, id, { address, serverName, serverAliases: [`www.${serverName}`], documentRoot: `/var/www/${id}`, tls });
      // Its address, its ports (80 and 443), from anywhere.
      site.connections.allowDefaultPortFromAnyIpv4();
      this.sites.push(site);
    }
  }
}

if (require.main === module) {
  const app = new App();
  new WebservStack(app, "webserv");
  app.synth();
}
