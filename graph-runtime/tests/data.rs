//! Datasets from files: the digits shipped in the crate, MNIST's IDX files, CSV and NumPy's
//! `.npy`. The IDX and `.npy` files are built here byte by byte from their formats'
//! documentation (LeCun's MNIST page; NumPy's `numpy.lib.format`), so the readers are checked
//! against the formats, not against a writer of our own.

use std::io::Write;
use std::path::PathBuf;

use flate2::write::GzEncoder;
use flate2::Compression;
use graph_runtime::data::{digits, mnist, Dataset};
use graph_runtime::nalgebra::SVector;
use graph_runtime::Error;

mod common;
use common::TempDir;

/// The file and problem of an [`Error::InvalidDataFile`], or a panic naming what came instead.
#[track_caller]
fn invalid_file<T: std::fmt::Debug>(result: Result<T, Error>) -> (PathBuf, String) {
    match result {
        Err(Error::InvalidDataFile { path, problem, .. }) => (path, problem),
        other => panic!("expected Error::InvalidDataFile, got {other:?}"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

// ---- digits ----

/// Counts per class, from UCI's description of `optdigits.tes` (and recounted from the csv).
const DIGIT_CLASS_COUNTS: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];

fn histogram(labels: &[usize]) -> [usize; 10] {
    let mut counts = [0; 10];
    for &label in labels {
        counts[label] += 1;
    }
    counts
}

#[test]
fn digits_has_uci_counts_and_the_last_360_images_for_test() {
    let (train, test) = digits::<f32>();
    assert_eq!((train.len(), test.len()), (1437, 360));
    let all: Vec<usize> = train
        .targets()
        .iter()
        .chain(test.targets())
        .copied()
        .collect();
    assert_eq!(histogram(&all), DIGIT_CLASS_COUNTS);
    // Counted with Python's csv module over the lines 1438..=1797 of the file.
    assert_eq!(
        histogram(test.targets()),
        [35, 36, 35, 37, 37, 37, 37, 36, 33, 37]
    );
}

#[test]
fn digits_pixels_are_whole_numbers_from_0_to_16() {
    let (train, test) = digits::<f64>();
    let pixels: Vec<f64> = train
        .inputs()
        .iter()
        .chain(test.inputs())
        .flat_map(|image| image.iter().copied())
        .collect();
    assert_eq!(pixels.len(), 1797 * 64);
    assert!(pixels
        .iter()
        .all(|&p| (0.0..=16.0).contains(&p) && p.fract() == 0.0));
    assert_eq!(pixels.iter().copied().fold(f64::MAX, f64::min), 0.0);
    assert_eq!(pixels.iter().copied().fold(f64::MIN, f64::max), 16.0);
    // The sum of every pixel, and of the test images', from Python's csv module.
    assert_eq!(pixels.iter().sum::<f64>(), 561_718.0);
    let test_sum: f64 = test.inputs().iter().map(|image| image.sum()).sum();
    assert_eq!(test_sum, 112_346.0);
}

#[test]
fn digits_known_pixels_match_the_csv() {
    let (train, test) = digits::<f32>();
    let image = |index: usize| {
        if index < 1437 {
            (train.inputs()[index], train.targets()[index])
        } else {
            (test.inputs()[index - 1437], test.targets()[index - 1437])
        }
    };
    // (image, label, [(row, column, pixel)]) read with Python's csv module from the file's
    // lines, the image's 64 values row by row.
    let known = [
        (
            0,
            0,
            [(0, 2, 5), (0, 3, 13), (1, 4, 10), (4, 4, 0), (7, 4, 10)],
        ),
        (
            1,
            1,
            [(0, 2, 0), (0, 3, 12), (1, 4, 16), (4, 4, 16), (7, 4, 16)],
        ),
        (
            1436,
            1,
            [(0, 2, 0), (0, 3, 0), (1, 4, 16), (4, 4, 16), (7, 4, 8)],
        ),
        (
            1437,
            2,
            [(0, 2, 16), (0, 3, 15), (1, 4, 7), (4, 4, 10), (7, 4, 16)],
        ),
        (
            1796,
            8,
            [(0, 2, 10), (0, 3, 14), (1, 4, 6), (4, 4, 15), (7, 4, 14)],
        ),
    ];
    for (index, label, pixels) in known {
        let (input, target) = image(index);
        assert_eq!(target, label, "image {index}");
        for (row, column, value) in pixels {
            assert_eq!(
                input[8 * row + column],
                value as f32,
                "image {index} ({row}, {column})"
            );
        }
    }
}

#[test]
fn digits_scale_to_the_unit_interval_with_map_inputs() {
    let (train, _) = digits::<f32>();
    let first = train.inputs()[0];
    let scaled = train.map_inputs(|pixels| pixels / 16.0);
    assert_eq!(scaled.inputs()[0], first / 16.0);
    assert_eq!(scaled.inputs()[0][3], 13.0 / 16.0);
    assert_eq!(scaled.targets()[..3], [0, 1, 2]);
}

// ---- MNIST ----

/// An IDX file of `images` images of `rows × columns` unsigned bytes, pixel `p` of image `i`
/// being `(i + p) % 256`, as LeCun's page lays it out: magic 0x00000803, then the three sizes,
/// all big-endian, then the pixels.
fn idx_images(images: u32, rows: u32, columns: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, 3];
    for size in [images, rows, columns] {
        bytes.extend(size.to_be_bytes());
    }
    let pixels = (rows * columns) as usize;
    for image in 0..images as usize {
        bytes.extend((0..pixels).map(|pixel| ((image + pixel) % 256) as u8));
    }
    bytes
}

/// An IDX file of labels: magic 0x00000801, the count, then one byte per label.
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, 1];
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend(labels);
    bytes
}

/// A directory with MNIST's four files, the training set raw and the test set gzipped.
fn mnist_dir(test: &str) -> TempDir {
    let dir = TempDir::new(test);
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx_images(3, 28, 28)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_labels(&[5, 0, 4])).unwrap();
    let test_images = gzip(&idx_images(2, 28, 28));
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), test_images).unwrap();
    let test_labels = gzip(&idx_labels(&[7, 2]));
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), test_labels).unwrap();
    dir
}

#[test]
fn mnist_loads_raw_and_gzipped_idx_files() {
    let dir = mnist_dir("mnist-loads");
    let files = [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
    ];
    assert_eq!(dir.entries(), files);
    let (train, test) = mnist::load::<f32>(dir.join("")).unwrap();
    assert_eq!(train.targets(), [5, 0, 4]);
    assert_eq!(test.targets(), [7, 2]);
    for (data, images) in [(&train, 3), (&test, 2)] {
        assert_eq!(data.len(), images);
        for (image, input) in data.inputs().iter().enumerate() {
            for pixel in [0, 1, 27, 28, 255, 256, 783] {
                let expected = ((image + pixel) % 256) as f32;
                assert_eq!(input[pixel], expected, "image {image}, pixel {pixel}");
            }
        }
    }
}

/// Writes `bytes` as `name` in `dir` and returns the path.
fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `mnist::read` on an images file and a labels file with these bytes: its error's file and
/// problem.
fn mnist_error(test: &str, images: &[u8], labels: &[u8]) -> (PathBuf, PathBuf, PathBuf, String) {
    let dir = TempDir::new(test);
    let images_path = write(&dir, "images", images);
    let labels_path = write(&dir, "labels", labels);
    let (path, problem) = invalid_file(mnist::read::<f32>(&images_path, &labels_path));
    (images_path, labels_path, path, problem)
}

#[test]
fn mnist_names_a_file_with_a_bad_magic_number() {
    // A labels file where the images should be, and a file too short for a magic number.
    let (images, _, path, problem) =
        mnist_error("mnist-magic", &idx_labels(&[1, 2]), &idx_labels(&[1, 2]));
    assert_eq!(path, images);
    assert!(
        problem.starts_with("bad magic number 0x00000801"),
        "{problem}"
    );
    let (_, labels, path, problem) = mnist_error("mnist-empty", &idx_images(1, 28, 28), &[0, 0]);
    assert_eq!(path, labels);
    assert!(problem.starts_with("truncated: the header"), "{problem}");
    // Floats (type 0x0D) instead of unsigned bytes.
    let mut floats = idx_images(1, 28, 28);
    floats[2] = 0x0d;
    let (_, _, _, problem) = mnist_error("mnist-magic-type", &floats, &idx_labels(&[1]));
    assert!(
        problem.starts_with("bad magic number 0x00000d03"),
        "{problem}"
    );
}

#[test]
fn mnist_names_a_truncated_or_too_long_file() {
    let images = idx_images(2, 28, 28);
    let (_, labels, path, problem) =
        mnist_error("mnist-short-header", &images, &[0, 0, 8, 1, 0, 0]);
    assert_eq!(path, labels);
    assert_eq!(
        problem,
        "truncated: the header of an IDX file of labels takes 8 bytes, but the file has 6"
    );
    let (images_path, _, path, problem) = mnist_error(
        "mnist-short-data",
        &images[..images.len() - 1],
        &idx_labels(&[1, 2]),
    );
    assert_eq!(path, images_path);
    assert_eq!(
        problem,
        "truncated: the header announces 2 images (1568 bytes), but 1567 bytes follow it"
    );
    let mut long_labels = idx_labels(&[1, 2]);
    long_labels.push(3);
    let (_, labels, path, problem) = mnist_error("mnist-long", &images, &long_labels);
    assert_eq!(path, labels);
    assert!(problem.starts_with("too long: the header announces 2 labels (2 bytes), but 3"));
}

#[test]
fn mnist_names_a_count_mismatch_between_images_and_labels() {
    let (images, labels, path, problem) =
        mnist_error("mnist-count", &idx_images(3, 28, 28), &idx_labels(&[1, 2]));
    assert_eq!(path, labels);
    assert_eq!(
        problem,
        format!(
            "count mismatch: 2 labels, but `{}` has 3 images",
            images.display()
        )
    );
}

#[test]
fn mnist_names_a_wrong_image_size_and_a_label_that_is_no_digit() {
    let (images, _, path, problem) =
        mnist_error("mnist-size", &idx_images(1, 32, 32), &idx_labels(&[1]));
    assert_eq!(path, images);
    assert_eq!(
        problem,
        "wrong image size: images of 32×32, but MNIST's are 28×28"
    );
    let (_, labels, path, problem) =
        mnist_error("mnist-label", &idx_images(2, 28, 28), &idx_labels(&[3, 10]));
    assert_eq!(path, labels);
    assert_eq!(problem, "label 1 is 10, not a digit 0–9");
}

#[test]
fn mnist_names_a_corrupt_gzip_file_and_a_missing_one() {
    let mut compressed = gzip(&idx_labels(&[1, 2]));
    compressed.truncate(compressed.len() - 12);
    let (_, labels, path, problem) = mnist_error("mnist-gzip", &idx_images(2, 28, 28), &compressed);
    assert_eq!(path, labels);
    assert!(problem.starts_with("not valid gzip"), "{problem}");

    let dir = mnist_dir("mnist-missing");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let (path, problem) = invalid_file(mnist::load::<f32>(dir.join("")));
    assert_eq!(path, dir.join("t10k-labels-idx1-ubyte"));
    assert_eq!(problem, "neither it nor `t10k-labels-idx1-ubyte.gz` exists");
    let message = mnist::load::<f32>(dir.join("")).unwrap_err().to_string();
    assert!(
        message.contains("t10k-labels-idx1-ubyte`: neither it nor"),
        "{message}"
    );
}

// ---- CSV ----

fn csv_file(dir: &TempDir, text: &str) -> PathBuf {
    write(dir, "data.csv", text.as_bytes())
}

/// The line, column and problem of `from_csv`'s error on `text`.
fn csv_error<const I: usize>(
    text: &str,
    targets: &[&str],
) -> (Option<u64>, Option<String>, String) {
    let dir = TempDir::new("csv-error");
    let path = csv_file(&dir, text);
    match Dataset::<f64, I, usize>::from_csv(&path, targets) {
        Err(Error::InvalidDataFile {
            path: error_path,
            line,
            column,
            problem,
        }) => {
            assert_eq!(error_path, path);
            (line, column, problem)
        }
        other => panic!("expected Error::InvalidDataFile, got {other:?}"),
    }
}

#[test]
fn csv_reads_a_label_column_anywhere_and_every_other_column_as_input() {
    let dir = TempDir::new("csv-reads");
    let text = "x0, label ,\"x 1\",x2\n1.5,2,-3,4e2\n\"0.25\", 0 ,1,-0\n";
    let path = csv_file(&dir, text);
    let data = Dataset::<f32, 3, usize>::from_csv(&path, &["label"]).unwrap();
    assert_eq!(data.targets(), [2, 0]);
    assert_eq!(data.inputs()[0].as_slice(), [1.5, -3.0, 400.0]);
    assert_eq!(data.inputs()[1].as_slice(), [0.25, 1.0, 0.0]);
}

#[test]
fn csv_reads_vector_targets_from_several_columns_in_the_order_named() {
    let dir = TempDir::new("csv-vector");
    let path = csv_file(&dir, "a,b,c,d\n1,2,3,4\n5,6,7,8\n");
    let data = Dataset::<f64, 2, SVector<f64, 2>>::from_csv(&path, &["d", "b"]).unwrap();
    assert_eq!(data.inputs()[1].as_slice(), [5.0, 7.0]);
    assert_eq!(data.targets()[1].as_slice(), [8.0, 6.0]);
    assert_eq!(data.targets()[0].as_slice(), [4.0, 2.0]);
}

#[test]
fn csv_names_the_line_and_column_of_a_bad_field() {
    let text = "a,label,b\n1,0,2\n3,1,x\n";
    assert_eq!(
        csv_error::<2>(text, &["label"]),
        (Some(3), Some("b".into()), "`x` is not a number".into())
    );
    let text = "a,label,b\n1,0,2\n3,1,\n";
    assert_eq!(
        csv_error::<2>(text, &["label"]).2,
        "the field is empty; it needs a number"
    );
    let text = "a,label,b\n1,0,2\n3,1,NaN\n";
    assert_eq!(
        csv_error::<2>(text, &["label"]).2,
        "`NaN` is not a finite number"
    );
    // A quoted field over two lines: the error's line is where its record starts.
    let text = "a,label,b\n\"1\n\",0,2\n3,1.5,4\n";
    assert_eq!(
        csv_error::<2>(text, &["label"]),
        (
            Some(4),
            Some("label".into()),
            "`1.5` is not a class index (a whole number, 0 or more)".into()
        )
    );
    let text = "a,label,b\n1,-1,2\n";
    assert_eq!(csv_error::<2>(text, &["label"]).1, Some("label".into()));
}

#[test]
fn csv_names_a_line_with_another_number_of_fields() {
    let text = "a,label,b\n1,0,2\n3,1\n";
    assert_eq!(
        csv_error::<2>(text, &["label"]),
        (Some(3), None, "2 fields, but the first line has 3".into())
    );
}

#[test]
fn csv_names_a_header_without_the_target_or_with_other_inputs() {
    let (line, _, problem) = csv_error::<2>("a,class,b\n1,0,2\n", &["label"]);
    assert_eq!(line, Some(1));
    assert_eq!(
        problem,
        "no column is named `label`; the columns are `a`, `class`, `b`"
    );
    let (line, _, problem) = csv_error::<3>("a,label,b\n1,0,2\n", &["label"]);
    assert_eq!(line, Some(1));
    assert_eq!(
        problem,
        "the dataset takes 3 inputs, but the file has 2 columns besides the target's: `a`, `b`"
    );
    let (_, _, problem) = csv_error::<2>("a,label,label\n1,0,2\n", &["label"]);
    assert_eq!(problem, "two columns are named `label`");
    let (_, _, problem) = csv_error::<2>("a,label,b\n1,0,2\n", &["label", "b"]);
    assert!(problem.starts_with("the dataset's target takes 1 column(s), but 2 were named"));
    let (_, _, problem) = csv_error::<2>("", &["label"]);
    assert_eq!(problem, "the header is empty; its line names the columns");
}

#[test]
fn csv_reports_a_missing_file_as_an_io_error() {
    let dir = TempDir::new("csv-missing");
    let path = dir.join("absent.csv");
    let error = Dataset::<f32, 2, usize>::from_csv(&path, &["label"]).unwrap_err();
    assert!(matches!(&error, Error::Io { action: "reading", path: p, .. } if p == &path));
}

// ---- .npy ----

/// An `.npy` file, version 1.0, as `numpy.lib.format` documents it: the magic `\x93NUMPY`, the
/// version, a little-endian `u16` header length, the header (a Python dict literal padded with
/// spaces and ended by a newline, so the data starts at a multiple of 64), then the data.
fn npy(descr: &str, fortran_order: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.join(", ")),
    };
    let order = if fortran_order { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    let header_len = (10 + dict.len() + 1).div_ceil(64) * 64 - 10;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header_len as u16).to_le_bytes());
    bytes.extend(format!("{dict:<width$}\n", width = header_len - 1).bytes());
    bytes.extend(data);
    bytes
}

fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `x.npy` and `y.npy` and reads them as a dataset.
fn from_npy<const I: usize, Y: graph_runtime::data::TargetColumns<f32>>(
    dir: &TempDir,
    inputs: &[u8],
    targets: &[u8],
) -> graph_runtime::Result<Dataset<f32, I, Y>> {
    let x = write(dir, "x.npy", inputs);
    let y = write(dir, "y.npy", targets);
    Dataset::from_npy(x, y)
}

#[test]
fn npy_reads_floats_and_integer_classes_in_c_and_fortran_order() {
    let dir = TempDir::new("npy-reads");
    let x = npy(
        "<f4",
        false,
        &[3, 2],
        &le_f32(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]),
    );
    let y = npy("|u1", false, &[3], &[2, 0, 1]);
    let data = from_npy::<2, usize>(&dir, &x, &y).unwrap();
    assert_eq!(data.targets(), [2, 0, 1]);
    assert_eq!(data.inputs()[1].as_slice(), [1.5, 2.0]);
    // The same array in Fortran order: column by column.
    let x = npy(
        "<f4",
        true,
        &[3, 2],
        &le_f32(&[0.5, 1.5, 2.5, 1.0, 2.0, 3.0]),
    );
    let y = npy(
        "<i8",
        false,
        &[3],
        &[2_i64, 0, 1].map(i64::to_le_bytes).concat(),
    );
    assert_eq!(from_npy::<2, usize>(&dir, &x, &y).unwrap(), data);
}

#[test]
fn npy_reads_big_endian_doubles_vector_targets_and_one_dimensional_inputs() {
    let dir = TempDir::new("npy-vector");
    let x = npy(
        ">f8",
        false,
        &[2],
        &[0.25_f64, -4.0].map(f64::to_be_bytes).concat(),
    );
    let y = npy(
        "<i4",
        false,
        &[2, 2],
        &[1_i32, 2, -3, 4].map(i32::to_le_bytes).concat(),
    );
    let data = from_npy::<1, SVector<f32, 2>>(&dir, &x, &y).unwrap();
    assert_eq!(data.inputs()[1][0], -4.0);
    assert_eq!(data.targets()[1].as_slice(), [-3.0, 4.0]);
    let booleans = npy("|b1", false, &[2], &[1, 0]);
    let classes = from_npy::<1, usize>(&dir, &x, &booleans).unwrap();
    assert_eq!(classes.targets(), [1, 0]);
}

#[test]
fn npy_names_the_file_with_a_wrong_shape_or_a_different_count() {
    let dir = TempDir::new("npy-shape");
    let x = npy("<f4", false, &[2, 3], &le_f32(&[0.0; 6]));
    let y = npy("|u1", false, &[2], &[0, 1]);
    let (path, problem) = invalid_file(from_npy::<2, usize>(&dir, &x, &y));
    assert_eq!(path, dir.join("x.npy"));
    assert_eq!(problem, "shape [2, 3], but the dataset takes (n, 2)");
    let x = npy("<f4", false, &[3, 3], &le_f32(&[0.0; 9]));
    let (path, problem) = invalid_file(from_npy::<3, usize>(&dir, &x, &y));
    assert_eq!(path, dir.join("y.npy"));
    assert_eq!(
        problem,
        format!("2 samples, but `{}` has 3", dir.join("x.npy").display())
    );
}

#[test]
fn npy_names_a_truncated_file_and_one_that_is_not_npy() {
    let dir = TempDir::new("npy-truncated");
    let x = npy("<f4", false, &[2, 2], &le_f32(&[1.0, 2.0, 3.0, 4.0]));
    let y = npy("|u1", false, &[2], &[0, 1]);
    let (path, problem) = invalid_file(from_npy::<2, usize>(&dir, &x[..x.len() - 2], &y));
    assert_eq!(path, dir.join("x.npy"));
    assert_eq!(
        problem,
        "truncated: the header announces shape [2, 2] of '<f4', 16 bytes of data, but 14 bytes \
         follow it"
    );
    let (path, problem) = invalid_file(from_npy::<2, usize>(&dir, &x, b"label\n0\n1\n"));
    assert_eq!(path, dir.join("y.npy"));
    assert!(problem.starts_with("not a NumPy .npy file"), "{problem}");
}

#[test]
fn npy_names_values_that_are_not_numbers_or_classes() {
    let dir = TempDir::new("npy-values");
    let x = npy("<f4", false, &[2, 1], &le_f32(&[1.0, f32::NAN]));
    let y = npy("|u1", false, &[2], &[0, 1]);
    let (_, problem) = invalid_file(from_npy::<1, usize>(&dir, &x, &y));
    assert_eq!(problem, "element [1, 0] is NaN, not a finite number");
    let x = npy("<f4", false, &[2, 1], &le_f32(&[1.0, 2.0]));
    let text = npy("<U1", false, &[2], &[b'a', 0, 0, 0, b'b', 0, 0, 0]);
    let (_, problem) = invalid_file(from_npy::<1, usize>(&dir, &x, &text));
    assert!(problem.starts_with("holds '<U1' values;"), "{problem}");
    let negative = npy("|i1", false, &[2], &[0, 0xff]);
    let (path, problem) = invalid_file(from_npy::<1, usize>(&dir, &x, &negative));
    assert_eq!(path, dir.join("y.npy"));
    assert_eq!(
        problem,
        "row 1: `-1` is not a class index (a whole number, 0 or more)"
    );
}

#[test]
fn a_dataset_from_files_trains_like_any_other() {
    // The loaders' datasets batch as the generators' do: one sample per column.
    let dir = TempDir::new("npy-batch");
    let x = npy(
        "<f4",
        false,
        &[3, 2],
        &le_f32(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]),
    );
    let y = npy("|u1", false, &[3], &[2, 0, 1]);
    let data = from_npy::<2, usize>(&dir, &x, &y).unwrap();
    let (inputs, classes) = data.batch::<2>(&[2, 0]);
    assert_eq!(inputs.as_slice(), [2.5, 3.0, 0.5, 1.0]);
    assert_eq!(classes, [1, 2]);
}
