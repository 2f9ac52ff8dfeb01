// Shared by the Node media peers of `cargo xtask interop-media-node` (wrtc_media.mjs,
// werift_media.mjs): their option reader, the RESULT line, and the WHIP / WHEP client step
// (offer, POST, answer, connected) that both run against ferrtc's save-to-disk and
// play-from-disk examples.
import { log } from "./peer_common.mjs";

/// The value after `name` in `argv`, or `dflt`.
export function opt(argv, name, dflt) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Prints the one `RESULT {json}` line the xtask reads and exits (0 only when ok).
export function done(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

/// Creates the offer, waits for ICE gathering, POSTs it (WHIP / WHEP: `application/sdp`,
/// 201 Created with a Location), applies the answer and waits until connected (the
/// connection state, or the ICE connection state of a stack without one). Returns the
/// session URL (Location), which the caller DELETEs at the end.
export async function connect(pc, url) {
  await pc.setLocalDescription(await pc.createOffer());
  const t0 = Date.now();
  while (pc.iceGatheringState !== "complete") {
    if (Date.now() - t0 > 15000) throw new Error("ICE gathering did not complete");
    await sleep(20);
  }
  log(`offer:\n${pc.localDescription.sdp}`);
  const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  const answer = await resp.text();
  if (resp.status !== 201) throw new Error(`POST ${url}: HTTP ${resp.status}: ${answer.slice(0, 200)}`);
  const location = new URL(resp.headers.get("location"), url).href;
  log(`answer (${location}):\n${answer}`);
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const t1 = Date.now();
  const state = () => pc.connectionState || pc.iceConnectionState;
  while (!["connected", "completed"].includes(state())) {
    if (Date.now() - t1 > 15000 || state() === "failed") throw new Error(`not connected: ${state()}`);
    await sleep(20);
  }
  log(`connected after ${(Date.now() - t0) / 1000} s`);
  return location;
}
