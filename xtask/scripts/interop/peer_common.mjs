// Shared by the Node peers (wrtc_peer.mjs, werift_peer.mjs, chromium_peer.mjs): the WHIP
// client test sequence, the echo server session, the WHIP HTTP server and argument parsing.
// The protocol is described in xtask/scripts/interop/README.md and must stay identical to
// aiortc_peer.py and to ferrtc's whip-server / whip-client examples.
//
// `whipClientTest` and `whipServerSession` are self-contained (they use only their `env`
// argument and globals present both in Node and in a browser) because chromium_peer.mjs
// sends their source text into the page with `Function.prototype.toString`.

import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/// `require` that resolves from the npm project the harness installs (target/interop/node),
/// or from $FERRTC_INTEROP_NODE when set.
export function requireFromInterop(name) {
  const dir =
    process.env.FERRTC_INTEROP_NODE ||
    path.resolve(here, "../../../target/interop/node");
  return createRequire(path.join(dir, "package.json"))(name);
}

export function log(...args) {
  const t = new Date().toISOString().slice(11, 23);
  process.stderr.write(`[${t}] ${args.join(" ")}\n`);
}

/// Parses `client URL [--relay] [--turn URL --turn-user U --turn-pass P]` or
/// `server --port N [--turn …] [--relay]`.
export function parseArgs(argv) {
  const a = { role: argv[0], url: null, port: 8080, turn: null, user: null, pass: null, relay: false };
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === "--port") a.port = Number(v());
    else if (k === "--turn") a.turn = v();
    else if (k === "--turn-user") a.user = v();
    else if (k === "--turn-pass") a.pass = v();
    else if (k === "--relay") a.relay = true;
    else if (!k.startsWith("--") && a.url === null) a.url = k;
    else throw new Error(`unknown argument ${k}`);
  }
  if (a.role !== "client" && a.role !== "server") {
    throw new Error("usage: client URL [--relay --turn URL --turn-user U --turn-pass P] | server --port N [--turn …] [--relay]");
  }
  if (a.role === "client" && !a.url) throw new Error("client needs a URL");
  if (a.relay && !a.turn) throw new Error("--relay needs --turn");
  return a;
}

/// The standard RTCConfiguration for these arguments: no ICE servers unless a TURN server
/// is given, iceTransportPolicy relay with --relay.
export function rtcConfig(a) {
  const config = { iceServers: [], iceTransportPolicy: a.relay ? "relay" : "all" };
  if (a.turn) {
    config.iceServers = [{ urls: a.turn, username: a.user || "", credential: a.pass || "" }];
  }
  return config;
}

/// Prints the result JSON line and exits (0 only when ok). Exiting explicitly matters:
/// some stacks keep the event loop alive after close().
export function finish(result) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(result.ok ? 0 : 1));
}

/// The WHIP client test sequence. env: { RTCPeerConnection, config, url, fetch,
/// toSendable(Uint8Array) -> what channel.send accepts, log(string) }.
/// Resolves to the result object ({ok:true,…} or {ok:false,error}), never rejects.
export async function whipClientTest(env) {
  const { RTCPeerConnection, config, url, fetch, toSendable, log } = env;
  const MAX = 262144;
  const COUNT = 100;
  const WINDOW = 1 << 20;
  const t0 = Date.now();
  let step = "setup";
  let pc = null;
  let location = null;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const withTimeout = (p, ms, what) =>
    Promise.race([
      p,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms / 1000} s: ${what}`)), ms)),
    ]);
  const ALPHA = "abcdefghijklmnopqrstuvwxyz";
  const sizeOf = (i) => Math.round(Math.pow(MAX, i / (COUNT - 1)));
  const textOf = (i, n) => {
    const rot = ALPHA.slice(i % 26) + ALPHA.slice(0, i % 26);
    return rot.repeat(Math.ceil(n / 26)).slice(0, n);
  };
  const bytesOf = (i, n) => {
    const u8 = new Uint8Array(n);
    for (let j = 0; j < n; j++) u8[j] = (i * 7 + j) & 255;
    return u8;
  };
  const describe = (m) => (m.text !== undefined ? `text of ${m.text.length} chars` : `binary of ${m.bytes.length} bytes`);

  // Wraps a channel: a message queue, open/close tracking and buffered-amount-low wakeups.
  const watch = (ch) => {
    const w = { ch, queue: [], wakers: [], open: false, closed: false };
    const poke = () => {
      const fs = w.wakers;
      w.wakers = [];
      for (const f of fs) f();
    };
    try {
      ch.binaryType = "arraybuffer";
    } catch (_) {
      /* not settable in every stack */
    }
    ch.addEventListener("message", (ev) => {
      const d = ev.data;
      let m;
      if (typeof d === "string") m = { text: d };
      else if (d instanceof ArrayBuffer) m = { bytes: new Uint8Array(d) };
      else if (ArrayBuffer.isView(d)) m = { bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
      else m = { bad: `unexpected message data type ${Object.prototype.toString.call(d)}` };
      w.queue.push(m);
      poke();
    });
    ch.addEventListener("open", () => {
      w.open = true;
      poke();
    });
    ch.addEventListener("close", () => {
      w.closed = true;
      poke();
    });
    ch.addEventListener("bufferedamountlow", poke);
    if (ch.readyState === "open") w.open = true;
    // Wait for something to happen, or 20 ms (polls state of stacks that miss an event).
    w.tick = () =>
      new Promise((r) => {
        w.wakers.push(r);
        setTimeout(r, 20);
      });
    w.waitOpen = async () => {
      while (!w.open && ch.readyState !== "open") {
        if (w.closed || ch.readyState === "closed") throw new Error(`channel ${ch.label} closed before opening`);
        await w.tick();
      }
    };
    w.next = async () => {
      while (w.queue.length === 0) {
        if (w.closed || ch.readyState === "closed") throw new Error(`channel ${ch.label} closed`);
        await w.tick();
      }
      return w.queue.shift();
    };
    return w;
  };

  const expectText = async (w, want) => {
    const m = await w.next();
    if (m.text !== want) {
      throw new Error(`channel ${w.ch.label}: expected text ${JSON.stringify(want)}, got ${m.text !== undefined ? JSON.stringify(m.text.slice(0, 40)) : m.bad || describe(m)}`);
    }
  };

  const parseMaxMessageSize = (sdp) => {
    // RFC 8841 §6: absent means 64 KiB; 0 means no limit.
    const m = /^a=max-message-size:(\d+)\s*$/m.exec(sdp);
    if (!m) return { value: null, limit: 65536 };
    const v = Number(m[1]);
    return { value: v, limit: v === 0 ? MAX : v };
  };

  try {
    pc = new RTCPeerConnection(config);
    const echo = watch(pc.createDataChannel("echo"));
    const negotiated = watch(pc.createDataChannel("negotiated", { negotiated: true, id: 7 }));
    const unordered = watch(pc.createDataChannel("unordered", { ordered: false, maxRetransmits: 0 }));

    step = "offer";
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await withTimeout(
      (async () => {
        while (pc.iceGatheringState !== "complete") await sleep(20);
      })(),
      15000,
      "ICE gathering did not complete",
    );
    const offerSdp = pc.localDescription.sdp;
    const candidateTypes = [...offerSdp.matchAll(/^a=candidate:.* typ ([a-z]+)/gm)].map((m) => m[1]);
    if (candidateTypes.length === 0) throw new Error("the local offer has no candidates");

    log(`local offer:\n${offerSdp}`);
    step = "POST";
    const resp = await withTimeout(
      fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offerSdp }),
      15000,
      `POST ${url}`,
    );
    const answerSdp = await resp.text();
    if (resp.status !== 201) throw new Error(`POST ${url}: HTTP ${resp.status} (expected 201): ${answerSdp.slice(0, 200)}`);
    const ctype = resp.headers.get("content-type") || "";
    if (!ctype.toLowerCase().startsWith("application/sdp")) throw new Error(`POST ${url}: answer Content-Type ${JSON.stringify(ctype)}, expected application/sdp`);
    const loc = resp.headers.get("location");
    if (!loc) {
      throw new Error(`POST ${url}: 201 without a readable Location header (a browser needs Access-Control-Expose-Headers: Location)`);
    }
    location = new URL(loc, url).toString();
    log(`remote answer (Location ${loc}):\n${answerSdp}`);
    step = "setRemoteDescription";
    await pc.setRemoteDescription({ type: "answer", sdp: answerSdp });
    const mms = parseMaxMessageSize(answerSdp);
    const cap = Math.min(MAX, mms.limit);

    const sequence = async () => {
      step = "1: echo channel open";
      await echo.waitOpen();
      // Step 2 begins now: a channel created after connect, with no renegotiation.
      const second = watch(pc.createDataChannel("second"));

      step = "1: 100 messages on echo";
      echo.ch.bufferedAmountLowThreshold = 256 * 1024;
      let maxSent = 0;
      const sender = (async () => {
        for (let i = 0; i < COUNT; i++) {
          const n = Math.min(sizeOf(i), cap);
          maxSent = Math.max(maxSent, n);
          while (echo.ch.bufferedAmount > 0 && echo.ch.bufferedAmount + n > WINDOW) {
            if (echo.closed) throw new Error("echo closed while sending");
            await echo.tick();
          }
          echo.ch.send(i % 2 === 0 ? textOf(i, n) : toSendable(bytesOf(i, n)));
        }
      })();
      const receiver = (async () => {
        for (let i = 0; i < COUNT; i++) {
          const n = Math.min(sizeOf(i), cap);
          const m = await echo.next();
          if (m.bad) throw new Error(`echo message ${i}: ${m.bad}`);
          if (i % 2 === 0) {
            if (m.text === undefined) throw new Error(`echo message ${i}: sent text of ${n} chars, got ${describe(m)}`);
            if (m.text !== textOf(i, n)) throw new Error(`echo message ${i}: text of ${n} chars came back different (${m.text.length} chars)`);
          } else {
            if (m.bytes === undefined) throw new Error(`echo message ${i}: sent binary of ${n} bytes, got ${describe(m)}`);
            const want = bytesOf(i, n);
            if (m.bytes.length !== n) throw new Error(`echo message ${i}: sent ${n} bytes, got ${m.bytes.length}`);
            for (let j = 0; j < n; j++) {
              if (m.bytes[j] !== want[j]) throw new Error(`echo message ${i}: byte ${j} differs`);
            }
          }
        }
      })();
      await Promise.all([sender, receiver]);

      step = "2: second channel (created after connect)";
      await second.waitOpen();
      second.ch.send("second-hello");
      await expectText(second, "second-hello");

      step = "3: negotiated channel id 7";
      await negotiated.waitOpen();
      negotiated.ch.send("negotiated-hello");
      await expectText(negotiated, "negotiated-hello");

      step = "4: unordered channel";
      await unordered.waitOpen();
      unordered.ch.send("unordered-hello");
      return maxSent;
    };
    const maxSent = await withTimeout(sequence(), 30000, "the channel sequence");

    step = "5: DELETE";
    const del = await withTimeout(fetch(location, { method: "DELETE" }), 10000, `DELETE ${location}`);
    location = null;
    if (del.status !== 200) throw new Error(`DELETE: HTTP ${del.status} (expected 200)`);
    try {
      pc.close();
    } catch (_) {
      /* ignore */
    }
    const result = {
      ok: true,
      messages: COUNT,
      max_size: maxSent,
      seconds: (Date.now() - t0) / 1000,
      remote_max_message_size: mms.value,
      offer_candidates: candidateTypes,
    };
    if (cap < MAX) result.capped = `sizes capped at the remote a=max-message-size ${cap}`;
    return result;
  } catch (e) {
    if (location) {
      try {
        await withTimeout(fetch(location, { method: "DELETE" }), 2000, "DELETE");
      } catch (_) {
        /* best effort */
      }
    }
    try {
      if (pc) pc.close();
    } catch (_) {
      /* ignore */
    }
    const msg = e && e.message ? e.message : String(e);
    log(`client failed at step ${step}: ${msg}`);
    return { ok: false, error: `step ${step}: ${msg}`, seconds: (Date.now() - t0) / 1000 };
  }
}

/// One WHIP server session: answers `offerSdp` with a complete answer after creating the
/// negotiated channel id 7, and echoes every message on every channel. env: {
/// RTCPeerConnection, config, offerSdp, log }. Resolves to { answer, close() }.
export async function whipServerSession(env) {
  const { RTCPeerConnection, config, offerSdp, log } = env;
  const pc = new RTCPeerConnection(config);
  const echoOn = (ch) => {
    try {
      ch.binaryType = "arraybuffer";
    } catch (_) {
      /* not settable in every stack */
    }
    ch.addEventListener("message", (ev) => {
      try {
        ch.send(ev.data);
      } catch (e) {
        log(`echo on ${ch.label} failed: ${e && e.message ? e.message : e}`);
      }
    });
    ch.addEventListener("open", () => log(`channel ${ch.label} open`));
  };
  echoOn(pc.createDataChannel("negotiated", { negotiated: true, id: 7 }));
  pc.ondatachannel = (ev) => echoOn(ev.channel);
  await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  const deadline = Date.now() + 15000;
  while (pc.iceGatheringState !== "complete") {
    if (Date.now() > deadline) throw new Error("ICE gathering did not complete");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    answer: pc.localDescription.sdp,
    close: () => {
      try {
        pc.close();
      } catch (_) {
        /* ignore */
      }
    },
  };
}

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
  "Access-Control-Allow-Headers": "Content-Type, Authorization, If-Match",
  "Access-Control-Expose-Headers": "Location, ETag, Link",
};

/// The WHIP HTTP endpoint on 127.0.0.1:port. `answer(offerSdp)` resolves to { answer,
/// close() }. `extra(req, res, url)` may serve other paths (resolves true when it did).
/// Prints the `listening on …` line the harness waits for once listening, unless `quiet`
/// (then the caller prints it when it is ready). Resolves to the http.Server.
export function startWhipServer({ port, answer, extra, quiet }) {
  const sessions = new Map();
  let next = 1;
  const server = http.createServer(async (req, res) => {
    const reply = (status, headers = {}, body = "") => {
      res.writeHead(status, { ...CORS, ...headers });
      res.end(body);
    };
    try {
      const u = new URL(req.url, "http://127.0.0.1");
      if (extra && (await extra(req, res, u))) return;
      if (req.method === "OPTIONS") return reply(204);
      if (u.pathname === "/whip") {
        if (req.method !== "POST") return reply(405, { Allow: "POST, OPTIONS" });
        const ctype = (req.headers["content-type"] || "").split(";")[0].trim().toLowerCase();
        const chunks = [];
        let size = 0;
        for await (const c of req) {
          size += c.length;
          if (size > 1 << 20) return reply(413, {}, "offer too large");
          chunks.push(c);
        }
        if (ctype !== "application/sdp") return reply(415, { "Content-Type": "text/plain" }, "Content-Type must be application/sdp");
        const offer = Buffer.concat(chunks).toString("utf8");
        let session;
        try {
          session = await answer(offer);
        } catch (e) {
          log(`cannot answer: ${e && e.stack ? e.stack : e}`);
          return reply(400, { "Content-Type": "text/plain" }, `cannot answer the offer: ${e && e.message ? e.message : e}`);
        }
        const id = String(next++);
        sessions.set(id, session);
        log(`session ${id} created`);
        return reply(201, { "Content-Type": "application/sdp", Location: `/whip/${id}`, ETag: `"${id}"` }, session.answer);
      }
      const m = /^\/whip\/([^/]+)$/.exec(u.pathname);
      if (m) {
        const s = sessions.get(m[1]);
        if (!s) return reply(404);
        if (req.method === "DELETE") {
          sessions.delete(m[1]);
          await s.close();
          log(`session ${m[1]} deleted`);
          return reply(200);
        }
        if (req.method === "PATCH") return reply(405, { Allow: "DELETE, OPTIONS" });
        return reply(405, { Allow: "DELETE, OPTIONS" });
      }
      return reply(404);
    } catch (e) {
      log(`request failed: ${e && e.stack ? e.stack : e}`);
      try {
        reply(500);
      } catch (_) {
        /* ignore */
      }
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      if (!quiet) announce(port);
      resolve(server);
    });
  });
}

/// The line the harness waits for before it starts the client.
export function announce(port) {
  process.stdout.write(`listening on http://127.0.0.1:${port}/whip\n`);
}
