//! The statistics of the report, following Agarwal et al. (2021), "Deep RL at the edge of the
//! statistical precipice" (rliable): interquartile mean, stratified bootstrap confidence
//! intervals, probability of improvement.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Bootstrap resamples for every interval.
pub const RESAMPLES: usize = 10_000;

/// Mean of a slice (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Population standard deviation.
pub fn std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

/// Median (NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Interquartile mean: the 25% trimmed mean, dropping ⌊n/4⌋ values at each end
/// (`scipy.stats.trim_mean(x, 0.25)`, as rliable computes it).
pub fn iqm(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let cut = v.len() / 4;
    mean(&v[cut..v.len() - cut])
}

/// Percentile of sorted values with linear interpolation (numpy's default).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// 95% percentile bootstrap interval of `stat` over runs resampled with replacement. With one
/// task (CartPole) rliable's stratified bootstrap is this: runs are the only stratum.
pub fn bootstrap_ci(xs: &[f64], stat: impl Fn(&[f64]) -> f64, seed: u64) -> (f64, f64) {
    if xs.len() < 2 {
        let s = stat(xs);
        return (s, s);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sample = vec![0.0; xs.len()];
    let mut stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            sample
                .iter_mut()
                .for_each(|s| *s = xs[rng.gen_range(0..xs.len())]);
            stat(&sample)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (percentile(&stats, 2.5), percentile(&stats, 97.5))
}

/// P(X > Y): the chance that a random run of X scores above a random run of Y, ties counting
/// half (the Mann-Whitney U statistic over all pairs, rliable's probability of improvement).
pub fn prob_improvement(x: &[f64], y: &[f64]) -> f64 {
    let mut wins = 0.0;
    for &a in x {
        for &b in y {
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (x.len() * y.len()) as f64
}

/// 95% bootstrap interval of [`prob_improvement`], resampling each side independently.
pub fn prob_improvement_ci(x: &[f64], y: &[f64], seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut sx, mut sy) = (vec![0.0; x.len()], vec![0.0; y.len()]);
    let mut stats: Vec<f64> = (0..RESAMPLES / 4)
        .map(|_| {
            sx.iter_mut()
                .for_each(|s| *s = x[rng.gen_range(0..x.len())]);
            sy.iter_mut()
                .for_each(|s| *s = y[rng.gen_range(0..y.len())]);
            prob_improvement(&sx, &sy)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (percentile(&stats, 2.5), percentile(&stats, 97.5))
}

/// Trailing moving average over `w` epochs (shorter at the start, as a plot of it begins).
pub fn moving_average(xs: &[f64], w: usize) -> Vec<f64> {
    (0..xs.len())
        .map(|i| mean(&xs[i.saturating_sub(w - 1)..=i]))
        .collect()
}

/// The first 1-based epoch at which the full `w`-epoch trailing average reaches `threshold`.
pub fn first_epoch_reaching(xs: &[f64], w: usize, threshold: f64) -> Option<usize> {
    (w..=xs.len()).find(|&end| mean(&xs[end - w..end]) >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // trim_mean([1..=10], 0.25) drops 2 at each end: mean(3..=8) = 5.5.
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(iqm(&xs), 5.5);
        assert_eq!(iqm(&[1.0, 2.0, 3.0, 100.0]), 2.5);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(
            prob_improvement(&[2.0, 3.0], &[1.0, 2.0]),
            (1.0 + 1.0 + 0.5 + 1.0) / 4.0
        );
        assert_eq!(moving_average(&[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 4.0]);
        // (190 + 200) / 2 = 195 reaches the threshold at epoch 2; (100 + 190) / 2 does not.
        assert_eq!(
            first_epoch_reaching(&[190.0, 200.0, 200.0, 199.0], 2, 195.0),
            Some(2)
        );
        assert_eq!(
            first_epoch_reaching(&[100.0, 190.0, 200.0, 200.0], 2, 195.0),
            Some(3)
        );
        assert_eq!(first_epoch_reaching(&[200.0; 5], 10, 195.0), None);
        assert!((std(&[1.0, 3.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_interval_brackets_the_statistic_and_is_seeded() {
        let xs: Vec<f64> = (0..20).map(|i| f64::from(i % 7) * 10.0).collect();
        let (lo, hi) = bootstrap_ci(&xs, iqm, 1);
        assert!(lo <= iqm(&xs) && iqm(&xs) <= hi && lo < hi);
        assert_eq!(bootstrap_ci(&xs, iqm, 1), (lo, hi));
        let (plo, phi) = prob_improvement_ci(&xs, &[0.0; 5], 2);
        assert!(plo <= phi && phi <= 1.0);
    }
}
