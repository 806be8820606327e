//! CSV files a person edits in a spreadsheet: key labels (export, import with a preview) and bulk
//! key creation. This module reads and writes the files (size cap, UTF-8 only, BOM tolerated, `,` or
//! `;` detected, headers case-insensitive) and plans what a file asks for; the service
//! (`service::csv`) talks to OpenRouter and the store. A secret never goes through a CSV: a cell that
//! holds an `sk-or-` value is refused on import and never written on export.

pub mod create;
pub mod labels;

use std::path::Path;

use crate::Error;

pub use create::plan_creation;
pub use labels::{export_labels, preview_labels};

/// Largest file read (1 MiB): thousands of rows, far below anything that strains memory or the UI.
pub const MAX_CSV_BYTES: usize = 1024 * 1024;
/// Most data rows read from one file.
pub const MAX_CSV_ROWS: usize = 5_000;

/// A parsed file: lower-cased headers and the data rows, each with its line number in the file
/// (the header is line 1), the number a spreadsheet shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    pub headers: Vec<String>,
    pub rows: Vec<CsvRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CsvRecord {
    pub row: u32,
    pub cells: Vec<String>,
}

impl CsvRecord {
    /// The trimmed cell of column `index` (empty when the row is short).
    pub fn cell(&self, index: Option<usize>) -> &str {
        index
            .and_then(|i| self.cells.get(i))
            .map_or("", |cell| cell.trim())
    }

    /// Whether any cell holds something shaped like an OpenRouter secret.
    pub fn holds_secret(&self) -> bool {
        self.cells.iter().any(|cell| looks_like_secret(cell))
    }
}

/// The one test for "this text carries a secret": every OpenRouter key starts `sk-or-`.
pub fn looks_like_secret(text: &str) -> bool {
    text.contains("sk-or-")
}

impl CsvTable {
    /// The index of the first column named one of `names` (already lower-case).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|header| names.contains(&header.as_str()))
    }
}

/// Reads a file from disk through [`read_table`], refusing a file over the cap before reading it.
pub fn read_file(path: &Path) -> Result<CsvTable, Error> {
    read_table(&read_bytes(path)?)
}

/// The bytes of a CSV file, refused when over [`MAX_CSV_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |err: std::io::Error| {
        Error::invalid("file", format!("could not read {}: {err}", path.display()))
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_CSV_BYTES as u64 {
        return Err(too_large(size));
    }
    std::fs::read(path).map_err(io)
}

fn too_large(size: u64) -> Error {
    Error::invalid(
        "file",
        format!(
            "the file is {size} bytes; at most {MAX_CSV_BYTES} bytes ({MAX_CSV_ROWS} rows) are read: split it"
        ),
    )
}

/// Parses a CSV file: at most [`MAX_CSV_BYTES`], UTF-8 (a BOM is skipped), `,` or `;` as delimiter
/// (whichever the header line uses more), blank lines skipped, at most [`MAX_CSV_ROWS`] rows.
pub fn read_table(bytes: &[u8]) -> Result<CsvTable, Error> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        Error::invalid(
            "file",
            format!(
                "the file is not UTF-8 text (byte {} is not); save it as \"CSV UTF-8\"",
                err.valid_up_to() + 1
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(text))
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map_or(0, csv::Position::line);
            Error::invalid("file", format!("line {line} is not valid CSV: {err}"))
        })?;
        // The line the record starts on, counted from its byte offset: the reader's own line count
        // skips blank lines.
        let line = record.position().map_or(0, |at| {
            let mut start = usize::try_from(at.byte()).unwrap_or(usize::MAX);
            // The position can point at blank lines the reader skipped before the record.
            while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            text.as_bytes()
                .get(..start)
                .map_or(0, |before| before.iter().filter(|&&b| b == b'\n').count())
                + 1
        });
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if headers.is_none() {
            headers = Some(
                cells
                    .iter()
                    .map(|header| header.trim().to_lowercase().replace([' ', '-'], "_"))
                    .collect(),
            );
            continue;
        }
        if rows.len() == MAX_CSV_ROWS {
            return Err(Error::invalid(
                "file",
                format!("the file has more than {MAX_CSV_ROWS} rows: split it"),
            ));
        }
        rows.push(CsvRecord {
            row: u32::try_from(line).unwrap_or(u32::MAX),
            cells,
        });
    }
    let headers = headers.ok_or_else(|| Error::invalid("file", "the file is empty"))?;
    Ok(CsvTable { headers, rows })
}

/// `;` when the first line has more semicolons than commas outside quotes (a spreadsheet in a
/// locale whose decimal mark is a comma), else `,`.
fn detect_delimiter(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// A CSV document from a header and rows (quoted as needed, `\n` line ends).
pub fn write_table(headers: &[&str], rows: &[Vec<String>]) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(headers).map_err(write_failed)?;
    for row in rows {
        writer.write_record(row).map_err(write_failed)?;
    }
    let bytes = writer.into_inner().map_err(write_failed)?;
    String::from_utf8(bytes).map_err(write_failed)
}

fn write_failed(err: impl std::fmt::Display) -> Error {
    Error::Internal {
        message: format!("could not write the CSV: {err}"),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_semicolons_case_and_blank_lines() {
        let table = read_table("\u{feff}Hash;Tags\n\nabc;\"a;b\"\n".as_bytes()).unwrap();
        assert_eq!(table.headers, ["hash", "tags"]);
        assert_eq!(table.rows.len(), 1);
        assert_eq!(table.rows[0].row, 3);
        assert_eq!(table.rows[0].cell(table.column(&["tags"])), "a;b");
    }

    #[test]
    fn refuses_non_utf8_empty_and_huge_files() {
        let error = read_table(b"name\n\xff\xfe\n").unwrap_err();
        assert!(error.to_string().contains("UTF-8"), "{error}");
        assert!(read_table(b"").unwrap_err().to_string().contains("empty"));
        let huge = vec![b'a'; MAX_CSV_BYTES + 1];
        assert!(read_table(&huge).unwrap_err().to_string().contains("split"));
    }

    #[test]
    fn writes_quotes_where_needed() {
        let text = write_table(&["a", "b"], &[vec!["x,y".into(), "line\nbreak".into()]]).unwrap();
        let table = read_table(text.as_bytes()).unwrap();
        assert_eq!(table.rows[0].cells, ["x,y", "line\nbreak"]);
    }
}
