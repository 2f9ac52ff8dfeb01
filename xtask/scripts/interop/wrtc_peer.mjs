// WHIP test peer on @roamhq/wrtc (Google's libwebrtc built for Node).
//   node wrtc_peer.mjs client URL [--relay --turn URL --turn-user U --turn-pass P]
//   node wrtc_peer.mjs server --port N [--turn URL --turn-user U --turn-pass P] [--relay]
// The protocol is in README.md beside this file.
import { finish, log, parseArgs, requireFromInterop, rtcConfig, startWhipServer, whipClientTest, whipServerSession } from "./peer_common.mjs";

const wrtc = requireFromInterop("@roamhq/wrtc");
const args = parseArgs(process.argv.slice(2));
const config = rtcConfig(args);

if (args.role === "client") {
  const result = await whipClientTest({
    RTCPeerConnection: wrtc.RTCPeerConnection,
    config,
    url: args.url,
    fetch,
    toSendable: (u8) => u8,
    log,
  });
  finish(result);
} else {
  startWhipServer({
    port: args.port,
    answer: (offerSdp) => whipServerSession({ RTCPeerConnection: wrtc.RTCPeerConnection, config, offerSdp, log }),
  });
}
