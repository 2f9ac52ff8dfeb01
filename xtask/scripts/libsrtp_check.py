#!/usr/bin/env python3
"""Byte-for-byte cross-check of ferrtc-srtp against libsrtp (through pylibsrtp).

usage: libsrtp_check.py PATH/TO/srtp_tool [packets-per-stream] [--selfcheck-wrong-key]

For every profile pylibsrtp exposes, random RTP packets (random CSRCs, header
extensions, payload sizes) of two SSRCs, one of which crosses the 65535->0 sequence
wrap so ROC becomes 1, and random RTCP packets, are protected by both libsrtp and
ferrtc (outputs compared byte for byte), then each side unprotects the other's
output and must get the original packet back. Tampered packets must be rejected by
both (ferrtc rejects tampered libsrtp packets, libsrtp rejects tampered ferrtc packets), and
ferrtc rejects replays. NULL_HMAC_SHA1_32 and the AES-256-CM profiles cannot be configured
through pylibsrtp: they are checked against the RFC 6188 vectors in crates/srtp/tests only.
Exits non-zero on any mismatch. --selfcheck-wrong-key (used by `cargo xtask conformance
--self-check`) gives ferrtc the master key with one bit flipped: every profile must then
report mismatches.
"""
import os
import random
import subprocess
import sys

import pylibsrtp
from pylibsrtp import Policy, Session

# ferrtc profile name -> (pylibsrtp profile, key length, salt length)
PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    "AES_CM_128_HMAC_SHA1_32": (Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
    "AEAD_AES_128_GCM": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    "AEAD_AES_256_GCM": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    # Not a named constant in pylibsrtp, but libsrtp's srtp_profile_null_sha1_80 (= 5,
    # the RFC 5764 id) is accepted by srtp_crypto_policy_set_from_profile_for_rtp.
    "NULL_HMAC_SHA1_80": (5, 16, 14),
}
# Profiles ferrtc has that libsrtp cannot be configured for through pylibsrtp:
# libsrtp answers "unsupported parameter" for srtp_profile_null_sha1_32, and its
# profile enum has no AES-256-CM entry (pylibsrtp exposes no other way to set a policy).
NOT_IN_PYLIBSRTP = ["NULL_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32"]


class Tool:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def op(self, op, data):
        r = self.cmd(f"{op} {data.hex()}")
        if r.startswith("ERR"):
            return None, r
        return bytes.fromhex(r), None

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def rtp_packet(rng, ssrc, seq):
    cc = rng.choice([0, 0, 0, 1, 2, 15])
    ext = rng.random() < 0.4
    b0 = 0x80 | cc | (0x10 if ext else 0)
    b1 = (rng.random() < 0.1) << 7 | rng.choice([96, 111, 100, 0])
    ts = rng.getrandbits(32)
    p = bytes([b0, b1]) + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
    p += os.urandom(4 * cc)
    if ext:
        words = rng.randint(0, 4)
        p += bytes([0xBE, 0xDE]) + words.to_bytes(2, "big") + os.urandom(4 * words)
    return p + os.urandom(rng.choice([0, 1, 13, 160, rng.randint(0, 1200), 1200]))


def rtcp_packet(rng, ssrc):
    words = rng.randint(1, 60)
    body = os.urandom(4 * words)
    return bytes([0x80 | rng.randint(0, 3), rng.choice([200, 201, 202, 205, 206])]) + (words + 1).to_bytes(2, "big") + ssrc.to_bytes(4, "big") + body


def session(profile, key, direction):
    pol = Policy(key=key, ssrc_type=direction, srtp_profile=profile)
    pol.window_size = 1024
    return Session(policy=pol)


def check_profile(tool_path, name, n, rng, wrong_key=False):
    profile, klen, slen = PROFILES[name]
    key, salt = os.urandom(klen), os.urandom(slen)
    tool = Tool(tool_path)
    tool_key = bytes([key[0] ^ 1]) + key[1:] if wrong_key else key
    assert tool.cmd(f"init {name} {tool_key.hex()} {salt.hex()}") == "OK"
    lib_tx = session(profile, key + salt, Policy.SSRC_ANY_OUTBOUND)
    lib_rx = session(profile, key + salt, Policy.SSRC_ANY_INBOUND)
    # ferrtc's receiving context sees libsrtp's packets and vice versa; each stream's
    # packets are protected once and the same bytes must come out of both.
    errors = []
    counts = {"rtp": 0, "rtcp": 0, "tamper": 0, "lib_tamper": 0}
    streams = {0x11223344: 65535 - n // 2, rng.getrandbits(32): rng.randint(0, 65535 - n)}
    max_roc = 0
    for ssrc, start in streams.items():
        for i in range(n):
            seq = (start + i) & 0xFFFF
            if seq == 0 and i:
                max_roc += 1
            pkt = rtp_packet(rng, ssrc, seq)
            ours, err = tool.op("protect_rtp", pkt)
            theirs = lib_tx.protect(pkt)
            if err or ours != theirs:
                errors.append(f"{name} RTP protect ssrc={ssrc:#x} seq={seq}: ferrtc {err or ours.hex()} != libsrtp {theirs.hex()}")
                continue
            if i % 7 == 3:
                # libsrtp rejects a tampered copy of ferrtc's packet (before the genuine one
                # arrives, so it is the authentication check that refuses it, not replay)
                t = bytearray(ours)
                t[rng.randrange(len(t))] ^= 1 << rng.randrange(8)
                try:
                    lib_rx.unprotect(bytes(t))
                    errors.append(f"{name} libsrtp accepted a tampered ferrtc RTP packet seq={seq}")
                except pylibsrtp.Error:
                    pass
                counts["lib_tamper"] += 1
            # libsrtp unprotects ferrtc's packet
            back_lib = lib_rx.unprotect(ours)
            if back_lib != pkt:
                errors.append(f"{name} RTP libsrtp unprotect of ferrtc packet seq={seq} differs")
            if i % 7 == 0:
                # a tampered copy (one bit flipped anywhere) is rejected, and the genuine
                # packet is still accepted afterwards
                t = bytearray(theirs)
                t[rng.randrange(len(t))] ^= 1 << rng.randrange(8)
                r, err = tool.op("unprotect_rtp", bytes(t))
                if r is not None:
                    errors.append(f"{name} ferrtc accepted a tampered RTP packet seq={seq}")
                counts["tamper"] += 1
            # ferrtc unprotects libsrtp's packet
            back_ours, err = tool.op("unprotect_rtp", theirs)
            if back_ours != pkt:
                errors.append(f"{name} RTP ferrtc unprotect of libsrtp packet seq={seq}: {err}")
            counts["rtp"] += 1
            # and rejects it when replayed
            r, err = tool.op("unprotect_rtp", theirs)
            if r is not None or "replay" not in (err or ""):
                errors.append(f"{name} RTP replay of seq={seq} not rejected as replay: {err}")
            if i % 5 == 0:
                rtcp = rtcp_packet(rng, ssrc)
                ours, err = tool.op("protect_rtcp", rtcp)
                theirs = lib_tx.protect_rtcp(rtcp)
                if err or ours != theirs:
                    errors.append(f"{name} RTCP protect ssrc={ssrc:#x}: ferrtc {err or ours.hex()} != libsrtp {theirs.hex()}")
                    continue
                if lib_rx.unprotect_rtcp(ours) != rtcp:
                    errors.append(f"{name} RTCP libsrtp unprotect of ferrtc packet differs")
                back, err = tool.op("unprotect_rtcp", theirs)
                if back != rtcp:
                    errors.append(f"{name} RTCP ferrtc unprotect of libsrtp packet: {err}")
                counts["rtcp"] += 1
    tool.close()
    if max_roc < 1:
        errors.append(f"{name}: the sequence never wrapped")
    print(f"{name:26} RTP {counts['rtp']:5} SRTCP {counts['rtcp']:4} tampered {counts['tamper']:4}+{counts['lib_tamper']:4} max ROC {max_roc}  "
          + ("OK" if not errors else f"{len(errors)} MISMATCHES"))
    return errors


def main():
    wrong_key = "--selfcheck-wrong-key" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--selfcheck-wrong-key"]
    tool = args[0]
    n = int(args[1]) if len(args) > 1 else 2000
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    print(f"pylibsrtp {getattr(pylibsrtp, '__version__', '?')}, {n} RTP packets per stream, 2 streams per profile")
    all_errors = []
    for name in PROFILES:
        all_errors += check_profile(tool, name, n, rng, wrong_key)
    for name in NOT_IN_PYLIBSRTP:
        print(f"{name:26} not checked: pylibsrtp does not expose this profile")
    for e in all_errors[:20]:
        print("  " + e)
    sys.exit(1 if all_errors else 0)


if __name__ == "__main__":
    main()
