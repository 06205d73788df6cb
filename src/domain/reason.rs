//! The trader's reason for a divergence, checked once wherever it comes from (the
//! command line, a button, free text after `other`).

use super::kinds::{MatchType, ReasonCode};

/// Longest reason text kept, in characters.
pub const MAX_REASON_TEXT: usize = 1000;

/// A valid reason: a code and, required for `other`, a text (trimmed, never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: ReasonCode,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("the reason `other` needs a text, e.g. other \"waiting for CPI\"")]
    NeedsText,
    #[error("a reason text may be at most {MAX_REASON_TEXT} characters")]
    TooLong,
    #[error("a reason text may not contain control characters (found U+{0:04X})")]
    ControlCharacter(u32),
    /// Read after the match's name: "match 12 is a consent; …".
    #[error("is a {0}; reasons are recorded for divergences (modify, reject, independent)")]
    NotADivergence(MatchType),
}

impl Reason {
    /// A reason; line breaks and tabs in the text become spaces (a chat message may
    /// span lines, a stored reason is one line), other control characters are refused.
    pub fn new(code: ReasonCode, text: Option<&str>) -> Result<Self, ReasonError> {
        let text = text.map(one_line).transpose()?;
        let text = text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if code == ReasonCode::Other && text.is_none() {
            return Err(ReasonError::NeedsText);
        }
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_REASON_TEXT)
        {
            return Err(ReasonError::TooLong);
        }
        Ok(Self { code, text })
    }

    /// Reasons explain divergences; a consent or a position that resolved itself has
    /// nothing to explain.
    pub fn applies_to(match_type: MatchType) -> Result<(), ReasonError> {
        if match_type.is_divergence() {
            Ok(())
        } else {
            Err(ReasonError::NotADivergence(match_type))
        }
    }
}

/// `text` on one line: `\n`, `\r` and `\t` become spaces; any other control character
/// (an escape sequence, NUL) is an error.
fn one_line(text: &str) -> Result<String, ReasonError> {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => Ok(' '),
            c if c.is_control() => Err(ReasonError::ControlCharacter(u32::from(c))),
            c => Ok(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_needs_a_text_and_texts_are_trimmed_and_bounded() {
        assert_eq!(
            Reason::new(ReasonCode::Other, Some("  ")),
            Err(ReasonError::NeedsText)
        );
        assert_eq!(
            Reason::new(ReasonCode::Other, None),
            Err(ReasonError::NeedsText)
        );
        let r = Reason::new(ReasonCode::Other, Some("  CPI tomorrow ")).unwrap();
        assert_eq!(r.text.as_deref(), Some("CPI tomorrow"));
        assert_eq!(Reason::new(ReasonCode::Timing, None).unwrap().text, None);
        let long = "x".repeat(MAX_REASON_TEXT + 1);
        assert_eq!(
            Reason::new(ReasonCode::Timing, Some(&long)),
            Err(ReasonError::TooLong)
        );
    }

    #[test]
    fn line_breaks_become_spaces_and_other_control_characters_are_refused() {
        let r = Reason::new(ReasonCode::Other, Some("CPI\ntomorrow\t!")).unwrap();
        assert_eq!(r.text.as_deref(), Some("CPI tomorrow !"));
        assert_eq!(
            Reason::new(ReasonCode::Other, Some("red \u{1b}[31m")),
            Err(ReasonError::ControlCharacter(0x1b))
        );
        assert_eq!(
            Reason::new(ReasonCode::Timing, Some("a\u{0}b")),
            Err(ReasonError::ControlCharacter(0))
        );
    }

    #[test]
    fn reasons_apply_to_divergences_only() {
        for t in MatchType::ALL {
            assert_eq!(Reason::applies_to(*t).is_ok(), t.is_divergence(), "{t}");
        }
    }
}
