//! safetensors files as PyTorch writes and reads them: built here byte by byte from the format's
//! documentation, and checked with the safetensors crate's own reader.
//!
//! The format: an 8-byte little-endian header length `n`, `n` bytes of JSON (padded with
//! spaces) mapping each name to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an
//! optional `"__metadata__"` string map, then the data, each tensor row-major little-endian.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use graph_runtime::io::{
    load_safetensors, load_safetensors_with_extra, load_safetensors_with_metadata,
    save_safetensors, save_safetensors_with_extra, save_safetensors_with_metadata,
};
use graph_runtime::nalgebra::{SMatrix, SVector};
use graph_runtime::params::{key, TensorMut, TensorRef};
use graph_runtime::rand::{rngs::StdRng, SeedableRng};
use graph_runtime::{init, Error, Parameters, Real};
use safetensors::{Dtype, SafeTensors};

mod common;
use common::TempDir;

/// `Sequential(Linear(2, 16), Tanh, Linear(16, 1))`'s parameters, under PyTorch's names.
#[derive(Clone, Debug, PartialEq)]
struct Mlp<T: Real> {
    w0: SMatrix<T, 16, 2>,
    b0: SVector<T, 16>,
    w2: SMatrix<T, 1, 16>,
    b2: SVector<T, 1>,
}

impl<T: Real> Parameters<T> for Mlp<T> {
    fn visit(&self, f: &mut dyn FnMut(&[T])) {
        self.w0.visit(f);
        self.b0.visit(f);
        self.w2.visit(f);
        self.b2.visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
        self.w0.visit_mut(f);
        self.b0.visit_mut(f);
        self.w2.visit_mut(f);
        self.b2.visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
        self.w0.zip_mut(&other.w0, f);
        self.b0.zip_mut(&other.b0, f);
        self.w2.zip_mut(&other.w2, f);
        self.b2.zip_mut(&other.b2, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
        self.w0.visit_named(&key(prefix, "0.weight"), f);
        self.b0.visit_named(&key(prefix, "0.bias"), f);
        self.w2.visit_named(&key(prefix, "2.weight"), f);
        self.b2.visit_named(&key(prefix, "2.bias"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        self.w0.visit_named_mut(&key(prefix, "0.weight"), f);
        self.b0.visit_named_mut(&key(prefix, "0.bias"), f);
        self.w2.visit_named_mut(&key(prefix, "2.weight"), f);
        self.b2.visit_named_mut(&key(prefix, "2.bias"), f);
    }
}

/// The value of element `[row, col]` of each tensor in the numbered model: exact in `f32`, and
/// different for every element, tensor and `offset`.
fn value(tensor: &str, row: usize, col: usize, offset: f64) -> f64 {
    let base = match tensor {
        "0.weight" => 0.0,
        "0.bias" => 1000.0,
        "2.weight" => 2000.0,
        _ => 3000.0,
    };
    offset + base + 100.0 * row as f64 + col as f64
}

/// An `Mlp` whose element `[row, col]` of tensor `name` is `value(name, row, col, offset)`.
fn numbered<T: Real>(offset: f64) -> Mlp<T> {
    let v = |tensor, row, col| T::from_f64(value(tensor, row, col, offset));
    Mlp {
        w0: SMatrix::from_fn(|o, i| v("0.weight", o, i)),
        b0: SVector::from_fn(|o, _| v("0.bias", o, 0)),
        w2: SMatrix::from_fn(|o, i| v("2.weight", o, i)),
        b2: SVector::from_fn(|o, _| v("2.bias", o, 0)),
    }
}

/// Little-endian bytes of the numbered model's tensor `name` of shape `[rows, cols]`,
/// row-major, as PyTorch stores it.
fn pytorch_f32_bytes(name: &str, rows: usize, cols: usize, offset: f64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            bytes.extend_from_slice(&(value(name, row, col, offset) as f32).to_le_bytes());
        }
    }
    bytes
}

/// A safetensors file, byte by byte: tensors `(name, dtype, shape, bytes)` laid out in the
/// order given, the JSON header padded with spaces to a multiple of 8 bytes.
fn safetensors_file(
    metadata: Option<&str>,
    tensors: &[(&str, &str, &[usize], Vec<u8>)],
) -> Vec<u8> {
    let mut entries = Vec::new();
    if let Some(metadata) = metadata {
        entries.push(format!("\"__metadata__\":{metadata}"));
    }
    let mut offset = 0;
    for (name, dtype, shape, bytes) in tensors {
        let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        entries.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            shape.join(","),
            offset + bytes.len()
        ));
        offset += bytes.len();
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&header);
    for (_, _, _, bytes) in tensors {
        file.extend_from_slice(bytes);
    }
    file
}

/// What `safetensors.torch.save_file(model.state_dict(), path, metadata={"format": "pt"})`
/// writes for the numbered model in `f32`, with the tensors of `replace` swapped in (or
/// dropped, if their bytes are empty and their dtype is "") and those of `add` appended.
fn pytorch_file(
    replace: &[(&str, &str, &[usize], Vec<u8>)],
    add: &[(&str, &str, &[usize], Vec<u8>)],
) -> Vec<u8> {
    // safetensors orders tensors by dtype, then by name.
    let standard: [(&str, &[usize], Vec<u8>); 4] = [
        ("0.bias", &[16], pytorch_f32_bytes("0.bias", 16, 1, 0.0)),
        (
            "0.weight",
            &[16, 2],
            pytorch_f32_bytes("0.weight", 16, 2, 0.0),
        ),
        ("2.bias", &[1], pytorch_f32_bytes("2.bias", 1, 1, 0.0)),
        (
            "2.weight",
            &[1, 16],
            pytorch_f32_bytes("2.weight", 1, 16, 0.0),
        ),
    ];
    let mut tensors: Vec<(&str, &str, &[usize], Vec<u8>)> = Vec::new();
    for (name, shape, bytes) in standard {
        match replace.iter().find(|(other, ..)| *other == name) {
            Some((_, "", _, _)) => {}
            Some(replacement) => tensors.push(replacement.clone()),
            None => tensors.push((name, "F32", shape, bytes)),
        }
    }
    tensors.extend(add.iter().cloned());
    safetensors_file(Some("{\"format\":\"pt\"}"), &tensors)
}

#[track_caller]
fn round_trip<T: Real>() {
    let dir = TempDir::new(&format!("round-trip-{}", std::any::type_name::<T>()));
    let path = dir.join("model.safetensors");
    let mut saved = numbered::<T>(0.0);
    init::normal(&mut saved, 0.0, 1.0, &mut StdRng::seed_from_u64(1));
    save_safetensors(&saved, &path).unwrap();

    let mut loaded = numbered::<T>(0.0);
    load_safetensors(&mut loaded, &path).unwrap();
    assert_eq!(loaded, saved);
    assert_eq!(dir.entries(), ["model.safetensors"]);
}

#[test]
fn f32_parameters_round_trip_exactly() {
    round_trip::<f32>();
}

#[test]
fn f64_parameters_round_trip_exactly() {
    round_trip::<f64>();
}

#[test]
fn a_file_written_as_pytorch_writes_it_loads_row_major_into_weight_o_i() {
    let dir = TempDir::new("from-pytorch");
    let path = dir.join("model.safetensors");
    fs::write(&path, pytorch_file(&[], &[])).unwrap();

    let mut model = numbered::<f32>(0.5);
    let metadata = load_safetensors_with_metadata(&mut model, &path).unwrap();
    assert_eq!(metadata, HashMap::from([("format".into(), "pt".into())]));
    assert_eq!(model, numbered::<f32>(0.0));
    // Spelled out: the file's [o, i] is weight[(o, i)], not its transpose.
    assert_eq!(model.w0[(3, 1)], 301.0);
    assert_eq!(model.w0[(15, 0)], 1500.0);
    assert_eq!(model.w2[(0, 7)], 2007.0);
    assert_eq!(model.b0[9], 1900.0);
}

#[test]
fn a_saved_file_reads_back_with_the_safetensors_reader_in_pytorch_layout() {
    let dir = TempDir::new("to-pytorch");
    let path = dir.join("model.safetensors");
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    save_safetensors_with_metadata(&numbered::<f32>(0.0), &metadata, &path).unwrap();
    let bytes = fs::read(&path).unwrap();

    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    for (name, shape) in [
        ("0.weight", vec![16, 2]),
        ("0.bias", vec![16]),
        ("2.weight", vec![1, 16]),
        ("2.bias", vec![1]),
    ] {
        let tensor = file.tensor(name).unwrap();
        assert_eq!(tensor.dtype(), Dtype::F32, "{name}");
        assert_eq!(tensor.shape(), shape, "{name}");
        let cols = shape.get(1).copied().unwrap_or(1);
        assert_eq!(
            tensor.data(),
            pytorch_f32_bytes(name, shape[0], cols, 0.0),
            "{name}"
        );
    }
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(header.metadata().as_ref(), Some(&metadata));

    // PyTorch writes through the same Rust library, so the files are identical.
    assert_eq!(bytes, pytorch_file(&[], &[]));
}

#[test]
fn f64_parameters_are_stored_as_f64() {
    let dir = TempDir::new("f64-dtype");
    let path = dir.join("model.safetensors");
    save_safetensors(&numbered::<f64>(0.25), &path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let weight = file.tensor("0.weight").unwrap();
    assert_eq!(weight.dtype(), Dtype::F64);
    // Row-major: the second element is [0, 1].
    assert_eq!(weight.data()[8..16], 1.25_f64.to_le_bytes());
    // No metadata given, no `__metadata__` written.
    assert!(SafeTensors::read_metadata(&bytes)
        .unwrap()
        .1
        .metadata()
        .is_none());
}

/// Loads `file` into a numbered model and returns the error, checking that the model is as
/// it was.
#[track_caller]
fn load_error(test: &str, file: &[u8]) -> (Error, PathBuf) {
    let dir = TempDir::new(test);
    let path = dir.join("model.safetensors");
    fs::write(&path, file).unwrap();
    let before = numbered::<f32>(0.5);
    let mut model = before.clone();
    let error = load_safetensors(&mut model, &path).unwrap_err();
    assert_eq!(model, before, "a failed load changed the model");
    (error, path)
}

/// Checks that loading `file` fails as `Corrupt` naming its path, and returns the reason.
#[track_caller]
fn assert_corrupt(test: &str, file: &[u8]) -> String {
    let (error, path) = load_error(test, file);
    assert!(
        matches!(&error, Error::Corrupt { path: p, .. } if p == &path),
        "{error:?}"
    );
    let message = error.to_string();
    let prefix = format!("`{}` is not a valid safetensors file: ", path.display());
    assert!(message.starts_with(&prefix), "{message}");
    message[prefix.len()..].to_string()
}

#[test]
fn a_truncated_file_is_corrupt_and_changes_nothing() {
    let file = pytorch_file(&[], &[]);
    assert_eq!(
        assert_corrupt("truncated-data", &file[..file.len() - 3]),
        "the tensors' data does not fill the rest of the file exactly (truncated?)"
    );
    assert_eq!(
        assert_corrupt("truncated-header", &file[..40]),
        "its header length runs past the end of the file (40 bytes)"
    );
    assert_eq!(
        assert_corrupt("truncated-length", &file[..5]),
        "it has 5 bytes, fewer than the 8 of the header length"
    );
    assert_corrupt("empty", &[]);
}

#[test]
fn flipped_header_bytes_are_corrupt_and_change_nothing() {
    let file = pytorch_file(&[], &[]);
    let mut not_utf8 = file.clone();
    not_utf8[8] ^= 0xff; // the opening `{`
    assert_corrupt("not-utf8", &not_utf8);

    let mut not_json = file.clone();
    let colon = not_json[9..].iter().position(|&b| b == b':').unwrap() + 9;
    not_json[colon] = b';';
    assert_corrupt("not-json", &not_json);

    // 0.bias's end offset 64 becomes 54: its bytes no longer fit its shape.
    let text = String::from_utf8_lossy(&file[8..]).into_owned();
    let at = text.find("[0,64]").unwrap() + 8 + 3;
    let mut moved = file.clone();
    moved[at] = b'5';
    assert_corrupt("bad-offsets", &moved);
}

#[test]
fn a_header_length_beyond_the_file_is_corrupt() {
    let mut file = pytorch_file(&[], &[]);
    let too_long = file.len() as u64;
    file[..8].copy_from_slice(&too_long.to_le_bytes());
    assert!(assert_corrupt("long-header", &file).starts_with("its header length runs past"));

    file[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(assert_corrupt("huge-header", &file), "header too large");
}

#[test]
fn a_wrong_shape_names_the_key_and_both_shapes_and_changes_nothing() {
    // 0.weight and 0.bias are fine and come first: they must not be loaded either.
    let transposed = pytorch_f32_bytes("2.weight", 16, 1, 0.0);
    let file = pytorch_file(&[("2.weight", "F32", &[16, 1], transposed)], &[]);
    let (error, _) = load_error("wrong-shape", &file);
    assert!(matches!(
        &error,
        Error::ShapeMismatch { key, expected, found }
            if key == "2.weight" && expected == &[1, 16] && found == &[16, 1]
    ));
    assert_eq!(
        error.to_string(),
        "tensor `2.weight` has shape [16, 1] in the file, but the model expects [1, 16]"
    );
}

#[test]
fn a_wrong_dtype_names_the_key_and_both_dtypes_and_changes_nothing() {
    let dir = TempDir::new("wrong-dtype");
    let path = dir.join("model.safetensors");
    save_safetensors(&numbered::<f64>(0.0), &path).unwrap();
    let (error, _) = load_error("wrong-dtype-load", &fs::read(&path).unwrap());
    assert_eq!(
        error.to_string(),
        "tensor `0.weight` is F64 in the file, but the model computes in F32"
    );
    assert!(matches!(error, Error::DtypeMismatch { .. }));

    let half = vec![0u8; 2];
    let file = pytorch_file(&[("2.bias", "BF16", &[1], half)], &[]);
    let (error, _) = load_error("bf16", &file);
    assert_eq!(
        error.to_string(),
        "tensor `2.bias` is BF16 in the file, but the model computes in F32"
    );
}

#[test]
fn a_missing_tensor_names_the_key_and_shape_and_changes_nothing() {
    let file = pytorch_file(&[("2.bias", "", &[], Vec::new())], &[]);
    let (error, _) = load_error("missing", &file);
    assert!(matches!(
        &error,
        Error::MissingTensor { key, expected } if key == "2.bias" && expected == &[1]
    ));
    assert_eq!(
        error.to_string(),
        "tensor `2.bias` (shape [1]) is missing from the file"
    );
}

#[test]
fn an_extra_tensor_names_the_key_and_shape_and_changes_nothing() {
    let extra = 1.0_f32.to_le_bytes().repeat(2);
    let file = pytorch_file(&[], &[("4.weight", "F32", &[1, 2], extra)]);
    let (error, _) = load_error("unexpected", &file);
    assert!(matches!(
        &error,
        Error::UnexpectedTensor { key, found } if key == "4.weight" && found == &[1, 2]
    ));
    assert_eq!(
        error.to_string(),
        "the file has tensor `4.weight` (shape [1, 2]), which the model does not have"
    );
}

#[test]
fn loading_a_file_that_does_not_exist_is_an_io_error() {
    let dir = TempDir::new("no-file");
    let path = dir.join("absent.safetensors");
    let mut model = numbered::<f32>(0.0);
    let error = load_safetensors(&mut model, &path).unwrap_err();
    assert!(matches!(&error, Error::Io { action: "reading", path: p, .. } if p == &path));
}

#[test]
fn a_checkpoint_restores_parameters_extra_buffers_and_metadata() {
    let dir = TempDir::new("checkpoint");
    let path = dir.join("checkpoint.safetensors");
    let model = numbered::<f64>(0.0);
    let n = model.len();
    let exp_avg: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    let exp_avg_sq: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
    let metadata = HashMap::from([
        ("step".to_string(), "42".to_string()),
        ("lr".to_string(), "0.001".to_string()),
    ]);
    let extra = [
        ("adam.exp_avg", &exp_avg[..]),
        ("adam.exp_avg_sq", &exp_avg_sq[..]),
    ];
    save_safetensors_with_extra(&model, &extra, &metadata, &path).unwrap();

    let bytes = fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("adam.exp_avg").unwrap().shape(), [n]);

    let mut restored = numbered::<f64>(7.0);
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let restored_metadata = load_safetensors_with_extra(
        &mut restored,
        &mut [
            ("adam.exp_avg", &mut m[..]),
            ("adam.exp_avg_sq", &mut v[..]),
        ],
        &path,
    )
    .unwrap();
    assert_eq!(
        (restored, m, v, restored_metadata),
        (model, exp_avg, exp_avg_sq, metadata)
    );
}

#[test]
fn a_checkpoint_checks_its_extra_buffers_and_changes_nothing_on_error() {
    let dir = TempDir::new("checkpoint-errors");
    let path = dir.join("checkpoint.safetensors");
    let model = numbered::<f32>(0.0);
    let state = vec![1.0_f32; model.len()];
    save_safetensors_with_extra(
        &model,
        &[("sgd.momentum", &state[..])],
        &HashMap::new(),
        &path,
    )
    .unwrap();

    // Its extra tensor is unexpected to a plain load.
    let mut plain = numbered::<f32>(0.5);
    let error = load_safetensors(&mut plain, &path).unwrap_err();
    assert!(matches!(&error, Error::UnexpectedTensor { key, .. } if key == "sgd.momentum"));
    assert_eq!(plain, numbered::<f32>(0.5));

    // A buffer of the wrong length, or under another name.
    let mut short = [0.0_f32; 3];
    let error =
        load_safetensors_with_extra(&mut plain, &mut [("sgd.momentum", &mut short[..])], &path);
    assert!(matches!(
        error,
        Err(Error::ShapeMismatch { key, expected, found })
            if key == "sgd.momentum" && expected == [3] && found == [65]
    ));
    let mut renamed = vec![0.0_f32; 65];
    let error =
        load_safetensors_with_extra(&mut plain, &mut [("adam.exp_avg", &mut renamed[..])], &path);
    assert!(matches!(error, Err(Error::MissingTensor { key, .. }) if key == "adam.exp_avg"));
    assert_eq!(
        (&plain, &short[..], &renamed[..]),
        (&numbered::<f32>(0.5), &[0.0; 3][..], &[0.0; 65][..])
    );

    // A buffer named like a parameter is refused on save and on load.
    let error =
        save_safetensors_with_extra(&model, &[("0.bias", &state[..])], &HashMap::new(), &path);
    assert!(matches!(error, Err(Error::DuplicateKey { key }) if key == "0.bias"));
    let mut clash = [0.0_f32; 16];
    let error = load_safetensors_with_extra(&mut plain, &mut [("0.bias", &mut clash[..])], &path);
    assert!(matches!(error, Err(Error::DuplicateKey { key }) if key == "0.bias"));
}

/// Two tensors under one name, which no file can hold.
struct SameNameTwice(SVector<f32, 2>, SVector<f32, 2>);

impl Parameters<f32> for SameNameTwice {
    fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        self.0.visit(f);
        self.1.visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        self.0.visit_mut(f);
        self.1.visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f32], &[f32])) {
        self.0.zip_mut(&other.0, f);
        self.1.zip_mut(&other.1, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f32>)) {
        self.0.visit_named(&key(prefix, "weight"), f);
        self.1.visit_named(&key(prefix, "weight"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f32>)) {
        self.0.visit_named_mut(&key(prefix, "weight"), f);
        self.1.visit_named_mut(&key(prefix, "weight"), f);
    }
}

/// A view whose shape promises more elements than it holds: a broken `Parameters` impl.
struct ShortView([f32; 2]);

impl Parameters<f32> for ShortView {
    fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        f(&self.0);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        f(&mut self.0);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f32], &[f32])) {
        f(&mut self.0, &other.0);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f32>)) {
        f(
            &key(prefix, "weight"),
            TensorRef {
                shape: &[3],
                data: &self.0,
                integer: false,
            },
        );
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f32>)) {
        f(
            &key(prefix, "weight"),
            TensorMut {
                shape: &[3],
                data: &mut self.0,
                integer: false,
            },
        );
    }
}

#[test]
fn an_inconsistent_tensor_view_is_an_error_on_save_and_load() {
    let dir = TempDir::new("inconsistent");
    let path = dir.join("model.safetensors");
    let mut short = ShortView([1.0, 2.0]);
    let error = save_safetensors(&short, &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "tensor `weight` has shape [3] but holds 2 elements; its `Parameters` implementation \
         is inconsistent"
    );
    assert!(dir.entries().is_empty());

    save_safetensors(&SVector::<f32, 3>::zeros(), &path).unwrap();
    let error = load_safetensors(&mut short, &path).unwrap_err();
    assert!(matches!(error, Error::InconsistentTensor { len: 2, .. }));
    assert_eq!(short.0, [1.0, 2.0]);
}

#[test]
fn a_save_over_an_existing_file_replaces_it_and_leaves_no_temporary_file() {
    let dir = TempDir::new("replace");
    let path = dir.join("model.safetensors");
    save_safetensors(&numbered::<f32>(1.0), &path).unwrap();
    save_safetensors(&numbered::<f32>(2.0), &path).unwrap();
    assert_eq!(dir.entries(), ["model.safetensors"]);
    let mut model = numbered::<f32>(0.0);
    load_safetensors(&mut model, &path).unwrap();
    assert_eq!(model, numbered::<f32>(2.0));
}

#[test]
fn a_failed_save_keeps_the_previous_file_and_leaves_no_temporary_file() {
    let dir = TempDir::new("failed-save");
    let path = dir.join("model.safetensors");
    save_safetensors(&numbered::<f32>(1.0), &path).unwrap();
    let previous = fs::read(&path).unwrap();

    let twice = SameNameTwice(SVector::zeros(), SVector::zeros());
    let error = save_safetensors(&twice, &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the name `weight` is used twice in the safetensors header; every tensor needs its own \
         name, and `__metadata__` is reserved for the metadata"
    );
    assert_eq!(fs::read(&path).unwrap(), previous);
    assert_eq!(dir.entries(), ["model.safetensors"]);
}

#[test]
fn a_save_into_a_missing_directory_fails_and_creates_nothing() {
    let dir = TempDir::new("missing-dir");
    let path = dir.join("absent").join("model.safetensors");
    let error = save_safetensors(&numbered::<f32>(0.0), &path).unwrap_err();
    assert!(
        matches!(&error, Error::Io { path: p, .. } if p == &path),
        "{error:?}"
    );
    assert!(error.to_string().contains(&path.display().to_string()));
    assert!(dir.entries().is_empty());
}

#[test]
fn a_save_onto_a_directory_fails_keeps_it_and_leaves_no_temporary_file() {
    let dir = TempDir::new("onto-dir");
    let target = dir.join("model.safetensors");
    fs::create_dir(&target).unwrap();
    let inside = target.join("keep.txt");
    fs::write(&inside, "previous").unwrap();

    let error = save_safetensors(&numbered::<f32>(0.0), &target).unwrap_err();
    assert!(
        matches!(&error, Error::Io { path, .. } if path == &target),
        "{error:?}"
    );
    assert!(target.is_dir());
    assert_eq!(fs::read_to_string(&inside).unwrap(), "previous");
    assert_eq!(dir.entries(), ["model.safetensors"]);
}
