//! Certificates and their SDP fingerprints (RFC 8122 §5, RFC 8842).
//!
//! WebRTC does not use certificate authorities: each side presents a self-signed certificate
//! and the other side pins it by the `a=fingerprint` hash from the SDP.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Name, X509NameBuilder, X509Ref, X509};

use crate::error::{Error, Result};

/// Hash function of a fingerprint (the RFC 4572 / 8122 "hash-func" token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// `sha-1` (parsed for old peers; never generated).
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`: what every browser uses and what we generate.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl HashAlgorithm {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            HashAlgorithm::Sha1 => MessageDigest::sha1(),
            HashAlgorithm::Sha224 => MessageDigest::sha224(),
            HashAlgorithm::Sha256 => MessageDigest::sha256(),
            HashAlgorithm::Sha384 => MessageDigest::sha384(),
            HashAlgorithm::Sha512 => MessageDigest::sha512(),
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        // RFC 8122: hash names are case-insensitive.
        Ok(match s.to_ascii_lowercase().as_str() {
            "sha-1" => HashAlgorithm::Sha1,
            "sha-224" => HashAlgorithm::Sha224,
            "sha-256" => HashAlgorithm::Sha256,
            "sha-384" => HashAlgorithm::Sha384,
            "sha-512" => HashAlgorithm::Sha512,
            _ => {
                return Err(invalid(
                    s,
                    "unknown hash function (want sha-1/224/256/384/512)",
                ))
            }
        })
    }
}

fn invalid(input: &str, reason: &'static str) -> Error {
    Error::InvalidFingerprint {
        input: input.chars().take(120).collect(),
        reason,
    }
}

/// A certificate fingerprint: `sha-256 AB:CD:…` as in `a=fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Hash function.
    pub algorithm: HashAlgorithm,
    /// Digest bytes (`algorithm.output_len()` of them).
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// Hash of a DER certificate.
    pub fn of_der(algorithm: HashAlgorithm, der: &[u8]) -> Result<Self> {
        let value = openssl::hash::hash(algorithm.digest(), der)?.to_vec();
        Ok(Fingerprint { algorithm, value })
    }

    pub(crate) fn of_x509(algorithm: HashAlgorithm, cert: &X509Ref) -> Result<Self> {
        let value = cert.digest(algorithm.digest())?.to_vec();
        Ok(Fingerprint { algorithm, value })
    }

    /// Parses the `AB:CD:…` part for a known hash function (hex digits of either case).
    pub fn from_hex(algorithm: HashAlgorithm, hex: &str) -> Result<Self> {
        let hex = hex.trim();
        let mut value = Vec::with_capacity(algorithm.output_len());
        for pair in hex.split(':') {
            let b = pair.as_bytes();
            let [h, l] = b else {
                return Err(invalid(hex, "each byte must be two hex digits"));
            };
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(*h), digit(*l)) {
                (Some(h), Some(l)) => value.push(u8::try_from(h * 16 + l).unwrap_or(0)),
                _ => return Err(invalid(hex, "not a hex digit")),
            }
            if value.len() > algorithm.output_len() {
                return Err(invalid(hex, "longer than the hash function's output"));
            }
        }
        if value.len() != algorithm.output_len() {
            return Err(invalid(hex, "shorter than the hash function's output"));
        }
        Ok(Fingerprint { algorithm, value })
    }

    /// The `AB:CD:…` form (upper case, as browsers write it).
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(self.value.len() * 3);
        for (i, b) in self.value.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(&format!("{b:02X}"));
        }
        s
    }

    /// Whether `cert` hashes to this fingerprint (with this fingerprint's hash function).
    pub fn matches(&self, cert: &X509Ref) -> Result<bool> {
        Ok(Fingerprint::of_x509(self.algorithm, cert)?.value == self.value)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm.as_str(), self.hex())
    }
}

impl FromStr for Fingerprint {
    type Err = Error;
    /// Parses the value of `a=fingerprint:`, e.g. `sha-256 AB:CD:…`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (alg, hex) = s
            .split_once(' ')
            .ok_or_else(|| invalid(s, "want `<hash-func> <hex>`"))?;
        Fingerprint::from_hex(alg.parse()?, hex)
    }
}

/// Key type of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA P-256 (what browsers generate; works with clients offering only ECDSA suites).
    #[default]
    EcdsaP256,
    /// RSA 2048 (for peers that insist on RSA, e.g. some GStreamer builds).
    Rsa2048,
}

/// A certificate with its private key. Cheap to clone (reference counted in OpenSSL), and
/// meant to be reused across connections, as a browser's RTCCertificate is.
#[derive(Clone)]
pub struct Certificate {
    cert: X509,
    key: PKey<Private>,
    /// The sha-256 fingerprint, computed on first use and kept (it goes in every SDP and every
    /// stats report).
    sha256: OnceLock<Fingerprint>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field(
                "fingerprint",
                &self.fingerprint().map(|f| f.to_string()).ok(),
            )
            .finish_non_exhaustive()
    }
}

/// Default validity of generated certificates (what browsers use).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

fn asn1_time(t: SystemTime) -> Result<Asn1Time> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    Ok(Asn1Time::from_unix(secs)?)
}

/// A value OpenSSL builds once per process and every certificate reuses (OpenSSL 3 makes
/// these objects slowly: building the P-256 group took ~12 µs of the ~100 µs a certificate
/// cost, the `CN=WebRTC` name ~4 µs).
fn shared<T>(cell: &'static OnceLock<T>, make: impl FnOnce() -> Result<T>) -> Result<&'static T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = make()?;
    // A concurrent first call may have won the race: either value is as good.
    let _ = cell.set(v);
    cell.get()
        .ok_or_else(|| Error::Config("shared OpenSSL object unavailable".into()))
}

/// The P-256 curve.
fn p256() -> Result<&'static EcGroup> {
    static GROUP: OnceLock<EcGroup> = OnceLock::new();
    shared(&GROUP, || {
        Ok(EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?)
    })
}

/// `CN=WebRTC`, subject and issuer of every generated certificate (as browsers name theirs).
fn webrtc_name() -> Result<&'static X509Name> {
    static NAME: OnceLock<X509Name> = OnceLock::new();
    shared(&NAME, || {
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, "WebRTC")?;
        Ok(name.build())
    })
}

/// The sha-256 of a DER certificate, with aws-lc-rs (no OpenSSL digest fetch per call).
fn sha256_of(der: &[u8]) -> Fingerprint {
    Fingerprint {
        algorithm: HashAlgorithm::Sha256,
        value: aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
            .as_ref()
            .to_vec(),
    }
}

impl Certificate {
    /// A new self-signed certificate valid from a day before `now` for [`DEFAULT_VALIDITY`].
    ///
    /// The caller passes the wall-clock time (sans-IO: no clock below the facade); the key
    /// and the serial come from OpenSSL's CSPRNG, seeded by the operating system: key
    /// generation, not protocol state.
    pub fn generate(key_type: KeyType, now: SystemTime) -> Result<Self> {
        let from = now
            .checked_sub(Duration::from_secs(24 * 3600))
            .unwrap_or(now);
        Certificate::generate_with_validity(key_type, from, now + DEFAULT_VALIDITY)
    }

    /// A new self-signed certificate valid from `not_before` to `not_after`, with a random
    /// 63-bit serial number, subject and issuer `CN=WebRTC`.
    pub fn generate_with_validity(
        key_type: KeyType,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<Self> {
        // Key generation and signing in OpenSSL, on its built-in EC code with the shared group
        // (`ffi::keep_legacy_ec`): a provider key is no cheaper, `X509_PUBKEY_set` of one runs
        // OpenSSL 3.0's encoder chain (~250 µs). With aws-lc-rs key and signature cost ~37 µs,
        // but OpenSSL 3.0 then needs ~120 µs to parse the DER (`X509::from_der` runs its
        // provider decoder chain for the public key): slower per connection in total.
        let key = match key_type {
            KeyType::EcdsaP256 => {
                PKey::from_ec_key(crate::ffi::keep_legacy_ec(EcKey::generate(p256()?)?))?
            }
            KeyType::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
        };
        let name = webrtc_name()?;
        // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; 63 random bits. (A
        // 126-bit serial was tried: tests/hostile.rs then failed some runs on a loaded machine,
        // possibly OpenSSL's wall-clock retransmissions rather than the size; not settled.)
        let mut serial = BigNum::new()?;
        serial.rand(63, MsbOption::MAYBE_ZERO, false)?;
        let mut b = X509::builder()?;
        b.set_version(2)?;
        let serial = serial.to_asn1_integer()?;
        b.set_serial_number(&serial)?;
        b.set_subject_name(name)?;
        b.set_issuer_name(name)?;
        b.set_pubkey(&key)?;
        let (from, until) = (asn1_time(not_before)?, asn1_time(not_after)?);
        b.set_not_before(&from)?;
        b.set_not_after(&until)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Certificate {
            cert: b.build(),
            key,
            sha256: OnceLock::new(),
        })
    }

    /// Loads a certificate and its private key from PEM; fails if they do not belong together.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let cert = X509::from_pem(cert_pem)?;
        let key = PKey::private_key_from_pem(key_pem)?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(Error::KeyMismatch);
        }
        Ok(Certificate {
            cert,
            key,
            sha256: OnceLock::new(),
        })
    }

    /// The certificate and the private key (PKCS#8) as PEM.
    pub fn to_pem(&self) -> Result<(String, String)> {
        let cert = String::from_utf8_lossy(&self.cert.to_pem()?).into_owned();
        let key = String::from_utf8_lossy(&self.key.private_key_to_pem_pkcs8()?).into_owned();
        Ok((cert, key))
    }

    /// The certificate in DER.
    pub fn der(&self) -> Result<Vec<u8>> {
        Ok(self.cert.to_der()?)
    }

    /// The sha-256 fingerprint to put in the local SDP.
    pub fn fingerprint(&self) -> Result<Fingerprint> {
        if let Some(fp) = self.sha256.get() {
            return Ok(fp.clone());
        }
        let fp = sha256_of(&self.cert.to_der()?);
        Ok(self.sha256.get_or_init(|| fp).clone())
    }

    /// The fingerprint with another hash function.
    pub fn fingerprint_with(&self, algorithm: HashAlgorithm) -> Result<Fingerprint> {
        Fingerprint::of_x509(algorithm, &self.cert)
    }

    pub(crate) fn x509(&self) -> &X509 {
        &self.cert
    }

    pub(crate) fn key(&self) -> &PKey<Private> {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trips_and_rejects_junk() {
        let cert = Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap();
        let fp = cert.fingerprint().unwrap();
        let text = fp.to_string();
        assert!(text.starts_with("sha-256 "));
        assert_eq!(text.len(), 8 + 32 * 3 - 1);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            text.to_lowercase()
                .replace("sha-256", "SHA-256")
                .parse::<Fingerprint>()
                .unwrap(),
            fp
        );
        assert!(fp.matches(cert.x509()).unwrap());
        for bad in [
            "",
            "sha-256",
            "md5 AB:CD",
            "sha-256 AB:CD",
            "sha-256 ABC:D",
            "sha-256 GG:00",
            &format!("{text}:00"),
            "sha-1 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
        }
        for alg in ["sha-1", "sha-224", "sha-384", "sha-512"] {
            let a: HashAlgorithm = alg.parse().unwrap();
            let fp = cert.fingerprint_with(a).unwrap();
            assert_eq!(fp.value.len(), a.output_len());
            assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        }
    }

    #[test]
    fn sha256_fingerprint_matches_an_independent_hash() {
        let cert = Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap();
        let der = cert.der().unwrap();
        let direct = Fingerprint::of_der(HashAlgorithm::Sha256, &der).unwrap();
        assert_eq!(cert.fingerprint().unwrap(), direct);
    }

    #[test]
    fn pem_round_trip_and_mismatch() {
        for kt in [KeyType::EcdsaP256, KeyType::Rsa2048] {
            let cert = Certificate::generate(kt, ferrtc_testkit::wallclock()).unwrap();
            let (c, k) = cert.to_pem().unwrap();
            let back = Certificate::from_pem(c.as_bytes(), k.as_bytes()).unwrap();
            assert_eq!(back.fingerprint().unwrap(), cert.fingerprint().unwrap());
            let other = Certificate::generate(kt, ferrtc_testkit::wallclock()).unwrap();
            let (_, k2) = other.to_pem().unwrap();
            assert!(matches!(
                Certificate::from_pem(c.as_bytes(), k2.as_bytes()),
                Err(Error::KeyMismatch)
            ));
        }
        assert!(Certificate::from_pem(b"junk", b"junk").is_err());
    }

    #[test]
    fn generated_certificate_is_signed_by_its_own_key() {
        for kt in [KeyType::EcdsaP256, KeyType::Rsa2048] {
            let cert = Certificate::generate(kt, ferrtc_testkit::wallclock()).unwrap();
            let x509 = cert.x509();
            // OpenSSL checks the signature over the TBSCertificate with the certificate's own
            // public key, and with the private key we hand to the handshake.
            assert!(x509.verify(&x509.public_key().unwrap()).unwrap(), "{kt:?}");
            assert!(x509.verify(cert.key()).unwrap(), "{kt:?}");
            assert!(x509.public_key().unwrap().public_eq(cert.key()));
            // ... and not with another key: the check can fail.
            let other = Certificate::generate(kt, ferrtc_testkit::wallclock()).unwrap();
            assert!(!x509.verify(other.key()).unwrap_or(false), "{kt:?}");
        }
    }

    /// One DER TLV at the start of `d`: (whole TLV, contents). Short and long length forms.
    fn der_tlv(d: &[u8]) -> (&[u8], &[u8]) {
        let (head, len) = match d[1] {
            l @ 0..=0x7f => (2, usize::from(l)),
            l => {
                let n = usize::from(l & 0x7f);
                let len = d[2..2 + n]
                    .iter()
                    .fold(0usize, |a, b| a * 256 + usize::from(*b));
                (2 + n, len)
            }
        };
        (&d[..head + len], &d[head..head + len])
    }

    #[test]
    fn generated_p256_certificate_verifies_with_an_independent_ecdsa() {
        // aws-lc-rs checks OpenSSL's signature (made on its built-in EC code, src/ffi) over the
        // TBSCertificate bytes of the DER (RFC 5280 §4.1.1.3), with the certificate's key.
        let cert = Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap();
        let der = cert.der().unwrap();
        let (_, body) = der_tlv(&der);
        let (tbs, _) = der_tlv(body);
        let (alg, _) = der_tlv(&body[tbs.len()..]);
        let (_, bits) = der_tlv(&body[tbs.len() + alg.len()..]);
        assert_eq!(bits[0], 0, "no unused bits");
        let sig = &bits[1..];
        let ec = cert.key().ec_key().unwrap();
        let mut ctx = openssl::bn::BigNumContext::new().unwrap();
        let point = ec
            .public_key()
            .to_bytes(
                ec.group(),
                openssl::ec::PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )
            .unwrap();
        use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point);
        assert!(key.verify(tbs, sig).is_ok());
        let mut changed = tbs.to_vec();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(key.verify(&changed, sig).is_err(), "the check can fail");
        let other = Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap();
        let other_ec = other.key().ec_key().unwrap();
        let other_point = other_ec
            .public_key()
            .to_bytes(
                other_ec.group(),
                openssl::ec::PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )
            .unwrap();
        let other_key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &other_point);
        assert!(other_key.verify(tbs, sig).is_err());
    }

    #[test]
    fn generated_p256_certificate_fields() {
        let (from, until) = (
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            // After 2049: a GeneralizedTime (RFC 5280 §4.1.2.5).
            UNIX_EPOCH + Duration::from_secs(2_900_000_123),
        );
        let cert = Certificate::generate_with_validity(KeyType::EcdsaP256, from, until).unwrap();
        let x509 = cert.x509();
        assert_eq!(x509.version(), 2, "v3");
        assert_eq!(
            x509.signature_algorithm().object().nid(),
            Nid::ECDSA_WITH_SHA256
        );
        let ec = x509.public_key().unwrap().ec_key().unwrap();
        assert_eq!(ec.group().curve_name(), Some(Nid::X9_62_PRIME256V1));
        for name in [x509.subject_name(), x509.issuer_name()] {
            let cn: Vec<String> = name
                .entries_by_nid(Nid::COMMONNAME)
                .map(|e| e.data().to_string().unwrap())
                .collect();
            assert_eq!(cn, ["WebRTC"]);
            assert_eq!(name.entries().count(), 1);
        }
        // The validity OpenSSL reads back is the one asked for, to the second.
        let same = |a: &openssl::asn1::Asn1TimeRef, unix: i64| {
            let d = a.diff(&Asn1Time::from_unix(unix).unwrap()).unwrap();
            (d.days, d.secs) == (0, 0)
        };
        assert!(same(x509.not_before(), 1_700_000_000));
        assert!(same(x509.not_after(), 2_900_000_123));
        assert!(!same(x509.not_after(), 2_900_000_124));
        // Serial: positive, at most 63 bits, random.
        let serial = x509.serial_number().to_bn().unwrap();
        assert!(!serial.is_negative());
        assert!(serial.num_bits() <= 63 && serial.num_bits() > 0);
        let other = Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap();
        assert_ne!(other.x509().serial_number().to_bn().unwrap(), serial);
    }

    proptest::proptest! {
        #[test]
        fn fingerprint_parse_never_panics(s in ".{0,200}") {
            let _ = s.parse::<Fingerprint>();
        }
    }
}
