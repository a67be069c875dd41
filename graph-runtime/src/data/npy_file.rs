//! [`Dataset::from_npy`]: inputs and targets from two NumPy `.npy` files, read with `npyz`.

use std::path::Path;

use nalgebra::SVector;
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar};

use super::{invalid, reading, Dataset, TargetColumns};
use crate::{Real, Result};

impl<T: Real, const I: usize, Y: TargetColumns<T>> Dataset<T, I, Y> {
    /// Reads the inputs and the targets of a dataset from two NumPy `.npy` files, as
    /// `np.save` writes them: the inputs an array of shape `(n, I)` (or `(n,)` when `I` is 1),
    /// the targets of shape `(n,)` for class indices and `(n, O)` for an `SVector<T, O>` (or
    /// `(n,)` when `O` is 1).
    ///
    /// Arrays may hold floats (`float32`, `float64`), integers or booleans, in either byte order
    /// and in C or Fortran order; values are rounded to `T`. Every value must be finite, and a
    /// class index a whole number, 0 or more.
    ///
    /// ```
    /// use chainrule::data::Dataset;
    ///
    /// // What `np.save("y.npy", np.array([1, 0, 1], dtype=np.int64))` writes:
    /// let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
    /// let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    /// npy.extend(118_u16.to_le_bytes());
    /// npy.extend(format!("{header:<117}\n").bytes());
    /// npy.extend([1_i64, 0, 1].iter().flat_map(|class| class.to_le_bytes()));
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("y.npy"), npy)?;
    /// # let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
    /// # let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    /// # npy.extend(118_u16.to_le_bytes());
    /// # npy.extend(format!("{header:<117}\n").bytes());
    /// # npy.extend([0.5_f32, 1.0, 1.5, 2.0, 2.5, 3.0].iter().flat_map(|x| x.to_le_bytes()));
    /// # std::fs::write(dir.path().join("x.npy"), npy)?;
    /// // …and x.npy, a float32 array of shape (3, 2):
    /// let path = |name| dir.path().join(name);
    /// let data = Dataset::<f32, 2, usize>::from_npy(path("x.npy"), path("y.npy"))?;
    /// assert_eq!(data.targets(), [1, 0, 1]);
    /// assert_eq!(data.inputs()[2].as_slice(), [2.5, 3.0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if a file cannot be read, and
    /// [`Error::InvalidDataFile`](crate::Error::InvalidDataFile) if a file is not an `.npy`
    /// file, is truncated, holds another shape or another kind of value than the dataset
    /// takes, or if the two files hold different numbers of samples.
    pub fn from_npy(inputs: impl AsRef<Path>, targets: impl AsRef<Path>) -> Result<Self> {
        let (inputs_path, targets_path) = (inputs.as_ref(), targets.as_ref());
        let inputs = read_table(inputs_path, I)?;
        let targets = read_table(targets_path, Y::COLUMNS)?;
        if targets.rows != inputs.rows {
            let problem = format!(
                "{} samples, but `{}` has {}",
                targets.rows,
                inputs_path.display(),
                inputs.rows
            );
            return Err(invalid(targets_path, None, None, problem));
        }
        let mut data = Dataset::new();
        for row in 0..inputs.rows {
            let target = &targets.values[row * Y::COLUMNS..(row + 1) * Y::COLUMNS];
            let target = Y::from_columns(target).map_err(|problem| {
                invalid(targets_path, None, None, format!("row {row}: {problem}"))
            })?;
            let input = SVector::from_fn(|column, _| T::from_f64(inputs.values[row * I + column]));
            data.push(input, target);
        }
        Ok(data)
    }
}

/// A two-dimensional array of finite values, row by row.
struct Table {
    rows: usize,
    values: Vec<f64>,
}

/// The array in the `.npy` file at `path`, which must have `columns` columns.
fn read_table(path: &Path, columns: usize) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(reading(path))?;
    let fail = |problem: String| invalid(path, None, None, problem);
    let mut data = &bytes[..];
    let header = NpyHeader::from_reader(&mut data)
        .map_err(|error| fail(format!("not a NumPy .npy file: {error}")))?;
    let shape = header.shape().to_vec();
    let rows = match shape[..] {
        [rows] if columns == 1 => rows,
        [rows, found] if found == columns as u64 => rows,
        _ => {
            let alternative = if columns == 1 { " or (n,)" } else { "" };
            return Err(fail(format!(
                "shape {shape:?}, but the dataset takes (n, {columns}){alternative}"
            )));
        }
    };
    let rows = usize::try_from(rows).map_err(|_| fail(format!("{rows} rows are too many")))?;
    let element = element(&header).map_err(fail)?;
    let expected = rows
        .saturating_mul(columns)
        .saturating_mul(element.1 as usize);
    if data.len() != expected {
        let (dtype, found) = (header.dtype().descr(), data.len());
        let problem = if found < expected {
            "truncated"
        } else {
            "too long"
        };
        return Err(fail(format!(
            "{problem}: the header announces shape {shape:?} of {dtype}, {expected} bytes of \
             data, but {found} bytes follow it"
        )));
    }
    let order = header.order();
    let mut values = numbers(NpyFile::with_header(header, data), element)
        .map_err(|error| fail(format!("unreadable data: {error}")))?;
    if order == Order::Fortran {
        values = transpose(&values, rows, columns);
    }
    if let Some(index) = values.iter().position(|value| !value.is_finite()) {
        let (row, column) = (index / columns, index % columns);
        let value = values[index];
        return Err(fail(format!(
            "element [{row}, {column}] is {value}, not a finite number"
        )));
    }
    Ok(Table { rows, values })
}

/// A numeric element type: its kind and size in bytes.
type Element = (TypeChar, u64);

/// The element type of the array, if it is one `numbers` reads.
fn element(header: &NpyHeader) -> std::result::Result<Element, String> {
    let dtype = header.dtype();
    if let DType::Plain(type_str) = &dtype {
        let element = (type_str.type_char(), type_str.size_field());
        if let (TypeChar::Float, 4 | 8)
        | (TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8)
        | (TypeChar::Bool, 1) = element
        {
            return Ok(element);
        }
    }
    Err(format!(
        "holds {} values; the dataset reads floats (float32, float64), integers or booleans",
        dtype.descr()
    ))
}

/// Every element as an `f64`, in the file's order.
fn numbers(file: NpyFile<&[u8]>, element: Element) -> std::io::Result<Vec<f64>> {
    fn widen<N: npyz::Deserialize + Into<f64>>(file: NpyFile<&[u8]>) -> std::io::Result<Vec<f64>> {
        Ok(file.into_vec::<N>()?.into_iter().map(Into::into).collect())
    }
    match element {
        (TypeChar::Float, 4) => widen::<f32>(file),
        (TypeChar::Float, _) => widen::<f64>(file),
        (TypeChar::Int, 1) => widen::<i8>(file),
        (TypeChar::Int, 2) => widen::<i16>(file),
        (TypeChar::Int, 4) => widen::<i32>(file),
        // Beyond 2⁵³, the nearest f64; no class index is that large.
        (TypeChar::Int, _) => Ok(file
            .into_vec::<i64>()?
            .into_iter()
            .map(|x| x as f64)
            .collect()),
        (TypeChar::Uint, 1) => widen::<u8>(file),
        (TypeChar::Uint, 2) => widen::<u16>(file),
        (TypeChar::Uint, 4) => widen::<u32>(file),
        (TypeChar::Uint, _) => Ok(file
            .into_vec::<u64>()?
            .into_iter()
            .map(|x| x as f64)
            .collect()),
        _ => Ok(file
            .into_vec::<bool>()?
            .into_iter()
            .map(f64::from)
            .collect()),
    }
}

/// A `rows × columns` array's values in column-major order (Fortran's) as row-major.
fn transpose(values: &[f64], rows: usize, columns: usize) -> Vec<f64> {
    (0..rows)
        .flat_map(|row| (0..columns).map(move |column| values[column * rows + row]))
        .collect()
}
