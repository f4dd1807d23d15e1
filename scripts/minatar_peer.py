#!/usr/bin/env python3
"""The MinAtar package and a PyTorch DQN update, measured for `cargo xtask bench --peer`.

    python3 scripts/minatar_peer.py --env-steps 50000      # the package's steps/s, every game
    python3 scripts/minatar_peer.py --env-steps 50000 --game Seaquest   # one game
    python3 scripts/minatar_peer.py --bench-update 200     # one PyTorch update at ARQ's size

`--env-steps N`: N random-action steps of each game through the package's gym wrapper
(`gym.make("MinAtar/<Game>-v1")`, what training code calls), resets included, as ffdqn's step
bench does. `--bench-update N`: the median time of a DQN update at the ARQ protocol's size
(configs/minatar/arq.toml): an MLP [1000, 400, 200, 200, 6] on Seaquest-v1's flattened grids
(10 000 transitions of the random policy), batch 512, double-Q targets from a target network,
MSE, Adam (beta2 0.99) after global-norm clipping at 1.0, one torch thread. The last line of
output is JSON.

Install (not a dependency of the Rust build or of CI):

    python3 -m venv .venv && .venv/bin/pip install minatar==1.0.15 gymnasium torch
"""

import argparse
import json
import time

import numpy as np

GAMES = ["Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders"]


def env_steps(n, games):
    import gymnasium as gym
    import minatar
    from minatar.gym import register_envs

    register_envs()
    rates = {}
    for game in games:
        env = gym.make(f"MinAtar/{game}-v1")
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, env.action_space.n, n)
        t = time.perf_counter()
        for i in range(n):
            _, _, terminated, truncated, _ = env.step(int(actions[i]))
            if terminated or truncated:
                env.reset()
        rates[f"MinAtar/{game}-v1"] = n / (time.perf_counter() - t)
    import importlib.metadata as md
    return {"minatar": md.version("MinAtar"), "numpy": np.__version__, "steps_per_s": rates}


def bench_update(n):
    import torch
    from minatar import Environment

    torch.set_num_threads(1)
    env = Environment("seaquest")
    env.seed(0)
    env.reset()
    actions = env.minimal_action_set()
    rs = np.random.RandomState(1)
    obs, nxt, act, rew, done = [], [], [], [], []
    s = env.state().reshape(-1).astype(np.float32)
    while len(obs) < 10_000:
        a = int(rs.randint(len(actions)))
        r, d = env.act(actions[a])
        s2 = env.state().reshape(-1).astype(np.float32)
        obs.append(s); nxt.append(s2); act.append(a); rew.append(r); done.append(d)
        s = s2
        if d:
            env.reset()
            s = env.state().reshape(-1).astype(np.float32)
    obs, nxt = torch.tensor(np.array(obs)), torch.tensor(np.array(nxt))
    act = torch.tensor(act); rew = torch.tensor(rew, dtype=torch.float32)
    done = torch.tensor(done, dtype=torch.float32)

    def mlp():
        dims = [obs.shape[1], 400, 200, 200]
        layers = []
        for a, b in zip(dims, dims[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers, torch.nn.Linear(200, len(actions)))

    torch.manual_seed(0)
    q, target = mlp(), mlp()
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    g = torch.Generator().manual_seed(2)

    def update():
        idx = torch.randint(0, obs.shape[0], (512,), generator=g)
        with torch.no_grad():
            pick = q(nxt[idx]).argmax(1, keepdim=True)
            y = rew[idx] + 0.99 * (1 - done[idx]) * target(nxt[idx]).gather(1, pick).squeeze(1)
        pred = q(obs[idx]).gather(1, act[idx].unsqueeze(1)).squeeze(1)
        loss = torch.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(q.parameters(), 1.0)
        opt.step()

    for _ in range(20):
        update()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        update()
        times.append(time.perf_counter() - t)
    return {"torch": torch.__version__, "torch_threads": 1,
            "us_per_update": float(np.median(times) * 1e6), "updates": n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env-steps", type=int, metavar="N")
    ap.add_argument("--game", choices=GAMES, help="--env-steps of this game only")
    ap.add_argument("--bench-update", type=int, metavar="N")
    a = ap.parse_args()
    out = {}
    if a.env_steps:
        out.update(env_steps(a.env_steps, [a.game] if a.game else GAMES))
    if a.bench_update:
        out.update(bench_update(a.bench_update))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
