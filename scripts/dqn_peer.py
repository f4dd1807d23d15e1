#!/usr/bin/env python3
"""The PyTorch speed peer of `cargo xtask bench --peer`: BP-DQN (`--mode dqn`) and FF-DQN
(`--mode ff`) on CartPole-v1 with the settings of configs/peer-bp.toml and configs/peer-ff.toml,
so that ffdqn and PyTorch are timed on the same work.

Needs: pip install torch gymnasium. Prints progress to stderr and, as its last stdout line, one
JSON object: {"mode", "total_steps", "updates", "seconds", "env_steps_per_s",
"microbench": {"updates", "us_per_update"}, "final_return_mean"}.

What one update is, as the configs say:
  dqn: Linear(4,128)-ReLU-Linear(128,64)-ReLU-Linear(64,2), one Adam(lr 1e-3) on everything, MSE TD
       loss against a hard-copied target network (every --target-freq env steps).
  ff:  the same network; the batch is split at the median of its TD targets (y > median: S+);
       each hidden layer takes an Adam(lr 1e-4) step on softplus(2 - mean g+) + softplus(mean g- - 2)
       with g = sum(h^2), its input detached; the next layer reads the updated layer's output;
       the head takes an Adam(lr 1e-3) step on the MSE TD loss of the detached features.
"""

import argparse
import json
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def network() -> nn.ModuleList:
    return nn.ModuleList([nn.Linear(4, 128), nn.Linear(128, 64), nn.Linear(64, 2)])


def q_values(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    for layer in layers[:-1]:
        x = torch.relu(layer(x))
    return layers[-1](x)


class Learner:
    def __init__(self, mode: str, gamma: float):
        self.mode, self.gamma = mode, gamma
        self.online, self.target = network(), network()
        self.target.load_state_dict(self.online.state_dict())
        if mode == "dqn":
            self.opts = [torch.optim.Adam(self.online.parameters(), lr=1e-3)]
        else:
            self.opts = [torch.optim.Adam(l.parameters(), lr=1e-4) for l in self.online[:-1]]
            self.opts.append(torch.optim.Adam(self.online[-1].parameters(), lr=1e-3))

    def act(self, obs: np.ndarray) -> int:
        with torch.no_grad():
            return int(q_values(self.online, torch.as_tensor(obs).unsqueeze(0)).argmax())

    def update(self, obs, actions, rewards, next_obs, terminated) -> float:
        with torch.no_grad():
            best = q_values(self.target, next_obs).max(1).values
            y = rewards + self.gamma * (1.0 - terminated) * best
        if self.mode == "dqn":
            q = q_values(self.online, obs).gather(1, actions.unsqueeze(1)).squeeze(1)
            loss = F.mse_loss(q, y)
            self.opts[0].zero_grad()
            loss.backward()
            self.opts[0].step()
            return float(loss)
        positive = y > y.median()
        x = obs
        for layer, opt in zip(self.online[:-1], self.opts[:-1]):
            x = x.detach()
            g = torch.relu(layer(x)).pow(2).sum(1)
            ff = torch.zeros(())
            if positive.any():
                ff = ff + F.softplus(2.0 - g[positive].mean())
            if (~positive).any():
                ff = ff + F.softplus(g[~positive].mean() - 2.0)
            opt.zero_grad()
            ff.backward()
            opt.step()
            with torch.no_grad():
                x = torch.relu(layer(x))
        q = self.online[-1](x.detach()).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = F.mse_loss(q, y)
        self.opts[-1].zero_grad()
        loss.backward()
        self.opts[-1].step()
        return float(loss)


class Replay:
    def __init__(self, capacity: int):
        self.obs = np.zeros((capacity, 4), np.float32)
        self.next_obs = np.zeros((capacity, 4), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.capacity, self.n, self.at = capacity, 0, 0

    def push(self, o, a, r, o2, term):
        i = self.at
        self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i] = o, a, r, o2
        self.terminated[i] = float(term)
        self.at, self.n = (i + 1) % self.capacity, min(self.n + 1, self.capacity)

    def sample(self, rng: np.random.Generator, b: int):
        idx = rng.integers(0, self.n, size=b)
        return tuple(
            torch.as_tensor(a[idx])
            for a in (self.obs, self.actions, self.rewards, self.next_obs, self.terminated)
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["dqn", "ff"], required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--total-steps", type=int, default=50_000)
    p.add_argument("--microbench", type=int, default=2000, help="timed updates on one batch")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--buffer", type=int, default=50_000)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--learning-starts", type=int, default=1000)
    p.add_argument("--target-freq", type=int, default=1000)
    p.add_argument("--eps-start", type=float, default=0.1)
    p.add_argument("--eps-end", type=float, default=0.01)
    p.add_argument("--eps-steps", type=int, default=10_000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    env = gym.make("CartPole-v1", max_episode_steps=200)
    learner, replay = Learner(a.mode, a.gamma), Replay(a.buffer)

    obs, _ = env.reset(seed=a.seed)
    updates, t0 = 0, time.perf_counter()
    for step in range(a.total_steps):
        frac = min(step / a.eps_steps, 1.0)
        eps = a.eps_start + frac * (a.eps_end - a.eps_start)
        action = int(rng.integers(2)) if rng.random() < eps else learner.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.push(obs, action, reward, next_obs, terminated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
        if replay.n >= a.learning_starts:
            learner.update(*replay.sample(rng, a.batch))
            updates += 1
        if (step + 1) % a.target_freq == 0:
            learner.target.load_state_dict(learner.online.state_dict())
    seconds = time.perf_counter() - t0

    batch = replay.sample(rng, a.batch)
    for _ in range(50):
        learner.update(*batch)
    t1 = time.perf_counter()
    for _ in range(a.microbench):
        learner.update(*batch)
    us = (time.perf_counter() - t1) * 1e6 / max(a.microbench, 1)

    returns = []
    for k in range(20):
        o, _ = env.reset(seed=10_000 + k)
        done, ret = False, 0.0
        while not done:
            o, r, term, trunc, _ = env.step(learner.act(o))
            ret, done = ret + r, term or trunc
        returns.append(ret)
    print(f"{a.mode}: {a.total_steps} steps, {updates} updates in {seconds:.1f} s", file=sys.stderr)
    print(
        json.dumps(
            {
                "mode": a.mode,
                "total_steps": a.total_steps,
                "updates": updates,
                "seconds": seconds,
                "env_steps_per_s": a.total_steps / seconds,
                "microbench": {"updates": a.microbench, "us_per_update": us},
                "final_return_mean": float(np.mean(returns)),
            }
        )
    )


if __name__ == "__main__":
    main()
