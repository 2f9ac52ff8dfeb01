//! Resolution of the mDNS host names (`<uuid>.local`) that browsers put in their host
//! candidates instead of their addresses (draft-ietf-mmusic-mdns-ice-candidates §3.1; RFC 8839
//! §5.1 allows an FQDN as connection-address).
//!
//! The sans-IO ICE agent hands such a name to the application ([`ferrtc_ice`]'s
//! `Event::ResolveName`); the driver asks a [`NameResolver`] for it on a task of its own and
//! gives the answer back to the agent (`None`: the candidate is dropped). The default resolver,
//! [`MdnsResolution::Multicast`], sends one-shot mDNS queries (RFC 6762 §5.1) to 224.0.0.251 /
//! ff02::fb port 5353: link-local multicast groups that routers do not forward, so the query
//! never leaves the local link. It uses the `mdns-sd` crate's daemon, one per process, started
//! on the first name to resolve. Only names ending in `.local` are resolved: other host names
//! in remote candidates are dropped, never looked up in the DNS on a peer's behalf.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::debug;

/// A boxed future of a name resolution.
pub type Resolution = Pin<Box<dyn Future<Output = Option<IpAddr>> + Send>>;

/// Resolves a remote candidate's mDNS host name (`<uuid>.local`) to an address.
pub trait NameResolver: Send + Sync {
    /// The address of `name` (`None`: not found in time).
    fn resolve(&self, name: &str) -> Resolution;
}

/// How the host names of remote candidates are resolved ([`crate::RtcConfiguration::mdns`]).
#[derive(Clone)]
pub enum MdnsResolution {
    /// Ask on the local link with multicast DNS, waiting at most `timeout` (the default:
    /// [`MdnsResolution::DEFAULT_TIMEOUT`]).
    Multicast {
        /// How long to wait for an answer.
        timeout: Duration,
    },
    /// Do not resolve: candidates with host names are dropped. A browser that hides its
    /// addresses can still connect: its checks reach us and make peer-reflexive candidates
    /// (RFC 8445 §7.3.1.3), unless we are the only side that can send checks (ICE lite peers).
    Off,
    /// Resolve with this (tests, or an application's own mDNS stack).
    Custom(Arc<dyn NameResolver>),
}

impl MdnsResolution {
    /// How long [`MdnsResolution::Multicast`] waits by default: browsers answer at once on a
    /// working link; a name nobody answers for costs this much before its candidate is dropped.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Default for MdnsResolution {
    fn default() -> Self {
        MdnsResolution::Multicast {
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for MdnsResolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MdnsResolution::Multicast { timeout } => f
                .debug_struct("Multicast")
                .field("timeout", timeout)
                .finish(),
            MdnsResolution::Off => f.write_str("Off"),
            MdnsResolution::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Whether `name` is an mDNS name this module resolves (`….local`, with or without the final
/// dot, at least one label before it).
pub(crate) fn is_mdns_name(name: &str) -> bool {
    let n = name.strip_suffix('.').unwrap_or(name);
    let lower = n.to_ascii_lowercase();
    lower
        .strip_suffix(".local")
        .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
}

impl MdnsResolution {
    /// Resolves `name` as configured; `None` at once for names that are not mDNS names, or
    /// when resolution is off.
    pub(crate) fn resolve(&self, name: &str) -> Resolution {
        if !is_mdns_name(name) {
            return Box::pin(async { None });
        }
        match self {
            MdnsResolution::Off => Box::pin(async { None }),
            MdnsResolution::Custom(r) => r.resolve(name),
            MdnsResolution::Multicast { timeout } => {
                let (name, timeout) = (name.to_owned(), *timeout);
                Box::pin(async move { multicast(&name, timeout).await })
            }
        }
    }
}

/// The process's mDNS daemon (a thread and the port 5353 sockets), started once.
fn daemon() -> Option<&'static mdns_sd::ServiceDaemon> {
    static DAEMON: OnceLock<Option<mdns_sd::ServiceDaemon>> = OnceLock::new();
    DAEMON
        .get_or_init(|| match mdns_sd::ServiceDaemon::new() {
            Ok(d) => Some(d),
            Err(e) => {
                debug!(error = %e, "mDNS: no daemon; .local candidates will be dropped");
                None
            }
        })
        .as_ref()
}

/// Queries in flight, by lower-case name: the daemon keeps one listener per name, so
/// concurrent resolutions of one name (two connections to one browser) share one query.
type Waiters = Mutex<HashMap<String, Vec<oneshot::Sender<Option<IpAddr>>>>>;

fn waiters() -> &'static Waiters {
    static W: OnceLock<Waiters> = OnceLock::new();
    W.get_or_init(Waiters::default)
}

async fn multicast(name: &str, timeout: Duration) -> Option<IpAddr> {
    let daemon = daemon()?;
    // The daemon wants the fully qualified form, with the root's dot.
    let fqdn = format!("{}.", name.strip_suffix('.').unwrap_or(name)).to_ascii_lowercase();
    let (tx, rx) = oneshot::channel();
    let first = {
        let Ok(mut w) = waiters().lock() else {
            return None;
        };
        let list = w.entry(fqdn.clone()).or_default();
        list.push(tx);
        list.len() == 1
    };
    if first {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let answer = match daemon.resolve_hostname(&fqdn, Some(ms)) {
            Ok(events) => {
                // The daemon reports a timeout itself; ours is a backstop.
                tokio::time::timeout(timeout + Duration::from_secs(1), first_address(&events))
                    .await
                    .ok()
                    .flatten()
            }
            Err(e) => {
                debug!(name, error = %e, "mDNS: query not sent");
                None
            }
        };
        let _ = daemon.stop_resolve_hostname(&fqdn);
        debug!(name, ?answer, "mDNS: resolved");
        let waiting = waiters()
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&fqdn))
            .unwrap_or_default();
        for w in waiting {
            let _ = w.send(answer);
        }
    }
    rx.await.ok().flatten()
}

/// The first answer's address: IPv4 first when both families answer (a browser registers
/// one address per name).
async fn first_address(
    events: &mdns_sd::Receiver<mdns_sd::HostnameResolutionEvent>,
) -> Option<IpAddr> {
    use mdns_sd::HostnameResolutionEvent as E;
    loop {
        match events.recv_async().await.ok()? {
            E::AddressesFound(_, addrs) => {
                let mut ips: Vec<IpAddr> = addrs.iter().map(|a| a.to_ip_addr()).collect();
                ips.sort_by_key(|ip| ip.is_ipv6());
                if let Some(ip) = ips.first() {
                    return Some(*ip);
                }
            }
            E::SearchTimeout(_) | E::SearchStopped(_) => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mdns_names_are_resolved() {
        assert!(is_mdns_name("1f2e3d4c-0000-4000-8000-000000000000.local"));
        assert!(is_mdns_name("Host.LOCAL."));
        assert!(!is_mdns_name(".local"));
        assert!(!is_mdns_name("local"));
        assert!(!is_mdns_name("a..local"));
        assert!(!is_mdns_name("example.com"));
        assert!(!is_mdns_name("example.localhost"));
    }

    #[tokio::test]
    async fn off_and_non_mdns_names_resolve_to_nothing_without_asking() {
        struct Panics;
        impl NameResolver for Panics {
            fn resolve(&self, name: &str) -> Resolution {
                let name = name.to_owned();
                Box::pin(async move { panic!("asked for {name}") })
            }
        }
        let custom = MdnsResolution::Custom(Arc::new(Panics));
        assert_eq!(custom.resolve("example.com").await, None);
        assert_eq!(MdnsResolution::Off.resolve("x.local").await, None);
    }
}
