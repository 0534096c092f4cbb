import { assertEquals, assertThrows } from "@std/assert";
import { IpList, IpSyntaxError, parseIp } from "../lib/server/access/ip_list.ts";

Deno.test("parseIp reads IPv4, IPv6 and IPv4-mapped forms, and refuses everything else", () => {
  const hex = (text: string) => {
    const bytes = parseIp(text);
    return bytes && Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  const table: [string, string | undefined][] = [
    ["1.2.3.4", "00000000000000000000ffff01020304"],
    ["255.255.255.255", "00000000000000000000ffffffffffff"],
    ["::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["::1", "00000000000000000000000000000001"],
    ["[::1]", "00000000000000000000000000000001"],
    ["::", "00000000000000000000000000000000"],
    ["2001:db8::", "20010db8000000000000000000000000"],
    ["2001:DB8:0:0:0:0:0:1", "20010db8000000000000000000000001"],
    ["fe80::1:2", "fe800000000000000000000000010002"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    // Refused: leading zeros (octal to some parsers), out of range, wrong counts, zones, junk.
    ["01.2.3.4", undefined],
    ["1.2.3.256", undefined],
    ["1.2.3", undefined],
    ["1.2.3.4.5", undefined],
    [" 1.2.3.4", undefined],
    ["1:2:3:4:5:6:7", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["1:::2", undefined],
    ["1:2:3:4:5:6:7::8", undefined],
    ["12345::", undefined],
    ["fe80::1%eth0", undefined],
    ["::1.2.3.4:5", undefined],
    ["localhost", undefined],
    ["", undefined],
  ];
  for (const [text, expected] of table) assertEquals(hex(text), expected, text);
});

Deno.test("IpList matches CIDR blocks of IPv4 and IPv6, IPv4 peers in mapped form too", () => {
  const list = IpList.parse("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, 172.16.0.0/12, fd00::/8");
  const table: [string, boolean][] = [
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["9.255.255.255", false],
    ["192.168.1.7", true],
    ["192.168.1.8", false],
    ["172.31.255.255", true],
    ["172.32.0.0", false],
    ["172.15.255.255", false],
    ["::ffff:10.1.2.3", true],
    ["::ffff:11.1.2.3", false],
    ["2001:db8::1", true],
    ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db9::", false],
    ["fd12:3456::1", true],
    ["fe00::1", false],
    ["::1", false],
    ["fd00::1%eth0", true],
    ["not an address", false],
  ];
  for (const [address, expected] of table) assertEquals(list.includes(address), expected, address);
});

Deno.test("IpList prefix lengths: /0 for everything of its family, odd lengths, /32 and /128", () => {
  assertEquals(IpList.parse("0.0.0.0/0").includes("203.0.113.9"), true);
  // An IPv4 /0 covers IPv4 only; an IPv6 /0 covers every address.
  assertEquals(IpList.parse("0.0.0.0/0").includes("2001:db8::1"), false);
  assertEquals(IpList.parse("::/0").includes("2001:db8::1"), true);
  assertEquals(IpList.parse("::/0").includes("1.2.3.4"), true);
  const odd = IpList.parse("203.0.113.128/25");
  assertEquals([odd.includes("203.0.113.128"), odd.includes("203.0.113.127")], [true, false]);
  const v6 = IpList.parse("2001:db8::/33");
  assertEquals([v6.includes("2001:db8:7fff::"), v6.includes("2001:db8:8000::")], [true, false]);
  assertEquals(IpList.parse("1.2.3.4/32").includes("1.2.3.5"), false);
  assertEquals(IpList.parse("::1/128").includes("::1"), true);
  assertEquals(IpList.parse("::1/128").includes("::2"), false);
});

Deno.test("IpList.parse refuses malformed lists with an IpSyntaxError naming the entry", () => {
  const bad: [string, string][] = [
    ["", "an entry is empty"],
    ["10.0.0.0/8,", "an entry is empty"],
    ["10.0.0.0/33", "Invalid prefix length in '10.0.0.0/33'"],
    ["2001:db8::/129", "expected 0 to 128"],
    ["10.0.0.0/08", "Invalid prefix length"],
    ["10.0.0.0/", "Invalid prefix length"],
    ["10.0.0.0/-1", "Invalid prefix length"],
    ["10.0.0/8", "Invalid IP address: '10.0.0'"],
    ["example.com", "Invalid IP address"],
  ];
  for (const [text, message] of bad) assertThrows(() => IpList.parse(text), IpSyntaxError, message);
});
