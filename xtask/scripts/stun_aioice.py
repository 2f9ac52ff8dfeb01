"""STUN interop between aioice's codec and the ferrtc-stun examples (used by `cargo xtask coturn`).

    stun_aioice.py client HOST PORT USERNAME PASSWORD
        Sends a Binding request built by aioice (USERNAME, MESSAGE-INTEGRITY, FINGERPRINT),
        checks the response's FINGERPRINT and MESSAGE-INTEGRITY with aioice, prints
        "mapped HOST:PORT".
    stun_aioice.py server PASSWORD
        Prints "listening PORT", answers one Binding request after checking its
        MESSAGE-INTEGRITY with aioice, signs the response, exits.
"""
import socket
import sys

from aioice import stun


def client(host, port, username, password):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    req = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    req.attributes["USERNAME"] = username
    req.attributes["SOFTWARE"] = "aioice"
    req.add_message_integrity(password.encode())
    for _ in range(3):
        sock.sendto(bytes(req), (host, int(port)))
        try:
            data, _ = sock.recvfrom(2048)
            break
        except socket.timeout:
            continue
    else:
        sys.exit("no response")
    resp = stun.parse_message(data)  # checks FINGERPRINT
    if resp.transaction_id != req.transaction_id:
        sys.exit("transaction id mismatch")
    if resp.message_class == stun.Class.ERROR:
        sys.exit(f"error response {resp.attributes.get('ERROR-CODE')}")
    if resp.message_class != stun.Class.RESPONSE:
        sys.exit(f"not a success response: {resp}")
    if not resp.check_message_integrity(password.encode()):
        sys.exit("response MESSAGE-INTEGRITY does not verify")
    addr = resp.attributes["XOR-MAPPED-ADDRESS"]
    print(f"mapped {addr[0]}:{addr[1]}", flush=True)


def server(password):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(20)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    data, addr = sock.recvfrom(2048)
    req = stun.parse_message(data)  # checks FINGERPRINT
    ok = req.check_message_integrity(password.encode())
    cls = stun.Class.RESPONSE if ok else stun.Class.ERROR
    resp = stun.Message(
        message_method=stun.Method.BINDING, message_class=cls, transaction_id=req.transaction_id
    )
    if ok:
        resp.attributes["XOR-MAPPED-ADDRESS"] = addr
    else:
        resp.attributes["ERROR-CODE"] = (401, "Unauthorized")
    resp.add_message_integrity(password.encode())
    sock.sendto(bytes(resp), addr)
    print("request integrity ok" if ok else "request integrity FAILED", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(*sys.argv[2:6])
    else:
        server(sys.argv[2])
