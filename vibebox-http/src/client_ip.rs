//! The client's address: the TCP peer, or, when the peer is a proxy the operator trusts,
//! the address that proxy says it forwarded for (`X-Forwarded-For`).
//!
//! Anyone can send `X-Forwarded-For`, so it is believed only from peers inside
//! [`HttpConfig::trusted_proxies`](crate::HttpConfig::trusted_proxies). The list is read from
//! the right (the hop nearest this server): every address that is itself a trusted proxy is
//! skipped, and the first one that is not is the client. What lies left of it was written by
//! the client or by proxies nobody vouches for, and is ignored. A malformed entry stops the
//! walk at the last address a trusted proxy vouched for. This is how nginx's
//! `real_ip_recursive on` and Go's `realip` read the header.
//!
//! The router's middleware stores the result as a [`ClientIp`] request extension, which the rate limits,
//! sign-in records and the preview proxy read.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The header proxies append the address they received a request from to.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, as the router's middleware decided it (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// A block of addresses (`10.0.0.0/8`, `::1/128`, or a bare address for one host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Parses `10.0.0.0/8`; a block that does not parse is `InvalidInput` naming the field
/// `trusted_proxies`.
impl FromStr for Cidr {
    type Err = vibebox_core::error::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            vibebox_core::error::Error::invalid(
                "trusted_proxies",
                format!("{s:?} is not an address block such as 10.0.0.0/8 or ::1"),
            )
        };
        let (address, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| invalid())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(invalid)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is inside the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.network), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn trusted(proxies: &[Cidr], ip: IpAddr) -> bool {
    proxies.iter().any(|c| c.contains(ip))
}

/// The client of a request that came from `peer` with `headers`, believing
/// `X-Forwarded-For` only as far as `proxies` vouch for it. See the [module docs](self).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[Cidr]) -> IpAddr {
    if !trusted(proxies, peer) {
        return peer;
    }
    // Several headers are one list, in order.
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return client;
        };
        client = ip;
        if !trusted(proxies, ip) {
            return ip;
        }
    }
    client
}

/// Stores the request's [`ClientIp`] (when the server knows its peer: served with
/// `ConnectInfo<SocketAddr>`).
pub(crate) async fn resolve(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let ip = client_ip(peer, request.headers(), &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_parse_and_contain_their_addresses() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped counts");
        let host: Cidr = "::1".parse().unwrap();
        assert_eq!(host.to_string(), "::1/128");
        assert!(host.contains(ip("::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "",
            "x/1",
            "::/129",
            "10.0.0.0/-1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let headers = xff(&["1.2.3.4"]);
        assert_eq!(
            client_ip(ip("198.51.100.7"), &headers, &[]),
            ip("198.51.100.7")
        );
        let proxies = cidrs(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.7"), &headers, &proxies),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let proxies = cidrs(&["127.0.0.1/32"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff(&["1.2.3.4"]), &proxies),
            ip("1.2.3.4")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff(&[]), &proxies),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn what_the_client_wrote_left_of_an_untrusted_hop_is_not_believed() {
        // The client sent "6.6.6.6" itself; the outer proxy (untrusted, 10.0.0.5 is not in
        // the list) appended its peer; our proxy 127.0.0.1 appended 10.0.0.5.
        let headers = xff(&["6.6.6.6, 1.2.3.4", "10.0.0.5"]);
        let only_local = cidrs(&["127.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &only_local),
            ip("10.0.0.5")
        );
        let both = cidrs(&["127.0.0.0/8", "10.0.0.0/8"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &both), ip("1.2.3.4"));
    }

    #[test]
    fn a_malformed_hop_stops_at_the_last_vouched_address() {
        let proxies = cidrs(&["127.0.0.0/8", "10.0.0.0/8"]);
        let headers = xff(&["1.2.3.4, not-an-ip, 10.0.0.5"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &proxies),
            ip("10.0.0.5")
        );
        let all_trusted = xff(&["10.0.0.9, 10.0.0.5"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &all_trusted, &proxies),
            ip("10.0.0.9")
        );
    }
}
