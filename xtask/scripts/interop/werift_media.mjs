// Media rows of `cargo xtask interop-media-node` on werift, which works at the RTP level (it
// neither encodes nor decodes).
//
//   node werift_media.mjs publish URL --codec vp8|vp9|h264 --video FILE --audio FILE.ogg
//       [--rtp-port 5004] [--silent]
//     WHIP: sendonly video (only CODEC offered) + Opus. Once connected, ffmpeg plays both
//     files in real time (`-re`, no re-encoding) as RTP to 127.0.0.1 (video on PORT, audio on
//     PORT+2; the RTCP ports PORT+1 / PORT+3 are bound and ignored), and every packet is
//     forwarded with `track.writeRtp` (werift sets the negotiated payload type, its own SSRC,
//     sequence numbers and header extensions; VP9: the descriptor's P bit, which ffmpeg never
//     sets, is set for inter frames). When ffmpeg is done: DELETE.
//   node werift_media.mjs play URL --codec vp8|vp9|h264|av1 --server-stats URL [--seconds 5]
//       [--silent]
//     WHEP: recvonly video (only CODEC offered) + Opus; `track.onReceiveRtp` counts the RTP
//     packets and distinct RTP timestamps (frames) of each kind, 1 s after connecting and N s
//     later, the second time together with the server's GET /stats.
//
// --silent (the self-check's deliberate break): publish forwards no packet; play counts none.
// The row must then fail.
//
// Prints one line `RESULT {json}` and exits 0 only when ok. Logs go to stderr. werift comes
// from $FERRTC_INTEROP_NODE (target/interop/node); ffmpeg from PATH.
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { connect, done, opt as optOf, sleep } from "./media_common.mjs";
import { log, requireFromInterop } from "./peer_common.mjs";

const argv = process.argv.slice(2);
const mode = argv[0];
const url = argv[1];
const opt = (name, dflt) => optOf(argv, name, dflt);
const codec = opt("--codec", "vp8").toLowerCase();
const seconds = Number(opt("--seconds", "5"));
const silent = argv.includes("--silent");

const VIDEO_PT = 96;
const AUDIO_PT = 111;

// The codec lists werift offers: only CODEC for video, Opus for audio.
function codecs(werift) {
  const { RTCRtpCodecParameters } = werift;
  const fb = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];
  const video = {
    vp8: { mimeType: "video/VP8", clockRate: 90000 },
    vp9: { mimeType: "video/VP9", clockRate: 90000, parameters: "profile-id=0" },
    h264: {
      mimeType: "video/H264",
      clockRate: 90000,
      parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    },
    av1: { mimeType: "video/AV1", clockRate: 90000 },
  }[codec];
  if (!video) throw new Error(`no codec ${codec}`);
  return {
    video: [new RTCRtpCodecParameters({ ...video, payloadType: VIDEO_PT, rtcpFeedback: fb })],
    audio: [
      new RTCRtpCodecParameters({
        mimeType: "audio/opus",
        clockRate: 48000,
        channels: 2,
        payloadType: AUDIO_PT,
        parameters: "minptime=10;useinbandfec=1",
      }),
    ],
  };
}

// werift skips loopback interfaces and defaults to a public STUN server (PEERS.md).
function config(werift) {
  return {
    codecs: codecs(werift),
    iceServers: [],
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    iceUseIpv6: false,
  };
}

function bindUdp(port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(port, "127.0.0.1", () => resolve(s));
  });
}

async function publish(werift) {
  const { RTCPeerConnection, MediaStreamTrack, RtpPacket } = werift;
  const videoFile = opt("--video", null);
  const audioFile = opt("--audio", null);
  if (!videoFile || !audioFile) throw new Error("publish needs --video FILE and --audio FILE");
  const port = Number(opt("--rtp-port", "5004"));
  const pc = new RTCPeerConnection(config(werift));
  let location = null;
  let ffmpeg = null;
  const sockets = [];
  try {
    const vtrack = new MediaStreamTrack({ kind: "video" });
    const atrack = new MediaStreamTrack({ kind: "audio" });
    const vt = pc.addTransceiver(vtrack, { direction: "sendonly" });
    const at = pc.addTransceiver(atrack, { direction: "sendonly" });
    location = await connect(pc, url);

    const forwarded = { video: 0, audio: 0, videoBytes: 0, vp9InterFrames: 0, audioBytes: 0 };
    // ffmpeg 5.1's (experimental) VP9 packetizer writes a one-byte descriptor with only B and
    // E, never P, so every frame would claim to be independently decodable. RFC 9628 §4.2:
    // P=1 for an inter-predicted picture. Set it from the VP9 uncompressed header at the
    // start of each frame (profile 0: show_existing_frame bit 3, frame_type bit 2, VP9 §6.2).
    let vp9Inter = false;
    const fixVp9 = (payload) => {
      if (payload.length < 2) return;
      if (payload[0] & 0x08) {
        const h = payload[1];
        vp9Inter = (h & 0x08) !== 0 || (h & 0x04) !== 0;
        if (vp9Inter) forwarded.vp9InterFrames++;
      }
      if (vp9Inter) payload[0] |= 0x40;
    };
    const forward = (kind, track) => (data) => {
      if (silent) return;
      let rtp;
      try {
        rtp = RtpPacket.deSerialize(data);
      } catch (e) {
        log(`not RTP from ffmpeg (${kind}): ${e}`);
        return;
      }
      if (kind === "video" && codec === "vp9") fixVp9(rtp.payload);
      track.writeRtp(rtp);
      forwarded[kind]++;
      forwarded[`${kind}Bytes`] += rtp.payload.length;
    };
    const vs = await bindUdp(port);
    const as = await bindUdp(port + 2);
    sockets.push(vs, as, await bindUdp(port + 1), await bindUdp(port + 3));
    vs.on("message", forward("video", vtrack));
    as.on("message", forward("audio", atrack));

    // No re-encoding: the files' own frames, paced by their timestamps (-re). Raw H.264 has no
    // timestamps: 30 fps, like the file was made; its parameter sets go before every IDR.
    const args = ["-hide_banner", "-v", "error", "-re"];
    if (codec === "h264") args.push("-framerate", "30");
    args.push("-i", videoFile, "-re", "-i", audioFile, "-map", "0:v", "-c:v", "copy");
    if (codec === "h264") args.push("-bsf:v", "dump_extra=freq=keyframe");
    if (codec === "vp9") args.push("-strict", "experimental");
    args.push("-payload_type", String(VIDEO_PT), "-f", "rtp", `rtp://127.0.0.1:${port}?pkt_size=1200`);
    args.push("-map", "1:a", "-c:a", "copy", "-payload_type", String(AUDIO_PT), "-f", "rtp", `rtp://127.0.0.1:${port + 2}?pkt_size=1200`);
    log(`ffmpeg ${args.join(" ")}`);
    const start = performance.now();
    ffmpeg = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
    let ffmpegErr = "";
    ffmpeg.stderr.on("data", (d) => {
      ffmpegErr += d;
      process.stderr.write(d);
    });
    const code = await new Promise((resolve) => {
      ffmpeg.on("exit", (c) => resolve(c));
      ffmpeg.on("error", (e) => {
        ffmpegErr += String(e);
        resolve(-1);
      });
    });
    ffmpeg = null;
    const sentFor = (performance.now() - start) / 1000;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${ffmpegErr.trim().slice(0, 300)}`);
    // The last packets leave werift before the session ends.
    await sleep(500);
    const mime = (t) => {
      const c = t.sender && t.sender.codec;
      return c ? c.mimeType : null;
    };
    const del = await fetch(location, { method: "DELETE" });
    location = null;
    await pc.close();
    return {
      ok: true,
      codec,
      silent,
      sentFor,
      forwarded,
      video: { mimeType: mime(vt) },
      audio: { mimeType: mime(at) },
      deleteStatus: del.status,
    };
  } finally {
    if (ffmpeg) ffmpeg.kill("SIGKILL");
    for (const s of sockets) s.close();
    if (location) await fetch(location, { method: "DELETE" }).catch(() => {});
    try {
      await pc.close();
    } catch (_) {
      /* closed */
    }
  }
}

async function play(werift) {
  const { RTCPeerConnection } = werift;
  const statsUrl = opt("--server-stats", null);
  const pc = new RTCPeerConnection(config(werift));
  const count = {
    video: { packets: 0, padding: 0, timestamps: new Set(), payloadTypes: new Set(), ssrcs: new Set(), bytes: 0 },
    audio: { packets: 0, padding: 0, timestamps: new Set(), payloadTypes: new Set(), ssrcs: new Set(), bytes: 0 },
  };
  let location = null;
  try {
    for (const kind of ["video", "audio"]) {
      const t = pc.addTransceiver(kind, { direction: "recvonly" });
      t.onTrack.subscribe((track) => {
        log(`track ${kind} ssrc ${track.ssrc}`);
        track.onReceiveRtp.subscribe((rtp, _ext, info) => {
          if (silent) return;
          const c = count[kind];
          // Padding-only packets (bandwidth probes) carry no media: counted apart.
          if ((info && info.type === "padding") || rtp.payload.length === 0) {
            c.padding++;
            return;
          }
          c.packets++;
          c.bytes += rtp.payload.length;
          c.timestamps.add(rtp.header.timestamp);
          c.payloadTypes.add(rtp.header.payloadType);
          c.ssrcs.add(rtp.header.ssrc);
        });
      });
    }
    location = await connect(pc, url);
    const view = () => {
      const out = {};
      for (const [k, c] of Object.entries(count)) {
        out[k] = {
          packets: c.packets,
          padding: c.padding,
          frames: c.timestamps.size,
          bytes: c.bytes,
          payloadTypes: [...c.payloadTypes],
          ssrcs: c.ssrcs.size,
        };
      }
      return out;
    };
    await sleep(1000);
    const first = view();
    await sleep(seconds * 1000);
    // The server's counters, and ours the moment they arrive.
    const server = statsUrl ? await fetch(statsUrl).then((r) => r.json()) : null;
    const last = view();
    const del = await fetch(location, { method: "DELETE" });
    location = null;
    await pc.close();
    return { ok: true, codec, silent, videoPayloadType: VIDEO_PT, first, last, server, deleteStatus: del.status };
  } finally {
    if (location) await fetch(location, { method: "DELETE" }).catch(() => {});
    try {
      await pc.close();
    } catch (_) {
      /* closed */
    }
  }
}

let result;
try {
  if (!url || (mode !== "publish" && mode !== "play")) {
    throw new Error(
      "usage: publish URL --codec C --video FILE --audio FILE [--rtp-port P] [--silent] | play URL --codec C --server-stats URL [--seconds N] [--silent]",
    );
  }
  const werift = requireFromInterop("werift");
  result = mode === "publish" ? await publish(werift) : await play(werift);
} catch (e) {
  log(`failed: ${e && e.stack ? e.stack : e}`);
  result = { ok: false, codec, error: String(e && e.message ? e.message : e) };
}
done(result);
