//! The paper-claims study's section: the FF-DQN paper's claims, each with a verdict.

use super::markdown::{f1, mib};
use super::measure::Analysis;
use std::fmt::Write;

/// What the verdicts on the FF-DQN paper's claims are computed from: the report's measures,
/// the groups playing `bp` and `ff` in it, and the memory study's ratios.
struct Claims<'a> {
    a: &'a Analysis,
    ratios: &'a [(usize, f64, usize, usize)],
    n: usize,
    bp: usize,
    ff: usize,
    quick: bool,
}

impl Claims<'_> {
    /// A verdict as written: a smoke run's few seeds and epochs decide nothing, so no bold
    /// verdict on them.
    fn mark(&self, v: &'static str) -> &'static str {
        if self.quick {
            "*no verdict (`--quick` smoke run)*"
        } else {
            v
        }
    }

    /// Supported when all `of` criteria hold, not when none does, mixed otherwise.
    fn verdict(&self, ok: usize, of: usize) -> &'static str {
        self.mark(if ok == of {
            "**supported**"
        } else if ok == 0 {
            "**not supported**"
        } else {
            "**mixed**"
        })
    }

    /// 1. Both agents reach near-optimal return.
    fn reach(&self, r: &mut String) {
        let Claims { a, n, bp, ff, .. } = *self;
        let (b, f, threshold) = (&a.stats[bp], &a.stats[ff], &a.threshold);
        let half = n.div_ceil(2);
        let both = [b.reached >= half, f.reached >= half];
        let _ = writeln!(
            r,
            "1. *Both agents reach near-optimal return (200).* {} — the 10-epoch average training return reaches {threshold} in {}/{n} BP-DQN seeds and {}/{n} FF-DQN seeds (criterion: at least half the seeds); final greedy IQM {} (BP) vs {} (FF).",
            self.verdict(both.iter().filter(|&&x| x).count(), 2),
            b.reached,
            f.reached,
            f1(b.iqm),
            f1(f.iqm)
        );
    }

    /// 2. FF-DQN converges more slowly and varies more.
    fn speed(&self, r: &mut String) {
        let Claims { a, bp, ff, .. } = *self;
        let (b, f, threshold) = (&a.stats[bp], &a.stats[ff], &a.threshold);
        let inf = |m: Option<f64>| m.unwrap_or(f64::INFINITY);
        let slower = inf(f.median_epochs) > inf(b.median_epochs);
        let varies = f.last20 > b.last20;
        let _ = writeln!(
            r,
            "2. *FF-DQN converges more slowly and varies more across epochs.* {} — median epochs to {threshold}: {} (FF) vs {} (BP){}; last-20-epoch std of the training return: {} (FF) vs {} (BP).",
            self.verdict(usize::from(slower) + usize::from(varies), 2),
            f.median_epochs.map_or("never for most seeds".into(), f1),
            b.median_epochs.map_or("never for most seeds".into(), f1),
            if f.median_epochs.is_none() {
                " — \"slower\" only in the sense that FF-DQN does not get there"
            } else {
                ""
            },
            f1(f.last20),
            f1(b.last20)
        );
    }

    /// 3. FF-DQN ends comparable to BP-DQN.
    fn comparable(&self, r: &mut String) {
        let Claims { a, bp, ff, .. } = *self;
        let (b, f) = (&a.stats[bp], &a.stats[ff]);
        let (p, (lo, hi)) = a.p(ff, bp);
        let (v, why) = if lo <= 0.5 && 0.5 <= hi {
            (
                self.mark("**supported**"),
                "the interval includes 0.5: no detectable difference",
            )
        } else if hi < 0.5 {
            (self.mark("**not supported**"), "FF-DQN ends below BP-DQN")
        } else {
            (self.mark("**not supported**"), "FF-DQN ends above BP-DQN")
        };
        let _ = writeln!(
            r,
            "3. *FF-DQN ends comparable to BP-DQN.* {v} — P(FF > BP) = {p:.2} [{lo:.2}, {hi:.2}]: {why}; final IQM {} [{}, {}] (FF) vs {} [{}, {}] (BP).",
            f1(f.iqm),
            f1(f.ci.0),
            f1(f.ci.1),
            f1(b.iqm),
            f1(b.ci.0),
            f1(b.ci.1)
        );
    }

    /// 4. FF uses less memory.
    fn memory(&self, r: &mut String) {
        let Claims { ratios, .. } = *self;
        let less = ratios
            .iter()
            .filter(|(_, ratio, _, _)| *ratio > 1.0)
            .count();
        if let (Some(first), Some(last)) = (ratios.first(), ratios.last()) {
            let _ = writeln!(
                r,
                "4. *FF avoids storing activations for a backward pass, so it uses less memory.* {} — FF's working memory is below BP's at {less}/{} depths; BP needs {:.2}× FF's at {} layers and {:.2}× at {} layers. From {} to {} layers FF's working peak grows {:.2}× ({} → {} MiB) while BP's grows {:.2}× ({} → {} MiB). Parameters and optimizer state are the same size for both (same network, Adam-type moments): the saving is in working memory only.",
                self.verdict(less, ratios.len()),
                ratios.len(),
                first.1,
                first.0,
                last.1,
                last.0,
                first.0,
                last.0,
                last.3 as f64 / first.3.max(1) as f64,
                mib(first.3),
                mib(last.3),
                last.2 as f64 / first.2.max(1) as f64,
                mib(first.2),
                mib(last.2)
            );
        }
    }

    /// 5. FF-DQN is sensitive to initialisation; and the preset ablation.
    fn init(&self, r: &mut String) {
        let Claims { a, n, ff, .. } = *self;
        let (st, threshold) = (&a.stats, &a.threshold);
        let f = &st[ff];
        if let Some(w) = a.roles.ff_warmstart {
            let (p, (lo, hi)) = a.p(w, ff);
            let sensitive = !(lo <= 0.5 && 0.5 <= hi);
            let _ = writeln!(
                r,
                "5. *FF-DQN is sensitive to initialization.* {} — P(warm start > usual init) = {p:.2} [{lo:.2}, {hi:.2}]; final IQM {} [{}, {}] with a BP warm start vs {} [{}, {}] from xavier init; seeds reaching {threshold}: {}/{n} vs {}/{n}.{}",
                self.mark(if sensitive {
                    "**supported**"
                } else {
                    "**not supported**"
                }),
                f1(st[w].iqm),
                f1(st[w].ci.0),
                f1(st[w].ci.1),
                f1(f.iqm),
                f1(f.ci.0),
                f1(f.ci.1),
                st[w].reached,
                f.reached,
                if sensitive {
                    ""
                } else {
                    " No difference this experiment can detect at this number of seeds."
                }
            );
        }

        if let Some(t) = a.roles.ff_text {
            let _ = writeln!(
                r,
                "\nPreset ablation: FF-DQN with the paper's equations taken literally (`paper-text.toml`) ends at IQM {} [{}, {}] against {} [{}, {}] with the author's code settings (`paper.toml`).",
                f1(st[t].iqm),
                f1(st[t].ci.0),
                f1(st[t].ci.1),
                f1(f.iqm),
                f1(f.ci.0),
                f1(f.ci.1)
            );
        }
    }
}

/// The paper-claims study's section: a verdict on each of the FF-DQN paper's claims, from the
/// groups playing `bp` and `ff` (and `ff-warmstart`, `ff-text` when given) and the memory
/// study's BP / FF ratios. Nothing when either of the two is missing.
pub(super) fn paper_claims(
    r: &mut String,
    a: &Analysis,
    ratios: &[(usize, f64, usize, usize)],
    n: usize,
    quick: bool,
) {
    let (Some(bp), Some(ff)) = (a.roles.bp, a.roles.ff) else {
        return;
    };
    let claims = Claims {
        a,
        ratios,
        n,
        bp,
        ff,
        quick,
    };
    let _ = writeln!(r, "## The paper's claims\n");
    claims.reach(r);
    claims.speed(r);
    claims.comparable(r);
    claims.memory(r);
    claims.init(r);
}
