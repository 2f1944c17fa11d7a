//! What a person is shown about their sessions: a device from the browser's user agent
//! and an approximate place from the address. There is no location database on the
//! server, so the place is the network the address belongs to, never a finer point.

use std::net::IpAddr;

/// "Browser on system" from a user agent, or `None` when it names neither.
pub fn describe_agent(ua: &str) -> Option<String> {
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    const BROWSERS: [(&str, &str); 6] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS.iter().find(|b| ua.contains(b.0)).map(|b| b.1);
    let system = SYSTEMS.iter().find(|s| ua.contains(s.0)).map(|s| s.1);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} / {s}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_owned()),
        (None, None) => None,
    }
}

/// Where an address is, as precisely as the server can honestly say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// This machine (loopback).
    ThisMachine,
    /// A private or link-local network (home, school or office LAN).
    PrivateNetwork,
    /// A public network, as its prefix: IPv4 /24, IPv6 /48.
    Network(String),
    Unknown,
}

pub fn approximate_place(ip: Option<&str>) -> Place {
    let Some(Ok(ip)) = ip.map(str::parse::<IpAddr>) else {
        return Place::Unknown;
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Place::ThisMachine,
        IpAddr::V4(v4) if v4.is_private() || v4.is_link_local() => Place::PrivateNetwork,
        IpAddr::V4(v4) => {
            let o = v4.octets();
            Place::Network(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(v6) if v6.is_loopback() => Place::ThisMachine,
        // Unique local (fc00::/7) and link-local (fe80::/10).
        IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00 => Place::PrivateNetwork,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Place::PrivateNetwork,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Place::Network(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_named_by_browser_and_system() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_agent(iphone).as_deref(), Some("Safari / iPhone"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                    Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0";
        assert_eq!(describe_agent(edge).as_deref(), Some("Edge / Windows"));
        let android =
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36";
        assert_eq!(describe_agent(android).as_deref(), Some("Chrome / Android"));
        assert_eq!(describe_agent("curl/8.5.0"), None);
    }

    #[test]
    fn places_never_name_more_than_a_network() {
        assert_eq!(approximate_place(Some("127.0.0.1")), Place::ThisMachine);
        assert_eq!(approximate_place(Some("::1")), Place::ThisMachine);
        assert_eq!(
            approximate_place(Some("192.168.1.20")),
            Place::PrivateNetwork
        );
        assert_eq!(approximate_place(Some("fd12::1")), Place::PrivateNetwork);
        assert_eq!(
            approximate_place(Some("203.0.113.77")),
            Place::Network("203.0.113.0/24".into())
        );
        assert_eq!(
            approximate_place(Some("::ffff:203.0.113.77")),
            Place::Network("203.0.113.0/24".into())
        );
        assert_eq!(
            approximate_place(Some("2001:db8:abcd:12::5")),
            Place::Network("2001:db8:abcd::/48".into())
        );
        assert_eq!(approximate_place(Some("not an ip")), Place::Unknown);
        assert_eq!(approximate_place(None), Place::Unknown);
    }
}
