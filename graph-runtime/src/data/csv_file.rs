//! [`Dataset::from_csv`]: a CSV file, one sample a line, read with the `csv` crate. The embedded
//! digits go through the same reader.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use nalgebra::SVector;

use super::{invalid, reading, Dataset, TargetColumns};
use crate::{Error, Real, Result};

impl<T: Real, const I: usize, Y: TargetColumns<T>> Dataset<T, I, Y> {
    /// Reads a CSV file with a header: the columns named in `target_columns` hold each sample's
    /// target, and every other column, in the file's order, an input. A class index
    /// (`Y = usize`) takes one column holding a whole number; an `SVector<T, O>` takes `O`.
    ///
    /// Fields may be quoted and padded with spaces; each must be a finite number. Numbers are
    /// parsed as `f64` and rounded to `T`, as NumPy's `loadtxt` reads into `float32`.
    ///
    /// ```
    /// use chainrule::data::Dataset;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("flowers.csv");
    /// std::fs::write(&path, "length,species,width\n5.1,0,3.5\n6.2,2,2.9\n")?;
    /// let flowers = Dataset::<f32, 2, usize>::from_csv(&path, &["species"])?;
    /// assert_eq!(flowers.targets(), [0, 2]);
    /// assert_eq!(flowers.inputs()[1].as_slice(), [6.2, 2.9]);
    ///
    /// std::fs::write(&path, "length,species,width\n5.1,0,3.5\n6.2,two,2.9\n")?;
    /// let error = Dataset::<f32, 2, usize>::from_csv(&path, &["species"]).unwrap_err();
    /// assert!(error.to_string().ends_with("line 3, column `species`: `two` is not a number"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, and [`Error::InvalidDataFile`], naming the line
    /// and column where it can, if the header lacks a target column, if the number of other
    /// columns is not `I`, if a line has another number of fields than the header, or if a
    /// field is not a finite number (or not a class index, in a class column).
    pub fn from_csv(path: impl AsRef<Path>, target_columns: &[&str]) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(reading(path))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file);
        let header = reader
            .headers()
            .map_err(|error| csv_error(path, error))?
            .clone();
        let columns = Columns::from_header(&header, target_columns, I, Y::COLUMNS)
            .map_err(|problem| invalid(path, Some(1), None, problem))?;
        read_records(reader, path, &columns)
    }
}

/// Which fields of a record are the inputs and which the target, and every column's name.
pub(super) struct Columns {
    pub(super) inputs: Vec<usize>,
    pub(super) targets: Vec<usize>,
    pub(super) names: Vec<String>,
}

impl Columns {
    /// The targets are the columns named `targets`; the inputs are all the others.
    fn from_header(
        header: &csv::StringRecord,
        targets: &[&str],
        inputs_wanted: usize,
        targets_wanted: usize,
    ) -> std::result::Result<Columns, String> {
        let names: Vec<String> = header.iter().map(str::to_owned).collect();
        if names.iter().all(String::is_empty) {
            return Err("the header is empty; its line names the columns".into());
        }
        if targets.len() != targets_wanted {
            return Err(format!(
                "the dataset's target takes {targets_wanted} column(s), but {} were named: {}",
                targets.len(),
                quoted(targets.iter())
            ));
        }
        let mut target_indices = Vec::with_capacity(targets.len());
        for &target in targets {
            let mut matches = names.iter().enumerate().filter(|(_, name)| *name == target);
            match (matches.next(), matches.next()) {
                (Some((index, _)), None) if !target_indices.contains(&index) => {
                    target_indices.push(index)
                }
                (Some(_), None) => {
                    return Err(format!("the target column `{target}` is named twice"))
                }
                (Some(_), Some(_)) => return Err(format!("two columns are named `{target}`")),
                (None, _) => {
                    return Err(format!(
                        "no column is named `{target}`; the columns are {}",
                        quoted(names.iter())
                    ))
                }
            }
        }
        let inputs: Vec<usize> = (0..names.len())
            .filter(|index| !target_indices.contains(index))
            .collect();
        if inputs.len() != inputs_wanted {
            return Err(format!(
                "the dataset takes {inputs_wanted} inputs, but the file has {} columns besides \
                 the target's: {}",
                inputs.len(),
                quoted(inputs.iter().map(|&index| &names[index]))
            ));
        }
        Ok(Columns {
            inputs,
            targets: target_indices,
            names,
        })
    }
}

/// The samples of every record left in `reader`; `path` names the file in errors.
pub(super) fn read_records<T: Real, const I: usize, Y: TargetColumns<T>>(
    mut reader: csv::Reader<impl Read>,
    path: &Path,
    columns: &Columns,
) -> Result<Dataset<T, I, Y>> {
    let mut data = Dataset::new();
    let mut target_values = Vec::with_capacity(columns.targets.len());
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map(csv::Position::line);
        let value_at = |column: usize| {
            number(record.get(column).unwrap_or_default()).map_err(|problem| {
                invalid(path, line, Some(columns.names[column].clone()), problem)
            })
        };
        let mut input = SVector::<T, I>::zeros();
        for (value, &column) in input.iter_mut().zip(&columns.inputs) {
            *value = T::from_f64(value_at(column)?);
        }
        target_values.clear();
        for &column in &columns.targets {
            target_values.push(value_at(column)?);
        }
        let target = Y::from_columns(&target_values).map_err(|problem| {
            let first = columns.names[columns.targets[0]].clone();
            invalid(path, line, Some(first), problem)
        })?;
        data.push(input, target);
    }
    Ok(data)
}

/// A field's value, or why it has none.
fn number(field: &str) -> std::result::Result<f64, String> {
    match field.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(format!("`{field}` is not a finite number")),
        Err(_) if field.is_empty() => Err("the field is empty; it needs a number".into()),
        Err(_) => Err(format!("`{field}` is not a number")),
    }
}

/// The csv crate's error as ours, with the line it happened on.
fn csv_error(path: &Path, error: csv::Error) -> Error {
    let line = error.position().map(csv::Position::line);
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(source) => reading(path)(source),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => invalid(
            path,
            line,
            None,
            format!("{len} fields, but the first line has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => {
            invalid(path, line, None, format!("not valid UTF-8 ({err})"))
        }
        _ => invalid(path, line, None, message),
    }
}

/// "`a`, `b`, `c`".
fn quoted(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    names
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
