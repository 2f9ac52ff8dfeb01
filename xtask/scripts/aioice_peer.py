#!/usr/bin/env python3
"""An aioice (aiortc's ICE) peer with line-based signalling on stdin/stdout, the same protocol
as ferrtc's `ice_udp_peer` example, so `cargo xtask ice-aioice` can connect the two.

usage: aioice_peer.py controlling|controlled [--timeout SECS]
out:   creds <ufrag> <pwd> | cand candidate:... | eoc | connected <ms> | recv <text> | done
in:    creds <ufrag> <pwd> | cand candidate:... | eoc

Once connected it sends `hello from aioice`, answers `hello...` with `echo:hello...`, and exits 0
when its own hello came back echoed and it has answered the peer's hello.
"""
import asyncio
import sys
import time

import aioice
import aioice.ice

# aioice leaves loopback out of its host candidates; the test runs on 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main():
    controlling = sys.argv[1] == "controlling"
    timeout = 20.0
    if "--timeout" in sys.argv:
        timeout = float(sys.argv[sys.argv.index("--timeout") + 1])
    conn = aioice.Connection(ice_controlling=controlling, components=1, use_ipv6=False)
    await conn.gather_candidates()
    out(f"creds {conn.local_username} {conn.local_password}")
    for c in conn.local_candidates:
        out("cand candidate:" + c.to_sdp())
    out("eoc")

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        raw = await asyncio.wait_for(reader.readline(), timeout)
        if not raw:
            raise SystemExit("signalling closed before end-of-candidates")
        line = raw.decode().strip()
        if line.startswith("creds "):
            _, conn.remote_username, conn.remote_password = line.split(" ")
        elif line.startswith("cand "):
            sdp = line[len("cand "):]
            if sdp.startswith("candidate:"):
                sdp = sdp[len("candidate:"):]
            await conn.add_remote_candidate(aioice.Candidate.from_sdp(sdp))
        elif line == "eoc":
            await conn.add_remote_candidate(None)
            break

    t0 = time.monotonic()
    await asyncio.wait_for(conn.connect(), timeout)
    out(f"connected {(time.monotonic() - t0) * 1000:.3f}")
    await conn.send(b"hello from aioice")
    echoed = answered = False
    while not (echoed and answered):
        data, _component = await asyncio.wait_for(conn.recvfrom(), timeout)
        text = data.decode(errors="replace")
        out(f"recv {text}")
        if text.startswith("hello"):
            await conn.send(("echo:" + text).encode())
            answered = True
        elif text == "echo:hello from aioice":
            echoed = True
    await asyncio.sleep(0.5)
    await conn.close()
    out("done")


if __name__ == "__main__":
    asyncio.run(main())
