/**
 * EDNS Client Subnet (RFC 7871): the end client's subnet a resolver passes on, read with
 * the RFC's checks, and the option echoed back with the scope the answer holds for.
 */
import type { AddressBytes } from "./address-bytes.js";

/** The ECS option code. */
export const CLIENT_SUBNET = 8;

/** A client subnet as a query carried it. */
export interface ClientSubnet {
  address: AddressBytes;
  sourcePrefix: number;
}

/**
 * Reads an ECS option's payload. Undefined means malformed (the server answers FORMERR, as
 * RFC 7871 §7.1.2 asks): unknown family, a prefix beyond the family's bits, an address
 * longer than the prefix needs, set bits beyond the prefix, or a non-zero scope.
 */
export function readClientSubnet(data: Buffer): ClientSubnet | undefined {
  if (data.length < 4) return undefined;
  const family = data.readUInt16BE(0);
  const sourcePrefix = data[2];
  const scope = data[3];
  const bits = family === 1 ? 32 : family === 2 ? 128 : 0;
  if (bits === 0 || sourcePrefix > bits || scope !== 0) return undefined;
  const length = Math.ceil(sourcePrefix / 8);
  if (data.length !== 4 + length) return undefined;
  const bytes = new Uint8Array(16);
  const offset = family === 1 ? 12 : 0;
  for (let i = 0; i < length; i++) bytes[offset + i] = data[4 + i];
  if ((sourcePrefix & 7) !== 0) {
    const last = bytes[offset + length - 1];
    if ((last & (0xff >> (sourcePrefix & 7))) !== 0) return undefined;
  }
  return { address: { family: family === 1 ? 4 : 6, bytes }, sourcePrefix };
}

/** The ECS option of an answer: the query's family, source prefix and address, with `scope`. */
export function clientSubnetReply(subnet: ClientSubnet, scope: number): Buffer {
  const length = Math.ceil(subnet.sourcePrefix / 8);
  const data = Buffer.alloc(4 + length);
  data.writeUInt16BE(subnet.address.family === 4 ? 1 : 2, 0);
  data[2] = subnet.sourcePrefix;
  data[3] = Math.min(scope, subnet.address.family === 4 ? 32 : 128);
  const offset = subnet.address.family === 4 ? 12 : 0;
  for (let i = 0; i < length; i++) data[4 + i] = subnet.address.bytes[offset + i];
  return data;
}
