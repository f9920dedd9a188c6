//! The words on the screens, one table per language.
//!
//! Every string the screens show comes from [`text`]: an enum of keys ([`Text`]) and one
//! `text(key) -> &'static str` function per language ([`nl`], [`fr`], [`de`], [`en`]), each
//! an exhaustive `match`, so adding a key without translating it does not compile. A test
//! checks that no translation is empty and that every string can be drawn with the
//! screens' fonts (Latin-1).

use crate::election::Language;

pub mod de;
pub mod en;
pub mod fr;
pub mod nl;

/// The key of one piece of screen text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Text {
    /// This language's own name, on the language buttons ("Nederlands").
    LanguageName,
    /// The training watermark word ("OEFENING").
    Training,
    /// Mode shown on the boot screen for an official election.
    Official,
    /// Boot screen title: the image was verified.
    ImageVerified,
    /// Label before the image fingerprint.
    Fingerprint,
    /// Label before the firmware version.
    Version,
    /// Label before the mode.
    ModeLabel,
    /// Label before the polling station.
    Station,
    /// The poll has not been opened yet.
    PollNotOpened,
    /// Hint for the president: open the poll with the PIN.
    PresidentOpens,
    /// PIN pad title when opening.
    PinOpenTitle,
    /// PIN pad title when closing.
    PinCloseTitle,
    /// Hint on the PIN pad.
    PinHint,
    /// The PIN pad's OK key.
    PinOk,
    /// The PIN pad's clear key.
    PinClear,
    /// Cancel button.
    Cancel,
    /// Wrong PIN notice.
    PinWrong,
    /// PIN entry locked notice.
    PinLocked,
    /// The typed PIN is being checked; this takes a moment.
    PinChecking,
    /// A voter's ballot is being written to the results media.
    RecordingVote,
    /// The results media is being written (opening, cancel, closing).
    WritingRecord,
    /// Hint under a message while the terminal works.
    PleaseWait,
    /// Waiting screen title.
    Waiting,
    /// Waiting screen hint for the voter.
    WaitingHint,
    /// Counter label: voters activated.
    Activations,
    /// Counter label: ballots cast.
    Cast,
    /// Counter label: sessions cancelled.
    Cancelled,
    /// Language screen title.
    ChooseLanguage,
    /// Lists screen title.
    ChooseList,
    /// The blank vote button and review line.
    Blank,
    /// The word "List" before a list number.
    List,
    /// Candidates screen title.
    ChooseCandidates,
    /// The top box button ("vote for the whole list").
    TopBox,
    /// Short tag on successor candidates.
    Successor,
    /// "selected" after a count of marks.
    Selected,
    /// The next button.
    Next,
    /// The back button.
    Back,
    /// Previous page button.
    PagePrev,
    /// Next page button.
    PageNext,
    /// Review screen title.
    Review,
    /// The change button on the review.
    Change,
    /// Review line: a list vote (top box only).
    ListVote,
    /// Review line: preference votes.
    Preferences,
    /// The confirm button.
    Confirm,
    /// Vote recorded screen title.
    VoteRecorded,
    /// Vote recorded screen hint.
    ThankYou,
    /// Session cancelled screen title.
    SessionCancelled,
    /// Session cancelled hint.
    SessionCancelledHint,
    /// Poll closed screen title.
    PollClosed,
    /// The counters agree.
    Balanced,
    /// The counters disagree.
    Unbalanced,
    /// Label before the ballots stored per election.
    Ballots,
    /// Hint for the president after closing.
    PresidentPowerOff,
    /// The large-text / high-contrast toggle.
    LargeText,
    /// Error screen title.
    Error,
    /// Memory integrity fault explanation.
    HaltMemory,
    /// Results media fault explanation.
    HaltMedia,
    /// Other device fault explanation.
    HaltDevice,
    /// What the president does after a fault.
    HaltAction,
    /// Error screen: no results media is inserted (code 601).
    HaltMediaMissing,
    /// Error screen: the results media belongs to another station or election, or is not results media (codes 602..609, 614).
    HaltMediaForeign,
    /// Error screen: the results media has no room for another session (code 610).
    HaltMediaFull,
    /// Error screen: an internal software fault (sealing 7xx, record 8xx).
    HaltFirmware,
    /// What the president does when the results media is missing.
    ActionInsertMedia,
    /// What the president does when the results media is foreign.
    ActionOwnMedia,
    /// What the president does when the results media is full.
    ActionNewMedia,
    /// What the president does when the results media fails to write.
    ActionKeepMedia,
    /// What the president does after a memory-integrity fault.
    ActionMemory,
    /// Error screen line for whoever stands at the terminal: call the president.
    HaltCallPresident,
    /// Powered-off screen.
    PoweredOff,
    /// Notice: mark the top box or a candidate first.
    NothingMarked,
    /// Notice: a voter is in the booth.
    VoterInBooth,
    /// Notice: the poll cannot be closed (counts disagree).
    CannotClose,
    /// Notice: the ballot store is full.
    StoreFull,
    /// Notice: the action is not possible now.
    NotPossible,
    /// Notice: the display failed.
    DisplayFailed,
    /// Title of the opening report (screen and paper).
    OpeningReport,
    /// Title of the closing report (paper).
    ClosingReport,
    /// Label before the boot image fingerprint on the reports.
    ImageFingerprint,
    /// Label before the session key fingerprint on the reports.
    SessionFingerprint,
    /// Hint on the opening report screen: copy the fingerprints onto the paper report.
    CopyFingerprints,
    /// The button that leaves the opening report for the waiting screen.
    Continue,
    /// The button that prints the opening report again.
    PrintAgain,
    /// Label before the generation of the record on the results media.
    RecordGeneration,
    /// Line on the reports for the president's name.
    PresidentName,
    /// Line on the reports for the president's signature.
    PresidentSignature,
    /// Notice: a report could not be printed.
    ReportNotPrinted,
    /// Notice: the vote is recorded but its ticket could not be printed.
    TicketNotPrinted,
    /// Title of the voter ticket.
    VoterTicket,
    /// What the voter does with the ticket.
    TicketHint,
    /// Closing report: the number of list votes (top box only) for a list.
    ListVotes,
    /// Closing report: the number of ballots with preference votes for a list.
    PreferenceBallots,
}

impl Text {
    /// Every key.
    pub const ALL: [Text; 92] = [
        Text::LanguageName,
        Text::Training,
        Text::Official,
        Text::ImageVerified,
        Text::Fingerprint,
        Text::Version,
        Text::ModeLabel,
        Text::Station,
        Text::PollNotOpened,
        Text::PresidentOpens,
        Text::PinOpenTitle,
        Text::PinCloseTitle,
        Text::PinHint,
        Text::PinOk,
        Text::PinClear,
        Text::Cancel,
        Text::PinWrong,
        Text::PinLocked,
        Text::PinChecking,
        Text::RecordingVote,
        Text::WritingRecord,
        Text::PleaseWait,
        Text::Waiting,
        Text::WaitingHint,
        Text::Activations,
        Text::Cast,
        Text::Cancelled,
        Text::ChooseLanguage,
        Text::ChooseList,
        Text::Blank,
        Text::List,
        Text::ChooseCandidates,
        Text::TopBox,
        Text::Successor,
        Text::Selected,
        Text::Next,
        Text::Back,
        Text::PagePrev,
        Text::PageNext,
        Text::Review,
        Text::Change,
        Text::ListVote,
        Text::Preferences,
        Text::Confirm,
        Text::VoteRecorded,
        Text::ThankYou,
        Text::SessionCancelled,
        Text::SessionCancelledHint,
        Text::PollClosed,
        Text::Balanced,
        Text::Unbalanced,
        Text::Ballots,
        Text::PresidentPowerOff,
        Text::LargeText,
        Text::Error,
        Text::HaltMemory,
        Text::HaltMedia,
        Text::HaltDevice,
        Text::HaltAction,
        Text::HaltMediaMissing,
        Text::HaltMediaForeign,
        Text::HaltMediaFull,
        Text::HaltFirmware,
        Text::ActionInsertMedia,
        Text::ActionOwnMedia,
        Text::ActionNewMedia,
        Text::ActionKeepMedia,
        Text::ActionMemory,
        Text::HaltCallPresident,
        Text::PoweredOff,
        Text::NothingMarked,
        Text::VoterInBooth,
        Text::CannotClose,
        Text::StoreFull,
        Text::NotPossible,
        Text::DisplayFailed,
        Text::OpeningReport,
        Text::ClosingReport,
        Text::ImageFingerprint,
        Text::SessionFingerprint,
        Text::CopyFingerprints,
        Text::Continue,
        Text::PrintAgain,
        Text::RecordGeneration,
        Text::PresidentName,
        Text::PresidentSignature,
        Text::ReportNotPrinted,
        Text::TicketNotPrinted,
        Text::VoterTicket,
        Text::TicketHint,
        Text::ListVotes,
        Text::PreferenceBallots,
    ];
}

/// The text of `key` in `language`.
pub fn text(language: Language, key: Text) -> &'static str {
    match language {
        Language::Nl => nl::text(key),
        Language::Fr => fr::text(key),
        Language::De => de::text(key),
        Language::En => en::text(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_translated_in_every_language() {
        for language in Language::ALL {
            for key in Text::ALL {
                let s = text(language, key);
                assert!(!s.trim().is_empty(), "{language:?} {key:?} is empty");
                assert!(
                    s.chars().all(|c| u32::from(c) < 0x100 && !c.is_control()),
                    "{language:?} {key:?} has a character outside Latin-1: {s:?}"
                );
            }
        }
    }

    #[test]
    fn languages_differ_where_they_should() {
        for key in [
            Text::Confirm,
            Text::Blank,
            Text::VoteRecorded,
            Text::LanguageName,
        ] {
            let all = Language::ALL.map(|l| text(l, key));
            for (i, a) in all.iter().enumerate() {
                for b in all.iter().skip(i + 1) {
                    assert_ne!(a, b, "{key:?} is not translated");
                }
            }
        }
    }
}
