import { assertEquals, assertThrows } from "@std/assert";
import {
  parseAuthUrl,
  parseIpList,
  parsePublishTokens,
} from "../lib/server/access/access_flags.ts";
import { UsageError } from "../lib/server/flag_parsers.ts";

Deno.test("parsePublishTokens reads NAME=TOKEN pairs and refuses bad names, empty tokens and repeats", () => {
  const flag = "--publish-tokens";
  assertEquals([...parsePublishTokens("cam1=x", flag)], [["cam1", "x"]]);
  assertEquals([...parsePublishTokens("a.b_c-1=tok=en==,z=1", flag)], [["a.b_c-1", "tok=en=="], [
    "z",
    "1",
  ]]);
  for (const bad of ["cam1", "=x", "cam1=", ".x=1", "a/b=1", "cam1=x,,cam2=y", "a=1,a=2"]) {
    assertThrows(() => parsePublishTokens(bad, flag), UsageError, "Invalid --publish-tokens");
  }
});

Deno.test("parseAuthUrl takes http(s) URLs only; parseIpList names the flag and the bad entry", () => {
  assertEquals(parseAuthUrl("http://127.0.0.1:9/auth", "--auth-url"), "http://127.0.0.1:9/auth");
  assertEquals(
    parseAuthUrl("https://auth.example/x?y=1", "--auth-url"),
    "https://auth.example/x?y=1",
  );
  for (const bad of ["auth.example", "ftp://x/", "file:///etc/passwd", ""]) {
    assertThrows(() => parseAuthUrl(bad, "--auth-url"), UsageError, "Invalid --auth-url");
  }
  assertEquals(parseIpList("10.0.0.0/8", "--view-allow").includes("10.2.3.4"), true);
  assertThrows(
    () => parseIpList("10.0.0.0/8,300.1.1.1", "--view-allow"),
    UsageError,
    "Invalid --view-allow: Invalid IP address: '300.1.1.1'",
  );
});
