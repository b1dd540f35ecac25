/**
 * Allocation-free parsing of textual IP addresses, for checks made on every connection:
 * IPv4 to an unsigned 32-bit number, IPv6 into eight 16-bit groups written to a caller's
 * array. IPv4-mapped IPv6 ("::ffff:10.0.0.1") reads as the IPv4 address it carries, since
 * a dual-stack socket reports IPv4 clients that way.
 */

/** The result of `parseIPv4` for text that is not an IPv4 address. */
export const NOT_IPV4 = -1;

/** Parses dotted-quad IPv4 text from `start` to `end`; NOT_IPV4 when it is not one. */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A leading zero is refused, as node and the kernel's inet_pton do.
      if (digits > 0 && octet === 0) return NOT_IPV4;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return NOT_IPV4;
      digits++;
    } else if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return NOT_IPV4;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return NOT_IPV4;
    }
  }
  if (digits === 0 || dots !== 3) return NOT_IPV4;
  // Multiplication instead of shifts keeps the value unsigned.
  return value * 256 + octet;
}

/**
 * Parses IPv6 text into `groups` (eight 16-bit values); false when it is not an IPv6
 * address. A zone ("fe80::1%eth0") is ignored; an IPv4 tail ("::ffff:1.2.3.4") is read.
 */
export function parseIPv6(text: string, groups: Uint16Array): boolean {
  let end = text.indexOf("%");
  if (end < 0) end = text.length;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
    if (end === 2) {
      groups.fill(0);
      return true;
    }
  } else if (end > 0 && text.charCodeAt(0) === 58) {
    return false;
  }
  while (i < end) {
    if (count === 8) return false;
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46 /* . */) {
      // An embedded IPv4 address fills the last two groups.
      if (count > 6) return false;
      const v4 = parseIPv4(text, groupStart, end);
      if (v4 === NOT_IPV4) return false;
      groups[count++] = Math.floor(v4 / 65536);
      groups[count++] = v4 % 65536;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58 /* : */) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return count === 8;
  if (count === 8) return false;
  // Move the groups after "::" to the end and zero the gap.
  const tail = count - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k];
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

/** The IPv4 address an IPv4-mapped IPv6 address carries, or NOT_IPV4. */
export function mappedIPv4(groups: Uint16Array): number {
  if (groups[5] !== 0xffff) return NOT_IPV4;
  for (let k = 0; k < 5; k++) if (groups[k] !== 0) return NOT_IPV4;
  return groups[6] * 65536 + groups[7];
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
