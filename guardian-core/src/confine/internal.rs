//! Which addresses are internal: the address blocks of IANA's special-purpose address
//! registries that are not globally reachable, and a few more. A listed name that
//! resolves to one of them is not connected to unless the address itself is listed.
//! The table, with each decision, is in the
//! [module docs](crate::confine#internal-addresses).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks that are internal: every row of the IPv4 Special-Purpose Address
/// Registry that is not globally reachable (the registry's own nesting folded into
/// the enclosing block), and multicast.
const INTERNAL_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::UNSPECIFIED, 8),          // "This network" (and 0.0.0.0/32)
    (Ipv4Addr::new(10, 0, 0, 0), 8),     // Private-Use
    (Ipv4Addr::new(100, 64, 0, 0), 10),  // Shared Address Space
    (Ipv4Addr::new(127, 0, 0, 0), 8),    // Loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16), // Link Local
    (Ipv4Addr::new(172, 16, 0, 0), 12),  // Private-Use
    // IETF Protocol Assignments, all of it: also the PCP and TURN anycast addresses
    // 192.0.0.9 and 192.0.0.10, which reach the nearest server (the local gateway).
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24), // Documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24), // Deprecated 6to4 relay anycast, 6a44 relay
    (Ipv4Addr::new(192, 168, 0, 0), 16), // Private-Use
    (Ipv4Addr::new(198, 18, 0, 0), 15), // Benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // Documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24), // Documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),  // Multicast (not in the registry)
    (Ipv4Addr::new(240, 0, 0, 0), 4),  // Reserved, and 255.255.255.255/32
];

/// The only IPv6 space IANA allocates as global unicast: everything outside it
/// (`::/8` with `::`, `::1` and the IPv4-compatible `::/96`, `64:ff9b:1::/48`,
/// `100::/64`, `100:0:0:1::/64`, `5f00::/16`, `fc00::/7`, `fe80::/10`, `fec0::/10`,
/// `ff00::/8`, and space not allocated yet) is internal, except the two forms below
/// that reach an IPv4 address.
const GLOBAL_UNICAST: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// IPv4-mapped addresses: a connection to one is a connection to its IPv4 address.
const MAPPED: (Ipv6Addr, u8) = (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);

/// The NAT64 well-known prefix: the translator connects to the embedded IPv4 address.
const NAT64: (Ipv6Addr, u8) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);

/// IETF Protocol Assignments, not globally reachable but for the rows below (and
/// Teredo `2001::/32`, whose reachability the registry leaves open, is internal).
const IETF_ASSIGNMENTS: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23);

/// The rows inside `2001::/23` the registry marks globally reachable, and kept so.
/// Not the PCP, TURN and DNS-SD SRP anycast addresses `2001:1::1` to `2001:1::3`,
/// which reach the nearest server (the local network's).
const GLOBAL_IETF_ASSIGNMENTS: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0x2001, 0x3, 0, 0, 0, 0, 0, 0), 32), // AMT
    (Ipv6Addr::new(0x2001, 0x4, 0x112, 0, 0, 0, 0, 0), 48), // AS112-v6
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28), // ORCHIDv2
    (Ipv6Addr::new(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28), // Drone Remote ID (DETs)
];

/// The other blocks inside `2000::/3` that are not globally reachable.
const INTERNAL_V6: [(Ipv6Addr, u8); 3] = [
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // Documentation
    // 6to4: the registry leaves its reachability open (it depends on relays), and the
    // embedded IPv4 address may be private; list a 6to4 address to reach it.
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // Documentation
];

/// Whether `ip` is an address a public name should never lead to.
pub(super) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    INTERNAL_V4
        .iter()
        .any(|&(block, len)| in_v4(ip, block, len))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if in_v6(ip, MAPPED) || in_v6(ip, NAT64) {
        return is_internal_v4(low_32_bits(ip));
    }
    if !in_v6(ip, GLOBAL_UNICAST) {
        return true;
    }
    if in_v6(ip, IETF_ASSIGNMENTS) {
        return !GLOBAL_IETF_ASSIGNMENTS
            .iter()
            .any(|&block| in_v6(ip, block));
    }
    INTERNAL_V6.iter().any(|&block| in_v6(ip, block))
}

fn in_v4(ip: Ipv4Addr, block: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == block.to_bits()
}

fn in_v6(ip: Ipv6Addr, (block, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == block.to_bits()
}

fn low_32_bits(ip: Ipv6Addr) -> Ipv4Addr {
    let [.., a, b, c, d] = ip.octets();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::is_internal;
    use std::net::IpAddr;

    /// Internal or public, by the address's text.
    fn judged(address: &str) -> bool {
        let ip: IpAddr = address.parse().unwrap();
        is_internal(ip)
    }

    /// Each row: addresses inside the block (its first and last), its verdict, and
    /// the addresses just outside it with theirs. Written from the registries, not
    /// from the code's table.
    #[track_caller]
    fn row(inside: &[&str], internal: bool, outside: &[(&str, bool)]) {
        for address in inside {
            assert_eq!(judged(address), internal, "{address} inside");
        }
        for &(address, verdict) in outside {
            assert_eq!(judged(address), verdict, "{address} just outside");
        }
    }

    const INTERNAL: bool = true;
    const PUBLIC: bool = false;

    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "one row per registry entry: a table, not logic"
    )]
    fn every_row_of_the_ipv4_registry() {
        // "This network", and "This host on this network" 0.0.0.0/32 inside it.
        row(
            &["0.0.0.0", "0.255.255.255"],
            INTERNAL,
            &[("1.0.0.0", PUBLIC)],
        );
        row(
            &["10.0.0.0", "10.255.255.255"],
            INTERNAL,
            &[("9.255.255.255", PUBLIC), ("11.0.0.0", PUBLIC)],
        );
        row(
            &["100.64.0.0", "100.127.255.255"],
            INTERNAL,
            &[("100.63.255.255", PUBLIC), ("100.128.0.0", PUBLIC)],
        );
        row(
            &["127.0.0.0", "127.255.255.255"],
            INTERNAL,
            &[("126.255.255.255", PUBLIC), ("128.0.0.0", PUBLIC)],
        );
        row(
            &["169.254.0.0", "169.254.169.254", "169.254.255.255"],
            INTERNAL,
            &[("169.253.255.255", PUBLIC), ("169.255.0.0", PUBLIC)],
        );
        row(
            &["172.16.0.0", "172.31.255.255"],
            INTERNAL,
            &[("172.15.255.255", PUBLIC), ("172.32.0.0", PUBLIC)],
        );
        // IETF Protocol Assignments, with its rows 192.0.0.0/29, 192.0.0.8/32,
        // 192.0.0.170/32 and 192.0.0.171/32, and the anycast 192.0.0.9 and 192.0.0.10
        // (globally reachable in the registry, internal here).
        row(
            &[
                "192.0.0.0",
                "192.0.0.7",
                "192.0.0.8",
                "192.0.0.9",
                "192.0.0.10",
                "192.0.0.170",
                "192.0.0.171",
                "192.0.0.255",
            ],
            INTERNAL,
            &[("191.255.255.255", PUBLIC), ("192.0.1.0", PUBLIC)],
        );
        row(
            &["192.0.2.0", "192.0.2.255"],
            INTERNAL,
            &[("192.0.1.255", PUBLIC), ("192.0.3.0", PUBLIC)],
        );
        row(
            &["192.31.196.0", "192.31.196.255"],
            PUBLIC,
            &[("192.31.195.255", PUBLIC), ("192.31.197.0", PUBLIC)],
        ); // AS112-v4
        row(
            &["192.52.193.0", "192.52.193.255"],
            PUBLIC,
            &[("192.52.192.255", PUBLIC), ("192.52.194.0", PUBLIC)],
        ); // AMT
        // Deprecated 6to4 relay anycast, and the 6a44 relay 192.88.99.2/32 inside it.
        row(
            &["192.88.99.0", "192.88.99.2", "192.88.99.255"],
            INTERNAL,
            &[("192.88.98.255", PUBLIC), ("192.88.100.0", PUBLIC)],
        );
        row(
            &["192.168.0.0", "192.168.255.255"],
            INTERNAL,
            &[("192.167.255.255", PUBLIC), ("192.169.0.0", PUBLIC)],
        );
        row(
            &["192.175.48.0", "192.175.48.255"],
            PUBLIC,
            &[("192.175.47.255", PUBLIC), ("192.175.49.0", PUBLIC)],
        ); // AS112
        row(
            &["198.18.0.0", "198.19.255.255"],
            INTERNAL,
            &[("198.17.255.255", PUBLIC), ("198.20.0.0", PUBLIC)],
        );
        row(
            &["198.51.100.0", "198.51.100.255"],
            INTERNAL,
            &[("198.51.99.255", PUBLIC), ("198.51.101.0", PUBLIC)],
        );
        row(
            &["203.0.113.0", "203.0.113.255"],
            INTERNAL,
            &[("203.0.112.255", PUBLIC), ("203.0.114.0", PUBLIC)],
        );
        // Reserved, and the limited broadcast address inside it.
        row(
            &["240.0.0.0", "255.255.255.254", "255.255.255.255"],
            INTERNAL,
            &[("239.255.255.255", INTERNAL)],
        );
        // Not in the registry: multicast.
        row(
            &["224.0.0.0", "239.255.255.255"],
            INTERNAL,
            &[("223.255.255.255", PUBLIC)],
        );
        // Ordinary public addresses.
        row(
            &["1.1.1.1", "8.8.8.8", "93.184.216.34", "223.255.255.255"],
            PUBLIC,
            &[],
        );
    }

    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "one row per registry entry: a table, not logic"
    )]
    fn every_row_of_the_ipv6_registry() {
        row(&["::1"], INTERNAL, &[("::2", INTERNAL)]); // loopback; ::/8 is internal
        row(&["::"], INTERNAL, &[]);
        // IPv4-mapped: judged by the IPv4 address it reaches.
        row(
            &[
                "::ffff:127.0.0.1",
                "::ffff:10.0.0.1",
                "::ffff:169.254.169.254",
                "::ffff:0.0.0.0",
            ],
            INTERNAL,
            &[("::fffe:ffff:ffff", INTERNAL), ("::1:0:0:0", INTERNAL)],
        );
        row(&["::ffff:8.8.8.8", "::ffff:1.1.1.1"], PUBLIC, &[]);
        // NAT64 well-known prefix: globally reachable, judged by the IPv4 address.
        row(
            &["64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b::a00:1"],
            INTERNAL,
            &[("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL)],
        );
        row(&["64:ff9b::808:808", "64:ff9b::101:101"], PUBLIC, &[]);
        // NAT64 local-use: not globally reachable, whatever it embeds.
        row(
            &[
                "64:ff9b:1::",
                "64:ff9b:1::a9fe:a9fe",
                "64:ff9b:1::808:808",
                "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            ],
            INTERNAL,
            &[
                ("64:ff9b:2::808:808", INTERNAL),
                ("64:ff9b:0:ffff::808:808", INTERNAL),
            ],
        );
        row(
            &["100::", "100::ffff:ffff:ffff:ffff"],
            INTERNAL,
            &[("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL)],
        ); // discard-only
        row(
            &["100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff"],
            INTERNAL,
            &[("100:0:0:2::", INTERNAL)],
        ); // dummy prefix
        // IETF Protocol Assignments 2001::/23, with Teredo 2001::/32, the anycast
        // 2001:1::1 to 2001:1::3 (globally reachable in the registry, internal here),
        // benchmarking 2001:2::/48 and the deprecated ORCHID 2001:10::/28.
        row(
            &[
                "2001::",
                "2001::1",
                "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                "2001:1::1",
                "2001:1::2",
                "2001:1::3",
                "2001:2::",
                "2001:2:0:ffff::1",
                "2001:10::1",
                "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
            INTERNAL,
            &[
                ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PUBLIC),
                ("2001:200::", PUBLIC),
            ],
        );
        row(
            &["2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff"],
            PUBLIC,
            &[
                ("2001:2:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("2001:4::", INTERNAL),
            ],
        ); // AMT
        row(
            &["2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff"],
            PUBLIC,
            &[
                ("2001:4:111:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("2001:4:113::", INTERNAL),
            ],
        ); // AS112-v6
        row(
            &["2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff"],
            PUBLIC,
            &[("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL)],
        ); // ORCHIDv2
        row(
            &["2001:30::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff"],
            PUBLIC,
            &[("2001:40::", INTERNAL)],
        ); // DETs
        row(
            &["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"],
            INTERNAL,
            &[
                ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", PUBLIC),
                ("2001:db9::", PUBLIC),
            ],
        );
        // 6to4: reachability left open by the registry; internal, whatever it embeds.
        row(
            &[
                "2002::",
                "2002:a9fe:a9fe::1",
                "2002:808:808::1",
                "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
            INTERNAL,
            &[
                ("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PUBLIC),
                ("2003::", PUBLIC),
            ],
        );
        row(
            &["2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff"],
            PUBLIC,
            &[
                ("2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", PUBLIC),
                ("2620:4f:8001::", PUBLIC),
            ],
        ); // AS112
        row(
            &["3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"],
            INTERNAL,
            &[
                ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PUBLIC),
                ("3fff:1000::", PUBLIC),
            ],
        );
        row(
            &["5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
            INTERNAL,
            &[
                ("5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("5f01::", INTERNAL),
            ],
        ); // SRv6 SIDs
        row(
            &[
                "fc00::",
                "fd00::1",
                "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
            INTERNAL,
            &[
                ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("fe00::", INTERNAL),
            ],
        ); // unique-local
        row(
            &[
                "fe80::",
                "fe80::1",
                "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
            INTERNAL,
            &[
                ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("fec0::", INTERNAL),
            ],
        ); // link-local
        // Not in the registry: IPv4-compatible (deprecated), site-local (deprecated),
        // multicast, and space outside 2000::/3 that IANA has not allocated.
        row(
            &[
                "::127.0.0.1",
                "::8.8.8.8",
                "fec0::1",
                "ff02::1",
                "ff0e::1",
                "4000::1",
                "1000::1",
            ],
            INTERNAL,
            &[],
        );
        // The edges of 2000::/3, and ordinary public addresses.
        row(
            &["2000::", "3fff:1000::", "2606:4700::1111", "2a00:1450::1"],
            PUBLIC,
            &[
                ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INTERNAL),
                ("4000::", INTERNAL),
            ],
        );
    }
}
