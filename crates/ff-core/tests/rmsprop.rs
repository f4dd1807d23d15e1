//! RMSprop, plain and centred, against `torch.optim.RMSprop` itself: 30 steps of fixed
//! gradients on a 2 × 3 weight and a bias, every parameter after every step, recorded by
//! `fixtures/make_rmsprop_fixture.py` (float32, one thread, the single-tensor implementation);
//! equal within an ulp or so, not bit for bit (see the tolerance below).

use ff_core::{Dense, DenseGrads, Optimizer, OptimizerConfig};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

#[test]
fn rmsprop_steps_as_torch_does() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/rmsprop_torch.json")).expect("fixture parses");
    let cases = fixture["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let num = |k: &str| case[k].as_f64().expect("a number");
        let config = OptimizerConfig {
            weight_decay: num("weight_decay"),
            ..OptimizerConfig::rmsprop(
                num("lr"),
                num("alpha"),
                num("eps"),
                case["centered"].as_bool().expect("centered"),
            )
        };
        // Elementwise rules: torch's row-major order is used as the storage order of both the
        // parameters and the gradients.
        let w0 = floats(&case["w0"]);
        let mut layer = Dense::from_parts(
            DMatrix::from_column_slice(2, 3, &w0),
            DVector::from_vec(floats(&case["b0"])),
        )
        .expect("layer");
        let mut opt = Optimizer::for_layers(config, std::slice::from_ref(&layer)).expect("opt");
        let mut grads = DenseGrads::default();
        grads.w.shape_to(2, 3);
        grads.b.shape_to(2, 1);
        let mut worst = 0.0f32;
        for (step, (g, want)) in case["grads"]
            .as_array()
            .expect("grads")
            .iter()
            .zip(case["after"].as_array().expect("after"))
            .enumerate()
        {
            let g = floats(g);
            grads.w.as_mut_slice().copy_from_slice(&g[..6]);
            grads.b.as_mut_slice().copy_from_slice(&g[6..]);
            opt.step_layers(
                std::slice::from_mut(&mut layer),
                std::slice::from_ref(&grads),
            )
            .expect("step");
            let got: Vec<f32> = layer
                .weights()
                .as_slice()
                .iter()
                .chain(layer.biases().as_slice())
                .copied()
                .collect();
            for (i, (&a, &b)) in got.iter().zip(&floats(want)).enumerate() {
                // In units of f32's last place at the parameters' scale (1): torch's kernels
                // fuse some multiply-adds that Rust rounds twice, so the two drift apart by
                // an ulp or so over the steps (seen: at most 1.0).
                let ulps = (a - b).abs() / (f32::EPSILON * b.abs().max(1.0));
                worst = worst.max(ulps);
                assert!(
                    ulps <= 4.0,
                    "{name}: step {step}, parameter {i}: ours {a}, torch {b} ({ulps} ulps)"
                );
            }
        }
        eprintln!("{name}: worst {worst} ulps over 30 steps");
    }
}
