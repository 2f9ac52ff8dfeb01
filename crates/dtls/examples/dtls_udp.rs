//! Drives one ferrtc DTLS association over a real UDP socket (used by `cargo xtask dtls-openssl`
//! against `openssl s_server` / `s_client`, and handy for manual interop).
//!
//! ```text
//! dtls_udp client <host:port> --expect "sha-256 AB:.." [--profiles P1:P2] [--rsa]
//! dtls_udp server [--bind 127.0.0.1:0] --expect "sha-256 AB:.." [--profiles ..] [--rsa]
//! ```
//! Prints `LISTENING <port>` (server), then `CONNECTED <cipher>`, `PROFILE <name>`,
//! `KEYING_MATERIAL <hex>` (the 60/56/88 exported bytes in RFC 5764 order), sends
//! `hello from ferrtc`, prints `RECV <text>` for what the peer sends, and exits after the first
//! message (or with an error after 10 s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{
    Certificate, Config, Dtls, DtlsContext, Event, Fingerprint, KeyType, Role, SrtpProfile,
};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn profile(name: &str) -> SrtpProfile {
    [
        SrtpProfile::Aes128CmSha1_80,
        SrtpProfile::Aes128CmSha1_32,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
    ]
    .into_iter()
    .find(|p| p.openssl_name() == name)
    .unwrap_or_else(|| panic!("unknown SRTP profile {name}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().unwrap_or_default();
    let expect: Fingerprint = arg(&args, "--expect")
        .expect("--expect \"sha-256 AB:..\"")
        .parse()
        .unwrap();
    let kt = if args.iter().any(|a| a == "--rsa") {
        KeyType::Rsa2048
    } else {
        KeyType::EcdsaP256
    };
    let mut config = Config::new(Certificate::generate(kt, std::time::SystemTime::now()).unwrap());
    if let Some(p) = arg(&args, "--profiles") {
        config.srtp_profiles = p.split(':').map(profile).collect();
    }
    let ctx = DtlsContext::new(config).unwrap();
    let out = std::io::stdout();
    let say = |line: String| {
        let mut o = out.lock();
        writeln!(o, "{line}").unwrap();
        o.flush().unwrap();
    };

    let (socket, mut peer, role) = match mode.as_str() {
        "client" => {
            let peer: SocketAddr = args.get(1).expect("client <host:port>").parse().unwrap();
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            (s, Some(peer), Role::Client)
        }
        "server" => {
            let bind = arg(&args, "--bind").unwrap_or_else(|| "127.0.0.1:0".into());
            let s = UdpSocket::bind(bind).unwrap();
            say(format!("LISTENING {}", s.local_addr().unwrap().port()));
            (s, None, Role::Server)
        }
        _ => panic!("usage: dtls_udp client <host:port> | server, --expect FINGERPRINT"),
    };
    let start = Instant::now();
    let mut dtls = Dtls::new(&ctx, role, Some(expect), start).unwrap();
    let mut buf = vec![0u8; 65_536];
    let mut received = 0;
    loop {
        let now = Instant::now();
        if now - start > Duration::from_secs(10) {
            eprintln!("dtls_udp: gave up after 10 s ({:?})", dtls.state());
            std::process::exit(2);
        }
        if let Some(p) = peer {
            while let Some(d) = dtls.poll_transmit() {
                socket.send_to(&d, p).unwrap();
            }
        }
        while let Some(ev) = dtls.poll_event() {
            match ev {
                Event::Connected { cipher, srtp, .. } => {
                    say(format!("CONNECTED {cipher}"));
                    if let Some(k) = srtp {
                        say(format!("PROFILE {}", k.profile));
                        say(format!("KEYING_MATERIAL {}", hex(&k.to_bytes())));
                    }
                    dtls.send(b"hello from ferrtc\n").unwrap();
                }
                Event::ApplicationData(d) => {
                    say(format!("RECV {}", String::from_utf8_lossy(&d).trim_end()));
                    received += 1;
                }
                Event::Alert(a) => say(format!("ALERT {a}")),
                Event::Closed => say("CLOSED".into()),
            }
        }
        if received > 0 {
            dtls.close();
            if let Some(p) = peer {
                while let Some(d) = dtls.poll_transmit() {
                    socket.send_to(&d, p).unwrap();
                }
            }
            return;
        }
        let wait = dtls
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                peer.get_or_insert(from);
                if let Err(e) =
                    dtls.handle_receive(Instant::now(), Bytes::copy_from_slice(&buf[..n]))
                {
                    eprintln!("dtls_udp: {e}");
                    if let Some(p) = peer {
                        while let Some(d) = dtls.poll_transmit() {
                            socket.send_to(&d, p).unwrap();
                        }
                    }
                    std::process::exit(1);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("recv: {e}"),
        }
        if dtls.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            if let Err(e) = dtls.handle_timeout(Instant::now()) {
                eprintln!("dtls_udp: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
