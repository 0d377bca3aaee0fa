//! Networks: the private network each project's environments share, and the IPv4 subnets
//! they are carved from.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::error::{Error, Result};

/// An IPv4 subnet in CIDR form (`10.213.0.0/27`). The address is always the network's first
/// address (host bits cleared).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Subnet {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Subnet {
    /// The subnet of `addr` with `prefix` bits (0–32); host bits are cleared.
    ///
    /// Errors: `InvalidInput` (`subnet`) for a prefix above 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::invalid("subnet", "the prefix length must be 0–32"));
        }
        Ok(Self::clamped(addr, prefix))
    }

    /// The subnet of `addr` with `prefix` bits, a prefix above 32 taken as 32.
    pub fn clamped(addr: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Self {
            network: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    /// Parses `a.b.c.d/n`. Errors: `InvalidInput` (`subnet`).
    pub fn parse(s: &str) -> Result<Self> {
        let invalid = || Error::invalid("subnet", "must be an IPv4 subnet such as 10.213.0.0/16");
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(invalid)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        Self::new(addr, prefix)
    }

    /// The first address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// How many addresses it spans (2^(32 - prefix)).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// The last address.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix))
    }

    /// Whether the two share any address.
    pub fn overlaps(&self, other: &Ipv4Subnet) -> bool {
        self.network <= other.last() && other.network <= self.last()
    }

    /// The `index`-th subnet of `prefix` bits inside this one, if there is one.
    pub fn nth_subnet(&self, prefix: u8, index: u64) -> Option<Ipv4Subnet> {
        if prefix < self.prefix || prefix > 32 || index >= self.subnet_count(prefix) {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let start = u64::from(u32::from(self.network)) + index * step;
        let addr = Ipv4Addr::from(u32::try_from(start).ok()?);
        Ipv4Subnet::new(addr, prefix).ok()
    }

    /// How many subnets of `prefix` bits it holds (0 when `prefix` is shorter than its own).
    pub fn subnet_count(&self, prefix: u8) -> u64 {
        if prefix < self.prefix || prefix > 32 {
            return 0;
        }
        1u64 << u32::from(prefix - self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

impl std::fmt::Display for Ipv4Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl std::str::FromStr for Ipv4Subnet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Ipv4Subnet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Subnet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ipv4Subnet::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A network to create: a bridge of its own, with containers on it reaching each other by
/// name and alias, and nothing on other networks reaching them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The network's name (unique on the engine).
    pub name: String,
    /// Its subnet; the engine takes the first host address as the gateway.
    pub subnet: Ipv4Subnet,
    /// Labels (always including the `vibebox.*` ones).
    pub labels: BTreeMap<String, String>,
}

/// What the engine reports about a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// The engine's id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Its IPv4 subnets (none for networks without IPAM, such as `host`).
    pub subnets: Vec<Ipv4Subnet>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The running containers attached to it.
    pub containers: Vec<ContainerId>,
}

/// The network a container joins, with the extra names it answers to there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    /// The network's name.
    pub network: String,
    /// Names other containers on the network reach it by (besides its container name).
    pub aliases: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subnet that must parse (an impossible /99 otherwise, which fails every check).
    fn net(s: &str) -> Ipv4Subnet {
        Ipv4Subnet::parse(s).unwrap_or(Ipv4Subnet {
            network: Ipv4Addr::UNSPECIFIED,
            prefix: 99,
        })
    }

    #[test]
    fn subnets_parse_and_clear_host_bits() {
        assert_eq!(net("10.213.1.7/24").to_string(), "10.213.1.0/24");
        assert_eq!(net("0.0.0.0/0").size(), 1 << 32);
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8", ""] {
            let e = Ipv4Subnet::parse(bad)
                .err()
                .and_then(|e| e.field().map(str::to_string));
            assert_eq!(e.as_deref(), Some("subnet"), "{bad}");
        }
    }

    #[test]
    fn overlap_is_any_shared_address() {
        assert!(net("10.0.0.0/16").overlaps(&net("10.0.3.0/28")));
        assert!(net("10.0.3.0/28").overlaps(&net("10.0.0.0/16")));
        assert!(!net("10.0.0.0/28").overlaps(&net("10.0.0.16/28")));
        assert!(net("10.0.0.0/27").overlaps(&net("10.0.0.16/28")));
    }

    #[test]
    fn a_pool_splits_into_disjoint_subnets() {
        let pool = net("10.213.0.0/16");
        assert_eq!(pool.subnet_count(28), 4096);
        assert_eq!(
            pool.nth_subnet(28, 0).map(|s| s.to_string()).as_deref(),
            Some("10.213.0.0/28")
        );
        assert_eq!(
            pool.nth_subnet(28, 4095).map(|s| s.to_string()).as_deref(),
            Some("10.213.255.240/28")
        );
        assert_eq!(pool.nth_subnet(28, 4096), None);
        assert_eq!(pool.nth_subnet(8, 0), None);
        let a = pool.nth_subnet(28, 17);
        let b = pool.nth_subnet(28, 18);
        assert!(matches!((a, b), (Some(a), Some(b)) if !a.overlaps(&b)));
    }
}
