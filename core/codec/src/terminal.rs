//! Text from the data made safe for a terminal: control characters and
//! bidirectional overrides can rewrite an operator's screen or spoof text.

use std::borrow::Cow;

/// Whether `s` holds a control character (C0, DEL, C1) or a bidirectional
/// override, any of which can rewrite an operator's terminal or spoof text.
pub fn has_control(s: &str) -> bool {
    // One pass over the bytes for the usual printable ASCII; characters
    // only when there is anything else.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        false
    } else {
        s.chars().any(is_unsafe_char)
    }
}

/// C0, DEL and C1; the bidirectional embeddings, overrides and isolates
/// (U+202A–E, U+2066–9) and the marks that steer them (U+061C Arabic
/// letter mark, U+200E/F left-to-right and right-to-left marks); and the
/// Unicode line and paragraph separators (U+2028/9), which some terminals
/// and log viewers break a line at, so a record could forge a log line.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `s` made safe to print on a terminal: control characters and
/// bidirectional overrides as `\u{..}` escapes, everything else as it is.
/// Anything that came from the data goes through this before a terminal.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_control(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_separators_that_steer_a_terminal_are_escaped() {
        for (raw, shown) in [
            ("meter\u{200f}1", "meter\\u{200f}1"),
            ("meter\u{200e}1", "meter\\u{200e}1"),
            ("meter\u{061c}1", "meter\\u{61c}1"),
            ("a\u{2028}b\u{2029}c", "a\\u{2028}b\\u{2029}c"),
            ("\u{202e}evil", "\\u{202e}evil"),
        ] {
            assert!(has_control(raw), "{raw:?}");
            assert_eq!(printable(raw), shown);
        }
        // Other scripts and symbols pass as they are.
        for fine in ["Zürich", "محطة", "µs", "230 V ± 10 %"] {
            assert!(!has_control(fine), "{fine:?}");
            assert_eq!(printable(fine), fine);
        }
    }
}
