//! [`digits`]: UCI's handwritten digits, shipped inside the crate as scikit-learn ships them.

use flate2::read::GzDecoder;

use super::csv_file::{read_records, Columns};
use super::Dataset;
use crate::Real;

/// scikit-learn's `sklearn/datasets/data/digits.csv.gz`, unchanged: 1,797 lines of 64 pixels
/// and a label, no header. `graph-runtime/data/README.md` gives its source and license.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// How many of the 1,797 images make up the test split: the last 360.
const TEST_IMAGES: usize = 360;

/// UCI's optical recognition of handwritten digits, as scikit-learn's `load_digits` gives it:
/// 1,797 images of 8×8 pixels with their digits (0–9), as `(train, test)`: the first 1,437
/// images and the last 360.
///
/// An image is a column of 64 pixels, row by row (PyTorch's `(1, 8, 8)` in row-major order,
/// so `pixel[8 * row + column]`). Each pixel is the count, 0 to 16, of set pixels in a 4×4
/// block of the 32×32 bitmap of a digit written by one of 13 people, as UCI gives it; scale
/// by 1/16 for inputs in [0, 1] with [`Dataset::map_inputs`]. The classes are nearly balanced
/// (174 to 183 images each).
///
/// The data ships inside the crate (57 KB of gzip-compressed CSV) and is decoded on each
/// call, so call it once and keep the result.
///
/// **Source and license.** E. Alpaydin and C. Kaynak (1998), *Optical Recognition of
/// Handwritten Digits* [Dataset], UCI Machine Learning Repository,
/// <https://doi.org/10.24432/C50P49>. This is the repository's test set (`optdigits.tes`),
/// which UCI distributes under the Creative Commons Attribution 4.0 International license
/// (CC BY 4.0, <https://creativecommons.org/licenses/by/4.0/>); the file is the one
/// scikit-learn ships, unchanged (see `data/README.md` in the `graph-runtime` crate).
///
/// ```
/// let (train, test) = chainrule::data::digits::<f32>();
/// assert_eq!((train.len(), test.len()), (1437, 360));
/// assert_eq!(test.targets()[0], 2);
///
/// // Pixels in [0, 1], as the usual network wants them:
/// let train = train.map_inputs(|pixels| pixels / 16.0);
/// assert!(train.inputs().iter().flatten().all(|&pixel| (0.0..=1.0).contains(&pixel)));
/// ```
pub fn digits<T: Real>() -> (Dataset<T, 64, usize>, Dataset<T, 64, usize>) {
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(GzDecoder::new(DIGITS_CSV_GZ));
    let columns = Columns {
        inputs: (0..64).collect(),
        targets: vec![64],
        names: (1..=65).map(|column| column.to_string()).collect(),
    };
    let all: Dataset<T, 64, usize> = read_records(reader, "digits.csv.gz".as_ref(), &columns)
        .expect("the embedded digits are valid");
    let train = all.len() - TEST_IMAGES;
    all.split_at(train)
}
