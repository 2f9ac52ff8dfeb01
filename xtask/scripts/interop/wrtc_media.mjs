// Media rows of `cargo xtask interop-media-node` on @roamhq/wrtc (Google's libwebrtc for Node,
// which encodes and decodes VP8 and Opus itself).
//
//   node wrtc_media.mjs publish URL [--seconds 5] [--silent]
//     WHIP: sendonly video + audio. An RTCVideoSource is fed 640x480 I420 frames of a moving
//     pattern at 30 fps and an RTCAudioSource 10 ms frames of a 440 Hz tone at 48 kHz, for N
//     seconds once connected; then getStats (outbound-rtp), close, DELETE.
//   node wrtc_media.mjs play URL --server-stats URL [--seconds 5] [--silent]
//     WHEP: recvonly video + audio. RTCVideoSink / RTCAudioSink count the decoded frames and
//     samples; the counters and getStats (inbound-rtp) are read 1 s after connecting and N s
//     later, the second time together with the server's GET /stats.
//
// --silent (the self-check's deliberate break): publish pushes no frame and no sample; play
// attaches no sink. The row must then fail.
//
// Prints one line `RESULT {json}` ({ok:true,…} or {ok:false,error}) and exits 0 only when ok.
// Logs go to stderr. @roamhq/wrtc comes from $FERRTC_INTEROP_NODE (target/interop/node).
import { connect, done, opt as optOf, sleep } from "./media_common.mjs";
import { log, requireFromInterop } from "./peer_common.mjs";

const argv = process.argv.slice(2);
const mode = argv[0];
const url = argv[1];
const opt = (name, dflt) => optOf(argv, name, dflt);
const seconds = Number(opt("--seconds", "5"));
const silent = argv.includes("--silent");

// The RTP stats of one direction (`outbound-rtp` or `inbound-rtp`), by kind, with the codec.
async function rtpStats(pc, type) {
  const report = await pc.getStats();
  const out = {};
  const all = [...report.values()];
  for (const s of all) {
    if (s.type !== type) continue;
    const kind = s.kind || s.mediaType;
    const codec = s.codecId ? all.find((c) => c.id === s.codecId) : null;
    out[kind] = {
      mimeType: codec ? codec.mimeType : null,
      packetsSent: s.packetsSent,
      packetsReceived: s.packetsReceived,
      packetsLost: s.packetsLost,
      framesEncoded: s.framesEncoded,
      framesSent: s.framesSent,
      framesDecoded: s.framesDecoded,
      frameWidth: s.frameWidth,
      frameHeight: s.frameHeight,
      totalSamplesReceived: s.totalSamplesReceived,
    };
  }
  return out;
}

async function publish(wrtc) {
  const { RTCPeerConnection, MediaStream, nonstandard } = wrtc;
  const { RTCVideoSource, RTCAudioSource } = nonstandard;
  const W = 640;
  const H = 480;
  const FPS = 30;
  const RATE = 48000;
  const CHUNK = RATE / 100; // 10 ms
  const pc = new RTCPeerConnection({ iceServers: [] });
  let location = null;
  try {
    const video = new RTCVideoSource();
    const audio = new RTCAudioSource();
    const vtrack = video.createTrack();
    const atrack = audio.createTrack();
    const stream = new MediaStream([vtrack, atrack]);
    pc.addTransceiver(vtrack, { direction: "sendonly", streams: [stream] });
    pc.addTransceiver(atrack, { direction: "sendonly", streams: [stream] });
    location = await connect(pc, url);

    // One I420 buffer, redrawn each frame: a diagonal luma ramp that moves 4 px a frame and
    // chroma that cycles, so every frame differs from the one before.
    const frame = new Uint8ClampedArray(W * H * 3 / 2);
    const ramp = new Uint8ClampedArray(W + 512);
    for (let k = 0; k < ramp.length; k++) ramp[k] = k & 255;
    const draw = (i) => {
      for (let y = 0; y < H; y++) {
        const off = (y + 4 * i) & 255;
        frame.set(ramp.subarray(off, off + W), y * W);
      }
      frame.fill((64 + 3 * i) & 255, W * H, W * H * 5 / 4);
      frame.fill((192 - 5 * i) & 255, W * H * 5 / 4);
    };
    const samples = new Int16Array(CHUNK);
    let phase = 0;
    const tone = () => {
      for (let k = 0; k < CHUNK; k++) {
        samples[k] = Math.round(8000 * Math.sin(phase));
        phase += (2 * Math.PI * 440) / RATE;
      }
      phase %= 2 * Math.PI;
    };

    let frames = 0;
    let chunks = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    for (;;) {
      const now = performance.now();
      if (now >= end) break;
      while (frames * (1000 / FPS) <= now - start && start + frames * (1000 / FPS) < end) {
        if (!silent) {
          draw(frames);
          video.onFrame({ width: W, height: H, data: frame });
        }
        frames++;
      }
      while (chunks * 10 <= now - start && start + chunks * 10 < end) {
        if (!silent) {
          tone();
          audio.onData({ samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK });
        }
        chunks++;
      }
      const next = Math.min(start + frames * (1000 / FPS), start + chunks * 10, end);
      await sleep(Math.max(1, next - performance.now()));
    }
    const sentFor = (performance.now() - start) / 1000;
    // What is still in the encoder and pacer leaves before the counters are read.
    await sleep(500);
    const stats = await rtpStats(pc, "outbound-rtp");
    vtrack.stop();
    atrack.stop();
    pc.close();
    const del = await fetch(location, { method: "DELETE" });
    location = null;
    return {
      ok: true,
      sentFor,
      framesPushed: silent ? 0 : frames,
      audioChunksPushed: silent ? 0 : chunks,
      silent,
      video: stats.video || {},
      audio: stats.audio || {},
      deleteStatus: del.status,
    };
  } finally {
    if (location) await fetch(location, { method: "DELETE" }).catch(() => {});
    try {
      pc.close();
    } catch (_) {
      /* closed */
    }
  }
}

async function play(wrtc) {
  const { RTCPeerConnection, nonstandard } = wrtc;
  const { RTCVideoSink, RTCAudioSink } = nonstandard;
  const statsUrl = opt("--server-stats", null);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const count = { videoFrames: 0, width: 0, height: 0, audioSamples: 0, audioCallbacks: 0 };
  const sinks = [];
  let location = null;
  try {
    pc.ontrack = (e) => {
      const track = e.track;
      log(`track ${track.kind} ${track.id}`);
      if (silent) return;
      if (track.kind === "video") {
        const sink = new RTCVideoSink(track);
        sink.onframe = ({ frame }) => {
          count.videoFrames++;
          count.width = frame.width;
          count.height = frame.height;
        };
        sinks.push(sink);
      } else {
        const sink = new RTCAudioSink(track);
        sink.ondata = (d) => {
          count.audioSamples += d.numberOfFrames * (d.channelCount || 1);
          count.audioCallbacks++;
        };
        sinks.push(sink);
      }
    };
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    location = await connect(pc, url);
    const snapshot = async () => {
      const counters = { ...count };
      const [stats, server] = await Promise.all([
        rtpStats(pc, "inbound-rtp"),
        statsUrl ? fetch(statsUrl).then((r) => r.json()) : Promise.resolve(null),
      ]);
      return { counters, stats, server };
    };
    await sleep(1000);
    const first = await snapshot();
    await sleep(seconds * 1000);
    const last = await snapshot();
    for (const s of sinks) s.stop();
    pc.close();
    const del = await fetch(location, { method: "DELETE" });
    location = null;
    return { ok: true, silent, first, last, server: last.server, deleteStatus: del.status };
  } finally {
    for (const s of sinks) {
      try {
        s.stop();
      } catch (_) {
        /* stopped */
      }
    }
    if (location) await fetch(location, { method: "DELETE" }).catch(() => {});
    try {
      pc.close();
    } catch (_) {
      /* closed */
    }
  }
}

let result;
try {
  if (!url || (mode !== "publish" && mode !== "play")) {
    throw new Error("usage: publish URL [--seconds N] [--silent] | play URL --server-stats URL [--seconds N] [--silent]");
  }
  const wrtc = requireFromInterop("@roamhq/wrtc");
  result = mode === "publish" ? await publish(wrtc) : await play(wrtc);
} catch (e) {
  log(`failed: ${e && e.stack ? e.stack : e}`);
  result = { ok: false, error: String(e && e.message ? e.message : e) };
}
done(result);
