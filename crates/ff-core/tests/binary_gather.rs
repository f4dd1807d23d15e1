//! The gather-add forward and scatter-add weight gradient of a dense layer on binary inputs
//! against the matrix product they replace: equal to f32 rounding on any sparse 0/1 batch,
//! exactly equal with one 1 per sample, and the product's path kept for every other batch.

use ff_core::cell::{Cell, CellCache, CellGrads, CellNorm};
use ff_core::{Buf, Dense, Init, MatRef};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A layer's forward output and weight/bias gradients for input `x` and upstream `dz`.
fn pass(layer: &Dense<f32>, x: &[f32], dz: &[f32], batch: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let xm = MatRef::new(x, layer.in_dim(), batch).expect("x");
    let mut out = Buf::default();
    layer.forward(xm, &mut out).expect("forward");
    let mut grads = ff_core::DenseGrads::default();
    let dzm = MatRef::new(dz, layer.out_dim(), batch).expect("dz");
    layer.backward(xm, dzm, &mut grads, None).expect("backward");
    (
        out.as_slice().to_vec(),
        grads.w.as_slice().to_vec(),
        grads.b.as_slice().to_vec(),
    )
}

/// `n` values, each 1 with probability `density`, else 0.
fn binary(rng: &mut ChaCha8Rng, n: usize, density: f64) -> Vec<f32> {
    use rand::Rng;
    (0..n)
        .map(|_| f32::from(u8::from(rng.gen_bool(density))))
        .collect()
}

/// `n` values uniform in [−1, 1).
fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    use rand::Rng;
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn close(a: &[f32], b: &[f32], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let tol = 1e-5 * 1f32.max(x.abs()).max(y.abs());
        prop_assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random sparse 0/1 batches: the gathered layer gives the product's output and gradients.
    #[test]
    fn gather_equals_the_product_on_sparse_binary_input(
        seed in any::<u64>(),
        in_dim in 1usize..120,
        out_dim in 1usize..40,
        batch in 1usize..20,
        density in 0.0f64..0.25,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layer = Dense::<f32>::new(in_dim, out_dim, Init::PytorchDefault, &mut rng);
        let x = binary(&mut rng, in_dim * batch, density);
        let dz = uniform(&mut rng, out_dim * batch);
        prop_assert!(layer.binary_gather());
        let gathered = pass(&layer, &x, &dz, batch);
        layer.set_binary_gather(false);
        let product = pass(&layer, &x, &dz, batch);
        close(&gathered.0, &product.0, "output")?;
        close(&gathered.1, &product.1, "dW")?;
        prop_assert_eq!(gathered.2, product.2, "db does not depend on x");
    }

    /// One 1 per sample: a single column is selected, so both ways give the same bits.
    #[test]
    fn one_hot_inputs_give_the_products_bits(
        seed in any::<u64>(),
        in_dim in 4usize..100,
        out_dim in 1usize..40,
        batch in 1usize..10,
    ) {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layer = Dense::<f32>::new(in_dim, out_dim, Init::PytorchDefault, &mut rng);
        let mut x = vec![0.0f32; in_dim * batch];
        for j in 0..batch {
            x[j * in_dim + rng.gen_range(0..in_dim)] = 1.0;
        }
        let dz = uniform(&mut rng, out_dim * batch);
        let gathered = pass(&layer, &x, &dz, batch);
        layer.set_binary_gather(false);
        let product = pass(&layer, &x, &dz, batch);
        prop_assert_eq!(gathered.0, product.0);
    }
}

/// Inputs that are not sparse 0/1 batches take the product: a value of 0.5, or more than a
/// quarter of ones, gives bit-identical results with gathering on and off.
#[test]
fn other_inputs_take_the_product() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut layer = Dense::<f32>::new(8, 5, Init::PytorchDefault, &mut rng);
    let dz = vec![0.25f32; 5 * 2];
    let mut half = vec![0.0f32; 16];
    half[3] = 0.5;
    let mut dense_ones = vec![0.0f32; 16];
    for v in dense_ones.iter_mut().take(8) {
        *v = 1.0;
    }
    for x in [half, dense_ones] {
        let on = pass(&layer, &x, &dz, 2);
        layer.set_binary_gather(false);
        let off = pass(&layer, &x, &dz, 2);
        layer.set_binary_gather(true);
        assert_eq!(on, off);
    }
}

/// Through a ReLU cell, as the networks use it: the same activations and gradients.
#[test]
fn a_cell_on_a_minatar_sized_grid_agrees() {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (in_dim, out_dim, batch) = (1000, 64, 32);
    let x: Vec<f32> = (0..in_dim * batch)
        .map(|_| f32::from(u8::from(rng.gen_bool(0.03))))
        .collect();
    let dh: Vec<f32> = (0..out_dim * batch)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let mut results = Vec::new();
    for gather in [true, false] {
        let mut dense = Dense::<f32>::new(
            in_dim,
            out_dim,
            Init::PytorchDefault,
            &mut ChaCha8Rng::seed_from_u64(2),
        );
        dense.set_binary_gather(gather);
        let cell = Cell::from_dense(dense, CellNorm::None);
        let xm = MatRef::new(&x, in_dim, batch).expect("x");
        let (mut h, mut cache) = (Buf::default(), CellCache::default());
        cell.forward_train(xm, &mut h, &mut cache).expect("forward");
        let mut grads = CellGrads::for_cell(&cell);
        let hm = MatRef::new(h.as_slice(), out_dim, batch).expect("h");
        let dhm = MatRef::new(&dh, out_dim, batch).expect("dh");
        cell.backward(xm, hm, dhm, &cache, &mut grads, None)
            .expect("backward");
        results.push((h.as_slice().to_vec(), grads.dense.w.as_slice().to_vec()));
    }
    for (a, b) in results[0].0.iter().zip(&results[1].0) {
        assert!((a - b).abs() <= 1e-5 * 1f32.max(a.abs()), "{a} vs {b}");
    }
    for (a, b) in results[0].1.iter().zip(&results[1].1) {
        assert!((a - b).abs() <= 1e-5 * 1f32.max(a.abs()), "{a} vs {b}");
    }
}
