//! Opaque identifiers: 128 random bits as 32 lowercase hex characters.
//!
//! Random rather than sequential ids, so that an id reveals nothing about how many clubs
//! or members exist, and guessing another club's ids is hopeless.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Parses and prints the 32-hex-character form shared by every id type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 16]);

impl Id {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = (chunk[0] as char).to_digit(16)?;
            let lo = (chunk[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Self(out))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One write of 32 characters: ids are printed many times on every page.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Id);

        impl $name {
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Id::from_bytes(bytes))
            }
            /// `None` when `s` is not a well-formed id (the caller answers 404).
            pub fn parse(s: &str) -> Option<Self> {
                Id::parse(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::custom("malformed id"))
            }
        }
    )*};
}

typed_id!(
    /// A person's account on this TEKKAN instance.
    AccountId,
    /// A club (部活動, サークル, team): one sealed tenant.
    ClubId,
    /// One account's membership in one club; kept after leaving so history stays.
    MembershipId,
    /// A sub-group of a club (学年, パート).
    SubgroupId,
    /// An invitation link to a club.
    InvitationId,
    /// A login session.
    SessionId,
    /// An event: a one-off or the plan of a recurring series.
    EventId,
    /// One dated occurrence of an event; attendance is answered per occurrence.
    OccurrenceId,
    /// An announcement (お知らせ).
    AnnouncementId,
    /// A comment under an occurrence or an announcement.
    CommentId,
    /// A poll.
    PollId,
    /// One in-app notification to one account.
    NotificationId,
    /// A browser's Web Push subscription.
    PushSubscriptionId,
    /// A security incident (or outage) the operator handles and may publish.
    IncidentId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_malformed() {
        let id = Id::from_bytes([0xab; 16]);
        assert_eq!(Id::parse(&id.to_string()), Some(id));
        assert_eq!(Id::parse("ABABABABABABABABABABABABABABABAB"), None);
        assert_eq!(Id::parse("abab"), None);
        assert_eq!(Id::parse("' OR 1=1 --ababababababababababab"), None);
    }
}
