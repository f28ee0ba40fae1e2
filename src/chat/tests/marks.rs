//! Zero-width characters (combining marks): as many as real text needs go on the character
//! before them; a stack beyond that, or one with no character of the peer's under it, is shown
//! escaped, never drawn over other rows or on tete's own marks.

use super::*;
use crate::chat::row::MARKS_PER_BASE;
use crate::chat::width::char_columns;

/// The same text at once and a byte at a time shows the same rows.
fn shown_both_ways(width: u16, text: &str) -> Vec<String> {
    let mut at_once = Term::new(width, false);
    at_once.peer(text.as_bytes());
    let mut trickle = Term::new(width, false);
    for &byte in text.as_bytes() {
        trickle.peer(&[byte]);
    }
    assert_eq!(trickle.rows(), at_once.rows(), "{text:?}");
    at_once.rows()
}

#[test]
fn accented_text_is_shown_as_sent() {
    for text in [
        "caf\u{65}\u{301}",
        // Vietnamese, decomposed: ệ is e, a dot below and a circumflex.
        "Vi\u{65}\u{323}\u{302}t",
        // Hindi: a conjunct with a virama and a vowel sign.
        "\u{915}\u{94d}\u{937}\u{93f}",
        // Hebrew with a point, a dagesh and two cantillation marks.
        "\u{5e9}\u{5c1}\u{5bc}\u{5b8}\u{591}\u{5a3}",
    ] {
        assert_eq!(shown_both_ways(40, text), [format!("| {text}"), ">".into()]);
    }
    // An accent on the last column stays on its character.
    assert_eq!(
        shown_both_ways(10, "abcdefge\u{301}h"),
        ["| abcdefge\u{301}", "| h", ">"]
    );
}

#[test]
fn a_stack_of_marks_is_cut_and_the_rest_escaped() {
    let acute = "\u{301}";
    let text = format!("a{}b", acute.repeat(MARKS_PER_BASE + 2));
    let kept = format!("a{}", acute.repeat(MARKS_PER_BASE));
    assert_eq!(
        shown_both_ways(40, &text),
        [format!("| {kept}\\u{{301}}\\u{{301}}b"), ">".into()]
    );
}

#[test]
fn a_mark_never_goes_on_tetes_own_mark() {
    // At the start of a line, after a TAB, and at the start of a continuation row.
    assert_eq!(
        shown_both_ways(20, "\u{301}x\n\t\u{20dd}"),
        ["| \\u{301}x", "|       \\u{20dd}", ">"]
    );
    let full = format!("{}{}", "x".repeat(8 + 300), "\u{301}");
    let rows = shown_both_ways(10, &full);
    for row in &rows[..rows.len() - 1] {
        let text = row
            .strip_prefix("| ")
            .expect("a peer row starts with its mark");
        let first = text
            .chars()
            .next()
            .expect("a peer row holds text after its mark");
        assert_ne!(char_columns(first), 0, "{row:?}");
    }
}

#[test]
fn a_zalgo_flood_is_bounded() {
    for width in [80, 12] {
        let mut term = Term::new(width, true);
        let flood = format!("a{}", "\u{301}".repeat(5000));
        let mut screen = Vec::new();
        term.chat
            .peer_bytes(flood.as_bytes(), Instant::now(), &mut screen);
        term.terminal.process(&screen);
        term.peer(b"\n");
        let rows = term.rows();
        assert!(rows.len() > 2);
        for row in &rows[..rows.len() - 1] {
            let text = row
                .strip_prefix("| ")
                .expect("a peer row starts with its mark");
            let mut run = 0;
            for (n, c) in text.chars().enumerate() {
                run = if char_columns(c) == 0 { run + 1 } else { 0 };
                assert!(run <= MARKS_PER_BASE, "{row:?}");
                assert!(n > 0 || run == 0, "{row:?}");
            }
        }
        // The one character that takes the marks shows them; the rest come escaped.
        let raw = screen
            .windows(2)
            .filter(|pair| *pair == "\u{301}".as_bytes());
        assert_eq!(raw.count(), MARKS_PER_BASE);
    }
}
