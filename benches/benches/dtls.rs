//! DTLS: certificate generation and handshake cost, ferrtc-dtls (OpenSSL) beside webrtc-rs's
//! `dtls` 0.17 (pure Rust, async).
//!
//! Same work on both sides: an ECDSA P-256 self-signed certificate; a DTLS 1.2 handshake with
//! mutual certificate authentication, the peer certificate checked against a sha-256
//! fingerprint, use_srtp (AEAD_AES_128_GCM preferred, AES128_CM_SHA1_80; each side asserts that
//! AEAD_AES_128_GCM was negotiated), a HelloVerifyRequest cookie exchange (webrtc-rs's server
//! always does one; ferrtc's server with `Config::cookie_exchange`), and the SRTP keying
//! material exported on both sides. Certificates are made once, outside the timing.
//!
//! Everything is thread CPU time (CLOCK_THREAD_CPUTIME_ID), so the time the shared machine
//! spends on other processes does not count. Per side: ferrtc is sans-IO, so the CPU time
//! inside one side's calls is summed; webrtc-rs runs each side on its own thread with its own
//! current-thread tokio runtime over its in-memory pipe, and that thread's CPU time from
//! `DTLSConn::new` to having the SRTP keys is measured (its runtime work is part of its cost).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ferrtc_dtls::{
    Certificate, Config, Dtls, DtlsContext, Event, Fingerprint, HashAlgorithm, KeyType, Role,
    SrtpProfile,
};
use webrtc_dtls::config::{ClientAuthType, Config as WConfig};
use webrtc_dtls::conn::DTLSConn;
use webrtc_dtls::crypto::Certificate as WCertificate;
use webrtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use webrtc_util::conn::conn_pipe::pipe;
use webrtc_util::KeyingMaterialExporter;

// ---------------------------------------------------------------- ferrtc

struct Ferrtc {
    client: DtlsContext,
    server: DtlsContext,
    client_fp: Fingerprint,
    server_fp: Fingerprint,
}

fn ferrtc_setup() -> Ferrtc {
    let (c, s) = (
        Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
    );
    // What webrtc-rs 0.17 offers and accepts, in its order.
    let profiles = vec![SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80];
    Ferrtc {
        client_fp: c.fingerprint().unwrap(),
        server_fp: s.fingerprint().unwrap(),
        client: DtlsContext::new(Config {
            srtp_profiles: profiles.clone(),
            ..Config::new(c)
        })
        .unwrap(),
        // webrtc-rs's server always answers the first ClientHello with a HelloVerifyRequest.
        server: DtlsContext::new(Config {
            srtp_profiles: profiles,
            cookie_exchange: true,
            ..Config::new(s)
        })
        .unwrap(),
    }
}

/// One in-memory handshake; returns the thread CPU time spent in the client's and in the
/// server's calls.
fn ferrtc_handshake(f: &Ferrtc) -> (Duration, Duration) {
    let now = Instant::now();
    let (mut tc, mut ts) = (Duration::ZERO, Duration::ZERO);
    let t = thread_cpu();
    let mut client = Dtls::new(&f.client, Role::Client, Some(f.server_fp.clone()), now).unwrap();
    tc += thread_cpu() - t;
    let t = thread_cpu();
    let mut server = Dtls::new(&f.server, Role::Server, Some(f.client_fp.clone()), now).unwrap();
    ts += thread_cpu() - t;
    let mut keys = [None, None];
    let mut flights = 0;
    for _ in 0..10 {
        let t = thread_cpu();
        let out: Vec<_> = std::iter::from_fn(|| client.poll_transmit()).collect();
        tc += thread_cpu() - t;
        if !out.is_empty() {
            flights += 1;
        }
        let t = thread_cpu();
        for d in out {
            server.handle_receive(now, d).unwrap();
        }
        let out: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
        while let Some(ev) = server.poll_event() {
            if let Event::Connected { srtp, .. } = ev {
                keys[1] = srtp;
            }
        }
        ts += thread_cpu() - t;
        let t = thread_cpu();
        for d in out {
            client.handle_receive(now, d).unwrap();
        }
        while let Some(ev) = client.poll_event() {
            if let Event::Connected { srtp, .. } = ev {
                keys[0] = srtp;
            }
        }
        tc += thread_cpu() - t;
        if keys[0].is_some() && keys[1].is_some() {
            break;
        }
    }
    // Three client flights: ClientHello, ClientHello with the cookie, Finished flight.
    assert_eq!(flights, 3, "cookie exchange happened");
    assert!(keys[0].is_some() && keys[0] == keys[1]);
    for k in keys.iter().flatten() {
        assert_eq!(k.profile, SrtpProfile::AeadAes128Gcm);
    }
    black_box(keys);
    (tc, ts)
}

// ---------------------------------------------------------------- webrtc-rs 0.17

fn sha256(der: &[u8]) -> Vec<u8> {
    Fingerprint::of_der(HashAlgorithm::Sha256, der)
        .unwrap()
        .value
}

fn webrtc_config(cert: &WCertificate, peer: &WCertificate) -> WConfig {
    let expected = sha256(&peer.certificate[0]);
    WConfig {
        certificates: vec![cert.clone()],
        insecure_skip_verify: true,
        client_auth: ClientAuthType::RequireAnyClientCert,
        srtp_protection_profiles: vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ],
        verify_peer_certificate: Some(Arc::new(move |certs: &[Vec<u8>], _| match certs.first() {
            Some(c) if sha256(c) == expected => Ok(()),
            _ => Err(webrtc_dtls::Error::Other("fingerprint mismatch".into())),
        })),
        ..Default::default()
    }
}

struct Webrtc {
    client: WConfig,
    server: WConfig,
}

fn webrtc_setup() -> Webrtc {
    let c = WCertificate::generate_self_signed(vec!["WebRTC".to_owned()]).unwrap();
    let s = WCertificate::generate_self_signed(vec!["WebRTC".to_owned()]).unwrap();
    Webrtc {
        client: webrtc_config(&c, &s),
        server: webrtc_config(&s, &c),
    }
}

async fn webrtc_side(
    conn: Arc<dyn webrtc_util::Conn + Send + Sync>,
    cfg: WConfig,
    client: bool,
) -> Vec<u8> {
    let c = DTLSConn::new(conn, cfg, client, None).await.unwrap();
    assert_eq!(
        c.selected_srtpprotection_profile(),
        SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm
    );
    let keys = c
        .connection_state()
        .await
        .export_keying_material("EXTRACTOR-dtls_srtp", &[], 56)
        .await
        .unwrap();
    black_box(&keys);
    keys
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Both sides on one current-thread runtime.
fn webrtc_handshake(rt: &tokio::runtime::Runtime, w: &Webrtc) {
    rt.block_on(async {
        let (a, b) = pipe();
        let (a, b): (
            Arc<dyn webrtc_util::Conn + Send + Sync>,
            Arc<dyn webrtc_util::Conn + Send + Sync>,
        ) = (Arc::new(a), Arc::new(b));
        let server = tokio::spawn(webrtc_side(b, w.server.clone(), false));
        let kc = webrtc_side(a, w.client.clone(), true).await;
        let ks = server.await.unwrap();
        assert_eq!(kc, ks);
    });
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID: precise, unlike schedstat).
fn thread_cpu() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

/// Each side on its own thread and runtime; returns each side's thread CPU time.
fn webrtc_handshake_per_side(w: &Webrtc) -> (Duration, Duration) {
    let (a, b) = pipe();
    let done = Arc::new(Barrier::new(2));
    let side = |conn: Arc<dyn webrtc_util::Conn + Send + Sync>, cfg: WConfig, client: bool| {
        let done = done.clone();
        std::thread::spawn(move || {
            let rt = runtime();
            let t0 = thread_cpu();
            rt.block_on(webrtc_side(conn, cfg, client));
            let spent = thread_cpu() - t0;
            done.wait(); // keep the runtime (and the peer's final flight) alive until both finish
            spent
        })
    };
    let s = side(Arc::new(b), w.server.clone(), false);
    let c = side(Arc::new(a), w.client.clone(), true);
    (c.join().unwrap(), s.join().unwrap())
}

// ---------------------------------------------------------------- benches

/// Thread CPU time of `iters` runs of `f`.
fn cpu_of(iters: u64, mut f: impl FnMut()) -> Duration {
    let t0 = thread_cpu();
    for _ in 0..iters {
        f();
    }
    thread_cpu() - t0
}

/// A fresh P-256 key and a self-signed certificate, ready for a handshake, and dropped. ferrtc:
/// OpenSSL key generation, `X509` fields, `X509_sign` (ECDSA with SHA-256); the fingerprint is
/// computed later, on first use. webrtc-rs 0.17: rcgen's `generate_simple_self_signed` (key,
/// certificate with a subject alternative name, signature) and the PKCS#8 key parsed into its
/// signing key (`CryptoPrivateKey::try_from`); no fingerprint either.
fn certificate(c: &mut Criterion) {
    let mut g = c.benchmark_group("dtls/certificate ECDSA P-256 (CPU)");
    g.sample_size(50);
    g.bench_function("ferrtc", |b| {
        b.iter_custom(|n| {
            cpu_of(n, || {
                drop(black_box(
                    Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now())
                        .unwrap(),
                ))
            })
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter_custom(|n| {
            cpu_of(n, || {
                drop(black_box(
                    WCertificate::generate_self_signed(vec!["WebRTC".to_owned()]).unwrap(),
                ))
            })
        })
    });
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let f = ferrtc_setup();
    let w = webrtc_setup();
    let rt = runtime();
    // Thread CPU time, not wall time: on a shared machine the wall time mostly measures the
    // other processes.
    let mut g = c.benchmark_group("dtls/handshake CPU both sides, one thread");
    g.sample_size(20);
    g.bench_function("ferrtc", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                black_box(ferrtc_handshake(&f));
            }
            thread_cpu() - t0
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                webrtc_handshake(&rt, &w);
            }
            thread_cpu() - t0
        })
    });
    g.finish();

    for (name, pick) in [("client", 0usize), ("server", 1)] {
        let mut g = c.benchmark_group(format!("dtls/handshake CPU {name} side"));
        g.sample_size(20);
        g.bench_function("ferrtc", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (tc, ts) = ferrtc_handshake(&f);
                        [tc, ts][pick]
                    })
                    .sum()
            })
        });
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (tc, ts) = webrtc_handshake_per_side(&w);
                        [tc, ts][pick]
                    })
                    .sum()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, certificate, handshake);
criterion_main!(benches);
