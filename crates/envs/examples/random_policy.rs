//! The return of a uniformly random policy on each task: the floor a learning agent must
//! clear. Run with `cargo run -p envs --release --example random_policy`.

use envs::{EnvId, Environment};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), envs::Error> {
    const EPISODES: usize = 1000;
    for id in EnvId::ALL {
        let mut env = id.make(None)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut obs = vec![0.0f32; id.obs_dim()];
        let mut returns = Vec::with_capacity(EPISODES);
        for _ in 0..EPISODES {
            env.reset(&mut rng, &mut obs);
            let mut ret = 0.0f64;
            loop {
                let t = env.step(rng.gen_range(0..id.n_actions()), &mut obs)?;
                ret += f64::from(t.reward);
                if t.terminated || t.truncated {
                    break;
                }
            }
            returns.push(ret);
        }
        let mean = returns.iter().sum::<f64>() / EPISODES as f64;
        match id.gymnasium_reward_threshold() {
            Some(threshold) => {
                let solved = returns.iter().filter(|&&r| r >= threshold).count();
                println!(
                    "{id} (limit {}): random policy mean return {mean:.1} over {EPISODES} episodes; {solved} reach Gymnasium's threshold {threshold}",
                    id.gymnasium_max_episode_steps(),
                );
            }
            None => println!(
                "{id}: random policy mean return {mean:.2} over {EPISODES} episodes (no solved threshold)"
            ),
        }
    }
    Ok(())
}
