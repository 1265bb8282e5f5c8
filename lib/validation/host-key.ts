import { PropSite, XenPropError } from "./errors";

const KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

const ALLOWED = `expected a public host key as sshd keeps it in /etc/ssh/ssh_host_*_key.pub ("ssh-ed25519 AAAA..."), of type ${KEY_TYPES.join(", ")}`;

/**
 * Checks a literal SSH public host key, `<type> <base64 blob> [comment]`, as
 * Terraform's `host_key` takes it: its blob must be the length-prefixed fields
 * of an SSH public key, the first naming the same type, so that a key cut short
 * by a copy and paste is refused at synth, not at the deploy's first connection.
 */
export function parseHostKey(value: unknown, site: PropSite): string {
  const m = typeof value === "string" ? /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})( [^\n\r]*)?$/.exec(value.trim()) : null;
  if (!m || !KEY_TYPES.includes(m[1])) throw new XenPropError(site, value, ALLOWED);
  // Terraform reads ${ and %{ in host_key as template sequences.
  if (m[3] && /[$%]\{/.test(m[3])) throw new XenPropError(site, value, `the comment holds \${ or %{, which Terraform reads as a template; remove the comment or those characters: ${ALLOWED}`);
  const blob = Buffer.from(m[2], "base64");
  const cutShort = () => new XenPropError(site, value, `the key's data is cut short: ${ALLOWED}`);
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    if (at + 4 > blob.length) throw cutShort();
    const end = at + 4 + blob.readUInt32BE(at);
    if (end > blob.length) throw cutShort();
    fields.push(blob.subarray(at + 4, end));
    at = end;
  }
  if (fields.length < 2 || fields[0].toString("latin1") !== m[1]) {
    throw new XenPropError(site, value, `the key's data is not a ${m[1]} key: ${ALLOWED}`);
  }
  return (value as string).trim();
}
