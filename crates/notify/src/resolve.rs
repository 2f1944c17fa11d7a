//! Name resolution for outgoing pushes that refuses to connect inward. A subscription's
//! endpoint is chosen by whoever subscribed, so a public-looking name may resolve (or be
//! re-pointed, between a check and the connection) to loopback, the LAN or a cloud
//! metadata address. The check therefore runs inside the HTTP client's resolver: the
//! addresses it allows are the only ones the client can connect to. Redirects are not
//! followed at all.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The error a refused name gives, found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to a non-public address ({1}): not contacted")]
pub struct InwardAddress(pub String, pub IpAddr);

/// A resolver that answers only with public addresses (unless `allow_loopback`, for
/// tests that run a push service on this machine). `fixed` answers chosen names without
/// DNS, checked like any DNS answer.
#[derive(Clone, Debug, Default)]
pub struct PublicOnly {
    pub allow_loopback: bool,
    pub fixed: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips: Vec<IpAddr> = match this.fixed.get(&host) {
                Some(ips) => ips.clone(),
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|a| a.ip())
                    .collect(),
            };
            // One inward address refuses the whole name: a name that resolves both ways
            // is an attack, not a misconfiguration to route around.
            let allowed = |ip: &IpAddr| is_public(ip) || (this.allow_loopback && ip.is_loopback());
            if let Some(bad) = ips.iter().find(|ip| !allowed(ip)) {
                return Err(Box::new(InwardAddress(host, *bad)) as _);
            }
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private, shared
/// (CGNAT), link-local (cloud metadata), unique-local, multicast, documentation,
/// benchmarking or reserved; IPv6 forms that embed an IPv4 address are judged by it.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(&v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return public_v4(&v4);
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] == 0x2002) // 6to4: embeds an IPv4 address of any kind
                || s[..5] == [0, 0, 0, 0, 0]) // IPv4-compatible, ::/80
        }
    }
}

fn public_v4(v4: &Ipv4Addr) -> bool {
    let o = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
        || o[0] >= 240) // reserved
}

/// Whether `e` (or anything it wraps) is a refusal by [`PublicOnly`].
pub fn refused_inward(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<InwardAddress>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_inward_addresses() {
        for ok in [
            "8.8.8.8",
            "133.242.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.4.4",
        ] {
            assert!(is_public(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(&bad.parse().unwrap()), "{bad}");
        }
    }
}
