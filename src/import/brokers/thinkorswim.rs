//! thinkorswim's "Account Statement" export (Schwab; formerly TD Ameritrade).
//!
//! One CSV of sections, each a title line, a header and rows: `Cash Balance`, `Futures
//! Statements`, `Forex Statements`, `Account Order History`, `Account Trade History`,
//! `Equities`, `Options`, `Profits and Losses`, `Account Summary`. Before them a
//! byte order mark (older exports), an optional paperMoney notice and `Account
//! Statement for <account> (<type>) since … through …`.
//!
//! The fills are the `Account Trade History` rows (`,Exec Time,Spread,Side,Qty,[Total
//! Cost,]Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,Order Type`, by name): the
//! first leg of an order carries its time; further legs leave it empty. `Pos Effect`
//! says open or close, so a roll is a buy to close and a sell to open. Times have no
//! zone: they are the platform's, which the `BAL` rows of `Cash Balance` name (`… 06.01
//! EST`); New York when they do not.
//!
//! Fees and the broker's reference are only in `Cash Balance`, one `TRD` line per
//! order (`SOLD -1 AAPL 100 17 JAN 25 230 PUT @2.15`, `="1000000101"`): each order is
//! matched to the nearest line of the same day, underlying and size within a few
//! seconds (the two sections' clocks differ by a second or two), and its fees are split
//! over its legs by contracts. Expirations, assignments and exercises are only in
//! `Cash Balance`, as `RAD` lines (`REMOVAL OF OPTION DUE TO EXPIRATION -1 AAPL 100 17
//! JAN 25 230 PUT`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use super::{BuySell, FormatName};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[
    &[
        "DATE",
        "TIME",
        "TYPE",
        "REF #",
        "DESCRIPTION",
        "Misc Fees",
        "Commissions & Fees",
        "AMOUNT",
        "BALANCE",
    ],
    &[
        "Exec Time",
        "Spread",
        "Side",
        "Qty",
        "Pos Effect",
        "Symbol",
        "Exp",
        "Strike",
        "Type",
        "Price",
        "Net Price",
    ],
];

fields!(
    /// The columns read from `Cash Balance`.
    C {
        Date => ["DATE"],
        Time => ["TIME"],
        Type => ["TYPE"],
        Ref => ["REF #"],
        Description => ["DESCRIPTION"],
        MiscFees => ["Misc Fees"],
        Commissions => ["Commissions & Fees"],
    }
);

const CASH: &[C] = &[C::Date, C::Time, C::Type, C::Description];

fields!(
    /// The columns read from `Account Trade History`.
    H {
        ExecTime => ["Exec Time"],
        Side => ["Side"],
        Qty => ["Qty"],
        PosEffect => ["Pos Effect"],
        Symbol => ["Symbol"],
        Exp => ["Exp"],
        Strike => ["Strike"],
        Type => ["Type"],
        Price => ["Price"],
    }
);

const TRADES: &[H] = &[
    H::ExecTime,
    H::Side,
    H::Qty,
    H::Symbol,
    H::Exp,
    H::Strike,
    H::Type,
    H::Price,
];

/// Seconds the two sections' clocks may differ for one order.
const CLOCK_SLACK: i64 = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Preamble,
    Cash,
    Trades,
    Orders,
    Other,
}

/// A `TRD` line of `Cash Balance`.
struct CashTrade {
    line: u64,
    at: DateTime<Utc>,
    underlying: String,
    quantity: Option<i64>,
    option: bool,
    reference: Option<String>,
    fees: Money,
}

/// One leg of an order in `Account Trade History`.
struct Leg {
    order: usize,
    draft: Draft,
    /// The order's first leg: the one its cash line is matched by.
    first: bool,
}

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let zone = platform_zone(sheet);
    let mut account: Option<String> = None;
    let mut section = Section::Preamble;
    let mut expect_header = false;
    let mut cash: Option<Header<C>> = None;
    let mut trades: Option<Header<H>> = None;
    let mut cash_trades: Vec<CashTrade> = Vec::new();
    let mut legs: Vec<Leg> = Vec::new();
    let mut orders = 0usize;
    let mut order_time: Option<DateTime<Utc>> = None;
    let mut seen_header = false;
    for rec in &sheet.records {
        if rec.is_blank() {
            parsed.skip(Skip::Blank);
            continue;
        }
        let first = rec.cell(0);
        if rec.filled() == 1 && !first.is_empty() {
            let lower = first.to_ascii_lowercase();
            if lower.starts_with("account statement for") {
                account = account_in_title(&first);
                parsed.skip(Skip::Preamble);
            } else if lower.starts_with("this document was exported") {
                parsed.skip(Skip::Preamble);
            } else if lower.starts_with("total") {
                parsed.skip(Skip::Total);
            } else {
                section = match lower.as_str() {
                    "cash balance" => Section::Cash,
                    "account trade history" | "filled orders" | "today's trade activity" => {
                        Section::Trades
                    }
                    "account order history" | "working orders" | "cancelled orders" => {
                        Section::Orders
                    }
                    _ => Section::Other,
                };
                expect_header = true;
                parsed.skip(Skip::Section);
            }
            continue;
        }
        if expect_header {
            expect_header = false;
            match section {
                Section::Cash => cash = rec.header(C::named, CASH),
                Section::Trades => trades = rec.header(H::named, TRADES),
                _ => {}
            }
            seen_header |= cash.is_some() || trades.is_some();
            parsed.skip(Skip::Header);
            continue;
        }
        match (section, &cash, &trades) {
            (Section::Cash, Some(h), _) => match cash_row(rec, h, zone) {
                Ok(CashRow::Trade(trade)) => cash_trades.push(trade),
                Ok(CashRow::Outcome(outcome)) => parsed.take(Ok(outcome)),
                Err(e) => parsed.reject(e),
            },
            (Section::Trades, _, Some(h)) => {
                match trade_row(rec, h, zone, &mut orders, &mut order_time) {
                    Ok(TradeRow::Leg(leg)) => legs.push(leg),
                    Ok(TradeRow::Skip(kind)) => parsed.skip(kind),
                    Err(e) => parsed.reject(e),
                }
            }
            (Section::Orders, ..) => parsed.skip(Skip::Order),
            (Section::Preamble, ..) => parsed.skip(Skip::Preamble),
            _ => parsed.skip(Skip::Section),
        }
    }
    if !seen_header {
        return Err(sheet::no_header(FormatName::Thinkorswim, SIGNATURES[1]));
    }
    let used = settle_fees(&mut legs, &cash_trades);
    for (trade, used) in cash_trades.iter().zip(used) {
        if used {
            // The cash line of an order read from the trade history.
            parsed.skip(Skip::Summary);
        } else if trade.option {
            parsed.reject(RowError {
                line: trade.line,
                column: None,
                reason: "this option trade is in Cash Balance but not in Account Trade History \
                         (export the statement with its Account Trade History section)"
                    .to_owned(),
            });
        } else {
            // A share trade's cash line; the trade history has its row.
            parsed.skip(Skip::Summary);
        }
    }
    parsed.drafts.extend(legs.into_iter().map(|leg| leg.draft));
    for draft in parsed.drafts.iter_mut() {
        draft.broker_account.clone_from(&account);
    }
    Ok(parsed)
}

/// The zone the platform wrote its times in, from the `BAL` rows' last word.
fn platform_zone(sheet: &Sheet) -> Tz {
    sheet
        .records
        .iter()
        .filter(|r| (0..r.len()).any(|i| r.cell(i) == "BAL"))
        .find_map(|r| {
            let text = (0..r.len())
                .map(|i| r.cell(i))
                .find(|c| c.to_ascii_lowercase().contains("cash balance at the start"))?;
            sheet::us_zone(text.split_whitespace().last()?.trim_end_matches('.'))
        })
        .unwrap_or(sheet::NEW_YORK)
}

/// `Account Statement for 12345678SCHW (margin) since 1/6/25 through 1/17/25`.
fn account_in_title(text: &str) -> Option<String> {
    let rest = text.get("Account Statement for ".len()..)?;
    rest.split_whitespace().next().map(str::to_owned)
}

// ---------------------------------------------------------------------------------------
// Cash Balance

enum CashRow {
    Trade(CashTrade),
    Outcome(Outcome),
}

fn cash_row(rec: &Rec, header: &Header<C>, zone: Tz) -> Result<CashRow, RowError> {
    let skip = |kind| Ok(CashRow::Outcome(Outcome::Skip(kind)));
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let kind = p.text(C::Type).unwrap_or_default().to_ascii_uppercase();
    let description = p.text(C::Description).unwrap_or_default();
    if description.eq_ignore_ascii_case("TOTAL") && p.is_blank(C::Date) {
        return skip(Skip::Total);
    }
    match kind.as_str() {
        "BAL" => skip(Skip::Balance),
        "TRD" => {
            let day = p.required(C::Date, values::us_date);
            let time = p.required(C::Time, values::clock);
            let misc = p.optional(C::MiscFees, values::broker_money);
            let commissions = p.optional(C::Commissions, values::broker_money);
            let (Some(day), Some(time)) = (day, time) else {
                return Err(p.take_error());
            };
            p.check()?;
            let at = sheet::in_zone(day.and_time(time), zone)
                .map_err(|reason| p.error(C::Time, reason))?;
            let (underlying, quantity) = trade_words(description);
            let words: Vec<String> = description
                .split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect();
            Ok(CashRow::Trade(CashTrade {
                line: rec.line,
                at,
                underlying: underlying.unwrap_or_default(),
                quantity,
                option: words.iter().any(|w| w == "CALL" || w == "PUT"),
                reference: p.text(C::Ref).map(excel_text),
                fees: misc.unwrap_or_default().abs() + commissions.unwrap_or_default().abs(),
            }))
        }
        "RAD" => removal(rec, &mut p, description, zone),
        _ => skip(match sheet::kind_of(description) {
            Skip::Other | Skip::Stock => match kind.as_str() {
                "JRN" | "WIN" | "WOUT" | "ACH" | "DEP" | "WD" => Skip::Transfer,
                "ADJ" | "FEE" => Skip::Fee,
                "DOI" => Skip::Dividend,
                _ => Skip::Other,
            },
            kind => kind,
        }),
    }
}

/// `="1000000101"` → `1000000101`: the reference is written as a spreadsheet formula.
fn excel_text(text: &str) -> String {
    text.trim_start_matches('=').trim_matches('"').to_owned()
}

/// The underlying and signed size of a cash line's trade: `SOLD -1 DIAGONAL MSFT 100 …`
/// → (`MSFT`, −1). Words before `BOT`/`SOLD` (`tIP `, `MSO `) are prefixes; the
/// underlying is the word before the multiplier (or before `@` for shares).
fn trade_words(description: &str) -> (Option<String>, Option<i64>) {
    let words: Vec<&str> = description.split_whitespace().collect();
    let Some(start) = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("BOT") || w.eq_ignore_ascii_case("SOLD"))
    else {
        return (None, None);
    };
    let quantity = words.get(start + 1).and_then(|q| values::quantity(q).ok());
    let rest = &words[(start + 2).min(words.len())..];
    let end = rest
        .iter()
        .position(|w| w.starts_with('@') || w.bytes().all(|b| b.is_ascii_digit()));
    let underlying = end
        .and_then(|e| e.checked_sub(1))
        .and_then(|i| rest.get(i))
        .map(|w| w.to_ascii_uppercase());
    (underlying, quantity)
}

/// A `RAD` line: `REMOVAL OF OPTION DUE TO EXPIRATION -1 AAPL 100 [(Weeklys)] 17 JAN 25
/// 230 PUT`.
fn removal(
    rec: &Rec,
    p: &mut RowParser<'_, '_, C>,
    description: &str,
    zone: Tz,
) -> Result<CashRow, RowError> {
    let upper = description.to_ascii_uppercase();
    let action = if upper.contains("DUE TO EXPIRATION") {
        ExecAction::Expired
    } else if upper.contains("DUE TO ASSIGNMENT") {
        ExecAction::Assigned
    } else if upper.contains("DUE TO EXERCISE") {
        ExecAction::Exercised
    } else {
        return Ok(CashRow::Outcome(Outcome::Skip(sheet::kind_of(description))));
    };
    let day = p.required(C::Date, values::us_date);
    let time = p.optional(C::Time, values::clock);
    let removed = p.required(C::Description, removed_contract);
    let (Some(day), Some((contract, quantity))) = (day, removed) else {
        return Err(p.take_error());
    };
    p.check()?;
    let executed_at = match time {
        Some(time) => {
            sheet::in_zone(day.and_time(time), zone).map_err(|reason| p.error(C::Time, reason))?
        }
        None => sheet::at_close(day),
    };
    let reference = p.text(C::Ref).map(excel_text).filter(|r| !r.is_empty());
    Ok(CashRow::Outcome(Outcome::Event(Draft {
        line: rec.line,
        broker_account: None,
        key: reference.map_or(RefKey::Content(None), RefKey::Id),
        executed_at,
        act: Act::Known(action),
        contract,
        contracts: quantity.abs(),
        price: Money::ZERO,
        fees: Money::ZERO,
    })))
}

/// The removed contract and size in a `RAD` line.
fn removed_contract(text: &str) -> Result<(Contract, i64), String> {
    let bad = || {
        format!(
            "`{text}` does not name the removed option (expected e.g. `REMOVAL OF OPTION DUE TO \
             EXPIRATION -1 AAPL 100 17 JAN 25 230 PUT`)"
        )
    };
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.starts_with('('))
        .collect();
    let at = words
        .iter()
        .position(|w| values::quantity(w).is_ok())
        .ok_or_else(bad)?;
    let quantity = values::signed_contracts(words[at])?;
    // quantity, root, multiplier, day, month, year, strike, right
    let [root, _multiplier, day, month, year, strike, right] =
        words.get(at + 1..at + 8).ok_or_else(bad)?
    else {
        return Err(bad());
    };
    let expiration = values::day_month_year(&format!("{day} {month} {year}")).map_err(|_| bad())?;
    let strike = values::broker_money(strike).map_err(|_| bad())?;
    let right = values::right(right).map_err(|_| bad())?;
    Ok((values::contract(root, expiration, right, strike)?, quantity))
}

// ---------------------------------------------------------------------------------------
// Account Trade History

enum TradeRow {
    Leg(Leg),
    Skip(Skip),
}

fn trade_row(
    rec: &Rec,
    header: &Header<H>,
    zone: Tz,
    orders: &mut usize,
    order_time: &mut Option<DateTime<Utc>>,
) -> Result<TradeRow, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    // The first leg of an order has its time; the others leave it empty.
    let first = !p.is_blank(H::ExecTime);
    if first {
        *orders += 1;
        *order_time = p.required(H::ExecTime, |t| trade_time(t, zone));
    }
    let kind = p.text(H::Type).unwrap_or_default().to_ascii_uppercase();
    if kind != "CALL" && kind != "PUT" {
        p.check()?;
        return Ok(TradeRow::Skip(if kind.contains("FUT") {
            Skip::Futures
        } else {
            Skip::Stock
        }));
    }
    let side = match p.text(H::Side).map(str::to_ascii_uppercase).as_deref() {
        Some("BUY") => Some(BuySell::Buy),
        Some("SELL") => Some(BuySell::Sell),
        Some(other) => {
            let other = other.to_owned();
            p.fail(
                H::Side,
                format!("`{other}` is not a side (expected BUY or SELL)"),
            );
            None
        }
        None => {
            p.fail(H::Side, crate::import::reading::REQUIRED);
            None
        }
    };
    let effect = p
        .text(H::PosEffect)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let quantity = p.required(H::Qty, values::signed_contracts);
    let root = p.required(H::Symbol, values::ticker);
    let expiration = p.required(H::Exp, |e| {
        let e: String = e
            .split_whitespace()
            .filter(|w| !w.starts_with('('))
            .collect::<Vec<_>>()
            .join(" ");
        values::day_month_year(&e)
    });
    let strike = p.required(H::Strike, values::broker_money);
    let right = p.required(H::Type, values::right);
    let price = p.required(H::Price, values::broker_money);
    let Some(executed_at) = *order_time else {
        if !first {
            return Err(p.error(
                H::ExecTime,
                "a leg without an order before it (the first leg of an order has its time)",
            ));
        }
        return Err(p.take_error());
    };
    let (
        Some(side),
        Some(quantity),
        Some(root),
        Some(expiration),
        Some(strike),
        Some(right),
        Some(price),
    ) = (side, quantity, root, expiration, strike, right, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let contract = values::contract(root.as_str(), expiration, right, strike)
        .map_err(|reason| p.error(H::Strike, reason))?;
    let act = match (side, effect.as_str()) {
        (BuySell::Sell, "TO OPEN") => Act::Known(ExecAction::SellToOpen),
        (BuySell::Buy, "TO CLOSE") => Act::Known(ExecAction::BuyToClose),
        (BuySell::Buy, "TO OPEN") => Act::Known(ExecAction::BuyToOpen),
        (BuySell::Sell, "TO CLOSE") => Act::Known(ExecAction::SellToClose),
        // `AUTO` (or nothing): the running position decides.
        (side, _) => Act::Side(side),
    };
    Ok(TradeRow::Leg(Leg {
        order: *orders,
        first,
        draft: Draft {
            line: rec.line,
            broker_account: None,
            key: RefKey::Content(None),
            executed_at,
            act,
            contract,
            contracts: quantity.abs(),
            price: price.abs(),
            fees: Money::ZERO,
        },
    }))
}

/// `1/14/25 10:05:07`, in the platform's zone.
fn trade_time(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let (date, time) = text.split_once(' ').ok_or_else(|| {
        format!("`{text}` is not a date and time (expected e.g. 1/14/25 10:05:07)")
    })?;
    let local = values::us_date(date)?.and_time(values::clock(time)?);
    sheet::in_zone(local, zone)
}

/// Gives each order the fees and reference of its cash line; says which lines were used.
fn settle_fees(legs: &mut [Leg], cash: &[CashTrade]) -> Vec<bool> {
    // Every (order, line) pair close enough, nearest first: each takes its best free one.
    let mut pairs: Vec<(i64, u64, usize, usize)> = Vec::new();
    for (i, leg) in legs.iter().enumerate().filter(|(_, l)| l.first) {
        for (j, trade) in cash.iter().enumerate() {
            let gap = (trade.at - leg.draft.executed_at).num_seconds().abs();
            let same_size = trade
                .quantity
                .is_none_or(|q| q.abs() == leg.draft.contracts);
            if trade.option
                && gap <= CLOCK_SLACK
                && trade.underlying == leg.draft.contract.underlying.as_str()
                && same_size
            {
                pairs.push((gap, leg.draft.line, i, j));
            }
        }
    }
    pairs.sort();
    let mut used = vec![false; cash.len()];
    let mut matched: Vec<Option<usize>> = vec![None; legs.len()];
    for (_, _, i, j) in pairs {
        if used[j] || matched[i].is_some() {
            continue;
        }
        used[j] = true;
        matched[i] = Some(j);
    }
    for (i, j) in matched.iter().enumerate() {
        let Some(j) = *j else { continue };
        let order = legs[i].order;
        let members: Vec<usize> = (0..legs.len())
            .filter(|k| legs[*k].order == order)
            .collect();
        let contracts: Vec<i64> = members.iter().map(|k| legs[*k].draft.contracts).collect();
        let shares = sheet::split_by_contracts(cash[j].fees, &contracts);
        let several = members.len() > 1;
        for (k, fees) in members.into_iter().zip(shares) {
            let leg = &mut legs[k].draft;
            leg.fees = fees;
            if let Some(reference) = &cash[j].reference {
                leg.key = RefKey::Id(if several {
                    format!("{reference}/{}", leg.contract.occ().replace(' ', ""))
                } else {
                    reference.clone()
                });
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, parse_text};
    use super::super::{FormatName, detect};

    #[test]
    fn a_2026_export_without_bom_with_total_cost_and_central_time_reads_by_name() {
        let text = concat!(
            "Account Statement for 123****89 (margin) since 3/1/26 through 3/31/26\n",
            "\n",
            "Cash Balance\n",
            "DATE,TIME,TYPE,REF #,DESCRIPTION,Misc Fees,Commissions & Fees,AMOUNT,BALANCE\n",
            "3/16/26,01:00:00,BAL,,Cash balance at the start of business day 16.03 CST,,,,\"10,000.00\"\n",
            "3/16/26,08:59:03,TRD,=\"2000000001\",tIP BOT +4 VERTICAL SPY 100 17 APR 26 685/700 CALL @5.45,-0.08,-5.20,\"-2,180.00\",\"7,814.72\"\n",
            "3/20/26,16:00:00,RAD,=\"2000000002\",REMOVAL OF OPTION DUE TO ASSIGNMENT -2 JPM 100 (Weeklys) 20 MAR 26 305 PUT,,,0.00,\"7,814.72\"\n",
            "3/20/26,16:00:00,DOI,=\"2000000003\",ORDINARY DIVIDEND~JPM,,,5.00,\"7,819.72\"\n",
            ",,,,TOTAL,($0.08),($5.20),\"($2,175.00)\",\"$7,819.72\"\n",
            "\n",
            "Account Trade History\n",
            ",Exec Time,Spread,Side,Qty,Total Cost,Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,Order Type\n",
            ",3/16/26 08:59:02,VERTICAL,BUY,+4,\"-3,280.00\",TO OPEN,SPY,17 APR 26,685,CALL,8.20,5.45,LMT\n",
            ",,,SELL,-4,\"1,100.00\",TO OPEN,SPY,17 APR 26,700,CALL,2.75,DEBIT,\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Thinkorswim));
        let file = parse_text(FormatName::Thinkorswim, text, None);
        assert_eq!(
            events(&file),
            [
                "123****89 2026-03-16T13:59:02Z buy_to_open SPY 2026-04-17 685.00 call 4 @8.20 fees 2.64",
                "123****89 2026-03-16T13:59:02Z sell_to_open SPY 2026-04-17 700.00 call 4 @2.75 fees 2.64",
                "123****89 2026-03-20T21:00:00Z assigned JPM 2026-03-20 305.00 put 2 @0.00 fees 0.00",
            ],
            "Central time, fees split over the legs"
        );
        let refs: Vec<&str> = file
            .executions
            .iter()
            .map(|e| e.broker_ref.as_str())
            .collect();
        assert_eq!(
            refs,
            [
                "2000000001/SPY260417C00685000",
                "2000000001/SPY260417C00700000",
                "2000000002"
            ]
        );
        assert_eq!(file.ignored["dividend"], 1);
        assert_eq!(file.ignored["total"], 1);
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
    }

    #[test]
    fn paper_money_filled_orders_with_two_leading_columns_and_an_unmatched_cash_line() {
        let text = concat!(
            "This document was exported from the paperMoney platform.\n",
            "Account Statement for D-00000003 (margin) since 9/2/25 through 9/3/25\n",
            "Cash Balance\n",
            "DATE,TIME,TYPE,REF #,DESCRIPTION,Misc Fees,Commissions & Fees,AMOUNT,BALANCE\n",
            "9/3/25,11:07:57,TRD,=\"1000000001\",SOLD -1 AMZN 100 19 DEC 25 230 PUT @14.55,-0.03,-0.65,\"1,455.00\",\"90,532.76\"\n",
            "9/3/25,11:30:00,TRD,=\"1000000002\",SOLD -1 NVDA 100 19 DEC 25 150 PUT @5.00,-0.03,-0.65,500.00,\"91,032.76\"\n",
            "Filled Orders\n",
            ",,Exec Time,Spread,Side,Qty,Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,Price Improvement,Order Type\n",
            ",,9/3/25 11:07:57,SINGLE,SELL,-1,TO OPEN,AMZN,19 DEC 25,230,PUT,14.55,14.55,.00,LMT\n",
        );
        let file = parse_text(FormatName::Thinkorswim, text, None);
        assert_eq!(
            events(&file),
            [
                "D-00000003 2025-09-03T15:07:57Z sell_to_open AMZN 2025-12-19 230.00 put 1 @14.55 fees 0.68"
            ]
        );
        assert_eq!(file.rejected.len(), 1);
        assert_eq!(file.rejected[0].line, 6);
        assert!(
            file.rejected[0]
                .reason
                .contains("not in Account Trade History")
        );
    }
}
