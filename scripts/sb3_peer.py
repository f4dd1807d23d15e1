#!/usr/bin/env python3
"""Stable-Baselines3's own DQN on an ffdqn preset: the reference implementation, run side by side.

Reads a config written for ffdqn's SB3 protocol (configs/zoo/<task>.toml), trains
stable_baselines3.DQN with exactly those settings on each seed, and writes every run as an
ffdqn run directory (config.toml, run.json, metrics.csv, summary.json, plus peer.json naming
the peer's versions), so that `ffdqn experiment report` puts the peer's group beside ffdqn's:

    python3 scripts/sb3_peer.py --config configs/zoo/cartpole.toml --seeds 0-9 \\
        --out results/reference/runs/sb3-cartpole

Install (not a dependency of the Rust build or of CI):

    python3 -m venv .venv && .venv/bin/pip install stable-baselines3==2.9.2 gymnasium==1.4.0 torch

Greedy evaluations follow ffdqn's schedule: `eval-episodes` episodes every `log-every-steps`
env steps (the last at the end of training) and `final-eval-episodes` at the end, on a separate
environment seeded from the run's seed. SB3 has no per-update loss without patching it, so the
td_loss column stays empty. Keys SB3 cannot express (an ε-greedy warm-up, sampling without
replacement, MSE loss, a copy after the round's updates, a Polyak target every update) are
refused with a message naming the key, rather than silently changed.
"""

import argparse
import json
import math
import os
import sys
import time
import tomllib
from pathlib import Path

SB3_VERSION = "2.9.2"


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def seeds_arg(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def settings(cfg, path):
    """The preset's keys as SB3 DQN's arguments; refuses what SB3 cannot do."""
    env = cfg.get("env", {})
    t = cfg.get("train", {})
    net = cfg.get("network", {})
    bp = cfg.get("bp", {})

    def need(cond, key, why):
        if not cond:
            fail(f"{path}: {key}: {why}; SB3's DQN cannot run it as written")

    need("total-steps" in t, "train.total-steps", "SB3's budget is env steps")
    need(t.get("warm-up") == "uniform", "train.warm-up", 'SB3 acts uniformly before learning_starts: "uniform"')
    need(t.get("sampling") == "with-replacement", "train.sampling", "SB3's ReplayBuffer samples with replacement")
    sync = t.get("target-sync", {})
    need(sync.get("kind") == "hard" and sync.get("before-updates") is True, "train.target-sync",
         "SB3 copies in its per-step callback, before the round's updates: { kind = \"hard\", before-updates = true }")
    loss = t.get("td-loss", {})
    need(loss.get("kind") == "huber" and loss.get("beta", 1.0) == 1.0, "train.td-loss",
         "SB3's DQN uses smooth_l1_loss (huber, beta 1)")
    eps = t.get("epsilon", {})
    need("fraction" in eps, "train.epsilon.fraction", "SB3 anneals over exploration_fraction of the budget")
    opt = bp.get("optimizer", {})
    need(opt.get("kind") == "adam", "bp.optimizer.kind", "SB3's DQN uses Adam")
    need(bp.get("init", "pytorch-default") == "pytorch-default", "bp.init", "SB3 keeps torch's default init")
    need(net.get("cell-norm", "none") == "none", "network.cell-norm", "SB3's MlpPolicy has no LayerNorm")
    total = int(t["total-steps"])
    return dict(
        env_id=env.get("id", "CartPole-v1"),
        max_episode_steps=env.get("max-episode-steps"),
        total=total,
        log_every=int(t.get("log-every-steps", -(-total // 20))),
        eval_episodes=int(t.get("eval-episodes", 10)),
        final_eval_episodes=int(t.get("final-eval-episodes", 50)),
        dqn=dict(
            learning_rate=float(opt["lr"]),
            buffer_size=int(t.get("buffer-size", 50000)),
            learning_starts=int(t.get("learning-starts", 1000)),
            batch_size=int(t.get("batch-size", 128)),
            tau=1.0,
            gamma=float(t.get("gamma", 0.99)),
            train_freq=int(t.get("train-frequency", 1)),
            gradient_steps=int(t.get("gradient-steps", 1)),
            target_update_interval=int(sync.get("every", 1000)),
            exploration_fraction=float(eps["fraction"]),
            exploration_initial_eps=float(eps.get("start", 0.1)),
            exploration_final_eps=float(eps.get("end", 0.01)),
            max_grad_norm=float(opt.get("max-grad-norm", math.inf)),
            policy_kwargs=dict(
                net_arch=list(net.get("hidden", [128, 64])),
                optimizer_kwargs=dict(eps=float(opt.get("eps", 1e-8)),
                                      betas=(float(opt.get("beta1", 0.9)), float(opt.get("beta2", 0.999)))),
            ),
        ),
    )


def greedy_returns(model, make_env, episodes, seed):
    env = make_env()
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done, ret = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(action)
            ret += float(r)
            done = term or trunc
        returns.append(ret)
    env.close()
    return returns


def mean_std(xs):
    if not xs:
        return math.nan, math.nan
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def num(x):
    return "" if x is None or not math.isfinite(x) else repr(float(x))


def write_atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_one(cfg_text, cfg_path, s, seed, out, threads):
    import gymnasium as gym
    import stable_baselines3
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(threads)
    kwargs = {} if s["max_episode_steps"] is None else {"max_episode_steps": s["max_episode_steps"]}
    make_env = lambda: gym.make(s["env_id"], **kwargs)  # noqa: E731
    train_env = Monitor(make_env())
    model = DQN("MlpPolicy", train_env, seed=seed, verbose=0, device="cpu", **s["dqn"])
    eval_seed = 1_000_003 * (seed + 1)
    started = time.perf_counter()
    rows = []
    end = -(-s["total"] // s["dqn"]["train_freq"]) * s["dqn"]["train_freq"]
    n_epochs = max(1, end // s["log_every"])

    def log(epoch, window_returns):
        ev = greedy_returns(model, make_env, s["eval_episodes"], eval_seed + 7919 * epoch)
        tr = window_returns
        em, es = mean_std(ev)
        tm, _ = mean_std(tr)
        rows.append(dict(epoch=epoch, env_steps=model.num_timesteps, updates=model._n_updates,
                         epsilon=model.exploration_rate, train_mean=tm,
                         train_min=min(tr) if tr else math.nan, train_max=max(tr) if tr else math.nan,
                         eval_mean=em, eval_std=es, wall=time.perf_counter() - started))

    class Logger(BaseCallback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def _on_step(self):
            epoch = len(rows) + 1
            if epoch < n_epochs and self.num_timesteps >= epoch * s["log_every"]:
                returns = train_env.get_episode_rewards()
                log(epoch, [float(r) for r in returns[self.seen:]])
                self.seen = len(returns)
            return True

    cb = Logger()
    model.learn(total_timesteps=s["total"], callback=cb)
    returns = train_env.get_episode_rewards()
    log(n_epochs, [float(r) for r in returns[cb.seen:]])
    final = greedy_returns(model, make_env, s["final_eval_episodes"], eval_seed)
    wall = time.perf_counter() - started

    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.toml", cfg_text)
    write_atomic(out / "run.json", json.dumps(dict(
        agent="bp", seed=seed, checkpoint_every=None, on_divergence="stop", config_source=str(cfg_path),
        config_sections=["env", "train", "network", "bp"], code=None), indent=2))
    write_atomic(out / "peer.json", json.dumps(dict(
        peer="stable-baselines3 DQN", stable_baselines3=stable_baselines3.__version__,
        torch=torch.__version__, gymnasium=gym.__version__, torch_threads=threads,
        script="scripts/sb3_peer.py"), indent=2))
    n_hidden = len(s["dqn"]["policy_kwargs"]["net_arch"])
    head = ("epoch,env_steps,updates,epsilon,train_return_mean,train_return_min,train_return_max,"
            "eval_return_mean,eval_return_std,td_loss,wall_seconds,ff_batches,ff_skipped_empty_positive")
    head += "".join(f",ff_l{k}_{c}" for k in range(1, n_hidden + 1)
                    for c in ["steps", "g_pos", "g_neg", "loss", "accuracy"])
    lines = [head]
    for r in rows:
        lines.append(",".join([str(r["epoch"]), str(r["env_steps"]), str(r["updates"]), repr(float(r["epsilon"])),
                               num(r["train_mean"]), num(r["train_min"]), num(r["train_max"]),
                               num(r["eval_mean"]), num(r["eval_std"]), "", f"{r['wall']:.3f}", "0", "0"])
                     + "," * (5 * n_hidden))
    write_atomic(out / "metrics.csv", "\n".join(lines) + "\n")
    fm, fs = mean_std(final)
    nan_null = lambda x: None if not math.isfinite(x) else x  # noqa: E731
    summary = dict(
        format="ffdqn-summary", version=1, agent="bp", seed=seed, config=str(cfg_path), epochs=len(rows),
        env_steps=model.num_timesteps, updates=model._n_updates, wall_seconds=wall,
        env_steps_per_second=model.num_timesteps / wall,
        final_eval=dict(episodes=len(final), mean=fm, std=fs, min=min(final), max=max(final), returns=final),
        last_train_return=nan_null(rows[-1]["train_mean"]),
        train_returns=[nan_null(r["train_mean"]) for r in rows],
        eval_returns=[nan_null(r["eval_mean"]) for r in rows],
        ff_skipped_empty_positive=0, diverged_batches_skipped=0,
        ffdqn_version=f"sb3-peer (stable-baselines3 {stable_baselines3.__version__})", code=None)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2))
    print(f"sb3 {s['env_id']} seed {seed}: final greedy return {fm:.1f} ± {fs:.1f}; "
          f"{model.num_timesteps} env steps in {wall:.1f} s; {out}", flush=True)


def bench_update(s, gradient_steps, threads):
    """Microseconds per SB3 gradient step at the preset's size (batch, network), one thread:
    the replay filled by uniform actions, then DQN.train timed in chunks, median of chunks."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN

    torch.set_num_threads(threads)
    kwargs = {} if s["max_episode_steps"] is None else {"max_episode_steps": s["max_episode_steps"]}
    dqn = dict(s["dqn"], learning_starts=5000)
    model = DQN("MlpPolicy", gym.make(s["env_id"], **kwargs), seed=0, verbose=0, device="cpu", **dqn)
    model.learn(total_timesteps=5000)  # warm-up only: no update before learning_starts
    model.train(gradient_steps=50, batch_size=dqn["batch_size"])
    chunk = max(1, gradient_steps // 10)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        model.train(gradient_steps=chunk, batch_size=dqn["batch_size"])
        times.append((time.perf_counter() - t) * 1e6 / chunk)
    times.sort()
    print(json.dumps(dict(us_per_update=times[len(times) // 2], gradient_steps=10 * chunk,
                          batch_size=dqn["batch_size"], net_arch=dqn["policy_kwargs"]["net_arch"],
                          torch_threads=threads)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="an ffdqn preset of the SB3 protocol (configs/zoo/*.toml)")
    ap.add_argument("--seeds", type=seeds_arg, default=[0], help="e.g. 0-9 or 0,3,5")
    ap.add_argument("--out", type=Path, help="the group's directory: runs go to <out>/seed-<n>")
    ap.add_argument("--bench-update", type=int, metavar="N",
                    help="instead of training: time N gradient steps at the preset's size, print JSON")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: as ffdqn's runs)")
    a = ap.parse_args()
    try:
        cfg_text = Path(a.config).read_text()
        cfg = tomllib.loads(cfg_text)
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{a.config}: {e}")
    s = settings(cfg, a.config)
    try:
        import stable_baselines3
    except ImportError:
        fail("stable-baselines3 is not installed: pip install stable-baselines3==2.9.2 gymnasium==1.4.0 torch")
    if stable_baselines3.__version__ != SB3_VERSION:
        print(f"warning: stable-baselines3 {stable_baselines3.__version__}, not {SB3_VERSION}", file=sys.stderr)
    if a.bench_update is not None:
        bench_update(s, max(10, a.bench_update), a.threads)
        return
    if a.out is None:
        fail("--out DIR is needed to train (or --bench-update N to time updates)")
    for seed in a.seeds:
        out = a.out / f"seed-{seed}"
        if (out / "summary.json").is_file():
            print(f"seed {seed}: already finished in {out}", flush=True)
            continue
        run_one(cfg_text, a.config, s, seed, out, a.threads)


if __name__ == "__main__":
    main()
