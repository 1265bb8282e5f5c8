import type { VhostModel } from "../model";
import { compareIpv4 } from "../validation/ipv4";
import { generatedHeader } from "./header";

interface Socket {
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
}

function sockets(vhost: VhostModel): Socket[] {
  const out = vhost.httpPorts.map((port) => ({ address: vhost.address, port, tls: false }));
  if (vhost.tls) out.push({ address: vhost.address, port: vhost.tls.port, tls: true });
  return out;
}

function compareSockets(a: Socket, b: Socket): number {
  return compareIpv4(a.address, b.address) || a.port - b.port;
}

/**
 * `/etc/apache2/ports.conf`: one `Listen` per address:port of the guest's
 * vhosts, sorted and de-duplicated; Apache 2.2 also gets `NameVirtualHost`.
 */
export function renderApachePorts(vhosts: readonly VhostModel[]): string {
  const seen = new Map<string, Socket>();
  for (const s of vhosts.flatMap(sockets)) seen.set(`${s.address}:${s.port}`, s);
  const all = [...seen.values()].sort(compareSockets);
  const legacy = vhosts.some((v) => v.apacheVersion === "2.2");
  const lines = all.map((s) => `Listen ${s.address}:${s.port}${s.tls ? " https" : ""}`);
  if (legacy) lines.push(...all.map((s) => `NameVirtualHost ${s.address}:${s.port}`));
  return generatedHeader() + lines.join("\n") + "\n";
}

function accessBlock(vhost: VhostModel): string[] {
  return vhost.apacheVersion === "2.2"
    ? ["        Order allow,deny", "        Allow from all"]
    : ["        Require all granted"];
}

function virtualHost(vhost: VhostModel, s: Socket): string {
  const lines = [
    `<VirtualHost ${s.address}:${s.port}>`,
    `    ServerName ${vhost.serverName}`,
    ...vhost.serverAliases.map((a) => `    ServerAlias ${a}`),
    `    DocumentRoot "${vhost.documentRoot}"`,
    `    <Directory "${vhost.documentRoot}">`,
    "        Options -Indexes",
    "        AllowOverride None",
    ...accessBlock(vhost),
    "    </Directory>",
  ];
  if (s.tls && vhost.tls) {
    lines.push(
      "    SSLEngine on",
      `    SSLCertificateFile "${vhost.tls.certificateFile}"`,
      `    SSLCertificateKeyFile "${vhost.tls.certificateKeyFile}"`,
    );
  }
  lines.push(
    `    ErrorLog \${APACHE_LOG_DIR}/${vhost.name}-error.log`,
    `    CustomLog \${APACHE_LOG_DIR}/${vhost.name}-access.log combined`,
    "</VirtualHost>",
  );
  return lines.join("\n") + "\n";
}

/** `/etc/apache2/sites-available/<name>.conf`: one `<VirtualHost>` per address:port. */
export function renderApacheSite(vhost: VhostModel): string {
  return generatedHeader() + sockets(vhost).map((s) => virtualHost(vhost, s)).join("\n");
}
