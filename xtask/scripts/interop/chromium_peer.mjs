// WHIP test peer on headless Chromium (the reference browser), driven with playwright-core.
//   node chromium_peer.mjs client URL [--relay --turn URL --turn-user U --turn-pass P]
//   node chromium_peer.mjs server --port N [--turn URL --turn-user U --turn-pass P] [--relay]
// Client: a page served from a loopback HTTP server runs the client test sequence
// (peer_common.mjs, the same code as the Node peers) in the browser, WHIP requests
// included (so the server's CORS answers matter), and hands back the result.
// Server: this script runs the WHIP HTTP endpoint and forwards each offer into the page,
// where an RTCPeerConnection answers and echoes; so Chromium can be the answerer too.
import http from "node:http";
import {
  announce,
  finish,
  log,
  parseArgs,
  requireFromInterop,
  rtcConfig,
  startWhipServer,
  whipClientTest,
  whipServerSession,
} from "./peer_common.mjs";

const { chromium } = requireFromInterop("playwright-core");
const args = parseArgs(process.argv.slice(2));
const config = rtcConfig(args);
const executablePath = process.env.FERRTC_CHROMIUM || "/usr/bin/chromium";

// Flags from PEERS.md. Chromium gathers raw 127.0.0.1 host candidates only with both
// --allow-loopback-in-peer-connection and the local-IP permission that
// --use-fake-ui-for-media-stream grants. (Playwright gives the profile directory itself.)
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection",
];

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ferrtc interop: chromium peer</title>
<script>
const whipClientTest = ${whipClientTest.toString()};
const whipServerSession = ${whipServerSession.toString()};
const pageLog = (m) => console.log(m);
const sessions = new Map();
let nextSession = 1;
window.runClient = (url, config) =>
  whipClientTest({ RTCPeerConnection, config, url, fetch: (u, o) => fetch(u, o), toSendable: (u8) => u8, log: pageLog });
window.answerOffer = async (offerSdp, config) => {
  const s = await whipServerSession({ RTCPeerConnection, config, offerSdp, log: pageLog });
  const id = String(nextSession++);
  sessions.set(id, s);
  return { id, answer: s.answer };
};
window.closeSession = (id) => {
  const s = sessions.get(id);
  if (s) {
    sessions.delete(id);
    s.close();
  }
  return !!s;
};
window.pageReady = true;
</script>
<p>ferrtc interop peer</p>
`;

function servePage(req, res) {
  if (req.url === "/favicon.ico") {
    res.writeHead(204);
    res.end();
    return;
  }
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(PAGE);
}

async function openBrowser(pageUrl) {
  const browser = await chromium.launch({ executablePath, headless: true, args: FLAGS, timeout: 30000 });
  const page = await browser.newPage();
  page.on("console", (m) => log(`page: ${m.text()}`));
  page.on("pageerror", (e) => log(`page error: ${e}`));
  await page.goto(pageUrl, { timeout: 15000 });
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 10000 });
  log(`browser ${browser.version()} ready at ${pageUrl}`);
  return { browser, page };
}

const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms / 1000} s: ${what}`)), ms));

if (args.role === "client") {
  let browser = null;
  let result;
  try {
    const pageServer = http.createServer(servePage);
    await new Promise((r) => pageServer.listen(0, "127.0.0.1", r));
    const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;
    const b = await openBrowser(pageUrl);
    browser = b.browser;
    result = await Promise.race([
      b.page.evaluate(([url, c]) => window.runClient(url, c), [args.url, config]),
      timeout(55000, "the client test in the page"),
    ]);
    pageServer.close();
  } catch (e) {
    result = { ok: false, error: `chromium: ${e && e.message ? e.message.split("\n")[0] : e}` };
  }
  if (browser) await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 3000))]);
  finish(result);
} else {
  let page = null;
  await startWhipServer({
    port: args.port,
    quiet: true,
    extra: async (req, res, u) => {
      if (req.method === "GET" && (u.pathname === "/" || u.pathname === "/favicon.ico")) {
        servePage(req, res);
        return true;
      }
      return false;
    },
    answer: async (offerSdp) => {
      const r = await page.evaluate(([o, c]) => window.answerOffer(o, c), [offerSdp, config]);
      return { answer: r.answer, close: () => page.evaluate((id) => window.closeSession(id), r.id) };
    },
  });
  let b;
  try {
    b = await openBrowser(`http://127.0.0.1:${args.port}/`);
  } catch (e) {
    log(`chromium server: cannot start the browser: ${e && e.message ? e.message.split("\n")[0] : e}`);
    process.exit(1);
  }
  page = b.page;
  const stop = async () => {
    await Promise.race([b.browser.close(), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  announce(args.port);
}
