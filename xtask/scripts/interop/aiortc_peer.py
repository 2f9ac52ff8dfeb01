#!/usr/bin/env python3
"""WHIP test peer on aiortc (Python).

    aiortc_peer.py client URL [--relay --turn URL --turn-user U --turn-pass P]
    aiortc_peer.py server --port N [--turn URL --turn-user U --turn-pass P] [--relay]

The protocol (identical in every peer and in ferrtc's whip-server / whip-client examples)
is in README.md beside this file. Logs go to stderr; the client prints one JSON line.
"""

import argparse
import asyncio
import json
import logging
import re
import sys
import time
from urllib.parse import urljoin

import aioice.ice
from aiohttp import ClientSession, ClientTimeout, web
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

# aioice leaves 127.0.0.1 out of its host candidates; in a loopback-only namespace that is
# the only address there is.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

MAX = 262144
COUNT = 100
WINDOW = 1 << 20
ALPHA = "abcdefghijklmnopqrstuvwxyz"


def log(msg):
    t = time.strftime("%H:%M:%S", time.gmtime())
    print(f"[{t}] {msg}", file=sys.stderr, flush=True)


def rtc_config(args):
    servers = []
    if args.turn:
        servers = [
            RTCIceServer(
                urls=args.turn,
                username=args.turn_user or "",
                credential=args.turn_pass or "",
            )
        ]
    policy = RTCIceTransportPolicy.RELAY if args.relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def size_of(i):
    return round(MAX ** (i / (COUNT - 1)))


def text_of(i, n):
    rot = ALPHA[i % 26 :] + ALPHA[: i % 26]
    return (rot * (n // 26 + 1))[:n]


def bytes_of(i, n):
    pattern = bytes(((i * 7 + j) & 255) for j in range(256))
    return (pattern * (n // 256 + 1))[:n]


def describe(m):
    return f"text of {len(m)} chars" if isinstance(m, str) else f"binary of {len(m)} bytes"


class Watched:
    """A channel with a message queue and open/close/buffered-amount-low notifications."""

    def __init__(self, ch):
        self.ch = ch
        self.queue = asyncio.Queue()
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.low = asyncio.Event()
        ch.on("message", self.queue.put_nowait)
        ch.on("open", self.opened.set)
        ch.on("close", self.closed.set)
        ch.on("bufferedamountlow", self.low.set)
        if ch.readyState == "open":
            self.opened.set()

    async def wait_open(self):
        while not self.opened.is_set():
            if self.closed.is_set() or self.ch.readyState == "closed":
                raise RuntimeError(f"channel {self.ch.label} closed before opening")
            try:
                await asyncio.wait_for(self.opened.wait(), 0.05)
            except asyncio.TimeoutError:
                pass

    async def next(self):
        while True:
            try:
                return await asyncio.wait_for(self.queue.get(), 0.05)
            except asyncio.TimeoutError:
                if self.closed.is_set():
                    raise RuntimeError(f"channel {self.ch.label} closed")

    async def expect_text(self, want):
        m = await self.next()
        if m != want:
            got = repr(m[:40]) if isinstance(m, str) else describe(m)
            raise RuntimeError(f"channel {self.ch.label}: expected text {want!r}, got {got}")


def parse_max_message_size(sdp):
    """RFC 8841 §6: absent means 64 KiB; 0 means no limit."""
    m = re.search(r"^a=max-message-size:(\d+)\s*$", sdp, re.M)
    if not m:
        return None, 65536
    v = int(m.group(1))
    return v, (MAX if v == 0 else v)


async def run_client(args):
    t0 = time.monotonic()
    step = "setup"
    pc = None
    location = None
    http = ClientSession(timeout=ClientTimeout(total=15))
    try:
        pc = RTCPeerConnection(rtc_config(args))
        echo = Watched(pc.createDataChannel("echo"))
        negotiated = Watched(pc.createDataChannel("negotiated", negotiated=True, id=7))
        unordered = Watched(
            pc.createDataChannel("unordered", ordered=False, maxRetransmits=0)
        )

        step = "offer"
        # aiortc's setLocalDescription returns once gathering is complete.
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        candidate_types = re.findall(r"^a=candidate:.* typ ([a-z]+)", offer, re.M)
        if not candidate_types:
            raise RuntimeError("the local offer has no candidates")

        log(f"local offer:\n{offer}")
        step = "POST"
        async with http.post(
            args.url, data=offer, headers={"Content-Type": "application/sdp"}
        ) as r:
            answer = await r.text()
            if r.status != 201:
                raise RuntimeError(
                    f"POST {args.url}: HTTP {r.status} (expected 201): {answer[:200]}"
                )
            ctype = r.headers.get("Content-Type", "")
            if not ctype.lower().startswith("application/sdp"):
                raise RuntimeError(f"answer Content-Type {ctype!r}, expected application/sdp")
            loc = r.headers.get("Location")
            if not loc:
                raise RuntimeError("201 without a Location header")
            location = urljoin(args.url, loc)

        log(f"remote answer (Location {location}):\n{answer}")
        step = "setRemoteDescription"
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        mms_value, mms_limit = parse_max_message_size(answer)
        cap = min(MAX, mms_limit)
        max_sent = 0

        async def sequence():
            nonlocal step, max_sent
            step = "1: echo channel open"
            await echo.wait_open()
            second = Watched(pc.createDataChannel("second"))

            step = "1: 100 messages on echo"
            echo.ch.bufferedAmountLowThreshold = 256 * 1024

            async def sender():
                nonlocal max_sent
                for i in range(COUNT):
                    n = min(size_of(i), cap)
                    max_sent = max(max_sent, n)
                    while echo.ch.bufferedAmount > 0 and echo.ch.bufferedAmount + n > WINDOW:
                        echo.low.clear()
                        if echo.ch.bufferedAmount + n <= WINDOW:
                            break
                        try:
                            await asyncio.wait_for(echo.low.wait(), 0.05)
                        except asyncio.TimeoutError:
                            pass
                    echo.ch.send(text_of(i, n) if i % 2 == 0 else bytes_of(i, n))

            async def receiver():
                for i in range(COUNT):
                    n = min(size_of(i), cap)
                    m = await echo.next()
                    if i % 2 == 0:
                        if not isinstance(m, str):
                            raise RuntimeError(
                                f"echo message {i}: sent text of {n} chars, got {describe(m)}"
                            )
                        if m != text_of(i, n):
                            raise RuntimeError(
                                f"echo message {i}: text of {n} chars came back different ({len(m)} chars)"
                            )
                    else:
                        if not isinstance(m, bytes):
                            raise RuntimeError(
                                f"echo message {i}: sent binary of {n} bytes, got {describe(m)}"
                            )
                        if m != bytes_of(i, n):
                            raise RuntimeError(
                                f"echo message {i}: binary of {n} bytes came back different ({len(m)} bytes)"
                            )

            await asyncio.gather(sender(), receiver())

            step = "2: second channel (created after connect)"
            await second.wait_open()
            second.ch.send("second-hello")
            await second.expect_text("second-hello")

            step = "3: negotiated channel id 7"
            await negotiated.wait_open()
            negotiated.ch.send("negotiated-hello")
            await negotiated.expect_text("negotiated-hello")

            step = "4: unordered channel"
            await unordered.wait_open()
            unordered.ch.send("unordered-hello")

        try:
            await asyncio.wait_for(sequence(), 30)
        except asyncio.TimeoutError:
            raise RuntimeError("timeout after 30 s: the channel sequence") from None

        step = "5: DELETE"
        async with http.delete(location) as r:
            location = None
            if r.status != 200:
                raise RuntimeError(f"DELETE: HTTP {r.status} (expected 200)")
        await pc.close()
        result = {
            "ok": True,
            "messages": COUNT,
            "max_size": max_sent,
            "seconds": round(time.monotonic() - t0, 3),
            "remote_max_message_size": mms_value,
            "offer_candidates": candidate_types,
        }
        if cap < MAX:
            result["capped"] = f"sizes capped at the remote a=max-message-size {cap}"
        return result
    except Exception as e:  # noqa: BLE001 - every failure becomes the JSON result
        log(f"client failed at step {step}: {e!r}")
        if location:
            try:
                async with http.delete(location, timeout=ClientTimeout(total=2)):
                    pass
            except Exception:  # noqa: BLE001
                pass
        if pc is not None:
            try:
                await asyncio.wait_for(pc.close(), 2)
            except Exception:  # noqa: BLE001
                pass
        return {
            "ok": False,
            "error": f"step {step}: {e}",
            "seconds": round(time.monotonic() - t0, 3),
        }
    finally:
        await http.close()


CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link",
}


def run_server(args):
    sessions = {}
    counter = [0]
    config = rtc_config(args)

    def echo_on(ch):
        @ch.on("message")
        def on_message(m):
            try:
                ch.send(m)
            except Exception as e:  # noqa: BLE001
                log(f"echo on {ch.label} failed: {e!r}")

        @ch.on("open")
        def on_open():
            log(f"channel {ch.label} open")

    async def post(request):
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/sdp":
            return web.Response(status=415, text="Content-Type must be application/sdp", headers=CORS)
        offer = await request.text()
        pc = RTCPeerConnection(config)
        neg = pc.createDataChannel("negotiated", negotiated=True, id=7)
        echo_on(neg)
        pc.on("datachannel", echo_on)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            # Returns once gathering is complete: the answer carries every candidate.
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:  # noqa: BLE001
            log(f"cannot answer: {e!r}")
            await pc.close()
            return web.Response(status=400, text=f"cannot answer the offer: {e}", headers=CORS)
        counter[0] += 1
        sid = str(counter[0])
        sessions[sid] = pc
        log(f"session {sid} created")
        return web.Response(
            status=201,
            text=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={**CORS, "Location": f"/whip/{sid}", "ETag": f'"{sid}"'},
        )

    async def delete(request):
        pc = sessions.pop(request.match_info["id"], None)
        if pc is None:
            return web.Response(status=404, headers=CORS)
        await pc.close()
        log(f"session {request.match_info['id']} deleted")
        return web.Response(status=200, headers=CORS)

    async def options(_request):
        return web.Response(status=204, headers=CORS)

    async def patch(_request):
        return web.Response(status=405, headers={**CORS, "Allow": "DELETE, OPTIONS"})

    app = web.Application(client_max_size=1 << 20)
    app.add_routes(
        [
            web.post("/whip", post),
            web.options("/whip", options),
            web.delete("/whip/{id}", delete),
            web.patch("/whip/{id}", patch),
            web.options("/whip/{id}", options),
        ]
    )
    # run_app calls `print` once the socket is bound (on_startup would run before the bind,
    # and the harness's first request could then be refused).
    def listening(_banner):
        print(f"listening on http://127.0.0.1:{args.port}/whip", flush=True)

    web.run_app(app, host="127.0.0.1", port=args.port, print=listening, access_log=None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=["client", "server"])
    p.add_argument("url", nargs="?")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--turn")
    p.add_argument("--turn-user")
    p.add_argument("--turn-pass")
    p.add_argument("--relay", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.relay and not args.turn:
        p.error("--relay needs --turn")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    if args.role == "client":
        if not args.url:
            p.error("client needs a URL")
        result = asyncio.run(run_client(args))
        print(json.dumps(result), flush=True)
        sys.exit(0 if result["ok"] else 1)
    else:
        run_server(args)


if __name__ == "__main__":
    main()
