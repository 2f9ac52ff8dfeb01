#!/usr/bin/env python3
"""aiortc media peer for `cargo xtask interop-media --peer aiortc`.

    aiortc_media.py publish URL --codec vp8|h264 [--seconds 5]
        WHIP: publishes a 640x480 30 fps test pattern (lavfi testsrc) and a 440 Hz tone (lavfi
        sine) to URL with the video codec forced by setCodecPreferences, for SECONDS, then
        stops the tracks and DELETEs the session.
    aiortc_media.py play URL --codec vp8|h264 --server-stats URL [--seconds 5]
        WHEP: offers recvonly audio + video (video limited to CODEC), reads the decoded remote
        tracks, and samples its counters 1 s after connecting and SECONDS later, the second time
        together with the server's sender counters (GET --server-stats).

aiortc has no WHIP/WHEP client: the POST (Content-Type application/sdp, the complete offer:
aiortc does not trickle, setLocalDescription returns once gathering is done) and the DELETE of
the Location are done here with aiohttp. Prints one line `RESULT {json}` in the shape the
Chromium script (chromium_media.mjs) prints, so the xtask judges both the same way; logs go to
stderr.
"""

import argparse
import asyncio
import json
import re
import sys
import time
from urllib.parse import urljoin

import aioice.ice
from aiohttp import ClientSession, ClientTimeout
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

# aioice leaves 127.0.0.1 out of its host candidates; in a loopback-only namespace that is
# the only address there is.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def log(msg):
    t = time.strftime("%H:%M:%S", time.gmtime())
    print(f"[{t}] {msg}", file=sys.stderr, flush=True)


def video_preferences(codec):
    """aiortc's own video capabilities limited to CODEC (H.264: packetization mode 1 first),
    with RTX kept so NACK repair still works."""
    caps = RTCRtpSender.getCapabilities("video").codecs
    want = [c for c in caps if c.mimeType.lower() == f"video/{codec}"]
    if not want:
        names = sorted({c.mimeType for c in caps})
        raise RuntimeError(f"aiortc cannot do {codec}: it has {' '.join(names)}")
    want.sort(key=lambda c: c.parameters.get("packetization-mode") != "1")
    return want + [c for c in caps if c.mimeType.lower() == "video/rtx"]


def negotiated_codec(sdp, kind):
    """The first payload type of the answer's m=KIND line, as `kind/NAME` (what aiortc sends
    with, and the only video codec it offered)."""
    m = re.search(rf"^m={kind} \d+ \S+ (\d+)", sdp, re.M)
    if not m:
        return None
    pt = m.group(1)
    r = re.search(rf"^a=rtpmap:{pt} ([^/\s]+)/", sdp, re.M)
    return f"{kind}/{r.group(1)}" if r else None


class Counting(MediaStreamTrack):
    """Passes frames through from another track and counts them (each recv() is a frame the
    sender encodes and sends); after stop_sending() it ends, so the sender stops."""

    def __init__(self, inner):
        super().__init__()
        self.kind = inner.kind
        self.inner = inner
        self.frames = 0
        self.samples = 0
        self.first = None
        self.last = None
        # Media time (pts) of the first and last frame, seconds.
        self.first_pts = None
        self.last_pts = None
        self.stopped = False

    async def recv(self):
        if self.stopped:
            raise MediaStreamError
        frame = await self.inner.recv()
        if self.stopped:
            raise MediaStreamError
        now = time.monotonic()
        if self.first is None:
            self.first = now
        self.last = now
        if frame.time is not None:
            if self.first_pts is None:
                self.first_pts = frame.time
            self.last_pts = frame.time
        self.frames += 1
        self.samples += getattr(frame, "samples", 0)
        return frame

    def stop_sending(self):
        self.stopped = True
        self.inner.stop()


async def whip_post(http, url, pc):
    # aiortc's setLocalDescription returns once ICE gathering is complete.
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    log(f"local offer:\n{offer}")
    async with http.post(url, data=offer, headers={"Content-Type": "application/sdp"}) as r:
        answer = await r.text()
        if r.status != 201:
            raise RuntimeError(f"POST {url}: HTTP {r.status}: {answer[:300]}")
        loc = r.headers.get("Location")
        if not loc:
            raise RuntimeError("201 without a Location header")
    log(f"remote answer:\n{answer}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return answer, urljoin(url, loc)


async def wait_connected(pc, limit=15.0):
    t0 = time.monotonic()
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() - t0 > limit:
            raise RuntimeError(f"not connected: {pc.connectionState}")
        await asyncio.sleep(0.02)


async def publish(args, http, pc, state):
    video = MediaPlayer("testsrc=size=640x480:rate=30", format="lavfi")
    audio = MediaPlayer("sine=frequency=440:sample_rate=48000", format="lavfi")
    vtrack = Counting(video.video)
    atrack = Counting(audio.audio)
    vt = pc.addTransceiver(vtrack, direction="sendonly")
    vt.setCodecPreferences(video_preferences(args.codec))
    pc.addTransceiver(atrack, direction="sendonly")
    state["step"] = "POST"
    answer, state["location"] = await whip_post(http, args.url, pc)
    state["step"] = "connect"
    await wait_connected(pc)
    state["step"] = "send"
    await asyncio.sleep(args.seconds)
    vtrack.stop_sending()
    atrack.stop_sending()
    # The seconds of video sent, in media time (the frames' own timestamps, which become the
    # RTP timestamps save-to-disk writes): N frames span N - 1 intervals, plus one. On a loaded
    # machine aiortc's encoder can fall behind the wall clock; the media time stays exact.
    span = (vtrack.last_pts or 0.0) - (vtrack.first_pts or 0.0)
    sent_for = span + span / (vtrack.frames - 1) if vtrack.frames > 1 else 0.0
    wall = (vtrack.last or 0.0) - (vtrack.first or 0.0)
    stats = {}
    for s in (await pc.getStats()).values():
        if s.type == "outbound-rtp":
            stats[s.kind] = {"packetsSent": s.packetsSent}
    # Let the last packets arrive before the session ends.
    await asyncio.sleep(0.5)
    state["step"] = "DELETE"
    async with http.delete(state["location"]) as r:
        delete_status = r.status
    state["location"] = None
    await pc.close()
    return {
        "ok": True,
        "codec": args.codec,
        "sentFor": sent_for,
        "wallSeconds": wall,
        "video": {
            "mimeType": negotiated_codec(answer, "video"),
            "framesSent": vtrack.frames,
            **stats.get("video", {}),
        },
        "audio": {
            "mimeType": negotiated_codec(answer, "audio"),
            "framesSent": atrack.frames,
            "samplesSent": atrack.samples,
            "secondsSent": atrack.samples / 48000.0,
            **stats.get("audio", {}),
        },
        "deleteStatus": delete_status,
    }


async def play(args, http, pc, state):
    counts = {"video": 0, "audio": 0}
    consumers = []

    async def consume(track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += frame.samples if track.kind == "audio" else 1

    @pc.on("track")
    def on_track(track):
        log(f"remote {track.kind} track")
        consumers.append(asyncio.ensure_future(consume(track)))

    vt = pc.addTransceiver("video", direction="recvonly")
    vt.setCodecPreferences(video_preferences(args.codec))
    pc.addTransceiver("audio", direction="recvonly")
    state["step"] = "POST"
    answer, state["location"] = await whip_post(http, args.url, pc)
    mimes = {k: negotiated_codec(answer, k) for k in ("video", "audio")}
    state["step"] = "connect"
    await wait_connected(pc)

    async def sample():
        decoded = dict(counts)  # the counters first, then the receivers' RTP statistics
        out = {}
        for t in pc.getTransceivers():
            entry = {"mimeType": mimes.get(t.kind)}
            if t.kind == "video":
                entry["framesDecoded"] = decoded["video"]
            else:
                entry["totalSamplesReceived"] = decoded["audio"]
            for s in (await t.receiver.getStats()).values():
                if s.type == "inbound-rtp":
                    entry["packetsReceived"] = s.packetsReceived
                    entry["packetsLost"] = s.packetsLost
                    entry["ssrc"] = s.ssrc
            out[t.kind] = entry
        return out

    async def server_stats():
        async with http.get(args.server_stats) as r:
            return await r.json(content_type=None)

    state["step"] = "receive"
    await asyncio.sleep(1.0)
    first = await sample()
    await asyncio.sleep(args.seconds)
    # ferrtc's counters first, then aiortc's as soon as they have arrived: the packets ferrtc
    # counted had the HTTP round trip to arrive (aiortc reads its socket on this same loop).
    server = await server_stats()
    last = await sample()
    state["step"] = "DELETE"
    async with http.delete(state["location"]) as r:
        delete_status = r.status
    state["location"] = None
    await pc.close()
    for c in consumers:
        c.cancel()
    return {
        "ok": True,
        "codec": args.codec,
        "first": first,
        "last": last,
        "server": server,
        "deleteStatus": delete_status,
    }


async def main_async(args):
    t0 = time.monotonic()
    state = {"step": "setup", "location": None}
    http = ClientSession(timeout=ClientTimeout(total=15))
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        run = publish if args.mode == "publish" else play
        result = await asyncio.wait_for(run(args, http, pc, state), args.seconds + 40)
        result["seconds"] = round(time.monotonic() - t0, 3)
        return result
    except Exception as e:  # noqa: BLE001 - every failure becomes the JSON result
        what = "timeout" if isinstance(e, asyncio.TimeoutError) else repr(e)
        log(f"failed at step {state['step']}: {what}")
        if state["location"]:
            try:
                async with http.delete(state["location"], timeout=ClientTimeout(total=2)):
                    pass
            except Exception:  # noqa: BLE001
                pass
        try:
            await asyncio.wait_for(pc.close(), 2)
        except Exception:  # noqa: BLE001
            pass
        return {"ok": False, "codec": args.codec, "error": f"step {state['step']}: {what}"}
    finally:
        await http.close()


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("mode", choices=["publish", "play"])
    p.add_argument("url")
    p.add_argument("--codec", default="vp8")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--server-stats")
    args = p.parse_args()
    if args.mode == "play" and not args.server_stats:
        p.error("play needs --server-stats URL")
    result = asyncio.run(main_async(args))
    print(f"RESULT {json.dumps(result)}", flush=True)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
