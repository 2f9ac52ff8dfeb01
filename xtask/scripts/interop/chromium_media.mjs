// Headless Chromium publishes its fake camera and microphone over WHIP, with one video codec
// forced by setCodecPreferences, for a few seconds, then DELETEs the session.
//   node chromium_media.mjs URL --codec vp8|vp9|h264|av1 [--seconds 5]
// Or plays from a WHEP server (recvonly audio + video) and reports its inbound-rtp counters
// at two moments, with the server's sender counters fetched at the same moment:
//   node chromium_media.mjs --play URL --server-stats URL [--seconds 5]
// Or publishes sendrecv to a server that reflects (ferrtc `reflect`) and reports its own
// outbound framesSent and the inbound framesDecoded of what came back:
//   node chromium_media.mjs --reflect URL [--seconds 5]
// Prints one line `RESULT {json}`: ok, the codec Chromium actually sent, the seconds it sent
// for (connected -> stop, measured in the page) and its outbound-rtp counters (video
// framesEncoded / framesSent / packetsSent, audio packetsSent), or the error.
// playwright-core comes from $FERRTC_INTEROP_NODE/node_modules; Chromium is Debian's.
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const nodeDir = process.env.FERRTC_INTEROP_NODE;
if (!nodeDir) {
  console.log(`RESULT ${JSON.stringify({ ok: false, error: "FERRTC_INTEROP_NODE is not set" })}`);
  process.exit(1);
}
const require = createRequire(path.join(nodeDir, "package.json"));
const { chromium } = require("playwright-core");

const argv = process.argv.slice(2);
const playMode = argv[0] === "--play";
const reflectMode = argv[0] === "--reflect";
const url = playMode || reflectMode ? argv[1] : argv[0];
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const codec = opt("--codec", "vp8");
const seconds = Number(opt("--seconds", "5"));
const executablePath = process.env.FERRTC_CHROMIUM || "/usr/bin/chromium";

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
  // Remote audio is played out (totalSamplesReceived counts played samples) without a click.
  "--autoplay-policy=no-user-gesture-required",
];

// Runs in the page.
async function publish(url, codec, seconds) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: 640, height: 480, frameRate: 30 },
  });
  const pc = new RTCPeerConnection({ iceServers: [] });
  const vt = pc.addTransceiver(stream.getVideoTracks()[0], { direction: "sendonly", streams: [stream] });
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendonly", streams: [stream] });
  const caps = RTCRtpSender.getCapabilities("video").codecs;
  let want = caps.filter((c) => c.mimeType.toLowerCase() === `video/${codec}`);
  if (codec === "h264") {
    // Packetization mode 1 first (FU-A), as browsers prefer.
    want.sort((a, b) => (b.sdpFmtpLine || "").includes("packetization-mode=1") - (a.sdpFmtpLine || "").includes("packetization-mode=1"));
  }
  if (!want.length) throw new Error(`Chromium cannot send ${codec}: ${caps.map((c) => c.mimeType).join(" ")}`);
  vt.setCodecPreferences(want);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  const resp = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (resp.status !== 201) throw new Error(`POST: ${resp.status} ${await resp.text()}`);
  const location = new URL(resp.headers.get("Location"), url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  const t0 = performance.now();
  while (pc.connectionState !== "connected") {
    if (performance.now() - t0 > 15000 || pc.connectionState === "failed")
      throw new Error(`not connected: ${pc.connectionState}`);
    await sleep(20);
  }
  const started = performance.now();
  await sleep(seconds * 1000);
  const report = await pc.getStats();
  const sentFor = (performance.now() - started) / 1000;
  const out = { sentFor, video: {}, audio: {} };
  for (const s of report.values()) {
    if (s.type === "outbound-rtp") {
      const codecStats = s.codecId ? report.get(s.codecId) : null;
      out[s.kind] = {
        mimeType: codecStats ? codecStats.mimeType : null,
        packetsSent: s.packetsSent,
        framesEncoded: s.framesEncoded,
        framesSent: s.framesSent,
        frameWidth: s.frameWidth,
        frameHeight: s.frameHeight,
        framesPerSecond: s.framesPerSecond,
      };
    }
  }
  pc.close();
  const del = await fetch(location, { method: "DELETE" });
  out.deleteStatus = del.status;
  return out;
}

// Runs in the page: WHEP, receive only.
async function startPlay(url) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.playPc = pc;
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true;
    el.muted = false;
    el.srcObject = new MediaStream([e.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
  };
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (resp.status !== 201) throw new Error(`POST: ${resp.status} ${await resp.text()}`);
  window.playLocation = new URL(resp.headers.get("Location"), url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  const t0 = performance.now();
  while (pc.connectionState !== "connected") {
    if (performance.now() - t0 > 15000 || pc.connectionState === "failed") throw new Error(`not connected: ${pc.connectionState}`);
    await sleep(20);
  }
  return true;
}

async function samplePlay() {
  const report = await window.playPc.getStats();
  const out = {};
  for (const s of report.values()) {
    if (s.type === "inbound-rtp") {
      const c = s.codecId ? report.get(s.codecId) : null;
      out[s.kind] = {
        mimeType: c ? c.mimeType : null,
        packetsReceived: s.packetsReceived,
        packetsLost: s.packetsLost,
        framesReceived: s.framesReceived,
        framesDecoded: s.framesDecoded,
        keyFramesDecoded: s.keyFramesDecoded,
        totalSamplesReceived: s.totalSamplesReceived,
      };
    }
  }
  return out;
}

// Runs in the page: publish sendrecv, play what comes back.
async function reflectTest(url, seconds) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 30 } });
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.playPc = pc;
  pc.ontrack = (e) => {
    const el = document.createElement(e.track.kind);
    el.autoplay = true;
    el.srcObject = new MediaStream([e.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
  };
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: "sendrecv", streams: [stream] });
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendrecv", streams: [stream] });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  if (resp.status !== 201) throw new Error(`POST: ${resp.status} ${await resp.text()}`);
  window.playLocation = new URL(resp.headers.get("Location"), url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  const t0 = performance.now();
  while (pc.connectionState !== "connected") {
    if (performance.now() - t0 > 15000 || pc.connectionState === "failed") throw new Error(`not connected: ${pc.connectionState}`);
    await sleep(20);
  }
  await sleep(seconds * 1000);
  const report = await pc.getStats();
  const out = { inbound: {}, outbound: {} };
  for (const s of report.values()) {
    if (s.type === "inbound-rtp" || s.type === "outbound-rtp") {
      const c = s.codecId ? report.get(s.codecId) : null;
      out[s.type === "inbound-rtp" ? "inbound" : "outbound"][s.kind] = {
        mimeType: c ? c.mimeType : null,
        packets: s.type === "inbound-rtp" ? s.packetsReceived : s.packetsSent,
        framesSent: s.framesSent,
        framesDecoded: s.framesDecoded,
        totalSamplesReceived: s.totalSamplesReceived,
      };
    }
  }
  pc.close();
  out.deleteStatus = (await fetch(window.playLocation, { method: "DELETE" })).status;
  return out;
}

async function stopPlay() {
  window.playPc.close();
  const r = await fetch(window.playLocation, { method: "DELETE" });
  return r.status;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>ferrtc media publisher</title>
<script>window.publish = ${publish.toString()};
window.startPlay = ${startPlay.toString()};
window.samplePlay = ${samplePlay.toString()};
window.stopPlay = ${stopPlay.toString()};
window.reflectTest = ${reflectTest.toString()};</script><p>publisher</p>`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(PAGE);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

let result;
const browser = await chromium.launch({ executablePath, args: FLAGS, headless: true });
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`page: ${m.text()}`));
  await page.goto(pageUrl);
  if (reflectMode) {
    const out = await page.evaluate(([u, s]) => window.reflectTest(u, s), [url, seconds]);
    result = { ok: true, ...out };
  } else if (playMode) {
    const statsUrl = opt("--server-stats", null);
    await page.evaluate((u) => window.startPlay(u), url);
    await new Promise((r) => setTimeout(r, 1000));
    const first = await page.evaluate(() => window.samplePlay());
    await new Promise((r) => setTimeout(r, seconds * 1000));
    // The page's counters and the server's, taken together.
    const [last, server] = await Promise.all([
      page.evaluate(() => window.samplePlay()),
      statsUrl ? fetch(statsUrl).then((r) => r.json()) : Promise.resolve(null),
    ]);
    const deleteStatus = await page.evaluate(() => window.stopPlay());
    result = { ok: true, first, last, server, deleteStatus };
  } else {
    const out = await page.evaluate(([u, c, s]) => window.publish(u, c, s), [url, codec, seconds]);
    result = { ok: true, codec, ...out };
  }
} catch (e) {
  result = { ok: false, codec, error: String(e && e.message ? e.message : e) };
} finally {
  await browser.close();
  server.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(result.ok ? 0 : 1);
