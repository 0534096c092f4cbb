// The stall watchdog on its own: injected send queues, a recording connection, explicit times.
import { assertEquals } from "@std/assert";
import { connKey, StallWatchdog } from "../lib/server/http/stall_watchdog.ts";
import type { SendQueues } from "../lib/server/tcp_queues.ts";

/** A connection that only records whether it was closed. */
function fakeConn(hostname: string, port: number) {
  const conn = {
    closed: false,
    remoteAddr: { transport: "tcp", hostname, port },
    close() {
      conn.closed = true;
    },
  };
  return conn;
}

/** A watchdog reading `queues` (mutable), recording what it evicts. */
function watchdog(queues: SendQueues) {
  const evicted: Response[] = [];
  const dog = new StallWatchdog({
    timeout: 1000,
    port: 8080,
    readSendQueues: () => queues,
    onEvict: (response) => evicted.push(response),
  });
  return { dog, evicted };
}

Deno.test("StallWatchdog closes a stream whose peer acknowledged nothing for the timeout", () => {
  const queues: SendQueues = new Map([["127.0.0.1:5000", 4096]]);
  const { dog, evicted } = watchdog(queues);
  try {
    const conn = fakeConn("127.0.0.1", 5000);
    const response = new Response(null);
    const watched = dog.watch(conn as unknown as Deno.Conn, response);
    watched.written = 4096; // all of it still in the kernel's queue
    const start = watched.lastProgress = 0; // whole milliseconds: no rounding at the limit
    dog.check(start + 999);
    assertEquals([dog.evictions, conn.closed, dog.size], [0, false, 1]);
    dog.check(start + 1000);
    assertEquals([dog.evictions, conn.closed, dog.size], [1, true, 0]);
    assertEquals(evicted, [response]);
  } finally {
    dog.stop();
  }
});

Deno.test("StallWatchdog keeps a slow viewer that acknowledges bytes and an idle one with nothing waiting, not a write blocked past the timeout", () => {
  const queues: SendQueues = new Map([["10.0.0.1:1", 1000], ["10.0.0.2:2", 0]]);
  const { dog } = watchdog(queues);
  try {
    const slow = fakeConn("10.0.0.1", 1);
    const idle = fakeConn("::ffff:10.0.0.2", 2); // IPv4-mapped: the kernel's table says 10.0.0.2
    const s = dog.watch(slow as unknown as Deno.Conn, new Response(null));
    const i = dog.watch(idle as unknown as Deno.Conn, new Response(null));
    s.written = 1000;
    i.written = 500;
    const start = s.lastProgress = i.lastProgress = 0;
    for (let t = 1; t <= 10; t++) {
      queues.set("10.0.0.1:1", 1000 - t * 50); // 50 bytes acknowledged per check
      dog.check(start + t * 900);
    }
    assertEquals([slow.closed, idle.closed, dog.evictions], [false, false, 0]);
    // A write blocked in progress is waiting too, even when the queue reads empty.
    i.writing = true;
    queues.set("10.0.0.1:1", 400);
    dog.check(start + 20_000);
    assertEquals([idle.closed, dog.evictions], [true, 1]);
  } finally {
    dog.stop();
  }
});

Deno.test("StallWatchdog judges by bytes written when the kernel's table is unreadable", () => {
  const { dog } = watchdog(new Map());
  try {
    const conn = fakeConn("127.0.0.1", 7);
    const watched = dog.watch(conn as unknown as Deno.Conn, new Response(null));
    watched.written = 10;
    watched.writing = true;
    watched.lastProgress = 0;
    dog.check(500); // counted as acknowledged: progress
    dog.check(1499);
    assertEquals(conn.closed, false);
    dog.check(1500); // a write blocked for the whole timeout
    assertEquals(conn.closed, true);
    dog.unwatch(watched);
    assertEquals(dog.size, 0);
  } finally {
    dog.stop();
  }
});

Deno.test("connKey names a peer as the kernel's table does", () => {
  const addr = (hostname: string, port: number): Deno.NetAddr => ({
    transport: "tcp",
    hostname,
    port,
  });
  assertEquals(connKey(addr("::ffff:192.168.1.2", 80)), "192.168.1.2:80");
  assertEquals(connKey(addr("127.0.0.1", 5000)), "127.0.0.1:5000");
  assertEquals(connKey(addr("::1", 443)), "::1:443");
});
