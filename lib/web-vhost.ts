import { Construct } from "constructs";
import type { VhostModel } from "./model";
import { PropSite, XenPropError } from "./validation/errors";
import { parseIpv4 } from "./validation/ipv4";
import { freeChildId, parseAbsolutePath, parseHostname, parseName } from "./validation/names";
import { parseInteger } from "./validation/names";
import { parsePortNumber } from "./validation/port";
import type { RoutedDomU } from "./routed-domu";
import { brand, hasBrand, ROUTED_DOMU, WEB_VHOST } from "./private/brands";
import { Connections, IConnectable } from "./connections/connections";
import { Port } from "./connections/port";
import { forwardFrom } from "./forward-rule";
import { siteStep } from "./concerns/apache";
import type { VhostExpectation } from "./concerns/verify";
import { addDependency, deployStep } from "./deploy/engine";
import type { StepModel } from "./deploy/step";
import { oncePerSynth } from "./private/stack-support";

/** HTTPS on one port of the vhost's address (needs mod_ssl on the guest). */
export interface WebVhostTls {
  /**
   * Port of the TLS vhost.
   * @default 443
   */
  readonly port?: number;
  /** Certificate (PEM) on the guest, e.g. `/etc/ssl/certs/ssl-cert-snakeoil.pem`. */
  readonly certificateFile: string;
  /** Private key (PEM) on the guest. */
  readonly certificateKeyFile: string;
}

/**
 * What the check after deploy asks of a site: from the dom0, through the vif
 * routes, each of its ports, with its `ServerName` as the Host header.
 */
export interface WebVhostCheck {
  /**
   * The path asked for.
   * @default "/"
   */
  readonly path?: string;
  /**
   * The HTTP status the page must answer.
   * @default - any status below 500
   */
  readonly status?: number;
  /**
   * Text the page must contain (one line): tells this site's page from another site's.
   * @default - any page
   */
  readonly contains?: string;
}

/** Props of a {@link WebVhost}: its address and ports, names, document root and TLS. */
export interface WebVhostProps {
  /**
   * Site name: `/etc/apache2/sites-available/<name>.conf` and the log file names.
   * @default - the construct id
   */
  readonly name?: string;
  /** The address the site answers on; it must be one of its guest's vif addresses. */
  readonly address: string;
  /**
   * Plain HTTP ports.
   * @default [80]
   */
  readonly ports?: number[];
  /**
   * HTTPS, in a second `<VirtualHost>` on the same address.
   * @default - no TLS
   */
  readonly tls?: WebVhostTls;
  /** `ServerName`, a host name such as `a.example.org`. */
  readonly serverName: string;
  /**
   * `ServerAlias` names; `*.example.org` is allowed.
   * @default []
   */
  readonly serverAliases?: string[];
  /** `DocumentRoot`, an absolute path on the guest. */
  readonly documentRoot: string;
  /**
   * Apache version of the guest: "2.2" also emits `NameVirtualHost` and the 2.2 access syntax.
   * @default "2.4"
   */
  readonly apacheVersion?: "2.2" | "2.4";
  /**
   * What the check after deploy asks of this site (the check is on unless the
   * context key `cdktf-xen:verify` is false).
   * @default - `/` answers with a status below 500
   */
  readonly check?: WebVhostCheck;
}

/** System directories a site would publish with `Require all granted`. */
const SYSTEM_DIRS = /^\/(|etc|usr|bin|sbin|lib\w*|boot|root|proc|sys|run|dev|var|home|opt|tmp)$/;

/** A DocumentRoot: an absolute path of its own, not `/`, `/etc` or another system directory itself. */
function parseDocumentRoot(value: unknown, site: PropSite): string {
  const dir = parseAbsolutePath(value, site);
  if (SYSTEM_DIRS.test(dir) || /^\/(etc|root|proc|sys|boot|dev|run)(\/|$)/.test(dir)) {
    throw new XenPropError(site, value, "a system directory would be published to the web (the site grants access to all of it); expected a directory of the site's own, such as /var/www/site-a");
  }
  return dir;
}

/**
 * An Apache name-based vhost on one of its guest's addresses.
 *
 * @example
 * const site = new WebVhost(web, "site-a", {
 *   address: "192.0.2.10",
 *   serverName: "a.example.org",
 *   documentRoot: "/var/www/site-a",
 *   tls: { certificateFile: "/etc/ssl/certs/a.pem", certificateKeyFile: "/etc/ssl/private/a.key" },
 * });
 * new ForwardRule(dom0, "site-a", { to: site }); // its address, ports 80 and 443
 */
export class WebVhost extends Construct implements IConnectable {
  /** Returns true when `x` is a WebVhost (of any copy of this library). */
  static isWebVhost(x: unknown): x is WebVhost {
    return hasBrand(x, WEB_VHOST);
  }

  /**
   * Who may reach this site: `site.connections.allowDefaultPortFromAnyIpv4()`
   * forwards its ports (HTTP and HTTPS) on its address from anywhere;
   * `allowDefaultPortFrom(Peer.ipv4(...))` from one network.
   */
  readonly connections: Connections;
  /** The guest serving this site. */
  readonly guest: RoutedDomU;
  /** The address the site answers on. */
  readonly address: string;
  private readonly model: VhostModel;

  constructor(scope: RoutedDomU, id: string, props: WebVhostProps) {
    super(scope, freeChildId(scope, id));
    brand(this, WEB_VHOST);
    const site = (prop: string): PropSite => ({ path: this.node.path, prop });
    if (!hasBrand(scope, ROUTED_DOMU)) {
      throw new XenPropError(site("scope"), (scope as Construct | undefined)?.node?.path, "a WebVhost must be created inside the RoutedDomU that serves it");
    }
    this.guest = scope;
    const name = parseName(props.name ?? id, site(props.name === undefined ? "name (the construct id)" : "name"), 64);
    // Debian's stock sites: a vhost of that name would overwrite one, and delete it when removed.
    if (name === "000-default" || name === "default-ssl") {
      throw new XenPropError(site(props.name === undefined ? "name (the construct id)" : "name"), name, "the name of a site Debian's apache2 package ships; choose another name");
    }
    const other = scope.vhosts.find((v) => v !== this && v.model?.name === name);
    if (other) throw new XenPropError(site("name"), name, `${other.node.path} already uses this site name on the same guest`);

    const address = parseIpv4(props.address, site("address"));
    if (!scope._vifFor(address)) {
      throw new XenPropError(site("address"), props.address, `not an address of guest ${scope.name}; expected one of ${scope.addresses.join(", ")}`);
    }
    this.address = address;

    const ports = props.ports ?? [80];
    if (!Array.isArray(ports) || ports.length === 0) {
      throw new XenPropError(site("ports"), ports, "expected at least one HTTP port, such as [80]");
    }
    const httpPorts = [...new Set(ports.map((p, i) => parsePortNumber(p, site(`ports[${i}]`))))].sort((a, b) => a - b);
    let tls: VhostModel["tls"];
    if (props.tls) {
      const port = parsePortNumber(props.tls.port ?? 443, site("tls.port"));
      if (httpPorts.includes(port)) throw new XenPropError(site("tls.port"), port, "already an HTTP port of this vhost; one port speaks one protocol");
      tls = {
        port,
        certificateFile: parseAbsolutePath(props.tls.certificateFile, site("tls.certificateFile")),
        certificateKeyFile: parseAbsolutePath(props.tls.certificateKeyFile, site("tls.certificateKeyFile")),
      };
    }
    const aliases = props.serverAliases ?? [];
    const apacheVersion = props.apacheVersion ?? "2.4";
    if (apacheVersion !== "2.4" && apacheVersion !== "2.2") {
      throw new XenPropError(site("apacheVersion"), apacheVersion, 'expected "2.4" or "2.2"');
    }
    const mixed = scope.vhosts.find((v) => v !== this && v.model && v.model.apacheVersion !== apacheVersion);
    if (mixed) throw new XenPropError(site("apacheVersion"), apacheVersion, `${mixed.node.path} on the same guest says ${mixed.model.apacheVersion}; a guest runs one Apache`);
    this.model = {
      name,
      address,
      httpPorts,
      tls,
      serverName: parseHostname(props.serverName, site("serverName")),
      serverAliases: aliases.map((a, i) => parseHostname(a, site(`serverAliases[${i}]`), true)),
      documentRoot: parseDocumentRoot(props.documentRoot, site("documentRoot")),
      apacheVersion,
    };

    this._expectation = parseCheck(props.check ?? {}, site);

    this.connections = Connections._of({
      construct: this,
      defaultPorts: this.ports.map((p) => Port.tcp(p)),
      allowIn: (source, ports, where) => {
        const served = this.ports;
        const other = ports.find((p) => p.protocol !== "tcp" || p.from !== p.to || !served.includes(p.from));
        if (other) {
          throw new XenPropError(where, other.toString(), `the site answers on ${served.map((p) => `tcp/${p}`).join(", ")} only; open another port through its guest's connections`);
        }
        forwardFrom(this, source, ports);
      },
      allowOutToAny: (where) => {
        throw new XenPropError(where, this.node.path, "a site opens no connections: let its guest reach out (guest.connections.allowToAnyIpv4())");
      },
    });

    const resource = deployStep(this, "site", { step: () => this._siteStep(), connection: scope._connection() });
    addDependency(resource, scope._networkResource);
    scope._apachePortsResource();
    addDependency(scope._sitesResource, resource);
  }

  /**
   * What the check after deploy asks of this site.
   * @internal
   */
  readonly _expectation: VhostExpectation;

  /**
   * The step that installs and enables this site on its guest.
   * @internal
   */
  _siteStep(): StepModel {
    return oncePerSynth(this, SITE_STEP, () => siteStep(this.guest.hostId, this.model));
  }

  /** Every port the site answers on (HTTP and HTTPS). */
  get ports(): number[] {
    return [...this.model.httpPorts, ...(this.model.tls ? [this.model.tls.port] : [])];
  }

  /**
   * The validated model the renderers read.
   * @internal
   */
  _vhostModel(): VhostModel {
    return this.model;
  }
}

const SITE_STEP = Symbol("siteStep");

/** A path the check may ask: no spaces, quotes or shell syntax. */
const CHECK_PATH = /^\/[A-Za-z0-9._~%\/+=&?-]*$/;

function parseCheck(check: WebVhostCheck, site: (prop: string) => PropSite): VhostExpectation {
  const path = check.path ?? "/";
  if (typeof path !== "string" || !CHECK_PATH.test(path) || path.length > 256) {
    throw new XenPropError(site("check.path"), path, "expected a URL path starting with / of letters, digits and . _ ~ % / + = & ? -");
  }
  const status = check.status === undefined ? undefined : parseInteger(check.status, site("check.status"), 100, 599);
  const contains = check.contains;
  if (contains !== undefined && (typeof contains !== "string" || contains.length === 0 || contains.length > 256 || /[\r\n\0]/.test(contains))) {
    throw new XenPropError(site("check.contains"), contains, "expected one line of 1 to 256 characters");
  }
  return { path, status, contains };
}
