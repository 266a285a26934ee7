//! Typed tables written as CSV and, alongside, as Parquet (`runs.csv` and `runs.parquet`, ...).
//!
//! Each column has one type for the whole file: integers are written as integers (`12`), floats
//! always as floats (`3.0`, never `3`, so that pandas or polars infer the same type whatever the
//! first rows hold), strings as given, and "no value" as an empty CSV cell or a Parquet null (an
//! `error` column that is empty on every row is still a string column in Parquet). Rows are
//! streamed: the Parquet side buffers one row group at a time, so memory does not grow with the
//! number of rows. Both files are written atomically.

use super::files::AtomicFile;
use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    Str,
    /// Signed 64-bit integers.
    Int,
    /// Unsigned 64-bit integers (seeds).
    UInt,
    Float,
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// No value (a NaN or infinite float is written as one too).
    Null,
}

impl Cell {
    /// A float, or no value when it is not finite.
    pub fn float(x: f64) -> Cell {
        if x.is_finite() {
            Cell::Float(x)
        } else {
            Cell::Null
        }
    }

    /// A number of a column of type `ty` (integer columns hold whole values).
    pub fn number(ty: ColType, x: Option<f64>) -> Cell {
        match (ty, x) {
            (_, None) => Cell::Null,
            (ColType::Int, Some(x)) if x.is_finite() => Cell::Int(x as i64),
            (ColType::UInt, Some(x)) if x.is_finite() && x >= 0.0 => Cell::UInt(x as u64),
            (_, Some(x)) => Cell::float(x),
        }
    }
}

/// A float as a CSV cell: Rust's shortest round-trip form, always with a decimal point or an
/// exponent-free fraction (`3.0`, `0.25`), `0.0` for -0.0, empty when not finite.
pub fn fmt_float(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let x = if x == 0.0 { 0.0 } else { x };
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Str(s) => s.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::UInt(u) => u.to_string(),
        Cell::Float(x) => fmt_float(*x),
        Cell::Null => String::new(),
    }
}

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 8192;

struct ParquetSink {
    writer: SerializedFileWriter<AtomicFile>,
    types: Vec<ColType>,
    buffer: Vec<Vec<Cell>>,
}

fn parquet_err(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e.to_string())
}

impl ParquetSink {
    fn create(path: &Path, columns: &[(String, ColType)]) -> io::Result<Self> {
        let fields = columns
            .iter()
            .map(|(name, ty)| {
                let (physical, logical) = match ty {
                    ColType::Str => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
                    ColType::Int => (Physical::INT64, None),
                    ColType::UInt => (Physical::INT64, Some(LogicalType::integer(64, false))),
                    ColType::Float => (Physical::DOUBLE, None),
                };
                Type::primitive_type_builder(name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(parquet_err)?;
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(parquet_err)?;
        let props = WriterProperties::builder().build();
        let writer =
            SerializedFileWriter::new(AtomicFile::create(path)?, Arc::new(schema), props.into())
                .map_err(parquet_err)?;
        Ok(ParquetSink {
            writer,
            types: columns.iter().map(|c| c.1).collect(),
            buffer: Vec::new(),
        })
    }

    fn push(&mut self, row: Vec<Cell>) -> io::Result<()> {
        self.buffer.push(row);
        if self.buffer.len() >= ROW_GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group, column by column.
    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(parquet_err)?;
        for (i, ty) in self.types.iter().enumerate() {
            let mut col = group
                .next_column()
                .map_err(parquet_err)?
                .ok_or_else(|| io::Error::other("parquet: fewer columns than the schema"))?;
            let defs: Vec<i16> = self
                .buffer
                .iter()
                .map(|r| i16::from(!matches!(r[i], Cell::Null)))
                .collect();
            let cells = self.buffer.iter().map(|r| &r[i]);
            match ty {
                ColType::Str => {
                    let v: Vec<ByteArray> = cells
                        .filter_map(|c| match c {
                            Cell::Str(s) => Some(ByteArray::from(s.as_bytes().to_vec())),
                            Cell::Null => None,
                            other => Some(ByteArray::from(csv_cell(other).into_bytes())),
                        })
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
                ColType::Int | ColType::UInt => {
                    let v: Vec<i64> = cells
                        .filter_map(|c| match c {
                            Cell::Int(x) => Some(*x),
                            // Unsigned values are stored bit for bit (the logical type says so).
                            Cell::UInt(x) => Some(*x as i64),
                            Cell::Float(x) => Some(*x as i64),
                            Cell::Str(_) | Cell::Null => None,
                        })
                        .collect();
                    col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
                }
                ColType::Float => {
                    let v: Vec<f64> = cells
                        .filter_map(|c| match c {
                            Cell::Float(x) => Some(*x),
                            Cell::Int(x) => Some(*x as f64),
                            Cell::UInt(x) => Some(*x as f64),
                            Cell::Str(_) | Cell::Null => None,
                        })
                        .collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
            }
            .map_err(parquet_err)?;
            col.close().map_err(parquet_err)?;
        }
        group.close().map_err(parquet_err)?;
        self.buffer.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.writer.into_inner().map_err(parquet_err)?.commit()
    }
}

/// A table written to a CSV file and, optionally, a Parquet file with the same columns.
pub struct TableWriter {
    columns: Vec<(String, ColType)>,
    csv: csv::Writer<AtomicFile>,
    parquet: Option<ParquetSink>,
}

impl TableWriter {
    pub fn create(
        csv_path: &Path,
        parquet_path: Option<&Path>,
        columns: Vec<(String, ColType)>,
    ) -> io::Result<Self> {
        let mut csv = csv::Writer::from_writer(AtomicFile::create(csv_path)?);
        csv.write_record(columns.iter().map(|c| c.0.as_str()))?;
        let parquet = match parquet_path {
            Some(p) => Some(ParquetSink::create(p, &columns)?),
            None => None,
        };
        Ok(TableWriter {
            columns,
            csv,
            parquet,
        })
    }

    pub fn write_row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        self.csv.write_record(row.iter().map(csv_cell))?;
        if let Some(p) = &mut self.parquet {
            p.push(row)?;
        }
        Ok(())
    }

    /// Flushes and renames both files into place.
    pub fn finish(self) -> io::Result<()> {
        self.csv
            .into_inner()
            .map_err(|e| e.into_error())?
            .commit()?;
        if let Some(p) = self.parquet {
            p.finish()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    #[test]
    fn floats_always_look_like_floats() {
        assert_eq!(fmt_float(3.0), "3.0");
        assert_eq!(fmt_float(-0.0), "0.0");
        assert_eq!(fmt_float(0.25), "0.25");
        assert_eq!(fmt_float(1e20), "100000000000000000000.0");
        assert_eq!(fmt_float(f64::NAN), "");
        assert_eq!(Cell::number(ColType::Int, Some(7.0)), Cell::Int(7));
        assert_eq!(
            Cell::number(ColType::Float, Some(f64::INFINITY)),
            Cell::Null
        );
    }

    #[test]
    fn csv_and_parquet_hold_the_same_typed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (c, p) = (dir.path().join("t.csv"), dir.path().join("t.parquet"));
        let cols = vec![
            ("name".to_string(), ColType::Str),
            ("count".to_string(), ColType::Int),
            ("seed".to_string(), ColType::UInt),
            ("x".to_string(), ColType::Float),
            ("error".to_string(), ColType::Str),
        ];
        let mut w = TableWriter::create(&c, Some(&p), cols).unwrap();
        let rows = 2 * ROW_GROUP_ROWS + 5;
        for i in 0..rows {
            w.write_row(vec![
                Cell::Str(format!("r{i}")),
                Cell::Int(i as i64),
                Cell::UInt(u64::MAX - i as u64),
                if i % 3 == 0 {
                    Cell::Null
                } else {
                    Cell::Float(i as f64)
                },
                Cell::Null,
            ])
            .unwrap();
        }
        w.finish().unwrap();
        let text = std::fs::read_to_string(&c).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("name,count,seed,x,error"));
        assert_eq!(lines.next(), Some("r0,0,18446744073709551615,,"));
        assert_eq!(lines.next(), Some("r1,1,18446744073709551614,1.0,"));
        let reader = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), rows as i64);
        assert_eq!(reader.metadata().num_row_groups(), 3);
        let got: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .take(2)
            .map(|r| {
                r.unwrap()
                    .get_column_iter()
                    .map(|(_, f)| f.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            got[0],
            [
                Field::Str("r0".into()),
                Field::Long(0),
                Field::ULong(u64::MAX),
                Field::Null,
                Field::Null
            ]
        );
        assert_eq!(got[1][3], Field::Double(1.0));
        // No temporary left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
