/**
 * Where a user-supplied URL may make us connect: public unicast addresses only. A webhook URL comes from whoever
 * writes an event; without this it could make the function call its host's metadata service (100.100.100.200 on
 * Alibaba Cloud, inside 100.64.0.0/10), the VPC's private services, or loopback. Addresses are parsed by ipaddr.js, so
 * every spelling of one address is the same address: `[::ffff:127.0.0.1]`, `0x7f.1`, `2130706433` are all loopback.
 *
 * Host names are checked where they are resolved (`guardedLookup`, passed to the socket's connect), so DNS cannot
 * answer a checked name with a private address afterwards (rebinding).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import ipaddr from "ipaddr.js";

/** True for an address a public webhook may have; false for loopback, private, link-local, unique-local, CGNAT/metadata, multicast, reserved, and IPv4-mapped forms of them. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === "unicast";
}

/**
 * A wider rule for a deployment that delivers webhooks inside its own network (WEBHOOK_ALLOW_PRIVATE): loopback and
 * private ranges too, but still never link-local or the metadata service (100.100.100.200, in 100.64.0.0/10).
 */
export function isPrivateOrPublicAddress(address: string): boolean {
  if (isPublicAddress(address)) return true;
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return ["loopback", "private", "uniqueLocal"].includes(parsed.range());
}

/** The IP a URL host names literally (brackets removed; WHATWG URL has already normalised 0x7f.1 and friends), or undefined for a name. */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[|\]$/g, "");
  return ipaddr.isValid(bare) ? bare : undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that refuses a name resolving to any non-public address (`allow` widens it). */
export function guardedLookup(
  allow: (address: string) => boolean = isPublicAddress,
): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => !allow(a.address));
      if (refused || list.length === 0)
        return callback(
          Object.assign(
            new Error(`${hostname} resolves to ${refused?.address ?? "nothing"}, which is not a public address`),
            { code: "EADDRNOTPUBLIC" },
          ),
          "",
        );
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
