// WHIP test peer on werift (WebRTC in TypeScript).
//   node werift_peer.mjs client URL [--relay --turn URL --turn-user U --turn-pass P]
//   node werift_peer.mjs server --port N [--turn URL --turn-user U --turn-pass P] [--relay]
// The protocol is in README.md beside this file.
import { finish, log, parseArgs, requireFromInterop, rtcConfig, startWhipServer, whipClientTest, whipServerSession } from "./peer_common.mjs";

const werift = requireFromInterop("werift");
const args = parseArgs(process.argv.slice(2));

// werift skips loopback interfaces and defaults to a public STUN server: give it 127.0.0.1
// explicitly and no ICE servers (PEERS.md). Its default a=max-message-size is 65536; the
// test protocol sends up to 256 KiB, so advertise 262144 like the browsers do.
const base = rtcConfig(args);
const config = {
  iceServers: base.iceServers,
  iceTransportPolicy: base.iceTransportPolicy,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceInterfaceAddresses: { udp4: "127.0.0.1" },
  iceUseIpv6: false,
  maxMessageSize: 262144,
};

if (args.role === "client") {
  const result = await whipClientTest({
    RTCPeerConnection: werift.RTCPeerConnection,
    config,
    url: args.url,
    fetch,
    toSendable: (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength),
    log,
  });
  finish(result);
} else {
  startWhipServer({
    port: args.port,
    answer: (offerSdp) => whipServerSession({ RTCPeerConnection: werift.RTCPeerConnection, config, offerSdp, log }),
  });
}
