//! Interactive Brokers: the Activity Statement CSV and Flex Query CSVs.
//!
//! Activity Statement: every line starts `<Section>,<Header|Data|SubTotal|Total|Notes>`
//! and a section may declare its header again (one `Trades,Header` per asset
//! category). Options are the `Trades` rows of `Equity and Index Options`:
//! `Symbol` `AAPL 17JAN25 230 P`, `Date/Time` `"2025-01-06, 10:15:30"` in New York
//! time, signed `Quantity`, `T. Price` per share, negative `Comm/Fee`, and `Code`
//! (`O`/`C` open or close, `A` assigned, `Ep` expired, `Ex` exercised, `Ca`
//! cancelled, `P` partial). `DataDiscriminator` `Trade` rows are the executions and
//! `Order` rows restate them: executions are read when the statement has them, orders
//! otherwise, never both. The account is the `Account` column, or the statement's
//! `Account Information`.
//!
//! Flex Query: the user picks the columns; read by their Flex names (`ClientAccountID`,
//! `AssetClass`, `Symbol` as padded OCC, `UnderlyingSymbol`, `Strike`, `Expiry`,
//! `Put/Call`, `DateTime` or `Date/Time` as `20250106;101530`, `Buy/Sell`,
//! `Quantity`, `TradePrice`, `IBCommission`, `Open/CloseIndicator`, `Notes/Codes`,
//! `IBExecID`/`TradeID`, `LevelOfDetail`), with or without `BOF`/`BOA`/`BOS`/`EOS`/
//! `EOA`/`EOF` records and `HEADER`/`DATA` section codes. The execution id is the ref.

use chrono::{DateTime, Utc};

use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use super::{BuySell, FormatName};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[
    &["Statement", "Header", "Field Name", "Field Value"],
    &[
        "Trades",
        "Header",
        "Symbol",
        "Date/Time",
        "Quantity",
        "T. Price",
    ],
    &["ClientAccountID", "Buy/Sell", "Quantity"],
    &["AssetClass", "Buy/Sell", "Quantity"],
    &["Put/Call", "Buy/Sell", "Quantity"],
    &["IBExecID", "Buy/Sell", "Quantity"],
    &["TradeID", "Buy/Sell", "Quantity"],
    &["Open/CloseIndicator", "Buy/Sell", "Quantity"],
];

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let flex = sheet
        .records
        .iter()
        .any(|r| r.header(X::named, FLEX).is_some());
    if flex {
        return parse_flex(sheet);
    }
    parse_statement(sheet)
}

// ---------------------------------------------------------------------------------------
// Activity Statement

fields!(
    /// The columns read from an Activity Statement's `Trades` section.
    T {
        Discriminator => ["DataDiscriminator"],
        AssetCategory => ["Asset Category"],
        Account => ["Account"],
        Symbol => ["Symbol"],
        DateTime => ["Date/Time"],
        Quantity => ["Quantity"],
        Price => ["T. Price"],
        CommFee => ["Comm/Fee", "Comm in USD"],
        Code => ["Code"],
    }
);

const TRADES: &[T] = &[
    T::AssetCategory,
    T::Symbol,
    T::DateTime,
    T::Quantity,
    T::Price,
];

fn parse_statement(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let section = |r: &Rec| r.cell(0).to_ascii_lowercase();
    let kind = |r: &Rec| r.cell(1).to_ascii_lowercase();
    let account = sheet
        .records
        .iter()
        .find(|r| {
            section(r) == "account information" && kind(r) == "data" && r.cell(2) == "Account"
        })
        .map(|r| r.cell(3).into_owned());
    // Executions when the statement has them; orders restate them.
    let executions = sheet.records.iter().any(|r| {
        section(r) == "trades" && kind(r) == "data" && r.cell(2).eq_ignore_ascii_case("trade")
    });
    let mut header: Option<Header<T>> = None;
    let mut cancels = Vec::new();
    let mut statement = false;
    for rec in &sheet.records {
        let (section, kind) = (section(rec), kind(rec));
        match kind.as_str() {
            "header" => {
                if section == "trades" {
                    header = rec.header(T::named, TRADES);
                }
                statement |= section == "statement" || header.is_some();
                parsed.skip(Skip::Header);
            }
            "subtotal" => parsed.skip(Skip::Subtotal),
            "total" => parsed.skip(Skip::Total),
            "data" if section == "trades" => match &header {
                Some(h) => match trade_row(rec, h, account.as_deref(), executions) {
                    Ok(Some(TradeRow::Cancel(draft))) => cancels.push(draft),
                    Ok(Some(TradeRow::Outcome(outcome))) => parsed.take(Ok(outcome)),
                    Ok(None) => {}
                    Err(e) => parsed.reject(e),
                },
                None => parsed.reject(rec.error(
                    "a Trades row before a Trades header with Asset Category, Symbol, Date/Time, \
                     Quantity and T. Price",
                )),
            },
            _ if rec.is_blank() => parsed.skip(Skip::Blank),
            _ => parsed.skip(Skip::Section),
        }
    }
    net_out_cancels(&mut parsed, cancels);
    if !statement {
        return Err(sheet::no_header(FormatName::Ibkr, SIGNATURES[1]));
    }
    Ok(parsed)
}

enum TradeRow {
    Outcome(Outcome),
    /// A cancellation, drafted like the trade it cancels.
    Cancel(Draft),
}

fn trade_row(
    rec: &Rec,
    header: &Header<T>,
    account: Option<&str>,
    executions: bool,
) -> Result<Option<TradeRow>, RowError> {
    let skip = |kind| Ok(Some(TradeRow::Outcome(Outcome::Skip(kind))));
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    match p
        .text(T::Discriminator)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("order") if executions => return skip(Skip::Summary),
        Some("closedlot") => return skip(Skip::Summary),
        _ => {}
    }
    let category = p
        .text(T::AssetCategory)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if category.contains("future") {
        return skip(Skip::Futures);
    }
    if !category.contains("option") {
        return skip(if category.contains("stock") {
            Skip::Stock
        } else {
            Skip::Other
        });
    }
    let codes = codes(p.text(T::Code).unwrap_or_default());
    let executed_at = p.required(T::DateTime, ib_time);
    let contract = p.required(T::Symbol, ib_symbol);
    let quantity = p.required(T::Quantity, values::signed_contracts);
    let act = quantity.map(|q| act(&codes, q));
    let price = match act {
        Some(Act::Known(a)) if a.is_lifecycle() => Some(Money::ZERO),
        _ => p.required(T::Price, values::broker_money),
    };
    let fees = p
        .optional(T::CommFee, values::broker_money)
        .unwrap_or_default();
    let broker_account = p.text(T::Account).or(account).map(str::to_owned);
    let (Some(executed_at), Some(contract), Some(quantity), Some(act), Some(price)) =
        (executed_at, contract, quantity, act, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let draft = Draft {
        line: rec.line,
        broker_account,
        key: RefKey::Content(None),
        executed_at,
        act,
        contract,
        contracts: quantity.abs(),
        price: price.abs(),
        fees: if matches!(act, Act::Known(a) if a.is_lifecycle()) {
            Money::ZERO
        } else {
            fees.abs()
        },
    };
    if codes.iter().any(|c| c == "ca") {
        return Ok(Some(TradeRow::Cancel(draft)));
    }
    Ok(Some(TradeRow::Outcome(Outcome::Event(draft))))
}

/// The `;`-joined codes, lower case.
fn codes(text: &str) -> Vec<String> {
    text.split(';')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// What the codes and the quantity's sign say: lifecycle codes first, then open or
/// close; without either (or with both), only the side is known.
fn act(codes: &[String], quantity: i64) -> Act {
    let has = |c: &str| codes.iter().any(|x| x == c);
    if has("ep") {
        return Act::Known(ExecAction::Expired);
    }
    if has("a") {
        return Act::Known(ExecAction::Assigned);
    }
    if has("ex") {
        return Act::Known(ExecAction::Exercised);
    }
    let side = if quantity < 0 {
        BuySell::Sell
    } else {
        BuySell::Buy
    };
    match (has("o"), has("c"), side) {
        (true, false, BuySell::Sell) => Act::Known(ExecAction::SellToOpen),
        (true, false, BuySell::Buy) => Act::Known(ExecAction::BuyToOpen),
        (false, true, BuySell::Sell) => Act::Known(ExecAction::SellToClose),
        (false, true, BuySell::Buy) => Act::Known(ExecAction::BuyToClose),
        _ => Act::Side(side),
    }
}

/// A cancelled trade and the trade it cancels both leave; a cancellation whose trade
/// is not in the file is counted alone.
fn net_out_cancels(parsed: &mut Parsed, cancels: Vec<Draft>) {
    for cancel in cancels {
        let original = parsed.drafts.iter().position(|d| {
            d.broker_account == cancel.broker_account
                && d.contract == cancel.contract
                && d.contracts == cancel.contracts
                && d.price == cancel.price
        });
        if let Some(i) = original {
            parsed.drafts.remove(i);
            parsed.skip(Skip::Cancelled);
        }
        parsed.skip(Skip::Cancelled);
    }
}

/// `"2025-01-06, 10:15:30"`, `20250106;101530`, `2025-01-06 10:15:30`, or a date
/// alone (then at the New York close), in New York time.
fn ib_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let (date, time) = match t.find([',', ';', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let date = values::compact_date(date)?;
    // A trailing zone name (`10:15:30 EST`) is New York's anyway.
    let time = time.split_whitespace().next().unwrap_or_default();
    if time.is_empty() {
        return Ok(sheet::at_close(date));
    }
    sheet::in_zone(date.and_time(values::clock(time)?), sheet::NEW_YORK)
}

/// `AAPL 17JAN25 230 P` (or a padded OCC symbol).
fn ib_symbol(text: &str) -> Result<Contract, String> {
    if let Ok(contract) = values::occ(text) {
        return Ok(contract);
    }
    let bad =
        || format!("`{text}` is not an IBKR option symbol (expected e.g. `AAPL 17JAN25 230 P`)");
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 4 {
        return Err(bad());
    }
    let [date, strike, right] = words[words.len() - 3..] else {
        return Err(bad());
    };
    // Class shares are written with a space (`BRK B`).
    let root = words[..words.len() - 3].join(".");
    let expiration = values::day_month_year(date).map_err(|_| bad())?;
    let strike = values::broker_money(strike).map_err(|_| bad())?;
    let right = values::right(right).map_err(|_| bad())?;
    values::contract(&root, expiration, right, strike)
}

// ---------------------------------------------------------------------------------------
// Flex Query

fields!(
    /// The columns read from a Flex Query (their Flex names).
    X {
        Account => ["ClientAccountID", "AccountId"],
        AssetClass => ["AssetClass"],
        Symbol => ["Symbol"],
        Description => ["Description"],
        Underlying => ["UnderlyingSymbol"],
        Strike => ["Strike"],
        Expiry => ["Expiry"],
        PutCall => ["Put/Call"],
        ExecId => ["IBExecID", "ExecID"],
        TradeId => ["TradeID"],
        DateTime => ["DateTime", "Date/Time"],
        TradeDate => ["TradeDate"],
        BuySell => ["Buy/Sell"],
        Quantity => ["Quantity"],
        Price => ["TradePrice", "Price"],
        Commission => ["IBCommission", "Commission"],
        OpenClose => ["Open/CloseIndicator"],
        Codes => ["Notes/Codes", "Code"],
        Level => ["LevelOfDetail"],
    }
);

const FLEX: &[X] = &[X::Symbol, X::BuySell, X::Quantity, X::Price];

fn parse_flex(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let first = |r: &Rec| r.cell(0).to_ascii_uppercase();
    // The BOF/BOA records name the account when the rows do not.
    let account = sheet
        .records
        .iter()
        .find(|r| matches!(first(r).as_str(), "BOA" | "BOF"))
        .map(|r| r.cell(1).into_owned())
        .filter(|a| !a.is_empty());
    let executions = sheet
        .records
        .iter()
        .any(|r| (0..r.len()).any(|i| r.cell(i).eq_ignore_ascii_case("EXECUTION")));
    let mut header: Option<Header<X>> = None;
    let mut cancels = Vec::new();
    for rec in &sheet.records {
        match first(rec).as_str() {
            "BOF" | "BOA" | "BOS" | "MSG" => {
                parsed.skip(Skip::Preamble);
                continue;
            }
            "EOS" | "EOA" | "EOF" => {
                parsed.skip(Skip::Footer);
                continue;
            }
            _ => {}
        }
        if let Some(h) = rec.header(X::named, FLEX) {
            header = Some(h);
            parsed.skip(Skip::Header);
            continue;
        }
        if first(rec) == "HEADER" {
            // Another section's header: its rows are not trades.
            header = None;
            parsed.skip(Skip::Header);
            continue;
        }
        if rec.is_blank() {
            parsed.skip(Skip::Blank);
            continue;
        }
        let Some(h) = &header else {
            parsed.skip(if parsed.drafts.is_empty() {
                Skip::Preamble
            } else {
                Skip::Section
            });
            continue;
        };
        match flex_row(rec, h, account.as_deref(), executions) {
            Ok(TradeRow::Cancel(draft)) => cancels.push(draft),
            Ok(TradeRow::Outcome(outcome)) => parsed.take(Ok(outcome)),
            Err(e) => parsed.reject(e),
        }
    }
    net_out_cancels(&mut parsed, cancels);
    Ok(parsed)
}

fn flex_row(
    rec: &Rec,
    header: &Header<X>,
    account: Option<&str>,
    executions: bool,
) -> Result<TradeRow, RowError> {
    let skip = |kind| Ok(TradeRow::Outcome(Outcome::Skip(kind)));
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    if let Some(level) = p.text(X::Level).map(str::to_ascii_uppercase)
        && (level != "EXECUTION" && (executions || level != "ORDER"))
    {
        return skip(Skip::Summary);
    }
    let class = p
        .text(X::AssetClass)
        .unwrap_or_default()
        .to_ascii_uppercase();
    match class.as_str() {
        "OPT" => {}
        "" if !p.is_blank(X::PutCall) => {}
        "FOP" | "FUT" => return skip(Skip::Futures),
        "STK" | "ETF" | "" => return skip(Skip::Stock),
        _ => return skip(Skip::Other),
    }
    let buy_sell = p.text(X::BuySell).unwrap_or_default().to_ascii_uppercase();
    let mut codes = codes(p.text(X::Codes).unwrap_or_default());
    if buy_sell.contains("(CA") {
        codes.push("ca".to_owned());
    }
    codes.extend(
        p.text(X::OpenClose)
            .unwrap_or_default()
            .split(';')
            .map(|c| c.trim().to_ascii_lowercase()),
    );
    let executed_at = match p.text(X::DateTime) {
        Some(_) => p.required(X::DateTime, ib_time),
        None => p.required(X::TradeDate, ib_time),
    };
    let contract = flex_contract(&mut p);
    let quantity = p.required(X::Quantity, values::signed_contracts);
    // The sign of the quantity is the side; `Buy/Sell` says it when the sign does not.
    let quantity = quantity.map(|q| {
        if buy_sell.starts_with("SELL") {
            -q.abs()
        } else if buy_sell.starts_with("BUY") {
            q.abs()
        } else {
            q
        }
    });
    let act = quantity.map(|q| act(&codes, q));
    let price = match act {
        Some(Act::Known(a)) if a.is_lifecycle() => Some(Money::ZERO),
        _ => p.required(X::Price, values::broker_money),
    };
    let fees = p
        .optional(X::Commission, values::broker_money)
        .unwrap_or_default();
    let broker_account = p.text(X::Account).or(account).map(str::to_owned);
    let id = p.text(X::ExecId).or(p.text(X::TradeId)).map(str::to_owned);
    let (Some(executed_at), Some(contract), Some(quantity), Some(act), Some(price)) =
        (executed_at, contract, quantity, act, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let draft = Draft {
        line: rec.line,
        broker_account,
        key: id.map_or(RefKey::Content(None), RefKey::Id),
        executed_at,
        act,
        contract,
        contracts: quantity.abs(),
        price: price.abs(),
        fees: if matches!(act, Act::Known(a) if a.is_lifecycle()) {
            Money::ZERO
        } else {
            fees.abs()
        },
    };
    if codes.iter().any(|c| c == "ca") {
        return Ok(TradeRow::Cancel(draft));
    }
    Ok(TradeRow::Outcome(Outcome::Event(draft)))
}

/// The padded OCC `Symbol`, else the contract columns, else the description.
fn flex_contract(p: &mut RowParser<'_, '_, X>) -> Option<Contract> {
    let symbol = p.text(X::Symbol).unwrap_or_default();
    if let Ok(contract) = values::occ(symbol) {
        return Some(contract);
    }
    if let (Some(root), Some(_), Some(_), Some(_)) = (
        p.text(X::Underlying),
        p.text(X::Expiry),
        p.text(X::PutCall),
        p.text(X::Strike),
    ) {
        let expiration = p.required(X::Expiry, values::compact_date)?;
        let right = p.required(X::PutCall, values::right)?;
        let strike = p.required(X::Strike, values::broker_money)?;
        return match values::contract(root, expiration, right, strike) {
            Ok(c) => Some(c),
            Err(reason) => {
                p.fail(X::Strike, reason);
                None
            }
        };
    }
    if let Some(Ok(contract)) = p.text(X::Description).map(ib_symbol) {
        return Some(contract);
    }
    p.fail(
        X::Symbol,
        format!(
            "`{symbol}` is not an OCC option symbol, and the row has no UnderlyingSymbol, Expiry, \
             Put/Call and Strike to name the contract"
        ),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, parse_text};
    use super::super::{FormatName, detect};

    #[test]
    fn a_statement_with_orders_only_reads_the_orders_and_exercises() {
        let text = concat!(
            "Statement,Header,Field Name,Field Value\n",
            "Statement,Data,Period,\"July 1, 2021 - July 31, 2021\"\n",
            "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,T. Price,Proceeds,Comm/Fee,Basis,Realized P/L,Code\n",
            "Trades,Data,Order,Equity and Index Options,USD,CLOV 16JUL21 20.0 C,\"2021-07-16, 16:20:00\",4,0,0,0,100,-100,C;Ep\n",
            "Trades,Data,Order,Equity and Index Options,USD,ARKK 17SEP21 80 C,\"2021-09-17, 16:20:00\",-1,0,0,0,100,0,Ex;C\n",
            "Trades,Data,Order,Equity and Index Options,USD,ARKK 17SEP21 85 C,\"2021-09-10, 10:00:00\",-2,1.2,240,-1.06074,0,0,O\n",
            "Trades,SubTotal,,Equity and Index Options,USD,ARKK 17SEP21 85 C,,-2,,240,-1.06074,,,\n",
            "Trades,Total,,Equity and Index Options,USD,,,,,240,-1.06074,,,\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Ibkr));
        let file = parse_text(FormatName::Ibkr, text, None);
        assert_eq!(
            events(&file),
            [
                "- 2021-07-16T20:20:00Z expired CLOV 2021-07-16 20.00 call 4 @0.00 fees 0.00",
                "- 2021-09-10T14:00:00Z sell_to_open ARKK 2021-09-17 85.00 call 2 @1.20 fees 1.0607",
                "- 2021-09-17T20:20:00Z exercised ARKK 2021-09-17 80.00 call 1 @0.00 fees 0.00",
            ]
        );
        assert_eq!(file.ignored["subtotal"], 1);
        assert_eq!(file.ignored["total"], 1);
    }

    #[test]
    fn a_flex_query_with_section_records_reads_executions_by_their_id() {
        let text = concat!(
            "\"BOF\",\"U0000004\",\"trades\",\"1\",\"20260501\",\"20260501\"\n",
            "\"BOA\",\"U0000004\"\n",
            "\"BOS\",\"TRNT\",\"Trades; trade date basis\"\n",
            "\"HEADER\",\"TRNT\",\"ClientAccountID\",\"AssetClass\",\"Symbol\",\"Description\",\"UnderlyingSymbol\",\"Multiplier\",\"Strike\",\"Expiry\",\"Put/Call\",\"TransactionType\",\"TradeID\",\"IBExecID\",\"DateTime\",\"Buy/Sell\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"Open/CloseIndicator\",\"Notes/Codes\",\"LevelOfDetail\"\n",
            "\"DATA\",\"TRNT\",\"U0000004\",\"OPT\",\"SPXW  221230C03860000\",\"SPXW 30DEC22 3860 C\",\"SPX\",\"100\",\"3860\",\"20221230\",\"C\",\"ExchTrade\",\"111\",\"0000e1.01\",\"20221228;101530\",\"SELL\",\"-1\",\"12.5\",\"-1.05\",\"O\",\"\",\"EXECUTION\"\n",
            "\"DATA\",\"TRNT\",\"U0000004\",\"OPT\",\"SPXW  221230C03860000\",\"SPXW 30DEC22 3860 C\",\"SPX\",\"100\",\"3860\",\"20221230\",\"C\",\"ExchTrade\",\"111\",\"\",\"20221228;101530\",\"SELL\",\"-1\",\"12.5\",\"-1.05\",\"O\",\"\",\"ORDER\"\n",
            "\"DATA\",\"TRNT\",\"U0000004\",\"OPT\",\"SPXW  221230C03860000\",\"SPXW 30DEC22 3860 C\",\"SPX\",\"100\",\"3860\",\"20221230\",\"C\",\"BookTrade\",\"112\",\"0000e1.02\",\"20221230;162000\",\"BUY\",\"1\",\"0\",\"0\",\"C\",\"Ep\",\"EXECUTION\"\n",
            "\"DATA\",\"TRNT\",\"U0000004\",\"STK\",\"SPY\",\"SPDR\",\"\",\"1\",\"\",\"\",\"\",\"ExchTrade\",\"113\",\"0000e1.03\",\"20221228;101600\",\"BUY\",\"100\",\"380\",\"-1\",\"O\",\"\",\"EXECUTION\"\n",
            "\"EOS\",\"TRNT\",\"3\"\n",
            "\"EOA\",\"U0000004\"\n",
            "\"EOF\",\"U0000004\"\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Ibkr));
        let file = parse_text(FormatName::Ibkr, text, None);
        assert_eq!(
            events(&file),
            [
                "U0000004 2022-12-28T15:15:30Z sell_to_open SPX 2022-12-30 3860.00 call 1 @12.50 fees 1.05",
                "U0000004 2022-12-30T21:20:00Z expired SPX 2022-12-30 3860.00 call 1 @0.00 fees 0.00",
            ]
        );
        let refs: Vec<&str> = file
            .executions
            .iter()
            .map(|e| e.broker_ref.as_str())
            .collect();
        assert_eq!(refs, ["0000e1.01", "0000e1.02"]);
        assert_eq!(file.ignored["summary"], 1);
        assert_eq!(file.ignored["stock"], 1);
        assert_eq!(file.ignored["preamble"], 3);
        assert_eq!(file.ignored["footer"], 3);
    }

    #[test]
    fn a_flex_query_without_an_occ_symbol_takes_the_contract_columns_and_nets_out_a_cancel() {
        let text = concat!(
            "\"ClientAccountID\",\"AssetClass\",\"Symbol\",\"UnderlyingSymbol\",\"Strike\",\"Expiry\",\"Put/Call\",\"TradeID\",\"Date/Time\",\"Buy/Sell\",\"Quantity\",\"Price\",\"Commission\",\"Code\"\n",
            "\"U1\",\"OPT\",\"AAPL\",\"AAPL\",\"230\",\"2025-01-17\",\"P\",\"7\",\"2025-01-06 10:15:30\",\"SELL\",\"1\",\"2.15\",\"-1.05\",\"O\"\n",
            "\"U1\",\"OPT\",\"AAPL\",\"AAPL\",\"230\",\"2025-01-17\",\"P\",\"8\",\"2025-01-06 10:20:00\",\"SELL\",\"1\",\"2.20\",\"-1.05\",\"O\"\n",
            "\"U1\",\"OPT\",\"AAPL\",\"AAPL\",\"230\",\"2025-01-17\",\"P\",\"9\",\"2025-01-06 10:25:00\",\"BUY (Ca.)\",\"1\",\"2.20\",\"1.05\",\"Ca\"\n",
        );
        let file = parse_text(FormatName::Ibkr, text, None);
        assert_eq!(
            events(&file),
            ["U1 2025-01-06T15:15:30Z sell_to_open AAPL 2025-01-17 230.00 put 1 @2.15 fees 1.05"]
        );
        assert_eq!(file.executions[0].broker_ref, "7");
        assert_eq!(file.ignored["cancelled"], 2);
    }
}
