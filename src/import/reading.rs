//! Framing: how the bytes of a file become rows of cells, whatever the format.
//!
//! Every format reads the same way underneath: a UTF-8 byte order mark and leading blank
//! lines are dropped, the file is CSV (or JSON Lines when its first non-blank byte is
//! `{`), each record is reported at the line where it starts, and a header row maps
//! names to the columns a format knows. What a column *means* is the format's business;
//! this module only knows it as a [`Column`] with a name.
//!
//! The generic format reads straight through ([`open`], [`CsvRecords`], [`JsonLines`],
//! [`Header`], [`Fields`], [`RowParser`]). A broker export with preambles and sections
//! reads every record the same way and decides for itself which ones are headers.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::{FileError, RowError};

/// What a row error says when a needed cell is empty.
pub(crate) const REQUIRED: &str = "a value is required but none was given";

/// A set of columns a format knows: each has a small index (below [`Column::COUNT`]) and
/// the name a row error reports it by.
pub(crate) trait Column: Copy + Eq + 'static {
    const COUNT: usize;
    fn index(self) -> usize;
    fn name(self) -> &'static str;
}

// ---------------------------------------------------------------------------------------
// Bytes: the head of a file

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Reads up to and including the first non-blank byte (or to the end), dropping a UTF-8
/// byte order mark. The rest stays in `reader`.
fn read_head(reader: &mut impl BufRead) -> Result<Vec<u8>, FileError> {
    let mut head = Vec::new();
    while head.len() < BOM.len() {
        let buf = fill(reader)?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(BOM.len() - head.len());
        head.extend_from_slice(&buf[..n]);
        reader.consume(n);
    }
    if head == BOM {
        head.clear();
    }
    while head.iter().all(|b| is_blank(*b)) {
        let buf = fill(reader)?;
        if buf.is_empty() {
            break;
        }
        let n = buf
            .iter()
            .position(|b| !is_blank(*b))
            .map_or(buf.len(), |i| i + 1);
        head.extend_from_slice(&buf[..n]);
        reader.consume(n);
    }
    Ok(head)
}

fn fill(reader: &mut impl BufRead) -> Result<&[u8], FileError> {
    // `fill_buf` may be interrupted before it reads anything; that is not a failure.
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FileError::Unreadable(e)),
        }
    }
    reader.fill_buf().map_err(FileError::Unreadable)
}

fn csv_file_error(e: csv::Error) -> FileError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(e) => FileError::Unreadable(e),
        _ => FileError::Unreadable(io::Error::other(message)),
    }
}

/// The head already read, then the rest of the input.
type Stream<R> = Chain<Cursor<Vec<u8>>, BufReader<R>>;

/// A file opened for reading, laid out one of two ways.
pub(crate) enum Framing<R: Read> {
    Csv(CsvRecords<R>),
    JsonLines(JsonLines<R>),
}

/// Opens `input`: CSV, unless the first non-blank byte is `{`, which makes it JSON Lines.
/// An empty or blank file (a byte order mark alone is blank) is a [`FileError::Empty`].
pub(crate) fn open<R: Read>(input: R) -> Result<Framing<R>, FileError> {
    let mut reader = BufReader::new(input);
    let head = read_head(&mut reader)?;
    let Some(start) = head.iter().position(|b| !is_blank(*b)) else {
        return Err(FileError::Empty);
    };
    if head[start] == b'{' {
        // JSON Lines counts its own lines, so it gets the leading blank lines too.
        return Ok(Framing::JsonLines(JsonLines {
            reader: Cursor::new(head).chain(reader),
            line: 0,
            buf: Vec::new(),
            done: false,
        }));
    }
    Ok(Framing::Csv(CsvRecords::new(head, start, reader)))
}

/// Opens `input` as CSV whatever its first byte (broker exports are never JSON).
pub(crate) fn open_csv<R: Read>(input: R) -> Result<CsvRecords<R>, FileError> {
    let mut reader = BufReader::new(input);
    let head = read_head(&mut reader)?;
    let Some(start) = head.iter().position(|b| !is_blank(*b)) else {
        return Err(FileError::Empty);
    };
    Ok(CsvRecords::new(head, start, reader))
}

// ---------------------------------------------------------------------------------------
// CSV records with the line they start on

/// Keeps the bytes the CSV reader has read but not yet turned into records.
///
/// The csv crate dates a record from where it started reading it, which is before any
/// blank lines it skipped and, with CRLF line ends, before the `\n` of the previous
/// record. Looking at those bytes tells the line the record really starts on.
struct Tee<R> {
    inner: R,
    /// The stream offset of `bytes[0]`.
    start: u64,
    bytes: VecDeque<u8>,
}

impl<R: Read> Tee<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            start: 0,
            bytes: VecDeque::new(),
        }
    }

    /// How many line ends come before the first byte of content at or after `byte`.
    fn newlines_from(&self, byte: u64) -> u64 {
        let from = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        self.bytes
            .range(from.min(self.bytes.len())..)
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64
    }

    fn forget_before(&mut self, byte: u64) {
        let n = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        self.start += n as u64;
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.bytes.extend(&out[..n]);
        Ok(n)
    }
}

/// The records of a CSV file, every one of them (headers, preambles and rows of empty
/// cells included: which is which is the format's call), each with its 1-based line in
/// the file. Records may have any number of fields.
pub(crate) struct CsvRecords<R: Read> {
    reader: csv::Reader<Tee<Stream<R>>>,
    /// Blank lines before the first record.
    line_offset: u64,
    /// The line of the last record, in the reader's count.
    last_line: u64,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    fn new(head: Vec<u8>, start: usize, rest: BufReader<R>) -> Self {
        // CSV starts at its first record; the blank lines before it only shift the lines.
        let line_offset = count_newlines(&head[..start]);
        let stream = Cursor::new(head[start..].to_vec()).chain(rest);
        let reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(Tee::new(stream));
        Self {
            reader,
            line_offset,
            last_line: 0,
            done: false,
        }
    }

    /// Reads the next record into `record` and returns its line; `Ok(None)` at the end.
    fn read(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, csv::Error> {
        if self.done || !self.reader.read_byte_record(record)? {
            self.done = true;
            return Ok(None);
        }
        let tee = self.reader.get_ref();
        let line = match record.position() {
            Some(p) => p.line() + tee.newlines_from(p.byte()),
            None => self.last_line + 1,
        };
        self.last_line = line;
        let next = self.reader.position().byte();
        self.reader.get_mut().forget_before(next);
        Ok(Some(line + self.line_offset))
    }

    /// Reads the header: the first record. A failure to read it fails the whole file.
    pub(crate) fn read_header(&mut self, record: &mut csv::ByteRecord) -> Result<(), FileError> {
        match self.read(record) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(FileError::Empty),
            Err(e) => Err(csv_file_error(e)),
        }
    }

    /// Reads the next record into `record` and returns its line. When the rest of the
    /// file cannot be read, that is the last item: a row error on the line after the
    /// last record.
    pub(crate) fn next_record(
        &mut self,
        record: &mut csv::ByteRecord,
    ) -> Option<Result<u64, RowError>> {
        match self.read(record) {
            Ok(line) => line.map(Ok),
            Err(e) => {
                self.done = true;
                let line = self.last_line + 1 + self.line_offset;
                Some(Err(RowError {
                    line,
                    column: None,
                    reason: format!("the rest of the file could not be read ({e})"),
                }))
            }
        }
    }
}

/// A record with nothing in it: spreadsheets leave rows of empty cells at the end.
pub(crate) fn is_empty_record(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.trim_ascii().is_empty())
}

/// The names of a header record, which must be UTF-8 text.
pub(crate) fn header_names(record: &csv::ByteRecord) -> Result<Vec<&str>, FileError> {
    record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FileError::HeaderNotUtf8)
}

// ---------------------------------------------------------------------------------------
// Header: names to columns

/// Where each known column sits in a header row; other names are ignored.
pub(crate) struct Header<C> {
    columns: Vec<(usize, C)>,
    width: usize,
}

impl<C: Column> Header<C> {
    /// Maps each name through `named`. A column named twice is `Err(that column)`.
    pub(crate) fn new<'n>(
        names: impl IntoIterator<Item = &'n str>,
        named: impl Fn(&str) -> Option<C>,
    ) -> Result<Self, C> {
        let mut seen = vec![false; C::COUNT];
        let mut columns = Vec::new();
        let mut width = 0;
        for (index, name) in names.into_iter().enumerate() {
            width = index + 1;
            let Some(col) = named(name) else {
                continue;
            };
            if std::mem::replace(&mut seen[col.index()], true) {
                return Err(col);
            }
            columns.push((index, col));
        }
        Ok(Self { columns, width })
    }

    pub(crate) fn has(&self, col: C) -> bool {
        self.columns.iter().any(|(_, c)| *c == col)
    }

    /// A row with more or fewer fields than the header is an error of the whole row.
    pub(crate) fn check_width(&self, record: &csv::ByteRecord, line: u64) -> Result<(), RowError> {
        if record.len() == self.width {
            return Ok(());
        }
        Err(RowError {
            line,
            column: None,
            reason: format!(
                "the row has {} fields but the header has {} columns (a comma inside a value needs quotes)",
                record.len(),
                self.width
            ),
        })
    }

    /// The known cells of a CSV record, which must be UTF-8 text. Missing trailing
    /// fields are left empty (check the width first where that matters).
    pub(crate) fn fields<'a>(
        &self,
        record: &'a csv::ByteRecord,
        line: u64,
    ) -> Result<Fields<'a, C>, RowError> {
        let mut fields = Fields::new();
        for &(index, col) in &self.columns {
            let Some(raw) = record.get(index) else {
                continue;
            };
            let text = std::str::from_utf8(raw).map_err(|_| RowError {
                line,
                column: Some(col.name().to_owned()),
                reason: format!(
                    "`{}` is not UTF-8 text (save the file as UTF-8)",
                    String::from_utf8_lossy(raw).trim()
                ),
            })?;
            fields.set(col, index, Value::Text(Cow::Borrowed(text)));
        }
        Ok(fields)
    }
}

// ---------------------------------------------------------------------------------------
// Cells

/// A cell of a known column, untrimmed.
pub(crate) enum Value<'a> {
    Empty,
    Text(Cow<'a, str>),
    /// Present but unusable whatever the column (a JSON array, a repeated key); the
    /// reason is reported only if the row gets as far as this column.
    Invalid(String),
}

struct Slot<'a> {
    /// The cell's place in the row, so the first problem in the row is the one reported.
    position: usize,
    value: Value<'a>,
}

/// The known cells of one row.
pub(crate) struct Fields<'a, C> {
    slots: Vec<Option<Slot<'a>>>,
    columns: PhantomData<C>,
}

impl<'a, C: Column> Fields<'a, C> {
    pub(crate) fn new() -> Self {
        Self {
            slots: std::iter::repeat_with(|| None).take(C::COUNT).collect(),
            columns: PhantomData,
        }
    }

    pub(crate) fn set(&mut self, col: C, position: usize, value: Value<'a>) {
        let slot = &mut self.slots[col.index()];
        match slot {
            Some(earlier) => {
                earlier.value = Value::Invalid(format!(
                    "`{}` is given more than once in the object",
                    col.name()
                ));
            }
            None => *slot = Some(Slot { position, value }),
        }
    }
}

/// Cells of a row not yet given: ranked after every cell that is.
const ABSENT: usize = 1 << 20;

/// Reads a row's cells into values, remembering the problem that comes first in the row.
/// The longest cell any column takes (a rationale is the longest text a file carries).
pub(crate) const MAX_CELL_BYTES: usize = 4096;
const NUL_IN_CELL: &str = "the value contains a NUL byte (U+0000), which no value may hold";
const CELL_TOO_LONG: &str = "the value is longer than 4096 bytes, more than any column takes";

pub(crate) struct RowParser<'r, 'a, C> {
    line: u64,
    fields: &'r Fields<'a, C>,
    first: Option<(usize, RowError)>,
}

impl<'r, 'a, C: Column> RowParser<'r, 'a, C> {
    pub(crate) fn new(line: u64, fields: &'r Fields<'a, C>) -> Self {
        Self {
            line,
            fields,
            first: None,
        }
    }

    /// The trimmed cell: `Ok(None)` when it is empty or absent.
    pub(crate) fn raw(&self, col: C) -> Result<Option<&'r str>, &'r str> {
        let fields: &'r Fields<'a, C> = self.fields;
        match fields.slots[col.index()].as_ref().map(|s| &s.value) {
            None | Some(Value::Empty) => Ok(None),
            Some(Value::Text(t)) => {
                let t = t.trim();
                // Refused here, for every column of every format, so both backends see
                // the same rows: Postgres cannot store a NUL in text at all.
                if t.contains('\0') {
                    return Err(NUL_IN_CELL);
                }
                if t.len() > MAX_CELL_BYTES {
                    return Err(CELL_TOO_LONG);
                }
                Ok((!t.is_empty()).then_some(t))
            }
            Some(Value::Invalid(reason)) => Err(reason),
        }
    }

    pub(crate) fn is_blank(&self, col: C) -> bool {
        matches!(self.raw(col), Ok(None))
    }

    pub(crate) fn text(&self, col: C) -> Option<&'r str> {
        self.raw(col).ok().flatten()
    }

    pub(crate) fn position(&self, col: C) -> usize {
        self.fields.slots[col.index()]
            .as_ref()
            .map_or(ABSENT + col.index(), |s| s.position)
    }

    pub(crate) fn error(&self, col: C, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            column: Some(col.name().to_owned()),
            reason: reason.into(),
        }
    }

    pub(crate) fn fail(&mut self, col: C, reason: impl Into<String>) {
        let position = self.position(col);
        if self.first.as_ref().is_none_or(|(p, _)| position < *p) {
            self.first = Some((position, self.error(col, reason)));
        }
    }

    /// Parses a cell. An empty cell is `None`, and a problem when `missing` says why a
    /// value is needed. A bad value is remembered as a problem and read as `None`.
    pub(crate) fn value<T>(
        &mut self,
        col: C,
        missing: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.raw(col) {
            Err(reason) => {
                self.fail(col, reason);
                None
            }
            Ok(None) => {
                if let Some(why) = missing {
                    self.fail(col, why);
                }
                None
            }
            Ok(Some(text)) => match parse(text) {
                Ok(v) => Some(v),
                Err(reason) => {
                    self.fail(col, reason);
                    None
                }
            },
        }
    }

    pub(crate) fn required<T>(
        &mut self,
        col: C,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.value(col, Some(REQUIRED), parse)
    }

    pub(crate) fn optional<T>(
        &mut self,
        col: C,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.value(col, None, parse)
    }

    /// The first problem so far, if any.
    pub(crate) fn check(&mut self) -> Result<(), RowError> {
        match self.first.take() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// The first problem; called when a required value is missing, so there is one.
    pub(crate) fn take_error(&mut self) -> RowError {
        self.first.take().map_or_else(
            || RowError {
                line: self.line,
                column: None,
                reason: "the row could not be read".to_owned(),
            },
            |(_, e)| e,
        )
    }
}

// ---------------------------------------------------------------------------------------
// JSON Lines

/// The non-blank lines of a JSON Lines file, each with its 1-based line.
pub(crate) struct JsonLines<R: Read> {
    reader: Stream<R>,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: Read> JsonLines<R> {
    /// The next non-blank line, trimmed, and its line number. When the rest of the file
    /// cannot be read, that is the last item: a row error on the next line.
    pub(crate) fn next_line(&mut self) -> Option<Result<(u64, &[u8]), RowError>> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    if self.buf.trim_ascii().is_empty() {
                        continue;
                    }
                    return Some(Ok((self.line, self.buf.trim_ascii())));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(RowError {
                        line: self.line + 1,
                        column: None,
                        reason: format!("the rest of the file could not be read ({e})"),
                    }));
                }
            }
        }
        None
    }
}

/// A JSON object with its keys in file order (`serde_json::Map` would sort them, and the
/// first problem in a row is the first in the order the row was written).
struct JsonObject(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A>(self, mut map: A) -> Result<JsonObject, A::Error>
            where
                A: MapAccess<'de>,
            {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(JsonObject(pairs))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The known cells of one JSON Lines object; `named` says which column a key is.
pub(crate) fn json_fields<C: Column>(
    line: u64,
    bytes: &[u8],
    named: impl Fn(&str) -> Option<C>,
) -> Result<Fields<'static, C>, RowError> {
    let whole = |reason: String| RowError {
        line,
        column: None,
        reason,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| whole("the line is not UTF-8 text (save the file as UTF-8)".to_owned()))?;
    if !text.starts_with('{') {
        return Err(whole(format!(
            "`{}` is not a JSON object (expected one object per line, such as {{\"strike\": 150}})",
            snippet(text)
        )));
    }
    let object: JsonObject = serde_json::from_str(text).map_err(|e| {
        whole(format!(
            "`{}` is not valid JSON ({})",
            snippet(text),
            json_problem(&e)
        ))
    })?;
    let mut fields = Fields::new();
    for (position, (key, value)) in object.0.into_iter().enumerate() {
        let Some(col) = named(&key) else {
            continue;
        };
        let value = match value {
            serde_json::Value::Null => Value::Empty,
            serde_json::Value::String(s) => Value::Text(Cow::Owned(s)),
            serde_json::Value::Number(n) => Value::Text(Cow::Owned(n.to_string())),
            serde_json::Value::Bool(b) => Value::Text(Cow::Owned(b.to_string())),
            other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                Value::Invalid(format!(
                    "`{}` is a JSON {} (expected a string or a number)",
                    snippet(&other.to_string()),
                    if other.is_array() { "array" } else { "object" }
                ))
            }
        };
        fields.set(col, position, value);
    }
    Ok(fields)
}

/// serde_json's message without its "at line 1 column 17", which would be misleading
/// here (every object is on line 1 of itself); the column is kept as a character count.
fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    format!("{message} at character {}", e.column())
}

/// The start of a long value, for a message.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
