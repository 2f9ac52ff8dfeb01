//! Building and starting the client's requests (Allocate, Refresh, CreatePermission,
//! ChannelBind) and the long-term credentials they carry (RFC 8656 §7.2, RFC 8489 §9.2).

use crate::error::Error;
use bytes::Bytes;
use ferrtc_stun::{
    AddressFamily, Attribute, Class, ClientTransaction, IntegrityKey, MessageBuilder, MessageType,
    Method, PasswordAlgorithm, PasswordAlgorithms, SecurityFeatures, Text, TransactionId,
    TransportReliability,
};
use rand_core::RngCore;
use std::net::SocketAddr;
use std::time::Instant;

use super::{AllocationFamily, Auth, Pending, Purpose, Transport, TurnClient, PROTO_UDP};

impl<R: RngCore> TurnClient<R> {
    pub(super) fn build_request(&mut self, purpose: &Purpose) -> Result<(Bytes, bool), Error> {
        let (method, tid) = match purpose {
            Purpose::Allocate => (Method::ALLOCATE, TransactionId::random(&mut self.rng)),
            Purpose::Refresh { .. } => (Method::REFRESH, TransactionId::random(&mut self.rng)),
            Purpose::CreatePermission { .. } => (
                Method::CREATE_PERMISSION,
                TransactionId::random(&mut self.rng),
            ),
            Purpose::ChannelBind { .. } => {
                (Method::CHANNEL_BIND, TransactionId::random(&mut self.rng))
            }
        };
        let mut b = MessageBuilder::new(MessageType::new(method, Class::Request), tid);
        match purpose {
            Purpose::Allocate => {
                b.add(&Attribute::RequestedTransport(PROTO_UDP))?;
                let lifetime = self.config.lifetime.as_secs().min(u64::from(u32::MAX)) as u32;
                b.add(&Attribute::Lifetime(lifetime))?;
                match self.config.family {
                    AllocationFamily::V4 => {}
                    AllocationFamily::V6 => {
                        b.add(&Attribute::RequestedAddressFamily(AddressFamily::V6))?;
                    }
                    AllocationFamily::Dual => {
                        b.add(&Attribute::AdditionalAddressFamily(AddressFamily::V6))?;
                    }
                }
            }
            Purpose::Refresh { lifetime } => {
                b.add(&Attribute::Lifetime(*lifetime))?;
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    b.add(&Attribute::XorPeerAddress(SocketAddr::new(*ip, 0)))?;
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                b.add(&Attribute::ChannelNumber(*channel))?;
                b.add(&Attribute::XorPeerAddress(*peer))?;
            }
        }
        if let Some(s) = &self.config.software {
            b.add(&Attribute::Software(Text::new(s)))?;
        }
        let authenticated = self.auth.is_some();
        if let Some(auth) = &self.auth {
            b.add(&Attribute::Username(Text::new(&self.config.username)))?
                .add(&Attribute::Realm(Text::new(&auth.realm)))?
                .add(&Attribute::Nonce(Text::new(&auth.nonce)))?;
            match &auth.algorithms {
                Some((list, alg)) => {
                    b.add(&Attribute::PasswordAlgorithms(list.clone()))?
                        .add(&Attribute::PasswordAlgorithm(PasswordAlgorithm {
                            algorithm: *alg,
                            params: Bytes::new(),
                        }))?
                        .add_message_integrity_sha256(&auth.key)?;
                }
                None => {
                    b.add_message_integrity(&auth.key)?;
                }
            }
        }
        b.add_fingerprint()?;
        Ok((b.build(), authenticated))
    }

    pub(super) fn start(
        &mut self,
        now: Instant,
        purpose: Purpose,
        stale_retries: u32,
    ) -> Result<(), Error> {
        let (request, authenticated) = self.build_request(&purpose)?;
        let reliability = match self.config.transport {
            Transport::Udp => TransportReliability::Unreliable,
            Transport::Stream => TransportReliability::Reliable,
        };
        let tx = ClientTransaction::new(now, request, reliability, self.config.transaction)?;
        tracing::debug!(purpose = ?purpose, tid = ?tx.transaction_id(), "TURN request");
        self.pending.push(Pending {
            tx,
            purpose,
            authenticated,
            stale_retries,
        });
        self.flush();
        Ok(())
    }

    pub(super) fn set_auth(
        &mut self,
        realm: &str,
        nonce: &str,
        offered: Option<PasswordAlgorithms>,
    ) -> Result<(), Error> {
        // RFC 8489 §9.2.4: use PASSWORD-ALGORITHMS only when the nonce cookie announces it.
        let features = SecurityFeatures::from_nonce(nonce).unwrap_or_default();
        let algorithms = match offered {
            Some(list) if features.password_algorithms() => {
                if list.contains(PasswordAlgorithm::SHA256) {
                    Some((list, PasswordAlgorithm::SHA256))
                } else if list.contains(PasswordAlgorithm::MD5) {
                    Some((list, PasswordAlgorithm::MD5))
                } else {
                    None
                }
            }
            _ => None,
        };
        let alg = algorithms
            .as_ref()
            .map_or(PasswordAlgorithm::MD5, |(_, a)| *a);
        let key =
            IntegrityKey::long_term(&self.config.username, realm, &self.config.password, alg)?;
        self.auth = Some(Auth {
            realm: realm.to_string(),
            nonce: nonce.to_string(),
            key,
            algorithms,
        });
        Ok(())
    }
}
