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

/// The longest record any format reads (a CSV row with its quoted line breaks, a JSON
/// Lines line, an object of a JSON array): far more than a row holds (every generic
/// column at its longest cell is about 110 KB), little enough to hold in memory. A file
/// without line breaks would otherwise be read into memory whole.
pub(crate) const MAX_RECORD_BYTES: usize = 2 << 20;
/// The longest header row a file may start with: names of columns, never this long.
pub(crate) const MAX_HEADER_BYTES: usize = 64 << 10;
/// What a row error says about a record longer than [`MAX_RECORD_BYTES`].
pub(crate) const RECORD_TOO_LONG: &str =
    "the row is longer than 2 MiB, more than any row holds, and was skipped";

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

/// Opens `input`: CSV, unless the first non-blank byte is `{`, which makes it JSON Lines,
/// or `[`, which makes it a JSON array of objects.
/// An empty or blank file (a byte order mark alone is blank) is a [`FileError::Empty`].
pub(crate) fn open<R: Read>(input: R) -> Result<Framing<R>, FileError> {
    let mut reader = BufReader::new(input);
    let head = read_head(&mut reader)?;
    let Some(start) = head.iter().position(|b| !is_blank(*b)) else {
        return Err(FileError::Empty);
    };
    if head[start] == b'{' || head[start] == b'[' {
        // JSON counts its own lines, so it gets the leading blank lines too.
        let array = head[start] == b'[';
        return Ok(Framing::JsonLines(JsonLines::new(
            Cursor::new(head).chain(reader),
            array,
        )));
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

/// Keeps the bytes the CSV reader has read but not yet turned into records, and bounds
/// them: a record that outgrows its limit is skipped up to the next line break.
///
/// The csv crate dates a record from where it started reading it, which is before any
/// blank lines it skipped and, with CRLF line ends, before the `\n` of the previous
/// record. Looking at those bytes tells the line the record really starts on.
struct Tee<R> {
    inner: R,
    /// The stream offset of `bytes[0]`.
    start: u64,
    /// Line ends in the stream before `start`.
    newlines_before: u64,
    bytes: VecDeque<u8>,
    /// The longest record, in bytes.
    limit: usize,
    /// The line of a record that outgrew `limit` and was skipped.
    overflowed: Option<u64>,
}

impl<R: BufRead> Tee<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            start: 0,
            newlines_before: 0,
            bytes: VecDeque::new(),
            limit: MAX_RECORD_BYTES,
            overflowed: None,
        }
    }

    /// The line of the first byte of content at or after the stream offset `byte`.
    fn line_at(&self, byte: u64) -> u64 {
        let from = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        let from = from.min(self.bytes.len());
        let before = self.bytes.range(..from).filter(|b| **b == b'\n').count() as u64;
        let lead = self
            .bytes
            .range(from..)
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64;
        1 + self.newlines_before + before + lead
    }

    fn forget_before(&mut self, byte: u64) {
        let n = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        let n = n.min(self.bytes.len());
        self.newlines_before += self.bytes.range(..n).filter(|b| **b == b'\n').count() as u64;
        self.bytes.drain(..n);
        self.start += n as u64;
    }

    /// Blank lines before a record are not part of it: let them go, counted.
    fn forget_line_ends(&mut self) {
        let n = self
            .bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        self.forget_before(self.start + n as u64);
    }

    /// Drops the record being read, up to and including the line end that ends it (the
    /// first one outside quotes: a quoted value may hold line breaks), and remembers its
    /// line.
    fn skip_record(&mut self) -> io::Result<()> {
        let line = self.line_at(self.start);
        // Quotes come in pairs (`""` inside a quoted value is two), so the count so far
        // tells whether the cut fell inside a quoted value.
        let mut quoted = self.bytes.iter().filter(|b| **b == b'"').count() % 2 == 1;
        self.forget_before(self.start + self.bytes.len() as u64);
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let mut end = None;
            for (i, b) in buf.iter().enumerate() {
                match b {
                    b'"' => quoted = !quoted,
                    b'\n' if !quoted => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => {}
                }
            }
            let n = end.unwrap_or(buf.len());
            self.newlines_before += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            self.inner.consume(n);
            self.start += n as u64;
            if end.is_some() {
                break;
            }
        }
        self.overflowed = Some(line);
        Ok(())
    }
}

/// What a [`Tee`] answers the CSV reader with once a record outgrew its limit (the
/// reader is then replaced: its state is inside the skipped record).
const OVERFLOW: &str = "the record is too long";

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // The CSV reader asks for more only once it has used every byte it was given, so
        // `bytes` is the record being read, after any blank lines.
        if self.bytes.len() > self.limit {
            self.forget_line_ends();
            if self.bytes.len() > self.limit {
                if self.limit == MAX_HEADER_BYTES {
                    // A header that long fails the file: nothing after it is read.
                    self.overflowed = Some(self.line_at(self.start));
                } else {
                    self.skip_record()?;
                }
                return Err(io::Error::other(OVERFLOW));
            }
        }
        let n = self.inner.read(out)?;
        self.bytes.extend(&out[..n]);
        Ok(n)
    }
}

/// Why a record could not be read.
enum ReadError {
    /// It is longer than the limit; its line.
    TooLong(u64),
    Csv(csv::Error),
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(input)
}

/// The records of a CSV file, every one of them (headers, preambles and rows of empty
/// cells included: which is which is the format's call), each with its 1-based line in
/// the file. Records may have any number of fields, and at most [`MAX_RECORD_BYTES`]
/// bytes: a longer one is an error on its line, and reading goes on after its line end.
pub(crate) struct CsvRecords<R: Read> {
    /// `None` only after a failure to read the input.
    reader: Option<csv::Reader<Tee<Stream<R>>>>,
    /// The stream offset where the current reader started.
    origin: u64,
    /// Blank lines before the first record.
    line_offset: u64,
    /// The line of the last record.
    last_line: u64,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    fn new(head: Vec<u8>, start: usize, rest: BufReader<R>) -> Self {
        // CSV starts at its first record; the blank lines before it only shift the lines.
        let line_offset = count_newlines(&head[..start]);
        let stream = Cursor::new(head[start..].to_vec()).chain(rest);
        Self {
            reader: Some(csv_reader(Tee::new(stream))),
            origin: 0,
            line_offset,
            last_line: 0,
            done: false,
        }
    }

    /// Reads the next record into `record` and returns its line; `Ok(None)` at the end.
    fn read(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, ReadError> {
        let Some(reader) = self.reader.as_mut().filter(|_| !self.done) else {
            return Ok(None);
        };
        match reader.read_byte_record(record) {
            Ok(false) => {
                self.done = true;
                Ok(None)
            }
            Ok(true) => {
                let tee = reader.get_ref();
                let line = match record.position() {
                    Some(p) => tee.line_at(self.origin + p.byte()),
                    None => self.last_line + 1,
                };
                self.last_line = line;
                let next = self.origin + reader.position().byte();
                reader.get_mut().forget_before(next);
                Ok(Some(line + self.line_offset))
            }
            Err(e) => match reader.get_mut().overflowed.take() {
                Some(line) => {
                    // The reader stopped inside the record: a new one reads on from the
                    // line end the record was skipped to.
                    if let Some(old) = self.reader.take() {
                        let tee = old.into_inner();
                        self.origin = tee.start;
                        self.reader = Some(csv_reader(tee));
                    }
                    self.last_line = line;
                    Err(ReadError::TooLong(line + self.line_offset))
                }
                None => Err(ReadError::Csv(e)),
            },
        }
    }

    /// Reads the header: the first record, at most [`MAX_HEADER_BYTES`] long. A failure
    /// to read it fails the whole file.
    pub(crate) fn read_header(&mut self, record: &mut csv::ByteRecord) -> Result<(), FileError> {
        if let Some(reader) = self.reader.as_mut() {
            reader.get_mut().limit = MAX_HEADER_BYTES;
        }
        let read = self.read(record);
        if let Some(reader) = self.reader.as_mut() {
            reader.get_mut().limit = MAX_RECORD_BYTES;
        }
        match read {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(FileError::Empty),
            Err(ReadError::TooLong(line)) => Err(FileError::HeaderTooLong { line }),
            Err(ReadError::Csv(e)) => Err(csv_file_error(e)),
        }
    }

    /// Reads the next record into `record` and returns its line. A record longer than
    /// [`MAX_RECORD_BYTES`] is an error on its line, and reading goes on. When the rest of
    /// the file cannot be read, that is the last item: a row error on the line after the
    /// last record.
    pub(crate) fn next_record(
        &mut self,
        record: &mut csv::ByteRecord,
    ) -> Option<Result<u64, RowError>> {
        match self.read(record) {
            Ok(line) => line.map(Ok),
            Err(ReadError::TooLong(line)) => Some(Err(RowError {
                line,
                column: None,
                reason: RECORD_TOO_LONG.to_owned(),
            })),
            Err(ReadError::Csv(e)) => {
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
    // ASCII written as UTF-16 reads as text with a zero byte beside each letter.
    let raw = record.as_slice();
    if raw.contains(&0) || raw.starts_with(&[0xFF, 0xFE]) || raw.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::Utf16);
    }
    record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FileError::HeaderNotUtf8)
}

/// The separator a header row uses instead of commas, named for a sentence, when it is
/// one: split on it, the row names at least two columns `known` knows. (Spreadsheets
/// in many languages save "CSV" with semicolons; other tools write tabs or bars.)
pub(crate) fn other_delimiter(
    names: &[&str],
    known: impl Fn(&str) -> bool,
) -> Option<&'static str> {
    let row = names.join(",");
    [
        (';', "semicolons"),
        ('\t', "tabs"),
        ('|', "vertical bars (|)"),
    ]
    .into_iter()
    .find(|(sep, _)| row.split(*sep).filter(|name| known(name)).count() >= 2)
    .map(|(_, name)| name)
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

/// The records of a JSON file, each with its 1-based line: the non-blank lines of JSON
/// Lines, or the elements of a JSON array (one object per element, however it is laid
/// out on lines). A record longer than [`MAX_RECORD_BYTES`] is an error on its line.
pub(crate) struct JsonLines<R: Read> {
    reader: Stream<R>,
    /// The line being read (JSON Lines: of the last line read).
    line: u64,
    buf: Vec<u8>,
    done: bool,
    /// `Some` for a JSON array: where the scan is.
    array: Option<ArrayScan>,
}

/// Where the scan of a JSON array is.
#[derive(Default)]
struct ArrayScan {
    /// The `[` was read.
    opened: bool,
    /// The `]` was read.
    closed: bool,
    in_string: bool,
    escaped: bool,
    depth: u64,
    /// The line where the element being read starts.
    start: u64,
    /// The element being read outgrew the limit (its bytes are no longer kept).
    too_long: bool,
}

impl<R: Read> JsonLines<R> {
    fn new(reader: Stream<R>, array: bool) -> Self {
        Self {
            reader,
            line: if array { 1 } else { 0 },
            buf: Vec::new(),
            done: false,
            array: array.then(ArrayScan::default),
        }
    }

    /// The next record, trimmed, and its line. When the rest of the file cannot be read,
    /// that is the last item: a row error on the next line.
    pub(crate) fn next_line(&mut self) -> Option<Result<(u64, &[u8]), RowError>> {
        if self.array.is_some() {
            return self.next_element();
        }
        while !self.done {
            self.buf.clear();
            match read_line_bounded(&mut self.reader, &mut self.buf) {
                Ok(None) => self.done = true,
                Ok(Some(too_long)) => {
                    self.line += 1;
                    if too_long {
                        return Some(Err(RowError {
                            line: self.line,
                            column: None,
                            reason: RECORD_TOO_LONG.to_owned(),
                        }));
                    }
                    if self.buf.trim_ascii().is_empty() {
                        continue;
                    }
                    return Some(Ok((self.line, self.buf.trim_ascii())));
                }
                Err(e) => return Some(Err(self.unreadable(e))),
            }
        }
        None
    }

    fn unreadable(&mut self, e: io::Error) -> RowError {
        self.done = true;
        RowError {
            line: self.line + 1,
            column: None,
            reason: format!("the rest of the file could not be read ({e})"),
        }
    }

    /// The next element of a JSON array. Elements are split where a `,` or the closing
    /// `]` stands outside every string, object and array; each is then read as an object.
    fn next_element(&mut self) -> Option<Result<(u64, &[u8]), RowError>> {
        self.buf.clear();
        let whole = |line, reason: &str| RowError {
            line,
            column: None,
            reason: reason.to_owned(),
        };
        loop {
            if self.done {
                return None;
            }
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(self.unreadable(e))),
            };
            let scan = self.array.as_mut()?;
            if chunk.is_empty() {
                if !self.buf.trim_ascii().is_empty() || scan.too_long {
                    // The last element, cut short; the missing `]` on the next call.
                    let line = scan.start;
                    if std::mem::take(&mut scan.too_long) {
                        return Some(Err(whole(line, RECORD_TOO_LONG)));
                    }
                    return Some(Ok((line, self.buf.trim_ascii())));
                }
                self.done = true;
                if scan.opened && !scan.closed {
                    return Some(Err(whole(
                        self.line,
                        "the JSON array ends without its closing `]` (the file may be cut short)",
                    )));
                }
                return None;
            }
            let mut used = 0;
            let mut end = None;
            for &b in chunk {
                used += 1;
                if b == b'\n' {
                    self.line += 1;
                }
                if scan.closed {
                    if !is_blank(b) {
                        end = Some(Err(
                            "there is more after the JSON array's closing `]`; a file holds one array",
                        ));
                        self.done = true;
                        break;
                    }
                    continue;
                }
                if !scan.opened {
                    if b == b'[' {
                        scan.opened = true;
                    }
                    continue;
                }
                let outside = !scan.in_string && scan.depth == 0;
                if scan.in_string {
                    if scan.escaped {
                        scan.escaped = false;
                    } else if b == b'\\' {
                        scan.escaped = true;
                    } else if b == b'"' {
                        scan.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => scan.in_string = true,
                        b'{' | b'[' => scan.depth += 1,
                        b'}' | b']' if scan.depth > 0 => scan.depth -= 1,
                        _ => {}
                    }
                }
                if outside && (b == b',' || b == b']') {
                    if b == b']' {
                        scan.closed = true;
                    }
                    if !self.buf.trim_ascii().is_empty() || scan.too_long {
                        end = Some(Ok(()));
                        break;
                    }
                    // `[]`, or a comma before `]`: nothing to read.
                    self.buf.clear();
                    continue;
                }
                if self.buf.trim_ascii().is_empty() && !is_blank(b) && !scan.too_long {
                    scan.start = self.line;
                }
                if scan.too_long {
                    continue;
                }
                if self.buf.len() < MAX_RECORD_BYTES {
                    self.buf.push(b);
                } else {
                    scan.too_long = true;
                    self.buf.clear();
                }
            }
            self.reader.consume(used);
            match end {
                None => continue,
                Some(Err(reason)) => return Some(Err(whole(self.line, reason))),
                Some(Ok(())) => {
                    let line = scan.start;
                    if std::mem::take(&mut scan.too_long) {
                        self.buf.clear();
                        return Some(Err(whole(line, RECORD_TOO_LONG)));
                    }
                    return Some(Ok((line, self.buf.trim_ascii())));
                }
            }
        }
    }
}

/// Reads a line into `buf`, at most [`MAX_RECORD_BYTES`] of it; the rest of a longer
/// line is read and dropped. `Ok(None)` at the end of the input, else whether the line
/// was too long.
fn read_line_bounded(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut any = false;
    let mut too_long = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, found) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long && buf.len() + take <= MAX_RECORD_BYTES {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            too_long = true;
            buf.clear();
        }
        reader.consume(take);
        if found {
            break;
        }
    }
    Ok(any.then_some(too_long))
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
