//! The memory study measures the thread it runs on: another thread allocating and freeing
//! meanwhile (a pool worker exiting, a signal watcher) changes none of its numbers. A CI run
//! once found the global count moved by a worker thread freeing its memory mid-measurement,
//! and the study failed on a negative difference.

mod common;

use lab::alloc_count::{self, Counting};
use std::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rows(base: &agents::Config) -> String {
    let rows = lab::memory::study(base, &[1, 2], 32, 16).expect("the study runs");
    serde_json::to_string(&rows).expect("encodes")
}

#[test]
fn other_threads_do_not_move_the_measurements() {
    let base = agents::Config::load(&common::paper_toml()).expect("paper.toml is valid");
    let quiet = rows(&base);

    let stop = AtomicBool::new(false);
    let disturbed = std::thread::scope(|s| {
        s.spawn(|| {
            // Allocations and frees of many sizes until the study ends.
            let mut held: Vec<Vec<u8>> = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                held.push(vec![1u8; 64 + (i * 7919) % 100_000]);
                if held.len() > 16 {
                    held.drain(..8);
                }
                i += 1;
            }
        });
        let out = rows(&base);
        stop.store(true, Ordering::Relaxed);
        out
    });
    assert_eq!(
        quiet, disturbed,
        "another thread's allocations changed the study"
    );
    assert!(alloc_count::installed());
}

#[test]
fn each_row_counts_what_building_and_one_update_take() {
    let base = agents::Config::load(&common::paper_toml()).expect("paper.toml is valid");
    let rows = lab::memory::study(&base, &[1, 2], 32, 16).expect("the study runs");
    assert_eq!(rows.len(), 2 * agents::AgentKind::ALL.len());
    for row in &rows {
        // Building holds at least the online network's parameters and the optimizer's state.
        assert!(
            row.params_and_state_bytes >= row.param_bytes + row.optimizer_bytes,
            "{row:?}"
        );
        assert!(row.working_peak_bytes >= row.working_held_bytes, "{row:?}");
        assert!(row.working_peak_bytes > 0, "{row:?}");
    }
    // Deeper networks hold more, for every agent.
    let n = agents::AgentKind::ALL.len();
    for (shallow, deep) in rows[..n].iter().zip(&rows[n..]) {
        assert!(deep.params_and_state_bytes > shallow.params_and_state_bytes);
    }
}
