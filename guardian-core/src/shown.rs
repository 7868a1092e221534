//! Text that came from outside (a recipe's path or address), shown in an error
//! message: control characters escaped, and anything long cut in the middle, so that
//! a message is one line of bounded length whatever the recipe held. The exact text
//! stays in the error's accessors.

use std::fmt;

/// How many characters of escaped text are shown before the cut.
const HEAD: usize = 96;
/// How many characters of escaped text are shown after the cut (a file's name, a port).
const TAIL: usize = 48;

/// `text` for an error message: see the [module docs](self).
///
/// Escaped: the C0 and C1 control characters and DEL (a newline could forge a log
/// line, an escape sequence repaint a terminal), and the invisible characters that
/// reorder or hide text (bidirectional overrides and isolates, zero-width characters,
/// the line and paragraph separators), each as Rust writes it (`\n`, `\u{202e}`).
/// Text whose escaped form is longer than `HEAD + TAIL + 1` characters is shown as its
/// first `HEAD` characters, `…`, and its last `TAIL`.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if fits(text, HEAD + TAIL + 1) {
            return write_escaped(f, text);
        }
        // The whole is wider than HEAD + TAIL, so the head and the tail cannot overlap.
        let mut width = 0;
        let mut head_end = 0;
        for (at, c) in text.char_indices() {
            width += escaped_width(c);
            if width > HEAD {
                break;
            }
            head_end = at + c.len_utf8();
        }
        let mut width = 0;
        let mut tail_start = text.len();
        for (at, c) in text.char_indices().rev() {
            width += escaped_width(c);
            if width > TAIL {
                break;
            }
            tail_start = at;
        }
        write_escaped(f, &text[..head_end])?;
        f.write_str("…")?;
        write_escaped(f, &text[tail_start..])
    }
}

/// Whether `text`, escaped, is at most `limit` characters; reads no further than that.
fn fits(text: &str, limit: usize) -> bool {
    let mut width = 0;
    for c in text.chars() {
        width += escaped_width(c);
        if width > limit {
            return false;
        }
    }
    true
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' // Arabic letter mark
                | '\u{200b}'..='\u{200f}' // zero-width characters, LTR and RTL marks
                | '\u{2028}'..='\u{202e}' // line and paragraph separators, embeddings, overrides
                | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, isolates
                | '\u{feff}' // zero-width no-break space
        )
}

fn escaped_width(c: char) -> usize {
    if needs_escape(c) {
        c.escape_default().len()
    } else {
        1
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        if needs_escape(c) {
            f.write_str(&text[plain..at])?;
            write!(f, "{}", c.escape_default())?;
            plain = at + c.len_utf8();
        }
    }
    f.write_str(&text[plain..])
}

#[cfg(test)]
mod tests {
    use super::{HEAD, Shown, TAIL};

    #[test]
    fn short_plain_text_is_shown_as_it_is() {
        for text in [
            "logs/match.log",
            "db.internal:5432",
            "ünïcödé-名前-🗝.log",
            "",
        ] {
            assert_eq!(Shown(text).to_string(), text);
        }
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(
            Shown("a\nb\r\tc\u{1b}[2J\u{7f}\u{85}").to_string(),
            r"a\nb\r\tc\u{1b}[2J\u{7f}\u{85}"
        );
        assert_eq!(
            Shown("evil\u{202e}gol.exe\u{200b}\u{2028}\u{feff}").to_string(),
            r"evil\u{202e}gol.exe\u{200b}\u{2028}\u{feff}"
        );
    }

    #[test]
    fn long_text_is_cut_in_the_middle_to_a_bounded_width() {
        let long = format!("{}middle{}", "a".repeat(1_000_000), "z".repeat(1_000_000));
        let shown = Shown(&long).to_string();
        assert_eq!(shown.chars().count(), HEAD + 1 + TAIL);
        assert!(shown.starts_with(&"a".repeat(HEAD)));
        assert!(shown.ends_with(&"z".repeat(TAIL)));

        // Escapes count toward the width, and are never cut in half.
        let newlines = "\n".repeat(10_000);
        let shown = Shown(&newlines).to_string();
        assert!(shown.chars().count() <= HEAD + 1 + TAIL, "{shown}");
        assert!(!shown.contains('\n'));
        assert_eq!(shown.replace('…', "").replace(r"\n", ""), "");

        // At the limit, nothing is cut.
        let exact = "b".repeat(HEAD + TAIL + 1);
        assert_eq!(Shown(&exact).to_string(), exact);
        let over = "b".repeat(HEAD + TAIL + 2);
        assert!(Shown(&over).to_string().contains('…'));
    }
}
