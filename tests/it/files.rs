//! Models in safetensors files laid out as PyTorch's `state_dict`: they load, predict what
//! PyTorch's modules compute from the same numbers, and fail loudly when they do not fit.

use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Linear, Sequential, Tanh};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::Error;

type Net = Sequential<(Linear<f32, 2, 3>, Tanh, Linear<f32, 3, 1>)>;

/// A safetensors file written from the format's documentation: an 8-byte little-endian
/// header length, a JSON header of dtype, shape and byte offsets, then the data, row-major.
fn safetensors_bytes(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        for value in values {
            data.extend_from_slice(&value.to_le_bytes());
        }
        let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        header.push(format!(
            r#""{name}":{{"dtype":"F32","shape":[{}],"data_offsets":[{start},{}]}}"#,
            shape.join(","),
            data.len()
        ));
    }
    let header = format!("{{{}}}", header.join(","));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    bytes
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("chainrule-it-{}-{name}", std::process::id()))
}

#[test]
fn a_pytorch_state_dict_loads_and_predicts_what_pytorch_computes() {
    // nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), weights row-major [out, in].
    let w1 = vec![0.5, -1.0, 0.25, 2.0, -0.75, 0.1];
    let b1 = vec![0.1, -0.2, 0.3];
    let w2 = vec![1.5, -0.5, 0.8];
    let b2 = vec![-0.05];
    let file = safetensors_bytes(&[
        ("0.weight", vec![3, 2], w1.clone()),
        ("0.bias", vec![3], b1.clone()),
        ("2.weight", vec![1, 3], w2.clone()),
        ("2.bias", vec![1], b2.clone()),
    ]);
    let path = temp_path("state-dict.safetensors");
    std::fs::write(&path, file).unwrap();
    let model = Net::load_safetensors(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[1.0, 2.0, -1.0, 0.5, 0.0, 0.0, 3.0, -2.0]);
    let prediction = model.forward(&x);
    for sample in 0..4 {
        // What nn.Linear computes: y[o] = Σ_i W[o][i]·x[i] + b[o], W read row-major.
        let input = [x[(0, sample)], x[(1, sample)]];
        let hidden: Vec<f32> = (0..3)
            .map(|o| (w1[o * 2] * input[0] + w1[o * 2 + 1] * input[1] + b1[o]).tanh())
            .collect();
        let output: f32 = (0..3).map(|i| w2[i] * hidden[i]).sum::<f32>() + b2[0];
        assert!(
            (prediction[(0, sample)] - output).abs() < 1e-6,
            "sample {sample}"
        );
    }
}

#[test]
fn a_model_round_trips_and_our_file_is_the_state_dict_layout() {
    let model = Net::init(&mut StdRng::seed_from_u64(9));
    let path = temp_path("round-trip.safetensors");
    model.save_safetensors(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(Net::load_safetensors(&path).unwrap(), model);
    std::fs::remove_file(&path).unwrap();
    let (first, _, second) = &model.layers;
    let row_major = |m: &[f32], rows: usize, cols: usize| -> Vec<f32> {
        (0..rows * cols)
            .map(|k| m[(k % cols) * rows + k / cols])
            .collect()
    };
    let expected = safetensors_bytes(&[
        ("0.bias", vec![3], first.bias.as_slice().to_vec()),
        (
            "0.weight",
            vec![3, 2],
            row_major(first.weight.as_slice(), 3, 2),
        ),
        ("2.bias", vec![1], second.bias.as_slice().to_vec()),
        (
            "2.weight",
            vec![1, 3],
            row_major(second.weight.as_slice(), 1, 3),
        ),
    ]);
    // The same tensors and bytes as our hand-written file (the header's key order may differ).
    assert_eq!(bytes.len(), expected.len());
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let weight = tensors.tensor("0.weight").unwrap();
    assert_eq!(weight.shape(), [3, 2]);
    let values: Vec<f32> = weight
        .data()
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, row_major(first.weight.as_slice(), 3, 2));
}

#[test]
fn a_file_for_another_model_is_an_error_naming_the_tensor_and_both_shapes() {
    type Wider = Sequential<(Linear<f32, 2, 4>, Tanh, Linear<f32, 4, 1>)>;
    let path = temp_path("wider.safetensors");
    Wider::init(&mut StdRng::seed_from_u64(0))
        .save_safetensors(&path)
        .unwrap();
    let error = Net::load_safetensors(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("0.weight") && message.contains("[4, 2]") && message.contains("[3, 2]"),
        "{message}"
    );
}

#[test]
fn a_truncated_file_is_an_error_not_a_panic() {
    let path = temp_path("truncated.safetensors");
    Net::init(&mut StdRng::seed_from_u64(0))
        .save_safetensors(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let error = Net::load_safetensors(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");
}
