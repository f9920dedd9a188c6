//! The screen fonts cover Dutch, French and German and the euro sign: every character of
//! every string table and of the demo election has a glyph in every face a text can be
//! drawn in ([`screen::missing_glyph`]), and on screen each text is drawn in a face that
//! has all its glyphs (the large-text title face lacks `€`; titles that need it fall back).

mod fixtures;

use firmware::election::{Language, Mode};
use firmware::i18n::{text, Text};
use firmware::screen::{self, Screen, View};
use firmware::terminal::Draft;
use fixtures::*;

/// The letters of Dutch, French and German beyond ASCII, and the euro sign.
const LETTERS: &str = "àâäæçéèêëîïôöœùûüÿ ÀÂÄÆÇÉÈÊËÎÏÔÖŒÙÛÜŸ ß €";

#[test]
fn every_string_of_every_language_has_glyphs() {
    for language in Language::ALL {
        for key in Text::ALL {
            let s = text(language, key);
            assert_eq!(
                screen::missing_glyph(s),
                None,
                "{language:?} {key:?}: {s:?}"
            );
        }
    }
}

#[test]
fn every_name_of_the_demo_election_has_glyphs() {
    let strings = demo_strings();
    for s in &strings {
        assert_eq!(screen::missing_glyph(s), None, "{s:?}");
    }
    // The reader found the accented names.
    assert!(strings.iter().any(|s| s.contains('é')), "{strings:?}");
}

#[test]
fn the_letters_of_the_three_languages_and_the_euro_sign_have_glyphs() {
    assert_eq!(screen::missing_glyph(LETTERS), None);
    assert_eq!(screen::missing_glyph("€"), None);
    // The check is not vacuous: characters no face has are named.
    assert_eq!(screen::missing_glyph("A → B"), Some('→'));
    assert_eq!(screen::missing_glyph("Ж"), Some('Ж'));
}

#[test]
fn a_title_with_the_euro_sign_is_drawn_in_a_face_that_has_it() {
    let event = event(&Language::ALL, Mode::Training);
    let chamber = &event.elections[0];
    let euro = chamber
        .lists
        .iter()
        .position(|l| l.name.contains('€'))
        .expect("the test event has a list with the euro sign");
    for large in [false, true] {
        for language in Language::ALL {
            let view = View {
                event,
                screen: Screen::Candidates {
                    election: 0,
                    draft: Draft::Marks {
                        list: firmware::ballot::ListIndex::new(euro, chamber).unwrap(),
                        top_box: false,
                        candidates: firmware::ballot::CandidateSet::from_mask(0, 4).unwrap(),
                    },
                },
                language,
                large,
                page: 0,
                focus: None,
                notice: None,
            };
            let mut seen = 0;
            screen::measure_text(&view, |m| {
                if m.text.contains('€') {
                    seen += 1;
                    assert_eq!(m.missing_glyph, None, "{:?} (large: {large})", m.text);
                }
            });
            // The title and the top box name the list.
            assert!(seen >= 2, "{language:?} large {large}: {seen}");
        }
    }
}
