//! The named kinds of the interface contract (SPEC §10): actions, match types, reason
//! codes, outcome sides and statuses. Each has one spelling, used in the store, in
//! files, on the command line and in JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A value that is not one of a kind's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not {} {kind} (expected one of: {expected})", article(.kind))]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The contract spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match wanted.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        kind: $what,
                        value: s.trim().to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

/// Also used for the learning layer's names (candidate states, decisions).
pub(crate) use named_enum;

named_enum!(
    /// What the algorithm recommends.
    RecAction, "recommendation action" {
        SellToOpen => "sell_to_open",
        BuyToClose => "buy_to_close",
        Roll => "roll",
    }
);

named_enum!(
    /// What happened at the broker: the trader's trades and a position's lifecycle events.
    ExecAction, "execution action" {
        SellToOpen => "sell_to_open",
        BuyToClose => "buy_to_close",
        BuyToOpen => "buy_to_open",
        SellToClose => "sell_to_close",
        Expired => "expired",
        Assigned => "assigned",
        Exercised => "exercised",
    }
);

impl ExecAction {
    /// Expirations, assignments and exercises happen to a position; they are not the
    /// trader's decisions and never count as `independent`.
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            ExecAction::Expired | ExecAction::Assigned | ExecAction::Exercised
        )
    }

    /// Opens a position (short for sell_to_open, long for buy_to_open).
    pub fn is_open(self) -> bool {
        matches!(self, ExecAction::SellToOpen | ExecAction::BuyToOpen)
    }
}

named_enum!(
    /// How a recommendation and the trader's trade relate.
    MatchType, "match type" {
        Consent => "consent",
        Modify => "modify",
        Reject => "reject",
        Independent => "independent",
        NoAction => "no_action",
    }
);

impl MatchType {
    /// The trader did something other than what was recommended.
    pub fn is_divergence(self) -> bool {
        matches!(
            self,
            MatchType::Modify | MatchType::Reject | MatchType::Independent
        )
    }
}

named_enum!(
    /// Why the trader diverged (the seed's codes).
    ReasonCode, "reason code" {
        Timing => "timing",
        PremiumLow => "premium_low",
        IvLow => "iv_low",
        EarningsConcern => "earnings_concern",
        GutFeeling => "gut_feeling",
        BetterOpportunity => "better_opportunity",
        RiskTooHigh => "risk_too_high",
        AlreadyExposed => "already_exposed",
        Other => "other",
    }
);

named_enum!(
    /// Whose path an outcome measures.
    Side, "outcome side" {
        Actual => "actual",
        Algorithm => "algorithm",
    }
);

named_enum!(
    /// Where a position stands.
    OutcomeStatus, "outcome status" {
        Open => "open",
        Expired => "expired",
        Assigned => "assigned",
        Closed => "closed",
        Rolled => "rolled",
        AwaitingPrice => "awaiting_price",
    }
);

impl OutcomeStatus {
    /// Nothing more will change it.
    pub fn is_final(self) -> bool {
        !matches!(self, OutcomeStatus::Open | OutcomeStatus::AwaitingPrice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in MatchType::ALL {
            assert_eq!(m.as_str().parse::<MatchType>(), Ok(*m));
        }
        for r in ReasonCode::ALL {
            assert_eq!(r.as_str().parse::<ReasonCode>(), Ok(*r));
        }
        for a in ExecAction::ALL {
            assert_eq!(a.as_str().parse::<ExecAction>(), Ok(*a));
        }
    }

    #[test]
    fn parsing_is_forgiving_about_case_and_separators_only() {
        assert_eq!(
            "Sell-To-Open".parse::<RecAction>(),
            Ok(RecAction::SellToOpen)
        );
        assert_eq!("NO_ACTION".parse::<MatchType>(), Ok(MatchType::NoAction));
        let err = "sell".parse::<RecAction>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`sell` is not a recommendation action (expected one of: sell_to_open, buy_to_close, roll)"
        );
    }
}
