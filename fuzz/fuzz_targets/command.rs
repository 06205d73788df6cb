//! A chat message as the bot reads a command: teloxide's command parsing, then the
//! argument parser of that command (`bot::commands`), then, for a wrong argument, the
//! error reply. No text panics; an error reply stays short whatever was typed (the
//! quoted input is cut); a period parsed is a range the use cases can take.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use rlhf_bot::bot::commands::{self, ArgError, Command};
use rlhf_bot::bot::messages;
use rlhf_bot::domain::Reason;
use teloxide::utils::command::BotCommands;

fn reply(e: &ArgError) {
    let html = messages::bad_argument(e);
    // The problem is cut to 300 characters, the example is ours.
    assert!(
        messages::telegram_len(&html) <= 500,
        "an error reply of {} characters",
        messages::telegram_len(&html)
    );
}

fn period(p: commands::Period) {
    let today = NaiveDate::from_ymd_opt(2025, 1, 17).unwrap();
    let range = p.range(today);
    let _ = (p.label(), p.within(), range.days());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(command) = Command::parse(text, "rlhf_bot") else {
        return;
    };
    let result: Result<(), ArgError> = (|| {
        match command {
            Command::Start(_) | Command::Help(_) | Command::Myid(_) | Command::Cancel(_) => {}
            Command::Candidates(_) => {}
            Command::Matches(a) => {
                let q = commands::parse_matches(&a)?;
                if let (Some(f), Some(t)) = (q.from, q.to) {
                    assert!(f <= t);
                }
            }
            Command::Match(a) => assert!(commands::parse_match_id(&a)? > 0),
            Command::Reason(a) => {
                let (id, code, text) = commands::parse_reason(&a)?;
                assert!(id > 0);
                let _ = Reason::new(code, text.as_deref());
            }
            Command::Reconcile(a) => {
                commands::parse_reconcile_day(&a)?;
            }
            Command::Track(a) => {
                commands::parse_track_day(&a)?;
            }
            Command::Summaries(a) => {
                commands::parse_optional_year(&a)?;
            }
            Command::Summary(a) | Command::Generate(a) | Command::Review(a) => {
                let w = commands::parse_week(&a)?;
                let _ = (w.monday(), w.sunday(), w.label());
            }
            Command::Decide(a) => {
                let (id, _, _) = commands::parse_decide(&a)?;
                assert!(id > 0);
            }
            Command::Divergence(a) | Command::Accuracy(a) | Command::Modifications(a) => {
                period(commands::parse_period(&a)?);
            }
            Command::Chart(a) => {
                let (_, p) = commands::parse_chart_period(&a)?;
                period(p);
                let _ = commands::parse_chart(&a);
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        reply(&e);
    }
});
