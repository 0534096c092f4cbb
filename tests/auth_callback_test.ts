// --auth-url: a receiver in the test allows one token and denies others; one that hangs is
// denied after 3 s while other viewers go on.
import { assert, assertEquals } from "@std/assert";
import { AuthCallback, type AuthQuestion } from "../lib/server/access/auth_callback.ts";
import { createAccessPolicy } from "../lib/server/access/create_access_policy.ts";
import { createHandler } from "../lib/server/handler.ts";
import { liveMount } from "./_util.ts";

/** An auth service: 204 for token "good", 403 for others, no answer at all for "hang". */
function receiver() {
  const questions: AuthQuestion[] = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const question = await request.json() as AuthQuestion;
    questions.push(question);
    if (question.token === "hang") {
      await release.promise;
      return new Response(null, { status: 204 });
    }
    return new Response(null, { status: question.token === "good" ? 204 : 403 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/auth`,
    questions,
    async close() {
      release.resolve();
      await server.shutdown();
    },
  };
}

function question(token: string | null, extra: Partial<AuthQuestion> = {}): AuthQuestion {
  return {
    action: "read",
    mount: "cam1",
    ip: "192.0.2.1",
    token,
    query: "",
    userAgent: "t",
    ...extra,
  };
}

Deno.test("AuthCallback: 2xx allows, others deny; answers are cached, HLS reload params aside", async () => {
  const service = receiver();
  try {
    const auth = new AuthCallback(service.url, { cacheTtl: 60_000 });
    assertEquals(await auth.ask(question("good")), { allow: true });
    const bad = await auth.ask(question("bad"));
    assertEquals(bad, {
      allow: false,
      status: 403,
      reason: "The authorization service refused (403)",
    });
    assertEquals((await auth.ask(question(null))).allow, false);
    assertEquals(service.questions.length, 3);
    // The same question again, and with only _HLS_ params changed: answered from the cache.
    await auth.ask(question("good"));
    await auth.ask(question("good", { query: "_HLS_msn=12&_HLS_part=3" }));
    assertEquals(service.questions.length, 3);
    // Another mount or action is another question.
    await auth.ask(question("good", { action: "publish" }));
    await auth.ask(question("good", { mount: "cam2" }));
    assertEquals(service.questions.length, 5);
    assertEquals(service.questions[3].action, "publish");
    // With no cache, every question is asked; questions asked at once share one call.
    const uncached = new AuthCallback(service.url, { cacheTtl: 0 });
    await Promise.all([1, 2, 3].map(() => uncached.ask(question("good", { mount: "cam3" }))));
    assertEquals(service.questions.length, 6);
    await uncached.ask(question("good", { mount: "cam3" }));
    assertEquals(service.questions.length, 7);
  } finally {
    await service.close();
  }
});

Deno.test("AuthCallback: no answer within the timeout, or no service, denies (and is not cached)", async () => {
  const service = receiver();
  try {
    const auth = new AuthCallback(service.url, { timeout: 300 });
    const start = performance.now();
    const hung = await auth.ask(question("hang"));
    const waited = performance.now() - start;
    assertEquals(hung.allow, false);
    assert(
      !hung.allow && hung.reason.includes("did not answer within 0.3 s"),
      JSON.stringify(hung),
    );
    assert(waited >= 280 && waited < 2000, `${waited} ms`);
    await auth.ask(question("hang"));
    assertEquals(service.questions.filter((q) => q.token === "hang").length, 2);
  } finally {
    await service.close();
  }
  const gone = await new AuthCallback(service.url).ask(question("good"));
  assert(!gone.allow && gone.reason.includes("cannot be reached"), JSON.stringify(gone));
});

Deno.test("--auth-url through the handler: the question's fields; a hanging service denies after 3 s, other viewers unaffected", async () => {
  const service = receiver();
  const live = await liveMount("sample.webm", { realtime: false });
  try {
    const access = await createAccessPolicy({ authUrl: service.url });
    const handler = createHandler(live.mount, { access });
    const info = { remoteAddr: { hostname: "203.0.113.5", port: 5000 } };
    const view = async (url: string, headers: Record<string, string> = {}) => {
      const response = await handler(new Request(`http://localhost${url}`, { headers }), info);
      await response.body?.cancel();
      return response.status;
    };
    const start = performance.now();
    const hanging = view("/live/stream?token=hang");
    // While the service hangs on that one, others are answered at once.
    const fast = performance.now();
    assertEquals(await view("/live/stream?token=good&x=1", { "user-agent": "probe/1" }), 200);
    assertEquals(await view("/stream", { authorization: "Bearer bad" }), 403);
    assert(performance.now() - fast < 1500, `${performance.now() - fast} ms`);
    assertEquals(await hanging, 403);
    const waited = performance.now() - start;
    assert(waited >= 2900 && waited < 5000, `${waited} ms`);
    const good = service.questions.find((q) => q.token === "good");
    assertEquals(good, {
      action: "read",
      mount: "stream",
      ip: "203.0.113.5",
      token: "good",
      query: "token=good&x=1",
      userAgent: "probe/1",
    });
  } finally {
    await live.close();
    await service.close();
  }
});
